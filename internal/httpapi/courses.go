package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
)

// fullCourse resolves {course_id} within the token's reach, as Canvas's
// Course.
func (s *Server) fullCourse(r *http.Request) (directory.Course, error) {
	t := tokenOf(r)
	return directory.GetCourse(r.Context(), s.db, chi.URLParam(r, "course_id"), t.AccountID, t.RootAccountID)
}

// getCourse answers one course of the token's subtree, by id or
// sis_course_id:X, as Canvas's Course (docs/api.md#directory).
func (s *Server) getCourse(w http.ResponseWriter, r *http.Request) {
	c, err := s.fullCourse(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// updateCourse is Canvas's Update a course: a manual edit whose fields that
// imports write stick (docs/api.md#directory).
func (s *Server) updateCourse(w http.ResponseWriter, r *http.Request) {
	c, err := s.fullCourse(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := nestedParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in := directory.CourseEdit{Name: optional(p, "course[name]"), CourseCode: optional(p, "course[course_code]"),
		SISCourseID: optional(p, "course[sis_course_id]"), IntegrationID: optional(p, "course[integration_id]"),
		TermID: optional(p, "course[term_id]"), AccountID: optional(p, "course[account_id]"),
		GradePassbackSetting: optional(p, "course[grade_passback_setting]"), Event: optional(p, "course[event]")}
	if in.StartAt, err = dateParam(p, "course[start_at]"); err == nil {
		in.EndAt, err = dateParam(p, "course[end_at]")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err = directory.UpdateCourse(r.Context(), s.db, c, tokenOf(r).AccountID, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
