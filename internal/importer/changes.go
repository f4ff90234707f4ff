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
