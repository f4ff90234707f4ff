package importer

import (
	"testing"
	"time"
)

// TestDatesAsCanvasReadsThem: the forms of Canvas's own documentation and
// feeds are dates; anything else is not, naming the column.
func TestDatesAsCanvasReadsThem(t *testing.T) {
	utc := func(y, mo, d, h, mi, s int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC) }
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-08-24", utc(2026, 8, 24, 0, 0, 0), true},
		{"2026-8-24", utc(2026, 8, 24, 0, 0, 0), true},
		{"2026-8-4 00:00:00", utc(2026, 8, 4, 0, 0, 0), true}, // Canvas's documentation
		{"2026-08-24 00:00:00", utc(2026, 8, 24, 0, 0, 0), true},
		{"2026-08-24T08:00", utc(2026, 8, 24, 8, 0, 0), true},
		{"2026-08-24T08:00:00Z", utc(2026, 8, 24, 8, 0, 0), true},
		{"2026-08-24T08:00:00.5Z", utc(2026, 8, 24, 8, 0, 0).Add(500 * time.Millisecond), true},
		{"2026-08-24T08:00:00-06:00", utc(2026, 8, 24, 14, 0, 0), true},
		{"2026-08-24 08:00:00 -0600", utc(2026, 8, 24, 14, 0, 0), true},
		{"2026-08-24T08:00:00+05", utc(2026, 8, 24, 3, 0, 0), true},
		{"2026-08-24 08:00:00 UTC", utc(2026, 8, 24, 8, 0, 0), true},
		{"2026-02-30", time.Time{}, false},
		{"2026-08-24T25:00", time.Time{}, false},
		{"24/08/2026", time.Time{}, false},
		{"next monday", time.Time{}, false},
		{"2026-08-24T", time.Time{}, false},
	}
	for _, c := range cases {
		got, ok := ParseDate(c.in)
		if ok != c.ok || (ok && !got.Equal(c.want)) {
			t.Errorf("%q: %v %v, want %v %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if _, _, f := parseDate("start_date", "24/08/2026", false); f == nil || f.code != "invalid_value" {
		t.Errorf("a date in another form: %+v, want invalid_value naming the column", f)
	}
	if d, set, f := parseDate("end_date", "", true); d != nil || !set || f != nil {
		t.Errorf("an empty cell where empty clears: %v %v %v", d, set, f)
	}
	if _, set, _ := parseDate("end_date", "", false); set {
		t.Error("an empty cell where empty keeps must set nothing")
	}
}
