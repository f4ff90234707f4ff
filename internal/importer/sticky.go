package importer

import (
	"fmt"
	"slices"
	"strings"
)

// Stickiness (docs/import-rules.md#stickiness-and-manual-objects): the one
// rule accounts, terms and their date overrides, courses, sections and
// groups follow when a row would change a field that an edit through the
// API made stick. Users follow the same rule in users_apply.go.

// forUpdate ends the statement that reads the stored object a row writes
// (of table alias, "" for the only one) when lock says so: an edit through
// the API made between that read and the row's write would be lost, its
// field written over although it sticks. The edit waits for the import
// instead, or the import for the edit.
func forUpdate(lock bool, alias string) string {
	switch {
	case !lock:
		return ""
	case alias == "":
		return " FOR UPDATE"
	}
	return " FOR UPDATE OF " + alias
}

// A stickyField is a field of an object that an edit through the API makes
// stick: its name in the object's sticky_fields, the names of the changes
// it covers in a result (its name when none is given), and keep, which puts
// the row's value back to the stored one.
type stickyField struct {
	name    string
	changes []string
	keep    func()
	// with are the other sticky fields whose stickiness protects this one
	// too: a date and the other date of the same object, as on Canvas.
	with []string
	// loose: the field is written this time although it stuck, as Canvas
	// writes a stuck course name over a blank one.
	loose bool
}

// sticks is the sticky field name whose row value is *to and stored value
// from, covering the changes named (name itself when none).
func sticks[T any](name string, to *T, from T, changes ...string) stickyField {
	if len(changes) == 0 {
		changes = []string{name}
	}
	return stickyField{name: name, changes: changes, keep: func() { *to = from }}
}

// datesStick are an object's start_at and end_at: either one stuck
// protects both, as on Canvas.
func datesStick[T any](start *T, oldStart T, end *T, oldEnd T) []stickyField {
	s, e := sticks("start_at", start, oldStart), sticks("end_at", end, oldEnd)
	s.with, e.with = []string{"end_at"}, []string{"start_at"}
	return []stickyField{s, e}
}

// A stickiness applies the rule to the row of one stored object.
type stickiness struct {
	opts   *Options
	stored []string // the object's sticky fields before the row
	after  []string // and after it
	stuck  []string // the fields the row left alone
}

// stickiness starts the rule for a stored object whose sticky fields are
// stored.
func (at *attempt) stickiness(stored []string) *stickiness {
	return &stickiness{opts: &at.opts, stored: stored, after: stored}
}

// hold applies the rule to fields, given the row's changes of the object:
// without override_sis_stickiness, a stuck field the row changes keeps its
// stored value and its changes go; with it, the row writes the field, and
// add_sis_stickiness makes it stick or clear_sis_stickiness unsticks it.
// It may be called again for fields that depend on those held before.
func (s *stickiness) hold(changes map[string][2]any, fields ...stickyField) {
	for _, f := range fields {
		changed := false
		for _, c := range f.changes {
			_, ok := changes[c]
			changed = changed || ok
		}
		switch {
		case !changed:
		case s.opts.OverrideSISStickiness && s.opts.ClearSISStickiness:
			s.after = slices.DeleteFunc(slices.Clone(s.after), func(n string) bool { return n == f.name })
		case s.opts.OverrideSISStickiness && s.opts.AddSISStickiness:
			if !slices.Contains(s.after, f.name) {
				s.after = append(slices.Clone(s.after), f.name)
			}
		case f.loose || !s.holds(f.name, f.with...):
		default:
			f.keep()
			for _, c := range f.changes {
				delete(changes, c)
			}
			s.stuck = append(s.stuck, f.name)
		}
	}
}

// holds says whether the object's field name, or one of the fields with
// it, stuck and the import leaves it alone: without
// override_sis_stickiness.
func (s *stickiness) holds(name string, with ...string) bool {
	if s.opts.OverrideSISStickiness {
		return false
	}
	return slices.Contains(s.stored, name) || slices.ContainsFunc(with, func(n string) bool { return slices.Contains(s.stored, n) })
}

// settle ends the rule: a change of the object's sticky fields is listed
// in changes (sticky_fields), and a row that changed nothing but stuck
// fields is skipped (code sticky), as on Canvas.
func (s *stickiness) settle(changes map[string][2]any) *rowFailure {
	slices.Sort(s.after)
	if !slices.Equal(s.stored, s.after) {
		changes["sticky_fields"] = [2]any{nonNil(s.stored), nonNil(s.after)}
	}
	if len(changes) > 0 || len(s.stuck) == 0 {
		return nil
	}
	return stuckRow(s.stuck)
}

// stuckRow skips a row whose every change is of stuck fields.
func stuckRow(stuck []string) *rowFailure {
	slices.Sort(stuck)
	return &rowFailure{code: "sticky", skip: true,
		message: fmt.Sprintf("fields changed through the API stick and were left alone: %s (override_sis_stickiness writes them)", strings.Join(stuck, ", "))}
}
