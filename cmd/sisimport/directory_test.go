package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/pgtest"
)

type apiUser struct {
	ID            int64    `json:"id"`
	Name          string   `json:"name"`
	LastName      string   `json:"last_name"`
	SISUserID     *string  `json:"sis_user_id"`
	LoginID       string   `json:"login_id"`
	Email         string   `json:"email"`
	WorkflowState string   `json:"workflow_state"`
	AccountID     int64    `json:"account_id"`
	Origin        string   `json:"origin"`
	StickyFields  []string `json:"sticky_fields"`
}

func TestUsersDirectoryAndStickiness(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,first_name,last_name,email,status\n"+
		"S1,ann,Ann,Able,ann@example.edu,active\nS2,ben,Ben,Baker,ben@example.edu,suspended\n")

	// A manual user, created with Canvas's nested form parameters.
	form := url.Values{"user[name]": {"Manual Person"}, "pseudonym[unique_id]": {"manual1"},
		"pseudonym[sis_user_id]": {"M1"}, "communication_channel[address]": {"m@example.edu"}}
	code, b, _ := s.do("POST", "/api/v1/accounts/1/users", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	var manual apiUser
	decode(t, b, &manual)
	if code != 200 || manual.Origin != "manual" || manual.LoginID != "manual1" || manual.Email != "m@example.edu" {
		t.Fatalf("create manual user: %d %s", code, b)
	}
	code, b, _ = s.do("POST", "/api/v1/accounts/1/users", strings.NewReader(`{"user":{"name":"Dup"},"pseudonym":{"unique_id":"ANN"}}`),
		map[string]string{"Content-Type": "application/json"})
	if code != 409 || !strings.Contains(string(b), "login_taken") {
		t.Errorf("a taken login (case-insensitive) was not refused: %d %s", code, b)
	}

	var list []apiUser
	s.getJSON("/api/v1/accounts/1/users?state[]=active&state[]=suspended&per_page=10", &list)
	if len(list) != 3 {
		t.Errorf("list: %d users, want 3", len(list))
	}
	s.getJSON("/api/v1/accounts/1/users?state[]=suspended", &list)
	if len(list) != 1 || list[0].LoginID != "ben" {
		t.Errorf("state filter: %+v", list)
	}
	s.getJSON("/api/v1/accounts/1/users?search_term=baker", &list)
	if len(list) != 1 || list[0].LoginID != "ben" {
		t.Errorf("search_term: %+v", list)
	}
	var ann apiUser
	s.getJSON("/api/v1/users/sis_user_id:S1", &ann)
	if ann.Name != "Ann Able" || ann.Origin != "sis" {
		t.Fatalf("get by sis id: %+v", ann)
	}

	// A manual edit of a last name makes it sticky: the import leaves it alone.
	code, b, _ = s.do("PUT", fmt.Sprintf("/api/v1/users/%d", ann.ID), strings.NewReader(`{"user":{"last_name":"Able-Smith"}}`),
		map[string]string{"Content-Type": "application/json"})
	decode(t, b, &ann)
	if code != 200 || ann.LastName != "Able-Smith" || strings.Join(ann.StickyFields, ",") != "last_name" {
		t.Fatalf("manual edit: %d %s", code, b)
	}
	imp := s.importCSV("", "user_id,login_id,first_name,last_name,email,status\n"+
		"S1,ann,Ann,Able,ann@example.edu,active\n"+ // only the sticky field differs: skipped
		"S2,ben,Ben,Baker,ben2@example.edu,suspended\n"+
		"M1,manual1,Manual,Person,m@example.edu,active\n") // an import may update a manual user
	got := summary(s.results(imp.ID, ""))
	if got != "2:skipped/sticky 3:updated 4:updated" {
		t.Errorf("import over sticky and manual users: %s", got)
	}
	s.getJSON(fmt.Sprintf("/api/v1/users/%d", ann.ID), &ann)
	if ann.LastName != "Able-Smith" {
		t.Errorf("the import overwrote a sticky field: %q", ann.LastName)
	}
	s.getJSON(fmt.Sprintf("/api/v1/users/%d", manual.ID), &manual)
	if manual.Origin != "manual" {
		t.Errorf("an import made a manual user SIS-managed")
	}
	// override_sis_stickiness writes it; with clear_sis_stickiness the mark goes.
	imp = s.importCSV("override_sis_stickiness=true&clear_sis_stickiness=true", "user_id,login_id,last_name,status\nS1,ann,Able,active\n")
	rs := s.results(imp.ID, "")
	if len(rs) != 1 || rs[0].Action != "updated" || fmt.Sprint(rs[0].Changes["last_name"]) != "[Able-Smith Able]" {
		t.Errorf("override: %+v", rs)
	}
	s.getJSON(fmt.Sprintf("/api/v1/users/%d", ann.ID), &ann)
	if ann.LastName != "Able" || len(ann.StickyFields) != 0 {
		t.Errorf("after override and clear: %+v", ann)
	}

	// Reach: a sub-account's token sees only its subtree.
	code, b, _ = s.do("POST", "/api/v1/accounts/1/sub_accounts", strings.NewReader("account[name]=East&account[sis_account_id]=east"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	var east struct{ ID int64 }
	decode(t, b, &east)
	if code != 200 || east.ID == 0 {
		t.Fatalf("create sub-account: %d %s", code, b)
	}
	eastToken := s.newToken(east.ID, auth.Admin)
	code, _, _ = s.do("GET", fmt.Sprintf("/api/v1/users/%d", ann.ID), nil, map[string]string{"Authorization": "Bearer " + eastToken})
	if code != 404 {
		t.Errorf("a sub-account token read a user outside its subtree: %d", code)
	}
	code, b, _ = s.do("GET", "/api/v1/accounts/self/users", nil, map[string]string{"Authorization": "Bearer " + eastToken})
	if code != 200 || strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("sub-account users: %d %s", code, b)
	}
	readOnly := s.newToken(1, auth.ReadOnly)
	code, _, _ = s.do("PUT", fmt.Sprintf("/api/v1/users/%d", ann.ID), strings.NewReader(`{"user":{"name":"X"}}`),
		map[string]string{"Authorization": "Bearer " + readOnly, "Content-Type": "application/json"})
	if code != 403 {
		t.Errorf("a read_only token edited a user: %d", code)
	}
}

func TestUsersHomeAccounts(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := t.Context()
	north := s.account("North", 1, "north")
	school := s.account("North High", north.ID, "north-high")
	s.account("South", 1, "south")
	tok := s.newToken(north.ID, auth.SISImport)
	code, b, _ := s.do("POST", fmt.Sprintf("/api/v1/accounts/%d/sis_imports?extension=csv", north.ID),
		strings.NewReader("user_id,login_id,account_id,status\nU1,u1,north-high,active\nU2,u2,,active\nU3,u3,south,active\nU4,u4,nowhere,active\n"),
		map[string]string{"Authorization": "Bearer " + tok})
	if code != 200 {
		t.Fatalf("upload: %d %s", code, b)
	}
	var imp sisImport
	decode(t, b, &imp)
	s.token = tok
	s.wait(fmt.Sprint(north.ID), imp.ID)
	got := summary(s.resultsIn(fmt.Sprint(north.ID), imp.ID, ""))
	if got != "2:created 3:created 4:failed/out_of_scope 5:failed/unknown_reference" {
		t.Errorf("home accounts: %s", got)
	}
	var homes []int64
	rows, err := s.db.Query(ctx, `SELECT account_id FROM users ORDER BY sis_user_id`)
	pgtest.Must(t, err)
	defer rows.Close()
	for rows.Next() {
		var id int64
		pgtest.Must(t, rows.Scan(&id))
		homes = append(homes, id)
	}
	rows.Close()
	pgtest.Must(t, rows.Err())
	if fmt.Sprint(homes) != fmt.Sprint([]int64{school.ID, north.ID}) {
		t.Errorf("home accounts stored %v, want [%d %d]", homes, school.ID, north.ID)
	}
}

func TestProvisioningReportImportsBackUnchanged(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := t.Context()
	s.account("West", 1, "west")
	if _, err := directory.CreateProperty(ctx, s.db, 1, directory.Property{Name: "clubs", Type: "multiple_choice", Options: []string{"Chess", "Drama"}}); err != nil {
		t.Fatal(err)
	}
	s.importCSV("", "user_id,login_id,first_name,last_name,email,pronouns,integration_id,account_id,property.clubs,status\n"+
		"R1,r1,Ann,Able,r1@example.edu,she/her,I-1,west,chess;drama,active\n"+
		"R2,r2,\"Ben, Jr.\",\"O'Brien\",,,,,,suspended\n"+
		"R3,r3,Cy,Cole,,,,,,active\n")
	s.importCSV("", "user_id,login_id,full_name,sortable_name,short_name,status\nR3,r3,Cy Q. Cole,\"Cole, Cy\",CQ,deleted\n")
	code, report, _ := s.do("GET", "/api/v1/accounts/1/reports/provisioning?type=users", nil, nil)
	if code != 200 || !strings.HasPrefix(string(report), "user_id,login_id,") || !strings.Contains(string(report), "Chess;Drama") {
		t.Fatalf("report: %d %s", code, report)
	}
	imp := s.importCSV("", string(report))
	if got := summary(s.results(imp.ID, "")); got != "2:unchanged 3:unchanged 4:unchanged" {
		t.Errorf("the report imported back as %s\n%s", got, report)
	}
}

func TestUserProperties(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	define := func(body string) (int, string) {
		code, b, _ := s.do("POST", "/api/v1/accounts/1/user_properties", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
		return code, string(b)
	}
	if code, b := define(`{"name":"Department","type":"single_choice","options":["Biology","Chemistry"]}`); code != 200 {
		t.Fatalf("define: %d %s", code, b)
	}
	if code, b := define(`{"name":"clubs","type":"multiple_choice","options":["Chess","Drama"]}`); code != 200 {
		t.Fatalf("define: %d %s", code, b)
	}
	if code, _ := define(`{"name":"x","type":"single_choice"}`); code != 400 {
		t.Errorf("a choice without options: %d", code)
	}
	imp := s.importCSV("", "user_id,login_id,property.department,property.CLUBS,status\n"+
		"P1,p1, biology ,chess;DRAMA,active\n"+ // trimmed, case-insensitive, stored with the option's spelling
		"P2,p2,Physics,,active\n") // not an option: never a silent fallback
	rs := s.results(imp.ID, "")
	if got := summary(rs); got != "2:created 3:failed/invalid_option" {
		t.Fatalf("results: %s", got)
	}
	if msg := str(rs[1].Message); !strings.Contains(msg, "Biology, Chemistry") {
		t.Errorf("invalid_option does not list the options: %q", msg)
	}
	var u struct {
		Properties map[string]any `json:"properties"`
	}
	s.getJSON("/api/v1/users/sis_user_id:P1", &u)
	if fmt.Sprint(u.Properties) != "map[clubs:[Chess Drama] department:Biology]" {
		t.Errorf("stored properties: %v", u.Properties)
	}
	if imp := s.importCSV("", "user_id,login_id,property.nope,status\nP3,p3,x,active\n"); imp.WorkflowState != "failed_with_messages" ||
		!strings.Contains(fmt.Sprint(imp.ProcessingErrors), "property.nope") {
		t.Errorf("an undefined property column: %s %v", imp.WorkflowState, imp.ProcessingErrors)
	}
	// Renaming an option carries stored values along; removing one in use is a 409.
	code, b, _ := s.do("PUT", "/api/v1/accounts/1/user_properties/department", strings.NewReader(
		`{"type":"single_choice","options":["Life Sciences","Chemistry"],"rename_options":{"Biology":"Life Sciences"}}`),
		map[string]string{"Content-Type": "application/json"})
	if code != 200 {
		t.Fatalf("rename: %d %s", code, b)
	}
	s.getJSON("/api/v1/users/sis_user_id:P1", &u)
	if u.Properties["department"] != "Life Sciences" {
		t.Errorf("after the rename: %v", u.Properties)
	}
	code, _, _ = s.do("PUT", "/api/v1/accounts/1/user_properties/department", strings.NewReader(`{"type":"single_choice","options":["Chemistry"]}`),
		map[string]string{"Content-Type": "application/json"})
	if code != 409 {
		t.Errorf("removing an option in use: %d, want 409", code)
	}
	// Matching on a text property: an update_only file keyed by student number.
	if code, b := define(`{"name":"student_number","type":"text"}`); code != 200 {
		t.Fatalf("define: %d %s", code, b)
	}
	s.importCSV("", "user_id,login_id,property.student_number,status\nP1,p1,N-001,active\nP9,p9,N-009,active\n")
	imp = s.importCSV("user_upload_type=update_only&user_match_on=property.student_number",
		"user_id,login_id,first_name,property.student_number,status\n,p1,Matched,n-001,active\n,x,X,N-404,active\n")
	if got := summary(s.results(imp.ID, "")); got != "2:updated 3:skipped/not_found" {
		t.Errorf("match on a property: %s", got)
	}
	if imp := s.importCSV("user_match_on=property.clubs", "user_id,login_id,property.clubs,status\nP1,p1,Chess,active\n"); imp.WorkflowState != "failed_with_messages" {
		t.Errorf("matching on a multiple_choice property: %s", imp.WorkflowState)
	}
	// Only an admin of the root account defines properties.
	code, _, _ = s.do("POST", "/api/v1/accounts/1/user_properties", strings.NewReader(`{"name":"y","type":"text"}`),
		map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + s.newToken(1, auth.SISImport)})
	if code != 403 {
		t.Errorf("a sis_import token defined a property: %d", code)
	}
}
