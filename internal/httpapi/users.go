package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
)

var userStates = []string{"active", "suspended", "deleted"}

// listUsers answers the users of an account's subtree as a bare JSON array,
// as Canvas's lists are.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
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
	f := directory.UserFilter{AccountID: acct.ID, SearchTerm: q.Get("search_term"), States: []string{},
		Limit: p.PerPage + 1, Offset: p.offset()}
	for _, st := range append(q["state[]"], q["state"]...) {
		if !slices.Contains(userStates, st) {
			s.writeError(w, r, errs.New(errs.Invalid, "invalid_value", "parameter state[]: %q is not active, suspended or deleted", st))
			return
		}
		f.States = append(f.States, st)
	}
	if n := len([]rune(f.SearchTerm)); n > 0 && n < 2 {
		s.writeError(w, r, errs.New(errs.Invalid, "invalid_value", "parameter search_term: give at least 2 characters"))
		return
	}
	users, err := directory.ListUsers(r.Context(), s.db, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, onePage(w, r, p, users))
}

// user resolves {user_id} within the token's reach.
func (s *Server) user(r *http.Request) (directory.User, error) {
	t := tokenOf(r)
	return directory.GetUser(r.Context(), s.db, chi.URLParam(r, "user_id"), t.AccountID, t.RootAccountID)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.user(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// listLogins answers the user's logins, Canvas's List user logins: a bare
// JSON array, the user's own login first (docs/api.md#logins).
func (s *Server) listLogins(w http.ResponseWriter, r *http.Request) {
	u, err := s.user(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(s, w, r, u.ID, directory.ListLogins)
}

// userInput reads Canvas's nested user parameters.
func userInput(p map[string]string) directory.UserInput {
	props := map[string]string{}
	for k, v := range p {
		if name, ok := strings.CutPrefix(k, "user[properties]["); ok && strings.HasSuffix(name, "]") {
			props[strings.TrimSuffix(name, "]")] = v
		}
	}
	return directory.UserInput{Properties: props,
		Name: optional(p, "user[name]"), ShortName: optional(p, "user[short_name]"),
		SortableName: optional(p, "user[sortable_name]"), FirstName: optional(p, "user[first_name]"),
		LastName: optional(p, "user[last_name]"), Pronouns: optional(p, "user[pronouns]"),
		WorkflowState: optional(p, "user[workflow_state]"),
		LoginID:       optional(p, "pseudonym[unique_id]"), SISUserID: optional(p, "pseudonym[sis_user_id]"),
		IntegrationID: optional(p, "pseudonym[integration_id]"), Email: optional(p, "communication_channel[address]"),
	}
}

// createUser makes a manual user: imports may update it but never remove it.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
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
	u, err := directory.CreateUser(r.Context(), s.db, acct, userInput(p))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// updateUser is a manual edit; the sticky fields it changes stick.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.user(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := nestedParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err = directory.UpdateUser(r.Context(), s.db, tokenOf(r).RootAccountID, u, userInput(p))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) listSubAccounts(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(s, w, r, acct.ID, directory.ListSubAccounts)
}

func (s *Server) createSubAccount(w http.ResponseWriter, r *http.Request) {
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
	a, err := directory.CreateAccount(r.Context(), s.db, p["account[name]"], &acct.ID, p["account[sis_account_id]"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
