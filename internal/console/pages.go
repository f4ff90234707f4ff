package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/errs"
)

// page is what every template gets: the layout reads the session, the
// page its Data.
type page struct {
	Title    string
	Nav      string
	SignedIn bool
	CSRF     string
	Token    auth.Token
	// CanImport and CanAdmin say which buttons to show; the API decides
	// what happens when one is pressed.
	CanImport, CanAdmin bool
	Error               string
	Notice              string
	Data                any
}

func (c *Console) page(r *http.Request, nav string) page {
	s, ok := r.Context().Value(sessionKey).(auth.Session)
	if !ok {
		return page{Nav: nav}
	}
	return page{Nav: nav, SignedIn: true, CSRF: s.CSRF, Token: s.Token,
		CanImport: s.Token.Role.Allows(auth.SISImport), CanAdmin: s.Token.Role.Allows(auth.Admin)}
}

// render writes a page; a template that fails writes nothing half-done.
func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, status int, p page) {
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.log.ErrorContext(r.Context(), "render console page", slog.String("page", name), slog.Any("err", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

var statusOf = map[errs.Kind]int{errs.Invalid: http.StatusBadRequest, errs.Unauthorized: http.StatusUnauthorized,
	errs.Forbidden: http.StatusForbidden, errs.NotFound: http.StatusNotFound, errs.Conflict: http.StatusConflict,
	errs.TooLarge: http.StatusRequestEntityTooLarge, errs.Unavailable: http.StatusServiceUnavailable}

// fail shows an error page that says what went wrong, in the API's words;
// an internal error is logged and shown as such only.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p page, err error) {
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind == errs.Internal {
		c.log.ErrorContext(r.Context(), "console request failed", slog.String("path", r.URL.Path), slog.Any("err", err))
		e = errs.New(errs.Internal, "internal_error", "Something went wrong on the server; it is in the service's log. Try again.")
	}
	status := statusOf[e.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	p.Title, p.Error = http.StatusText(status), e.Message
	if e.Kind == errs.Forbidden && p.SignedIn && !strings.Contains(e.Message, "CSRF") {
		p.Error = fmt.Sprintf("%s Your token (%s) has the role %s.", e.Message, p.Token.Name, p.Token.Role)
	}
	c.render(w, r, "error", status, p)
}

// states are the import states with a word an administrator reads.
var states = []struct{ Value, Label string }{
	{"created", "queued"}, {"importing", "importing"}, {"awaiting_approval", "waiting for approval"},
	{"imported", "imported"}, {"imported_with_messages", "imported with messages"}, {"failed", "failed"},
	{"failed_with_messages", "failed with messages"}, {"aborted", "aborted"}, {"restoring", "restoring"},
	{"restored", "restored"}, {"partially_restored", "partially restored"},
}

func stateLabel(s string) string {
	for _, st := range states {
		if st.Value == s {
			return st.Label
		}
	}
	return strings.ReplaceAll(s, "_", " ")
}

// stateTone is the colour of a state's badge.
func stateTone(s string) string {
	switch s {
	case "imported", "restored":
		return "ok"
	case "imported_with_messages", "partially_restored":
		return "warn"
	case "failed", "failed_with_messages":
		return "bad"
	case "awaiting_approval":
		return "held"
	case "created", "importing", "restoring":
		return "busy"
	}
	return "muted"
}

var funcs = template.FuncMap{
	"stateLabel": stateLabel,
	"stateTone":  stateTone,
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v != nil {
				return v.UTC().Format("2006-01-02 15:04 UTC")
			}
		}
		return "—"
	},
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"derefInt": func(n *int) string {
		if n == nil {
			return ""
		}
		return fmt.Sprint(*n)
	},
	"words": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	// changes shows a result's changes, nothing for none.
	"changes": changesText,
}

// changesText shows a result's changes as an administrator reads them, one
// "field: old → new" after the other, in the fields' order; what is not a
// map of [old, new] pairs is shown as it is stored.
func changesText(raw []byte) string {
	var m map[string][2]any
	if err := json.Unmarshal(raw, &m); err != nil {
		if s := string(raw); s != "null" && s != "{}" {
			return s
		}
		return ""
	}
	show := func(v any) string {
		switch x := v.(type) {
		case nil:
			return "(none)"
		case string:
			if x == "" {
				return "(empty)"
			}
			return x
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	fields := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = fmt.Sprintf("%s: %s → %s", f, show(m[f][0]), show(m[f][1]))
	}
	return strings.Join(parts, "; ")
}
