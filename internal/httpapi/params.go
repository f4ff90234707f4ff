package httpapi

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/importer"
)

// maxFormBytes bounds the body of a non-upload request.
const maxFormBytes = 1 << 20

// nestedParams reads Canvas's nested parameters — user[name],
// pseudonym[unique_id] — from a form-encoded body, the query string, or a
// JSON body with the same nesting, as one flat map.
func nestedParams(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, errs.New(errs.Invalid, "malformed_request", "the JSON body could not be read: %v", err)
		}
		flatten("", body, out)
	} else if err := r.ParseForm(); err != nil {
		return nil, errs.New(errs.Invalid, "malformed_request", "the form body could not be read: %v", err)
	}
	for k, v := range r.Form {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	for k, v := range r.URL.Query() {
		if _, set := out[k]; !set && len(v) > 0 {
			out[k] = v[0]
		}
	}
	delete(out, "access_token")
	return out, nil
}

func flatten(prefix string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, sub := range t {
			key := k
			if prefix != "" {
				key = prefix + "[" + k + "]"
			}
			flatten(key, sub, out)
		}
	case nil:
		out[prefix] = ""
	case string:
		out[prefix] = t
	case bool, float64:
		out[prefix] = fmt.Sprint(t)
	default:
		b, _ := json.Marshal(t)
		out[prefix] = string(b)
	}
}

// optional is the parameter's value, nil when it was not given.
func optional(p map[string]string, name string) *string {
	if v, ok := p[name]; ok {
		return &v
	}
	return nil
}

// truthy reads a boolean filter as Canvas does: true, t, 1, yes, y or on,
// in any case; anything else is false.
func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "t", "1", "yes", "y", "on":
		return true
	}
	return false
}

// dateParam reads an optional date parameter of an edit: ISO 8601, as
// files take dates (docs/import-rules.md#files); an empty value clears the
// date. nil: not given.
func dateParam(p map[string]string, name string) (*directory.DateEdit, error) {
	v, ok := p[name]
	switch {
	case !ok:
		return nil, nil
	case strings.TrimSpace(v) == "":
		return &directory.DateEdit{}, nil
	}
	t, ok := importer.ParseDate(strings.TrimSpace(v))
	if !ok {
		return nil, errs.New(errs.Invalid, "invalid_value", "parameter %s: %q is not an ISO 8601 date (2026-08-24 or 2026-08-24T08:00:00Z)", name, v)
	}
	return &directory.DateEdit{At: &t}, nil
}

// boolParam reads an optional boolean parameter of an edit, as Canvas
// reads them: true, t, 1, yes, y or on; false, f, 0, no, n or off; in any
// case. nil: not given.
func boolParam(p map[string]string, name string) (*bool, error) {
	v, ok := p[name]
	if !ok {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "t", "1", "yes", "y", "on":
		b := true
		return &b, nil
	case "false", "f", "0", "no", "n", "off":
		b := false
		return &b, nil
	}
	return nil, errs.New(errs.Invalid, "invalid_value", "parameter %s: %q is not true or false", name, v)
}
