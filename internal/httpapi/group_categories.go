package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
)

// listGroupCategories answers the account's own active group categories
// as a bare JSON array, as Canvas does.
func (s *Server) listGroupCategories(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(s, w, r, acct.ID, directory.ListGroupCategories)
}

// getGroupCategory answers one active category within the token's reach.
func (s *Server) getGroupCategory(w http.ResponseWriter, r *http.Request) {
	t := tokenOf(r)
	c, err := directory.GetGroupCategory(r.Context(), s.db, chi.URLParam(r, "group_category_id"), t.AccountID, t.RootAccountID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
