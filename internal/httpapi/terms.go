package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
)

// listTerms answers the root account's terms as Canvas's EnrollmentTermsList,
// {"enrollment_terms": [...]}, with Canvas's filters: workflow_state[]
// (active by default, deleted, all; other values are dropped, as on
// Canvas) and include[]=overrides. Terms belong to the root account, so a
// sub-account lists its root account's (docs/api.md#directory).
func (s *Server) listTerms(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var states []string
	for _, st := range append(q["workflow_state[]"], q["workflow_state"]...) {
		switch {
		case st == "all":
			states = append(states, directory.TermStates...)
		case slices.Contains(directory.TermStates, st):
			states = append(states, st)
		}
	}
	if len(states) == 0 {
		states = []string{"active"}
	}
	include := append(q["include[]"], q["include"]...)
	list, err := directory.ListTerms(r.Context(), s.db, directory.TermFilter{RootAccountID: acct.RootAccountID, States: states,
		Overrides: slices.Contains(include, "overrides"), Limit: p.PerPage + 1, Offset: p.offset()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]directory.Term{"enrollment_terms": onePage(w, r, p, list)})
}

// term resolves {id} among the terms of the root account of {account_id},
// which is within the token's reach: an id or sis_term_id:X.
func (s *Server) term(r *http.Request) (directory.Term, error) {
	acct, err := s.account(r)
	if err != nil {
		return directory.Term{}, err
	}
	return directory.GetTerm(r.Context(), s.db, acct.RootAccountID, chi.URLParam(r, "id"))
}

// updateTerm is Canvas's Update enrollment term: a manual edit whose name
// and dates, and the dates of the overrides it sets, stick
// (docs/api.md#directory). Terms belong to the root account: as on Canvas,
// only it edits them.
func (s *Server) updateTerm(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.term(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if acct.ParentAccountID != nil {
		s.writeError(w, r, errs.New(errs.Forbidden, "forbidden", "terms belong to the root account: edit them through it, with a token of the root account"))
		return
	}
	p, err := nestedParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := termEdit(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err = directory.UpdateTerm(r.Context(), s.db, acct.RootAccountID, t, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// termEdit reads Canvas's enrollment_term parameters, the overrides among
// them as enrollment_term[overrides][<type>][start_at] and [end_at].
func termEdit(p map[string]string) (directory.TermEdit, error) {
	in := directory.TermEdit{Name: optional(p, "enrollment_term[name]"), SISTermID: optional(p, "enrollment_term[sis_term_id]"),
		IntegrationID: optional(p, "enrollment_term[integration_id]")}
	var err error
	if in.StartAt, err = dateParam(p, "enrollment_term[start_at]"); err != nil {
		return in, err
	}
	if in.EndAt, err = dateParam(p, "enrollment_term[end_at]"); err != nil {
		return in, err
	}
	const prefix = "enrollment_term[overrides]["
	for k := range p {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		typ, field, _ := strings.Cut(rest, "]")
		var o directory.OverrideEdit
		if prev, ok := in.Overrides[typ]; ok {
			o = prev
		}
		switch field {
		case "[start_at]":
			o.StartAt, err = dateParam(p, k)
		case "[end_at]":
			o.EndAt, err = dateParam(p, k)
		default:
			err = errs.New(errs.Invalid, "invalid_value", "parameter %s: an override takes start_at and end_at", k)
		}
		if err != nil {
			return in, err
		}
		if in.Overrides == nil {
			in.Overrides = map[string]directory.OverrideEdit{}
		}
		in.Overrides[typ] = o
	}
	return in, nil
}
