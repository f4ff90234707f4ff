package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/config"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/httpapi"
	"github.com/sisimport/sisimport/internal/metrics"
	"github.com/sisimport/sisimport/internal/pgtest"
)

// lockedBuffer is a log sink that the server's goroutines write to while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startLogged starts the real wiring, as startService does, with every log
// line at debug level written into the returned buffer.
func startLogged(t *testing.T) (*service, *lockedBuffer) {
	t.Helper()
	db, url := pgtest.New(t)
	cfg, err := config.Load([]string{"DATABASE_URL=" + url, "SISIMPORT_ADDR=127.0.0.1:0",
		"SISIMPORT_LEASE_SECONDS=5", "SISIMPORT_POLL_SECONDS=0.2", "SISIMPORT_SHUTDOWN_GRACE_SECONDS=5"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveOn(ctx, cfg, log, db, metrics.New(db), ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service stopped with %v", err)
		}
	})
	s := &service{t: t, db: db, url: url, base: "http://" + ln.Addr().String()}
	s.token = s.newToken(1, auth.Admin)
	return s, logs
}

// tenant is an account with one object of each kind, all named after tag so
// that a leak of any of them into an answer can be spotted.
type tenant struct {
	tag                    string
	account                directory.Account
	admin, readOnly, sisIm string // token secrets
	importID, progressID   int64
	userID, courseID       int64
	enrollmentID, groupID  int64
	groupCategoryID        int64
	sectionID              int64
	termID                 int64  // a term of the account's root, T-<tag>
	property               string // the property of the account's root
}

// seedTenant imports a user, a course and an enrollment into acct through the
// API with its own admin token, restores a second import (for a Progress),
// and makes a manual group and, on a root account, a user property.
func seedTenant(t *testing.T, s *service, acct directory.Account, tag string) *tenant {
	t.Helper()
	tn := &tenant{tag: tag, account: acct, property: "house_" + tag,
		admin: s.newToken(acct.ID, auth.Admin), readOnly: s.newToken(acct.ID, auth.ReadOnly), sisIm: s.newToken(acct.ID, auth.SISImport)}
	as := *s
	as.token = tn.admin
	a := strconv.FormatInt(acct.ID, 10)
	imp := as.importZip(a, "",
		"users.csv", fmt.Sprintf("user_id,login_id,first_name,last_name,status\nU-%[1]s,login-%[1]s,First%[1]s,Last%[1]s,active\n", tag),
		"courses.csv", fmt.Sprintf("course_id,short_name,long_name,status\nC-%[1]s,Short%[1]s,Course%[1]s,active\n", tag),
		"sections.csv", fmt.Sprintf("section_id,course_id,name,status\nS-%[1]s,C-%[1]s,Section%[1]s,active\n", tag),
		"enrollments.csv", fmt.Sprintf("course_id,user_id,role,status\nC-%[1]s,U-%[1]s,student,active\n", tag),
		"group_categories.csv", fmt.Sprintf("group_category_id,category_name,status\nGC-%[1]s,Category%[1]s,active\n", tag))
	if imp.WorkflowState != "imported" {
		t.Fatalf("seed %s: import %s %v", tag, imp.WorkflowState, imp.ProcessingErrors)
	}
	tn.importID = imp.ID

	extra := as.wait(a, as.upload(a, "", fmt.Sprintf("user_id,login_id,status\nX-%[1]s,extra-%[1]s,active\n", tag)).ID)
	code, b, _ := as.do("PUT", fmt.Sprintf("/api/v1/accounts/%s/sis_imports/%d/restore_states", a, extra.ID), nil, nil)
	var progress struct {
		ID            int64  `json:"id"`
		WorkflowState string `json:"workflow_state"`
		URL           string `json:"url"`
	}
	decode(t, b, &progress)
	if code != 200 {
		t.Fatalf("seed %s: restore_states %d %s", tag, code, b)
	}
	for deadline := time.Now().Add(60 * time.Second); progress.WorkflowState != "completed"; {
		if progress.WorkflowState == "failed" || time.Now().After(deadline) {
			t.Fatalf("seed %s: restore %s", tag, progress.WorkflowState)
		}
		time.Sleep(20 * time.Millisecond)
		as.getJSON(progress.URL, &progress)
	}
	tn.progressID = progress.ID

	var u directory.User
	as.getJSON("/api/v1/users/sis_user_id:U-"+tag, &u)
	tn.userID = u.ID
	var enrollments []dirEnrollment
	as.getJSON("/api/v1/courses/sis_course_id:C-"+tag+"/enrollments", &enrollments)
	if len(enrollments) != 1 {
		t.Fatalf("seed %s: enrollments %+v", tag, enrollments)
	}
	tn.courseID, tn.enrollmentID = enrollments[0].CourseID, enrollments[0].ID
	var category directory.GroupCategory
	as.getJSON("/api/v1/group_categories/sis_group_category_id:GC-"+tag, &category)
	tn.groupCategoryID = category.ID
	var sec directory.Section
	as.getJSON("/api/v1/sections/sis_section_id:S-"+tag, &sec)
	tn.sectionID = sec.ID
	pgtest.Must(t, s.db.QueryRow(t.Context(), `INSERT INTO terms (root_account_id, sis_term_id, name) VALUES ($1, $2, $3) RETURNING id`,
		acct.RootAccountID, "T-"+tag, "Term"+tag).Scan(&tn.termID))

	code, b, _ = as.do("POST", "/api/v1/accounts/"+a+"/groups", strings.NewReader(fmt.Sprintf(`{"name":"Group%[1]s","sis_group_id":"G-%[1]s"}`, tag)),
		map[string]string{"Content-Type": "application/json"})
	var g directory.Group
	decode(t, b, &g)
	if code != 200 {
		t.Fatalf("seed %s: group %d %s", tag, code, b)
	}
	tn.groupID = g.ID
	if acct.ParentAccountID == nil {
		code, b, _ = as.do("POST", "/api/v1/accounts/"+a+"/user_properties", strings.NewReader(`{"name":"`+tn.property+`","type":"text"}`),
			map[string]string{"Content-Type": "application/json"})
		if code != 200 {
			t.Fatalf("seed %s: property %d %s", tag, code, b)
		}
	}
	return tn
}

