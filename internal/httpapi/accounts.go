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
