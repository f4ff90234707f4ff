package importer

// What a row changes, as its result lists it (docs/import-rules.md#row-outcomes):
// the helpers every type uses to compare a row with the stored object.

// optional reads an optional text column: empty keeps the stored value
// (none for a new object), <delete> clears it.
func optional[T any](v string, old *T, stored func(*T) *string) *string {
	switch {
	case v == deleteMarker:
		return nil
	case v != "":
		return &v
	case old != nil:
		return stored(old)
	}
	return nil
}

// An assignment is what a column Canvas always assigns does to a stored
// value: with the column in the file, an empty cell clears it (so does
// <delete>) and any other sets it; without the column, the value stays.
// Accounts', terms' and courses' integration_id read this way, as on Canvas.
type assignment struct {
	present bool
	value   *string
}

// assigned reads a cell of such a column; present says whether the file
// has the column.
func assigned(v string, present bool) assignment {
	if !present {
		return assignment{}
	}
	if v == "" || v == deleteMarker {
		return assignment{present: true}
	}
	return assignment{present: true, value: &v}
}

// over is the value the row leaves, old being the stored one.
func (a assignment) over(old *string) *string {
	if !a.present {
		return old
	}
	return a.value
}

// diff lists a changed field in changes.
func diff[T comparable](changes map[string][2]any, field string, from, to T) {
	if from != to {
		changes[field] = [2]any{from, to}
	}
}

// diffPtr lists a changed optional field in changes.
func diffPtr[T comparable](changes map[string][2]any, field string, from, to *T) {
	if (from == nil) != (to == nil) || (from != nil && *from != *to) {
		changes[field] = [2]any{from, to}
	}
}

// samePtr says whether two optional values are equal.
func samePtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