// secrets are the strings and ids of the tenant that must not appear in an
// answer to a token that cannot reach it.
func (tn *tenant) secrets() (words []string, ids []int64) {
	words = []string{tn.account.Name, "U-" + tn.tag, "login-" + tn.tag, "First" + tn.tag, "Last" + tn.tag,
		"C-" + tn.tag, "Short" + tn.tag, "Course" + tn.tag, "Group" + tn.tag, "G-" + tn.tag,
		"GC-" + tn.tag, "Category" + tn.tag, "S-" + tn.tag, "Section" + tn.tag}
	if tn.account.ParentAccountID == nil {
		words = append(words, tn.property)
	}
	return words, []int64{tn.account.ID, tn.importID, tn.progressID, tn.userID, tn.courseID, tn.enrollmentID, tn.groupID, tn.groupCategoryID, tn.sectionID}
}

// need is the least role a route needs.
type need int

const (
	needRead need = iota
	needSISImport
	needAdmin
)

// apiRoute is one route of routes.go with the least role it needs and a
// request body that a token of that role would have accepted.
type apiRoute struct {
	method, pattern string
	need            need
	query, body     string
	contentType     string
}

// apiRoutes is every /api/v1 route. TestAccessEveryRoute fails when
// routes.go has one that is not listed here.
var apiRoutes = []apiRoute{
	{method: "GET", pattern: "/api/v1/progress/{id}"},
	{method: "GET", pattern: "/api/v1/users/{user_id}"},
	{method: "PUT", pattern: "/api/v1/users/{user_id}", need: needAdmin, body: `{"user":{"name":"Changed"}}`},
	{method: "GET", pattern: "/api/v1/users/{user_id}/observees"},
	{method: "GET", pattern: "/api/v1/users/{user_id}/observers"},
	{method: "GET", pattern: "/api/v1/users/{user_id}/logins"},
	{method: "GET", pattern: "/api/v1/groups/{group_id}"},
	{method: "PUT", pattern: "/api/v1/groups/{group_id}", need: needAdmin, body: `{"name":"Edited group"}`},
	{method: "GET", pattern: "/api/v1/groups/{group_id}/users"},
	{method: "GET", pattern: "/api/v1/group_categories/{group_category_id}"},
	{method: "GET", pattern: "/api/v1/sections/{section_id}"},
	{method: "PUT", pattern: "/api/v1/sections/{section_id}", need: needAdmin, body: `{"course_section":{"name":"Edited section"}}`},
	{method: "GET", pattern: "/api/v1/courses/{course_id}/sections"},
	{method: "GET", pattern: "/api/v1/courses/{course_id}"},
	{method: "PUT", pattern: "/api/v1/courses/{course_id}", need: needAdmin, body: `{"course":{"name":"Edited course"}}`},
	{method: "GET", pattern: "/api/v1/courses/{course_id}/enrollments"},
	{method: "PUT", pattern: "/api/v1/courses/{course_id}/enrollments/{id}/reactivate", need: needAdmin},
	{method: "DELETE", pattern: "/api/v1/courses/{course_id}/enrollments/{id}", need: needAdmin, query: "task=inactivate"},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}"},
	{method: "PUT", pattern: "/api/v1/accounts/{account_id}", need: needAdmin, body: `{"account":{"integration_id":"edited-account"}}`},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/users"},
	{method: "POST", pattern: "/api/v1/accounts/{account_id}/users", need: needAdmin, body: `{"user":{"name":"New"},"pseudonym":{"unique_id":"new-user"}}`},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/reports/provisioning", query: "type=users"},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/user_properties"},
	{method: "POST", pattern: "/api/v1/accounts/{account_id}/user_properties", need: needAdmin, body: `{"name":"added","type":"text"}`},
	{method: "PUT", pattern: "/api/v1/accounts/{account_id}/user_properties/{name}", need: needAdmin, body: `{"type":"text"}`},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/groups"},
	{method: "POST", pattern: "/api/v1/accounts/{account_id}/groups", need: needAdmin, body: `{"name":"Added group"}`},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/roles"},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/terms"},
	{method: "PUT", pattern: "/api/v1/accounts/{account_id}/terms/{id}", need: needAdmin, body: `{"enrollment_term":{"name":"Edited term"}}`},
	{method: "POST", pattern: "/api/v1/accounts/{account_id}/roles", need: needAdmin, body: `{"label":"Added role","base_role_type":"TaEnrollment"}`},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/group_categories"},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/admins"},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/sub_accounts"},
	{method: "POST", pattern: "/api/v1/accounts/{account_id}/sub_accounts", need: needAdmin, body: `{"account":{"name":"Added"}}`},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/sis_import_errors"},
	{method: "POST", pattern: "/api/v1/accounts/{account_id}/sis_imports", need: needSISImport, query: "extension=csv",
		body: "user_id,login_id,status\nposted,posted,active\n", contentType: "text/csv"},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/sis_imports"},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/sis_imports/importing"},
	{method: "PUT", pattern: "/api/v1/accounts/{account_id}/sis_imports/abort_all_pending", need: needAdmin},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/sis_imports/{id}"},
	{method: "PUT", pattern: "/api/v1/accounts/{account_id}/sis_imports/{id}/abort", need: needSISImport},
	{method: "PUT", pattern: "/api/v1/accounts/{account_id}/sis_imports/{id}/approve", need: needAdmin},
	{method: "PUT", pattern: "/api/v1/accounts/{account_id}/sis_imports/{id}/restore_states", need: needAdmin},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/sis_imports/{id}/file"},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/sis_imports/{id}/errors"},
	{method: "GET", pattern: "/api/v1/accounts/{account_id}/sis_imports/{id}/results"},
}

