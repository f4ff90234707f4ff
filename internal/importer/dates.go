package importer

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// isoDate is a date as Canvas reads the dates of its files
// (docs/import-rules.md#files): ISO 8601, the month and day with or without
// a leading zero, a time after a "T" or a space (hours and minutes, seconds
// and their fractions optional), and a zone (Z, ±hh:mm, ±hhmm or ±hh)
// after it or none. A date without a zone is UTC.
var isoDate = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})` +
	`(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?` +
	`\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$`)

// ParseDate reads v as isoDate says, false when it is not one: the dates
// of files, and of the API's list filters.
func ParseDate(v string) (time.Time, bool) {
	m := isoDate.FindStringSubmatch(v)
	if m == nil {
		return time.Time{}, false
	}
	n := func(s string) int {
		i, _ := strconv.Atoi(s) // digits only, by the pattern
		return i
	}
	year, month, day := n(m[1]), n(m[2]), n(m[3])
	hour, minute, sec := n(m[4]), n(m[5]), n(m[6])
	nsec := 0
	if f := m[7]; f != "" {
		nsec = n(f + "000000000"[len(f):])
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" && z != "z" && z != "UTC" {
		off := n(z[1:3])*3600 + n(tail2(z[3:]))*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	// time.Date normalises 2026-02-30 to March 2nd: such a date is not one.
	if t.Year() != year || int(t.Month()) != month || t.Day() != day || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return t, true
}

// tail2 is the minutes of a zone's offset after its hours: ":mm", "mm" or none.
func tail2(s string) string {
	if len(s) > 0 && s[0] == ':' {
		s = s[1:]
	}
	if s == "" {
		return "0"
	}
	return s
}

// parseDate reads a date cell: "" keeps the stored date (clears it, with
// emptyClears), <delete> clears it.
func parseDate(col, v string, emptyClears bool) (*time.Time, bool, *rowFailure) {
	switch v {
	case "":
		return nil, emptyClears, nil
	case deleteMarker:
		return nil, true, nil
	}
	if t, ok := ParseDate(v); ok {
		return &t, true, nil
	}
	return nil, false, &rowFailure{code: "invalid_value", message: fmt.Sprintf("column %s: %q is not an ISO 8601 date (2026-08-24, 2026-8-24 08:00:00 or 2026-08-24T08:00:00Z)", col, v)}
}

// dateRange is a row's start_date and end_date: what they set, if anything.
type dateRange struct {
	start, end       *time.Time
	setStart, setEnd bool
}

// dates reads a row's start_date and end_date cells. As on Canvas, an
// empty cell clears the stored date for the types whose emptyDateClears
// says so (terms, sections, enrollments), and keeps it for the others
// (courses, where <delete> clears it); a column the file lacks keeps it.
func (f *typedFile) dates(startCell, endCell string) (dateRange, *rowFailure) {
	var d dateRange
	var fail *rowFailure
	clears := f.typ.emptyDateClears
	if d.start, d.setStart, fail = parseDate(f.view.column("start_date"), startCell, clears && f.has("start_date")); fail != nil {
		return d, fail
	}
	d.end, d.setEnd, fail = parseDate(f.view.column("end_date"), endCell, clears && f.has("end_date"))
	return d, fail
}

// over completes the range with the stored dates the row leaves as they
// are, and lists the dates that change in changes.
func (d *dateRange) over(oldStart, oldEnd *time.Time, changes map[string][2]any) {
	if !d.setStart {
		d.start = oldStart
	}
	if !d.setEnd {
		d.end = oldEnd
	}
	if !sameTime(oldStart, d.start) {
		changes["start_at"] = [2]any{oldStart, d.start}
	}
	if !sameTime(oldEnd, d.end) {
		changes["end_at"] = [2]any{oldEnd, d.end}
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
