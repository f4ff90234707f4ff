package importer

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// rowCheck accepts a valid row struct without go-playground/validator,
// whose reflective walk was a fifth of a users import's CPU (pprof, make
// bench). It reads the same validate tags, compiled once per struct type,
// and only ever answers "valid": a row it does not accept, or a type with a
// tag it does not know, goes to the validator, which stays the authority
// and explains the problem. TestRowCheckAgreesWithValidator holds the two
// together.
type rowCheck struct {
	fields []fieldCheck
}

// fieldCheck is one string field's tag: required, omitempty, max=N,
// oneof=a b, required_with=F, required_without=F, and alternatives joined
// by | of eq=X and sis_email.
type fieldCheck struct {
	index           int
	required        bool
	omitempty       bool
	max             int // in characters; -1 for none
	oneof           []string
	requiredWith    int // field index; -1 for none
	requiredWithout int
	anyOf           []string // alternatives: "sis_email" or a value to equal
}

var rowChecks sync.Map // reflect.Type → *rowCheck, nil when unsupported

// rowCheckOf compiles t's tags, or returns nil when one is not understood.
func rowCheckOf(t reflect.Type) *rowCheck {
	if c, ok := rowChecks.Load(t); ok {
		return c.(*rowCheck)
	}
	c := compileRowCheck(t)
	rowChecks.Store(t, c)
	return c
}

func compileRowCheck(t reflect.Type) *rowCheck {
	c := &rowCheck{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("validate")
		if !ok || tag == "" {
			if f.Type.Kind() != reflect.String {
				return nil // the validator would look inside a struct field
			}
			continue
		}
		if f.Type.Kind() != reflect.String || strings.ContainsAny(tag, "'\\") || strings.Contains(tag, "0x") {
			return nil // quoting and escapes are the validator's business
		}
		fc := fieldCheck{index: i, max: -1, requiredWith: -1, requiredWithout: -1}
		for r, rule := range strings.Split(tag, ",") {
			name, param, _ := strings.Cut(rule, "=")
			switch {
			case rule == "required":
				fc.required = true
			case rule == "omitempty" && r == 0: // it counts only first
				fc.omitempty = true
			case name == "max":
				n, err := strconv.ParseInt(param, 0, 64) // as the validator reads it
				if err != nil {
					return nil
				}
				fc.max = int(n)
			case name == "oneof":
				fc.oneof = strings.Fields(param)
			case name == "required_with" || name == "required_without":
				other, ok := t.FieldByName(param)
				if !ok || other.Type.Kind() != reflect.String || len(other.Index) != 1 {
					return nil
				}
				if name == "required_with" {
					fc.requiredWith = other.Index[0]
				} else {
					fc.requiredWithout = other.Index[0]
				}
			case strings.Contains(rule, "|") || rule == "sis_email":
				for _, alt := range strings.Split(rule, "|") {
					switch {
					case alt == "sis_email":
						fc.anyOf = append(fc.anyOf, alt)
					case strings.HasPrefix(alt, "eq="):
						fc.anyOf = append(fc.anyOf, "="+strings.TrimPrefix(alt, "eq="))
					default:
						return nil
					}
				}
			default:
				return nil
			}
		}
		c.fields = append(c.fields, fc)
	}
	return c
}

// valid reports whether every field of the struct v passes its tag.
func (c *rowCheck) valid(v reflect.Value) bool {
	for _, fc := range c.fields {
		s := v.Field(fc.index).String()
		if s == "" {
			switch {
			case fc.required:
				return false
			case fc.requiredWith >= 0 && v.Field(fc.requiredWith).String() != "":
				return false
			case fc.requiredWithout >= 0 && v.Field(fc.requiredWithout).String() == "":
				return false
			case fc.omitempty:
				continue
			}
		}
		if fc.max >= 0 && len(s) > fc.max && utf8.RuneCountInString(s) > fc.max {
			return false
		}
		if fc.oneof != nil && !slices.Contains(fc.oneof, s) {
			return false
		}
		if fc.anyOf != nil && !slices.ContainsFunc(fc.anyOf, func(alt string) bool {
			if alt == "sis_email" {
				return plausibleEmail(s)
			}
			return s == alt[1:]
		}) {
			return false
		}
	}
	return true
}

// quickValid reports whether row, a pointer to a row struct, is valid by
// its compiled tags; false means "ask the validator".
func quickValid(row any) bool {
	v := reflect.ValueOf(row)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	c := rowCheckOf(v.Elem().Type())
	return c != nil && c.valid(v.Elem())
}
