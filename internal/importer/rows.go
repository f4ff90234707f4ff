package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// deleteMarker in a cell clears an optional field ("empty keeps, <delete>
// clears", docs/import-rules.md#files).
const deleteMarker = "<delete>"

var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	// The baked-in "email" is a backtracking regular expression that cost a
	// third of an import's CPU; this checks the shape SIS feeds need.
	_ = v.RegisterValidation("sis_email", func(fl validator.FieldLevel) bool { return plausibleEmail(fl.Field().String()) })
	return v
}

// plausibleEmail accepts local@domain.tld with no spaces, brackets or commas.
func plausibleEmail(s string) bool {
	sign := strings.IndexByte(s, '@')
	if sign <= 0 || sign != strings.LastIndexByte(s, '@') {
		return false
	}
	domain := s[sign+1:]
	dot := strings.LastIndexByte(domain, '.')
	if dot <= 0 || dot == len(domain)-1 || strings.Contains(domain, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ', c == ',', c == '<', c == '>', c == '(', c == ')', c == ';', c == '"', c == 0x7f:
			return false
		}
	}
	return true
}

// rowFailure is why one row is not applied: a docs/errors.md code and a
// sentence naming the column. A skip is a rule saying not to apply the row;
// anything else fails it.
type rowFailure struct {
	code, message string
	skip          bool
}

// validateRow checks a row struct against its validator tags and explains
// the first problem in the words of the file's columns.
func validateRow(row any, columnOf map[string]string) *rowFailure {
	if quickValid(row) {
		return nil
	}
	err := validate.Struct(row)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) || len(verrs) == 0 {
		return &rowFailure{code: "invalid_value", message: err.Error()}
	}
	fe := verrs[0]
	col := columnOf[fe.StructField()]
	val := fmt.Sprint(fe.Value())
	switch fe.Tag() {
	case "required":
		return &rowFailure{code: "missing_value", message: fmt.Sprintf("column %s: a value is required", col)}
	case "required_without":
		return &rowFailure{code: "missing_value", message: fmt.Sprintf("column %s or %s: a value is required", col, columnOf[fe.Param()])}
	case "oneof":
		if col == "status" {
			return &rowFailure{code: "invalid_status", message: fmt.Sprintf("column status: %q is not one of %s", val, strings.ReplaceAll(fe.Param(), " ", ", "))}
		}
		return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column %s: %q is not one of %s", col, val, strings.ReplaceAll(fe.Param(), " ", ", "))}
	case "max":
		return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column %s: longer than %s characters", col, fe.Param())}
	case "sis_email", "eq=<delete>|sis_email":
		return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column %s: %q is not an email address", col, val)}
	}
	return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column %s: %q is not valid (%s)", col, val, fe.Tag())}
}

// failResult gives the result a row's failure and, unless it is a skip, the row
// as CSV text with its secret cells blanked (none for a record that did
// not read: its fields are nil).
func failResult(r *result.Result, f *rowFailure, fields []string, secret []int, width int) {
	r.Action, r.Code, r.Message = result.Failed, f.code, f.message
	if f.skip {
		r.Action = result.Skipped
		return
	}
	if fields != nil {
		r.RowInfo = rowInfo(fields, secret, width)
	}
}

// rowInfo is the row as CSV text for errors, with secret cells blanked.
// A row whose field count differs from the header's may have its secret
// anywhere from the first secret column on: all of those are blanked.
func rowInfo(fields []string, secret []int, width int) string {
	out := make([]string, len(fields))
	copy(out, fields)
	for _, i := range secret {
		if i < 0 || i >= len(out) {
			continue
		}
		if len(fields) != width {
			clear(out[i:])
		}
		out[i] = ""
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(out)
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}

// malformed is the failure of a record the CSV reader could not split.
func malformed(e *csvread.RowError) *rowFailure {
	return &rowFailure{code: "malformed_csv", message: fmt.Sprintf("column %d: %s", e.Column, e.Msg)}
}

// wrongWidth is the failure of a record with another field count than the header.
func wrongWidth(got, want int) *rowFailure {
	return &rowFailure{code: "malformed_csv", message: fmt.Sprintf("%d fields where the header has %d", got, want)}
}

// cell is the value of a column in a row, "" when the column is absent.
func cell(fields []string, idx int) string {
	if idx < 0 || idx >= len(fields) {
		return ""
	}
	return fields[idx]
}

// distinct is keys sorted, each once: a batch's references repeat (5,000
// enrollments name about 1,000 courses), and each key sent costs a lookup.
func distinct(keys []string) []string {
	slices.Sort(keys)
	return slices.Compact(keys)
}

// querier is where a lookup reads: the pool, or the import's transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