// openRoutes are the routes that take no token and are never rate limited.
var openRoutes = []string{"GET /healthz", "GET /metrics", "GET /readyz"}

// walkRoutes lists "METHOD pattern" of every route the real router serves.
func walkRoutes(t *testing.T, s *service) (api, open []string) {
	t.Helper()
	h := httpapi.New(s.db, slog.New(slog.DiscardHandler), metrics.New(s.db), 1<<20, true).Handler()
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("the handler is a %T, not a chi router", h)
	}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if len(route) > 1 {
			route = strings.TrimSuffix(route, "/")
		}
		key := method + " " + route
		switch {
		case strings.HasPrefix(route, "/api/v1/"):
			api = append(api, key)
		case route == "/metrics" && method != "GET":
			// promhttp's handler is mounted for every method; GET is the one that counts.
		default:
			open = append(open, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(api)
	slices.Sort(open)
	return api, open
}

// path fills the pattern's parameters with the tenant's objects, by SIS id
// where the API takes one and bySIS is set.
func (rt apiRoute) path(tn *tenant, bySIS bool) string {
	id := tn.importID
	switch {
	case strings.HasPrefix(rt.pattern, "/api/v1/progress/"):
		id = tn.progressID
	case strings.Contains(rt.pattern, "/enrollments/"):
		id = tn.enrollmentID
	case strings.Contains(rt.pattern, "/terms/"):
		id = tn.termID
	}
	acct, user, course := strconv.FormatInt(tn.account.ID, 10), strconv.FormatInt(tn.userID, 10), strconv.FormatInt(tn.courseID, 10)
	group, enrollment := strconv.FormatInt(tn.groupID, 10), strconv.FormatInt(id, 10)
	category, section := strconv.FormatInt(tn.groupCategoryID, 10), strconv.FormatInt(tn.sectionID, 10)
	if bySIS {
		acct, user, course = "sis_account_id:"+*tn.account.SISAccountID, "sis_user_id:U-"+tn.tag, "sis_course_id:C-"+tn.tag
		group, section = "sis_group_id:G-"+tn.tag, "sis_section_id:S-"+tn.tag
		category = "sis_group_category_id:GC-" + tn.tag
		if strings.Contains(rt.pattern, "/enrollments/") {
			enrollment = "sis_user_id:U-" + tn.tag
		}
		if strings.Contains(rt.pattern, "/terms/") {
			enrollment = "sis_term_id:T-" + tn.tag
		}
	}
	p := strings.NewReplacer("{account_id}", acct, "{user_id}", user, "{course_id}", course, "{group_id}", group,
		"{group_category_id}", category, "{section_id}", section, "{id}", enrollment, "{name}", tn.property).Replace(rt.pattern)
	if rt.query != "" {
		p += "?" + rt.query
	}
	return p
}

// call sends the route's request for tn with token, as a Bearer header or
// as the access_token parameter.
func call(s *service, rt apiRoute, tn *tenant, token string, asParam, bySIS bool) (int, []byte, http.Header) {
	s.t.Helper()
	p := rt.path(tn, bySIS)
	header := map[string]string{"Authorization": ""}
	if token != "" && !asParam {
		header["Authorization"] = "Bearer " + token
	}
	if asParam {
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		p += sep + "access_token=" + token
	}
	var body io.Reader
	if rt.body != "" {
		body = strings.NewReader(rt.body)
		header["Content-Type"] = "application/json"
		if rt.contentType != "" {
			header["Content-Type"] = rt.contentType
		}
	}
	return s.do(rt.method, p, body, header)
}

// TestAccessEveryRoute walks every route of routes.go with tokens that are
// missing, wrong, revoked, expired, of too small a role, or of an account
// that does not reach the object, and checks docs/api.md#error-responses: 401, then 404 for
// anything out of reach (before the role is looked at, and with nothing of
// the object in the answer), then 403.
func TestAccessEveryRoute(t *testing.T) {
	t.Parallel()
	s, logs := startLogged(t)
	ctx := t.Context()

	var want []string
	for _, rt := range apiRoutes {
		want = append(want, rt.method+" "+rt.pattern)
	}
	slices.Sort(want)
	api, open := walkRoutes(t, s)
	if !slices.Equal(api, want) {
		t.Fatalf("routes.go serves\n%s\nbut this test knows\n%s\n(add the new route to apiRoutes, with the role it needs)",
			strings.Join(api, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(open, openRoutes) {
		t.Fatalf("routes without a token: %v, want %v", open, openRoutes)
	}

	seedExec(t, s, `UPDATE accounts SET sis_account_id = 'rone' WHERE id = 1`)
	root1, err := directory.ResolveAccount(ctx, s.db, "1", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	east := s.account("East School", 1, "east")
	west := s.account("West School", 1, "west")
	other := s.account("Other District", 0, "rtwo")
	r1 := seedTenant(t, s, root1, "rone")
	a := seedTenant(t, s, east, "east")
	b := seedTenant(t, s, west, "west")
	r2 := seedTenant(t, s, other, "rtwo")

	revokedTok, revoked, err := auth.Create(ctx, s.db, 1, "revoked", auth.Admin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.Revoke(ctx, s.db, revokedTok.ID); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	_, expired, err := auth.Create(ctx, s.db, 1, "expired", auth.Admin, &past)
	if err != nil {
		t.Fatal(err)
	}

	const (
		unauthenticated = iota
		own
		foreign
	)
	cases := []struct {
		name    string
		token   string
		role    auth.Role // of an own token
		target  *tenant
		kind    int
		asParam bool
		bySIS   bool
	}{
		{name: "no token", target: r1, kind: unauthenticated},
		{name: "wrong token", token: "sis_" + strings.Repeat("x", 43), target: r1, kind: unauthenticated},
		{name: "revoked token", token: revoked, target: r1, kind: unauthenticated},
		{name: "revoked token as access_token", token: revoked, target: r1, kind: unauthenticated, asParam: true},
		{name: "expired token", token: expired, target: r1, kind: unauthenticated},
		{name: "expired token as access_token", token: expired, target: r1, kind: unauthenticated, asParam: true},
		{name: "read_only token", token: r1.readOnly, role: auth.ReadOnly, target: r1, kind: own},
		{name: "read_only token as access_token", token: r1.readOnly, role: auth.ReadOnly, target: r1, kind: own, asParam: true},
		{name: "sis_import token", token: r1.sisIm, role: auth.SISImport, target: r1, kind: own},
		{name: "read_only token of a sub-account", token: a.readOnly, role: auth.ReadOnly, target: a, kind: own},
		{name: "read_only token of a sub-account, by SIS ids", token: a.readOnly, role: auth.ReadOnly, target: a, kind: own, bySIS: true},
		{name: "sis_import token of a sub-account", token: a.sisIm, role: auth.SISImport, target: a, kind: own},
		{name: "admin token of a sibling sub-account", token: a.admin, target: b, kind: foreign},
		{name: "admin token of a sibling sub-account, by SIS ids", token: a.admin, target: b, kind: foreign, bySIS: true},
		{name: "read_only token of a sibling sub-account", token: a.readOnly, target: b, kind: foreign},
		{name: "admin token of a sub-account on its parent", token: a.admin, target: r1, kind: foreign},
		{name: "admin token of another root account", token: r2.admin, target: r1, kind: foreign},
		{name: "admin token of another root account, by SIS ids", token: r2.admin, target: r1, kind: foreign, bySIS: true},
		{name: "read_only token of another root account", token: r2.readOnly, target: r1, kind: foreign},
		{name: "root admin token on another root account", token: s.token, target: r2, kind: foreign},
		{name: "root admin token on another root account, by SIS ids", token: s.token, target: r2, kind: foreign, bySIS: true},
	}
	type item struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	notFound, _ := json.Marshal(map[string][]item{"errors": {{errs.ErrNotFound.Message, errs.ErrNotFound.Code}}})
	for _, c := range cases {
		for _, rt := range apiRoutes {
			code, body, h := call(s, rt, c.target, c.token, c.asParam, c.bySIS)
			what := fmt.Sprintf("%s: %s %s", c.name, rt.method, rt.path(c.target, c.bySIS))
			switch c.kind {
			case unauthenticated:
				if code != http.StatusUnauthorized || !strings.Contains(string(body), `"code":"unauthorized"`) {
					t.Errorf("%s = %d %s, want 401", what, code, body)
				}
				if h.Get("X-Rate-Limit-Remaining") != "" {
					t.Errorf("%s: an unauthenticated answer tells a rate limit", what)
				}
				continue
			case foreign:
				if code != http.StatusNotFound || strings.TrimSpace(string(body)) != string(notFound) {
					t.Errorf("%s = %d %s, want the plain 404 %s", what, code, body, notFound)
				}
				words, ids := c.target.secrets()
				for _, word := range words {
					if strings.Contains(string(body), word) {
						t.Errorf("%s: the answer shows %q of an account out of reach: %s", what, word, body)
					}
				}
				for _, id := range ids {
					if regexp.MustCompile(`\b` + strconv.FormatInt(id, 10) + `\b`).Match(body) {
						t.Errorf("%s: the answer shows id %d of an account out of reach: %s", what, id, body)
					}
				}
			case own:
				allowed := rt.need == needRead || rt.need == needSISImport && c.role.Allows(auth.SISImport)
				switch {
				case !allowed && (code != http.StatusForbidden || !strings.Contains(string(body), `"code":"forbidden"`)):
					t.Errorf("%s = %d %s, want 403", what, code, body)
				case allowed && rt.method == "GET" && code != http.StatusOK:
					t.Errorf("%s = %d %s, want 200", what, code, body)
				case allowed && rt.method != "GET" && code != http.StatusOK && code != http.StatusConflict:
					// abort of a finished import is a 409; the upload a 200.
					t.Errorf("%s = %d %s, want 200 or 409", what, code, body)
				}
			}
			if h.Get("X-Rate-Limit-Remaining") == "" {
				t.Errorf("%s: no X-Rate-Limit-Remaining on an authenticated answer", what)
			}
		}
	}

	// Nothing out of reach changed: the foreign writes above were all 404s.
	var names []string
	rows, err := s.db.Query(ctx, `SELECT name FROM accounts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		pgtest.Must(t, rows.Scan(&n))
		names = append(names, n)
	}
	pgtest.Must(t, rows.Err())
	if want := []string{"Default Account", "East School", "West School", "Other District"}; !slices.Equal(names, want) {
		t.Errorf("accounts after the foreign writes: %v, want %v", names, want)
	}

	// The access_token parameter is used, and never logged: not the secret,
	// not the parameter's name, no query string at all.
	got := logs.String()
	if !strings.Contains(got, `"path":"/api/v1/progress/`) {
		t.Fatalf("the debug log has no request lines:\n%s", got)
	}
	for _, secret := range []string{s.token, revoked, expired, r1.readOnly, r1.sisIm, r1.admin, a.readOnly, a.admin, r2.admin, r2.readOnly} {
		if strings.Contains(got, secret) {
			t.Errorf("a token secret is in the log")
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.Contains(line, "access_token") || strings.Contains(line, "extension=csv") || strings.Contains(line, "task=inactivate") {
			t.Errorf("a query string is in the log: %s", line)
		}
	}
}

// TestRateLimitPerToken checks the Canvas-style rate limit of docs/api.md#rate-limiting: a token
// that spends its burst gets 403 with Retry-After and X-Rate-Limit-Remaining,
// and other tokens, unauthenticated requests and the operations routes go on.
func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	s := startService(t, func(c *config.Config) {
		c.RateLimit = 0.001 // one request back every 1000 s: none refills during the test
		c.RateBurst = 3
	})
	get := func(token, path string) (int, []byte, http.Header) {
		return s.do("GET", path, nil, map[string]string{"Authorization": "Bearer " + token})
	}
	for i := 0; i < 5; i++ {
		if code, _, _ := s.do("GET", "/api/v1/accounts/1", nil, map[string]string{"Authorization": ""}); code != 401 {
			t.Fatalf("no token: %d", code)
		}
	}
	for i, left := range []string{"2.0", "1.0", "0.0"} {
		code, b, h := get(s.token, "/api/v1/accounts/1")
		if code != 200 || h.Get("X-Rate-Limit-Remaining") != left {
			t.Fatalf("request %d: %d %s, X-Rate-Limit-Remaining %q, want 200 and %s (unauthenticated requests spend nothing)",
				i+1, code, b, h.Get("X-Rate-Limit-Remaining"), left)
		}
	}
	for _, path := range []string{"/api/v1/accounts/1", "/api/v1/accounts/1/sis_imports?access_token=" + s.token, "/api/v1/users/999999"} {
		header := map[string]string{"Authorization": "Bearer " + s.token}
		if strings.Contains(path, "access_token") {
			header["Authorization"] = ""
		}
		code, b, h := s.do("GET", path, nil, header)
		if code != http.StatusForbidden || strings.TrimSpace(string(b)) != `{"errors":[{"message":"Rate Limit Exceeded","code":"rate_limited"}]}` {
			t.Errorf("GET %s past the burst: %d %s", path, code, b)
		}
		if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 || n > 1000 {
			t.Errorf("GET %s past the burst: Retry-After %q, want whole seconds from 1 to 1000", path, h.Get("Retry-After"))
		}
		if h.Get("X-Rate-Limit-Remaining") != "0.0" {
			t.Errorf("GET %s past the burst: X-Rate-Limit-Remaining %q", path, h.Get("X-Rate-Limit-Remaining"))
		}
	}
	other := s.newToken(1, auth.ReadOnly)
	if code, b, h := get(other, "/api/v1/accounts/1"); code != 200 || h.Get("X-Rate-Limit-Remaining") != "2.0" {
		t.Errorf("another token: %d %s, X-Rate-Limit-Remaining %q", code, b, h.Get("X-Rate-Limit-Remaining"))
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/healthz", "/readyz", "/metrics"} {
		code, _, h := get(s.token, path)
		if code != 200 || h.Get("X-Rate-Limit-Remaining") != "" {
			t.Errorf("GET %s with a spent token: %d, X-Rate-Limit-Remaining %q", path, code, h.Get("X-Rate-Limit-Remaining"))
		}
	}
}

// TestTokensExpireAndRevokeFromTheCommandLine checks tokens create --expires
// and tokens revoke as an operator runs them.
func TestTokensExpireAndRevokeFromTheCommandLine(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	env := []string{"DATABASE_URL=" + s.url}
	var out bytes.Buffer
	before := time.Now()
	if err := run(t.Context(), []string{"tokens", "create", "--account", "1", "--role", "read_only", "--expires", "720h"}, env, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	secret := lines[len(lines)-1]
	tok, err := auth.Authenticate(t.Context(), s.db, secret)
	if err != nil {
		t.Fatal(err)
	}
	var expires time.Time
	if err := s.db.QueryRow(t.Context(), `SELECT expires_at FROM tokens WHERE id = $1`, tok.ID).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	if lo, hi := before.Add(720*time.Hour-time.Minute), time.Now().Add(720*time.Hour+time.Minute); expires.Before(lo) || expires.After(hi) {
		t.Errorf("--expires 720h stored %s", expires)
	}
	bearer := map[string]string{"Authorization": "Bearer " + secret}
	if code, b, _ := s.do("GET", "/api/v1/accounts/1", nil, bearer); code != 200 {
		t.Fatalf("a live token: %d %s", code, b)
	}
	// The clock moves past the expiry: the token stops working.
	seedExec(t, s, `UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, tok.ID)
	if code, _, _ := s.do("GET", "/api/v1/accounts/1", nil, bearer); code != 401 {
		t.Errorf("an expired token: %d, want 401", code)
	}

	out.Reset()
	if err := run(t.Context(), []string{"tokens", "create", "--account", "1"}, env, &out); err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSpace(out.String()), "\n")
	secret = lines[len(lines)-1]
	tok, err = auth.Authenticate(t.Context(), s.db, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"tokens", "revoke", "--id", strconv.FormatInt(tok.ID, 10)}, env, &out); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := s.do("GET", "/api/v1/accounts/1?access_token="+secret, nil, map[string]string{"Authorization": ""}); code != 401 {
		t.Errorf("a revoked token: %d, want 401", code)
	}
	if err := run(t.Context(), []string{"tokens", "revoke", "--id", strconv.FormatInt(tok.ID, 10)}, env, &out); err == nil {
		t.Error("revoking a revoked token again succeeded")
	}
}
