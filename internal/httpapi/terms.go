package httpapi

import (
	"net/http"
	"slices"

	"github.com/sisimport/sisimport/internal/directory"
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
