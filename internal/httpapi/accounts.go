package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
)

// account resolves the {account_id} of the path within the token's reach.
func (s *Server) account(r *http.Request) (directory.Account, error) {
	t := tokenOf(r)
	return directory.ResolveAccount(r.Context(), s.db, chi.URLParam(r, "account_id"), t.AccountID, t.RootAccountID)
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// updateAccount is Canvas's Update an account: a manual edit whose name
// and parent stick (docs/api.md#directory).
func (s *Server) updateAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := nestedParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err = directory.UpdateAccount(r.Context(), s.db, a, tokenOf(r).AccountID, directory.AccountEdit{
		Name: optional(p, "account[name]"), ParentAccountID: optional(p, "account[parent_account_id]"),
		SISAccountID: optional(p, "account[sis_account_id]"), IntegrationID: optional(p, "account[integration_id]")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
