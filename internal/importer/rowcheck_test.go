package importer

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestRowCheckAgreesWithValidator fills every row type with values near
// each tag's edges and checks that the compiled check never accepts a row
// the validator rejects, and that it does accept most valid rows (else the
// fast path would be dead weight).
func TestRowCheckAgreesWithValidator(t *testing.T) {
	values := []string{"", "", "x", "active", "deleted", "suspended", "completed", "inactive", "concluded",
		"invited", "accepted", "student", "teacher", "y", "Y", "n", deleteMarker, "a@b.co", "x@y", "a b@c.de", "<a@b.co>",
		strings.Repeat("a", 255), strings.Repeat("a", 256), strings.Repeat("é", 255), strings.Repeat("é", 256),
		strings.Repeat("a", 64), strings.Repeat("a", 65), "user", "account", "term", "course", "section", "group"}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ft := range typesApplied() { // every row type of the registry
		typ := ft.layout.typ
		if rowCheckOf(typ) == nil {
			t.Errorf("%s: a tag the compiled check does not know; every row type should take the fast path", typ)
			continue
		}
		accepted, valid := 0, 0
		for range 20000 {
			v := reflect.New(typ)
			for i := range typ.NumField() {
				if f := v.Elem().Field(i); f.Kind() == reflect.String && f.CanSet() {
					f.SetString(values[rng.IntN(len(values))])
				}
			}
			quick := quickValid(v.Interface())
			err := validate.Struct(v.Interface())
			if err == nil {
				valid++
			}
			if quick {
				accepted++
				if err != nil {
					t.Fatalf("%s: the compiled check accepts %+v, the validator says %v", typ, v.Elem().Interface(), err)
				}
			}
		}
		if valid > 0 && accepted < valid*9/10 {
			t.Errorf("%s: the compiled check accepts %d of %d valid rows", typ, accepted, valid)
		}
		t.Logf("%s: %d valid of 20000, %d taken by the fast path", typ, valid, accepted)
	}
}

func BenchmarkValidateUserRow(b *testing.B) {
	r := &userRow{UserID: "u1", LoginID: "login1", Status: "active", FirstName: "Ann", LastName: "Lee", Email: "ann@example.edu"}
	for b.Loop() {
		if f := validateRow(r, byName[typeUsers].layout.columnOf); f != nil {
			b.Fatal(f)
		}
	}
}

// FuzzRowCheck fills every row type's string fields from the fuzzer's
// values, one after another, and checks that the compiled check never
// accepts a row the validator rejects.
func FuzzRowCheck(f *testing.F) {
	f.Add("S1", "login", "active", "a@b.co", deleteMarker, "")
	f.Add("", "x", "deleted", "é", strings.Repeat("é", 255), "student")
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g string) {
		vals := []string{a, b, c, d, e, g}
		for _, zero := range []any{accountRow{}, changeRow{}, courseRow{}, deactivationRow{}, enrollmentRow{}, groupRow{}, groupCategoryRow{},
			membershipRow{}, sectionRow{}, termRow{}, userRow{}} {
			v := reflect.New(reflect.TypeOf(zero))
			for i, n := 0, 0; i < v.Elem().NumField(); i++ {
				if fv := v.Elem().Field(i); fv.Kind() == reflect.String && fv.CanSet() {
					fv.SetString(vals[n%len(vals)])
					n++
				}
			}
			if quickValid(v.Interface()) {
				if err := validate.Struct(v.Interface()); err != nil {
					t.Fatalf("%T: the compiled check accepts %+v, the validator says %v", zero, v.Elem().Interface(), err)
				}
			}
		}
	})
}
