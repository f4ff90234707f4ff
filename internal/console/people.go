package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/result"
)

type peopleData struct {
	Query string
	Users []directory.User
}

// people finds users by SIS id, login, email or name: the API's search.
func (c *Console) people(w http.ResponseWriter, r *http.Request) {
	p := c.page(r, "people")
	p.Title = "What happened to this student?"
	d := peopleData{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if d.Query != "" {
		q := url.Values{"search_term": {d.Query}, "per_page": {"50"}, "state[]": {"active", "suspended", "deleted"}}
		if _, err := c.call(r, http.MethodGet, "/api/v1/accounts/self/users?"+q.Encode(), "", nil, &d.Users); err != nil {
			p.Error = err.Error()
		}
	}
	p.Data = d
	c.render(w, r, "people", http.StatusOK, p)
}

type personData struct {
	User        directory.User
	Enrollments []directory.PersonEnrollment
	Groups      []directory.Membership
	History     []result.Change
	Imports     int
}

// historyImports is how many recent imports a person's history reads.
const historyImports = 50

// person shows one user: status, enrollments, groups and what imports did.
func (c *Console) person(w http.ResponseWriter, r *http.Request) {
	p := c.page(r, "people")
	var d personData
	if _, err := c.call(r, http.MethodGet, "/api/v1/users/"+url.PathEscape(chi.URLParam(r, "id")), "", nil, &d.User); err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Title = d.User.Name
	var err error
	if d.Enrollments, err = directory.UserEnrollments(r.Context(), c.db, d.User.ID, 200); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if d.Groups, err = directory.UserGroups(r.Context(), c.db, d.User.ID, 200); err != nil {
		c.fail(w, r, p, err)
		return
	}
	sis := ""
	if d.User.SISUserID != nil {
		sis = *d.User.SISUserID
	}
	d.Imports = historyImports
	if d.History, err = result.History(r.Context(), c.db, sessionOf(r).Token.AccountID, d.User.ID, sis, historyImports, 200); err != nil {
		c.fail(w, r, p, err)
		return
	}
	p.Data = d
	c.render(w, r, "person", http.StatusOK, p)
}
