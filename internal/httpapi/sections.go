package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
)

// section resolves {section_id} within the token's reach.
func (s *Server) section(r *http.Request) (directory.Section, error) {
	t := tokenOf(r)
	return directory.GetSection(r.Context(), s.db, chi.URLParam(r, "section_id"), t.AccountID, t.RootAccountID)
}

// getSection answers one section as Canvas's Section.
func (s *Server) getSection(w http.ResponseWriter, r *http.Request) {
	sec, err := s.section(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sec)
}

// listSections answers a course's sections, those cross-listed into it
// included, as a bare JSON array.
func (s *Server) listSections(w http.ResponseWriter, r *http.Request) {
	c, err := s.course(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := parsePage(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := directory.ListSections(r.Context(), s.db, c.ID, p.PerPage+1, p.offset())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, onePage(w, r, p, list))
}
