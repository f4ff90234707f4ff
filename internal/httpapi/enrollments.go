package httpapi

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
)

// defaultEnrollmentStates are listed when no state[] is given: the
// enrollments that still count (Canvas lists active and invited ones; there
// are no invitations here, and an inactive student is still on the roster).
var defaultEnrollmentStates = []string{"active", "inactive"}

// enrollmentTasks are the DELETE tasks, Canvas's, with the state each
// leaves. deactivate is Canvas's other spelling of inactivate.
var enrollmentTasks = map[string]string{"conclude": "completed", "inactivate": "inactive", "deactivate": "inactive", "delete": "deleted"}

// course resolves {course_id} within the token's reach.
func (s *Server) course(r *http.Request) (directory.CourseRef, error) {
	t := tokenOf(r)
	return directory.ResolveCourse(r.Context(), s.db, chi.URLParam(r, "course_id"), t.AccountID, t.RootAccountID)
}

// enrollmentStatesParam reads state[] (repeatable, or state), with all for
// every state.
func enrollmentStatesParam(q url.Values) ([]string, error) {
	given := append(q["state[]"], q["state"]...)
	if len(given) == 0 {
		return defaultEnrollmentStates, nil
	}
	var out []string
	for _, st := range given {
		switch {
		case st == "all":
			return directory.EnrollmentStates, nil
		case !slices.Contains(directory.EnrollmentStates, st):
			return nil, errs.New(errs.Invalid, "invalid_value", "parameter state[]: %q is not active, inactive, completed, deleted or all", st)
		}
		out = append(out, st)
	}
	return out, nil
}

// listEnrollments answers a course's enrollments as a bare JSON array.
func (s *Server) listEnrollments(w http.ResponseWriter, r *http.Request) {
	c, err := s.course(r)
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
	states, err := enrollmentStatesParam(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := directory.ListEnrollments(r.Context(), s.db, directory.EnrollmentFilter{CourseID: c.ID, States: states,
		UserRef: q.Get("user_id"), Limit: p.PerPage + 1, Offset: p.offset()})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, onePage(w, r, p, list))
}

// reactivateEnrollment makes an enrollment active again.
func (s *Server) reactivateEnrollment(w http.ResponseWriter, r *http.Request) {
	s.changeEnrollment(w, r, func(map[string]string) (string, error) { return "active", nil })
}

// endEnrollment inactivates, concludes (the default, as Canvas) or deletes
// an enrollment, as task says.
func (s *Server) endEnrollment(w http.ResponseWriter, r *http.Request) {
	s.changeEnrollment(w, r, func(p map[string]string) (string, error) {
		task := p["task"]
		if task == "" {
			task = "conclude"
		}
		state, ok := enrollmentTasks[task]
		if !ok {
			return "", errs.New(errs.Invalid, "invalid_value", "parameter task: %q is not inactivate, conclude or delete", task)
		}
		return state, nil
	})
}

// changeParams reads task and role from the query string or a form or
// JSON body. A request without a body is fine whatever its Content-Type:
// Canvas clients send DELETE and PUT with their usual JSON header and
// nothing to decode.
func changeParams(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	if r.ContentLength != 0 {
		return nestedParams(w, r)
	}
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		out[k] = v[0]
	}
	return out, nil
}

// changeEnrollment sets the state that stateOf reads from the parameters
// on the enrollment {id} of the course: an enrollment id, or
// sis_user_id:X with role= when the user has several roles there. The
// change is not sticky (docs/import-rules.md#stickiness-and-manual-objects).
func (s *Server) changeEnrollment(w http.ResponseWriter, r *http.Request, stateOf func(map[string]string) (string, error)) {
	c, err := s.course(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := changeParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	state, err := stateOf(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	role := ""
	if v := p["role"]; v != "" {
		var ok bool
		if role, ok = directory.EnrollmentRole(v); !ok {
			s.writeError(w, r, errs.New(errs.Invalid, "invalid_value", "parameter role: %q is not student, teacher, ta, observer or designer", v))
			return
		}
	}
	e, err := directory.FindEnrollment(r.Context(), s.db, c, chi.URLParam(r, "id"), role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err = directory.SetEnrollmentState(r.Context(), s.db, e, state)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}
