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
	writeList(s, w, r, c.ID, directory.ListSections)
}

// updateSection is Canvas's Edit a section: a manual edit whose name,
// dates and restrict_enrollments_to_section_dates stick (docs/api.md#directory).
func (s *Server) updateSection(w http.ResponseWriter, r *http.Request) {
	sec, err := s.section(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := nestedParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in := directory.SectionEdit{Name: optional(p, "course_section[name]"), SISSectionID: optional(p, "course_section[sis_section_id]"),
		IntegrationID: optional(p, "course_section[integration_id]")}
	if in.StartAt, err = dateParam(p, "course_section[start_at]"); err == nil {
		if in.EndAt, err = dateParam(p, "course_section[end_at]"); err == nil {
			in.RestrictEnrollmentsToSectionDates, err = boolParam(p, "course_section[restrict_enrollments_to_section_dates]")
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sec, err = directory.UpdateSection(r.Context(), s.db, tokenOf(r).RootAccountID, sec, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sec)
}
