package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
)

// getCourse answers one course of the token's subtree, by id or
// sis_course_id:X, as Canvas's Course (docs/api.md#directory).
func (s *Server) getCourse(w http.ResponseWriter, r *http.Request) {
	t := tokenOf(r)
	c, err := directory.GetCourse(r.Context(), s.db, chi.URLParam(r, "course_id"), t.AccountID, t.RootAccountID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
