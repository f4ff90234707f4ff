package httpapi

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
)

// listGroups answers the groups of an account's subtree as a bare JSON
// array: available ones unless state[] says otherwise (all for both).
func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
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
	f := directory.GroupFilter{AccountID: acct.ID, States: []string{"available"}, Limit: p.PerPage + 1, Offset: p.offset()}
	if given := append(q["state[]"], q["state"]...); len(given) > 0 {
		f.States = nil
		for _, st := range given {
			switch {
			case st == "all":
				f.States = append(f.States, directory.GroupStates...)
			case !slices.Contains(directory.GroupStates, st):
				s.writeError(w, r, errs.New(errs.Invalid, "invalid_value", "parameter state[]: %q is not available, deleted or all", st))
				return
			default:
				f.States = append(f.States, st)
			}
		}
	}
	list, err := directory.ListGroups(r.Context(), s.db, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, onePage(w, r, p, list))
}

// createGroup makes a manual group of the account: imports never change
// it. It takes name and sis_group_id, also nested as group[name].
func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) {
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
	either := func(a, b string) string {
		if v, ok := p[a]; ok {
			return v
		}
		return p[b]
	}
	g, err := directory.CreateGroup(r.Context(), s.db, acct, either("name", "group[name]"), either("sis_group_id", "group[sis_group_id]"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// group resolves {group_id} within the token's reach.
func (s *Server) group(r *http.Request) (directory.Group, error) {
	t := tokenOf(r)
	return directory.GetGroup(r.Context(), s.db, chi.URLParam(r, "group_id"), t.AccountID, t.RootAccountID)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.group(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// listGroupUsers answers the group's members (accepted memberships) as a
// bare JSON array of users.
func (s *Server) listGroupUsers(w http.ResponseWriter, r *http.Request) {
	g, err := s.group(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(s, w, r, g.ID, directory.ListGroupUsers)
}

// updateGroup is Canvas's Edit a group: its name (name, or group[name]),
// which sticks (docs/api.md#directory).
func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.group(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := nestedParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	name := optional(p, "name")
	if name == nil {
		name = optional(p, "group[name]")
	}
	g, err = directory.UpdateGroup(r.Context(), s.db, tokenOf(r).RootAccountID, g, name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}
