package httpapi

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/sisimport/sisimport/internal/errs"
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
