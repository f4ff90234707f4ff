package importer

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
)

// A layout is a row struct read once from its tags: each string field's
// csv tag is a column of the file type, its validate tag the column's
// rules (rows.go). The struct is the one list of a type's columns. A csv
// tag's option "lower" lower-cases the column's cells (status values,
// roles and the like are read case-insensitively).
type layout struct {
	typ      reflect.Type
	columns  []string          // the columns, in the struct's order
	fields   []int             // the field of each column
	lower    []bool            // whether each column's cells are lower-cased
	columnOf map[string]string // each field's column, for validateRow's messages
}

// layoutOf reads the layout of row, a pointer to a row struct; every field
// is a string with a csv tag.
func layoutOf(row any) *layout {
	t := reflect.TypeOf(row).Elem()
	l := &layout{typ: t, columnOf: map[string]string{}}
	for i := range t.NumField() {
		f := t.Field(i)
		col, opt, _ := strings.Cut(f.Tag.Get("csv"), ",")
		if col == "" || f.Type.Kind() != reflect.String || (opt != "" && opt != "lower") {
			panic(fmt.Sprintf("importer: %s.%s is not a string field with a csv tag", t.Name(), f.Name))
		}
		l.columns = append(l.columns, col)
		l.fields = append(l.fields, i)
		l.lower = append(l.lower, opt == "lower")
		l.columnOf[f.Name] = col
	}
	return l
}

// positions maps each column of the layout to its place in the header,
// as the view names it; -1 when the file lacks it.
func (l *layout) positions(cols map[string]int, v view) []int {
	idx := make([]int, len(l.columns))
	for i, c := range l.columns {
		idx[i] = -1
		if p, ok := cols[v.column(c)]; ok {
			idx[i] = p
		}
	}
	return idx
}

// fill copies a record's cells into the row struct row points to, each
// column's from its place idx, or made by derive when a view derives it
// (nil: none does); a column the file lacks is empty. Cells come trimmed
// from the reader (csvread), the one trimming rule.
func (l *layout) fill(row any, rec csvread.Record, idx []int, derive []func([]string) string) {
	v := reflect.ValueOf(row).Elem()
	for i, field := range l.fields {
		var c string
		if derive != nil && derive[i] != nil {
			c = derive[i](rec.Fields)
		} else {
			c = cell(rec.Fields, idx[i])
		}
		if l.lower[i] {
			c = strings.ToLower(c)
		}
		v.Field(field).SetString(c)
	}
}
