package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/pgtest"
)

// dirGroup is a group as the API shows it.
type dirGroup struct {
	ID              int64   `json:"id"`
	Name            string  `json:"name"`
	SISGroupID      *string `json:"sis_group_id"`
	AccountID       int64   `json:"account_id"`
	CourseID        *int64  `json:"course_id"`
	GroupCategoryID *int64  `json:"group_category_id"`
	WorkflowState   string  `json:"workflow_state"`
	Origin          string  `json:"origin"`
}

func groupNames(list []dirGroup) string {
	var out []string
	for _, g := range list {
		out = append(out, g.Name)
	}
	return strings.Join(out, ", ")
}

func TestGroups(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := t.Context()
	east := s.account("East", 1, "east")
	west := s.account("West", 1, "west")
	seedExec(t, s, `INSERT INTO users (root_account_id, account_id, sis_user_id, login_id, name, sortable_name) VALUES
		(1, 1, 'S1', 's1', 'Cy Cole', 'Cole, Cy'), (1, 1, 'S2', 's2', 'Ben Baker', 'Baker, Ben'),
		(1, $1, 'S3', 's3', 'Ann Able', 'Able, Ann')`, east.ID)
	seedExec(t, s, `INSERT INTO groups (root_account_id, account_id, sis_group_id, name, workflow_state) VALUES
		(1, $1, 'G1', 'Study Group', 'available'), (1, $2, 'G2', 'Band', 'available'), (1, 1, 'G3', 'Old Club', 'deleted')`,
		east.ID, west.ID)
	seedExec(t, s, `INSERT INTO group_memberships (group_id, user_id, workflow_state)
		SELECT g.id, u.id, v.state FROM (VALUES ('S1', 'accepted'), ('S2', 'deleted'), ('S3', 'accepted')) v(usr, state)
		JOIN users u ON u.sis_user_id = v.usr JOIN groups g ON g.sis_group_id = 'G1'`)

	// Lists: the subtree's available groups by name, or the states asked for.
	for _, c := range []struct{ path, want string }{
		{"/api/v1/accounts/1/groups", "Band, Study Group"},
		{"/api/v1/accounts/1/groups?state[]=all", "Band, Old Club, Study Group"},
		{"/api/v1/accounts/1/groups?state[]=deleted", "Old Club"},
		{fmt.Sprintf("/api/v1/accounts/%d/groups", east.ID), "Study Group"},
		{"/api/v1/accounts/sis_account_id:west/groups", "Band"},
	} {
		var list []dirGroup
		s.getJSON(c.path, &list)
		if got := groupNames(list); got != c.want {
			t.Errorf("GET %s: %q, want %q", c.path, got, c.want)
		}
	}
	var list []dirGroup
	h := s.getJSON("/api/v1/accounts/1/groups?state[]=all&per_page=2&page=2", &list)
	if groupNames(list) != "Study Group" || !strings.Contains(h.Get("Link"), `rel="prev"`) || strings.Contains(h.Get("Link"), `rel="next"`) {
		t.Errorf("second page: %q, Link %q", groupNames(list), h.Get("Link"))
	}
	if code, _, _ := s.do("GET", "/api/v1/accounts/1/groups?state[]=active", nil, nil); code != 400 {
		t.Errorf("an unknown group state: %d, want 400", code)
	}

	// A manual group, form-encoded; then JSON.
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	code, b, _ := s.do("POST", fmt.Sprintf("/api/v1/accounts/%d/groups", east.ID), strings.NewReader("name=Chess+Club&sis_group_id=chess"), form)
	var chess dirGroup
	if code == 200 {
		decode(t, b, &chess)
	}
	if code != 200 || chess.Name != "Chess Club" || str(chess.SISGroupID) != "chess" || chess.AccountID != east.ID ||
		chess.CourseID != nil || chess.Origin != "manual" || chess.WorkflowState != "available" {
		t.Fatalf("create a group: %d %s", code, b)
	}
	var root int64
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT root_account_id FROM groups WHERE id = $1`, chess.ID).Scan(&root))
	if root != 1 {
		t.Errorf("the new group's root account: %d", root)
	}
	jsonBody := map[string]string{"Content-Type": "application/json"}
	code, b, _ = s.do("POST", "/api/v1/accounts/self/groups", strings.NewReader(`{"name":"No SIS id"}`), jsonBody)
	var plain dirGroup
	if code == 200 {
		decode(t, b, &plain)
	}
	if code != 200 || plain.SISGroupID != nil || plain.AccountID != 1 {
		t.Errorf("a group without an SIS id: %d %s", code, b)
	}
	// SIS ids are unique in the root account, deleted groups included.
	for _, taken := range []string{"G1", "G3", "chess"} {
		code, b, _ = s.do("POST", fmt.Sprintf("/api/v1/accounts/%d/groups", west.ID),
			strings.NewReader(`{"name":"Dup","sis_group_id":"`+taken+`"}`), jsonBody)
		if code != 409 || !strings.Contains(string(b), "sis_id_taken") || !strings.Contains(string(b), `sis_group_id \"`+taken+`\"`) {
			t.Errorf("a taken sis_group_id %s: %d %s", taken, code, b)
		}
	}
	if code, b, _ = s.do("POST", "/api/v1/accounts/1/groups", strings.NewReader(`{"sis_group_id":"x","name":"  "}`), jsonBody); code != 400 ||
		!strings.Contains(string(b), "missing_value") {
		t.Errorf("a group without a name: %d %s", code, b)
	}

	// One group, by id or SIS id; its members as users.
	var g dirGroup
	s.getJSON("/api/v1/groups/sis_group_id:chess", &g)
	if !reflect.DeepEqual(g, chess) {
		t.Errorf("get by sis id: %+v, want %+v", g, chess)
	}
	s.getJSON(fmt.Sprintf("/api/v1/groups/%d", chess.ID), &g)
	if !reflect.DeepEqual(g, chess) {
		t.Errorf("get by id: %+v", g)
	}
	var members []apiUser
	s.getJSON("/api/v1/groups/sis_group_id:G1/users", &members)
	if len(members) != 2 || str(members[0].SISUserID) != "S3" || members[0].LoginID != "s3" || members[0].AccountID != east.ID ||
		str(members[1].SISUserID) != "S1" || members[1].Name != "Cy Cole" {
		t.Errorf("members (accepted only, by sortable name): %+v", members)
	}
	s.getJSON(fmt.Sprintf("/api/v1/groups/%d/users", chess.ID), &members)
	if len(members) != 0 {
		t.Errorf("a new group's members: %+v", members)
	}
	if code, _, _ := s.do("GET", "/api/v1/groups/sis_group_id:nope", nil, nil); code != 404 {
		t.Errorf("an unknown group: %d", code)
	}

	// Reach and roles.
	as := func(token, method, path, body string) int {
		t.Helper()
		code, _, _ := s.do(method, path, strings.NewReader(body), map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"})
		return code
	}
	westAdmin := s.newToken(west.ID, auth.Admin)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/groups/sis_group_id:G1"},
		{"GET", fmt.Sprintf("/api/v1/groups/%d", chess.ID)},
		{"GET", "/api/v1/groups/sis_group_id:G1/users"},
		{"GET", fmt.Sprintf("/api/v1/accounts/%d/groups", east.ID)},
		{"POST", fmt.Sprintf("/api/v1/accounts/%d/groups", east.ID)},
	} {
		if code := as(westAdmin, c.method, c.path, `{"name":"Intruders"}`); code != 404 {
			t.Errorf("west's token: %s %s: %d, want 404", c.method, c.path, code)
		}
	}
	for _, role := range []auth.Role{auth.ReadOnly, auth.SISImport} {
		tok := s.newToken(east.ID, role)
		if code := as(tok, "GET", "/api/v1/groups/sis_group_id:G1/users", ""); code != 200 {
			t.Errorf("%s token reading members: %d", role, code)
		}
		if code := as(tok, "POST", "/api/v1/accounts/self/groups", `{"name":"Nope"}`); code != 403 {
			t.Errorf("%s token creating a group: %d, want 403", role, code)
		}
	}
}
