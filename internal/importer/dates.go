package importer

import (
	"fmt"
	"time"
)

// isoLayouts are the ISO 8601 forms dates may take; a date without a zone is UTC.
var isoLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// parseDate reads an ISO 8601 date cell: "" keeps, <delete> clears.
func parseDate(col, v string) (*time.Time, bool, *rowFailure) {
	switch v {
	case "":
		return nil, false, nil
	case deleteMarker:
		return nil, true, nil
	}
	for _, l := range isoLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return &t, true, nil
		}
	}
	return nil, false, &rowFailure{code: "invalid_value", message: fmt.Sprintf("column %s: %q is not an ISO 8601 date (2026-08-24 or 2026-08-24T08:00:00Z)", col, v)}
}

// dateRange is a row's start_date and end_date: what they set, if anything.
type dateRange struct {
	start, end       *time.Time
	setStart, setEnd bool
}

// parseDates reads a row's start_date and end_date cells.
func parseDates(startCell, endCell string) (dateRange, *rowFailure) {
	var d dateRange
	var f *rowFailure
	if d.start, d.setStart, f = parseDate("start_date", startCell); f != nil {
		return d, f
	}
	d.end, d.setEnd, f = parseDate("end_date", endCell)
	return d, f
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
