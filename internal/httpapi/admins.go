package httpapi

import (
	"net/http"
	"strconv"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
)

// listAdmins answers the active admins of an account as Canvas's list of
// Admin objects, a bare JSON array; user_id[] (user ids) narrows it.
func (s *Server) listAdmins(w http.ResponseWriter, r *http.Request) {
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
	var users []int64
	for _, v := range append(q["user_id[]"], q["user_id"]...) {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			s.writeError(w, r, errs.New(errs.Invalid, "invalid_value", "parameter user_id[]: %q is not a user id", v))
			return
		}
		users = append(users, id)
	}
	list, err := directory.ListAdmins(r.Context(), s.db, acct.ID, users, p.PerPage+1, p.offset())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, onePage(w, r, p, list))
}
