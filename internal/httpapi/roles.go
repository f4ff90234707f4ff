package httpapi

import (
	"net/http"

	"github.com/sisimport/sisimport/internal/directory"
)

// listRoles answers the roles an account's files and admins may name: the
// built-in ones, the account's custom ones and, with show_inherited, those
// of the accounts above it (docs/api.md#roles).
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) {
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
	list, err := directory.ListRoles(r.Context(), s.db, acct, truthy(q.Get("show_inherited")), p.PerPage+1, p.offset())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, onePage(w, r, p, list))
}

// createRole makes a custom role of the account from label and
// base_role_type (form-encoded or JSON), as Canvas's POST roles.
func (s *Server) createRole(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := nestedParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	label := p["label"]
	if label == "" {
		label = p["role"] // Canvas's older name of the parameter
	}
	role, err := directory.CreateRole(r.Context(), s.db, acct, label, p["base_role_type"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, role)
}
