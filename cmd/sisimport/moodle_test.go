package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// groupMembers lists each group of the root account with its origin and
// its accepted members' login ids, as "name(origin):login login".
func (s *service) groupMembers() []string {
	s.t.Helper()
	rows, err := s.db.Query(context.Background(), `SELECT g.name || '(' || g.origin || COALESCE(',' || c.sis_course_id, '') || '):'
			|| COALESCE(string_agg(u.login_id, ' ' ORDER BY u.login_id) FILTER (WHERE m.workflow_state = 'accepted'), '')
		FROM groups g LEFT JOIN courses c ON c.id = g.course_id
		LEFT JOIN group_memberships m ON m.group_id = g.id LEFT JOIN users u ON u.id = m.user_id
		WHERE g.root_account_id = 1 GROUP BY g.id, g.name, g.origin, c.sis_course_id ORDER BY g.name, g.id`)
	pgtest.Must(s.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		pgtest.Must(s.t, rows.Scan(&g))
		out = append(out, g)
	}
	return out
}

// userLine is a user as "login sis first last state".
func (s *service) userLine(login string) string {
	s.t.Helper()
	var line string
	err := s.db.QueryRow(context.Background(), `SELECT login_id || ' ' || COALESCE(sis_user_id, '-') || ' ' || first_name || ' ' || last_name
		|| ' ' || email || ' ' || workflow_state FROM users WHERE root_account_id = 1 AND lower(login_id) = lower($1)`, login).Scan(&line)
	if err != nil {
		return "none"
	}
	return line
}

// Moodle's Upload users file as its administrators write it, found by its
// header with no import_type: usernames lower-cased as Moodle does, the
// idnumber the SIS id, the cohort a group of the account.
func TestMoodleUploadUsersFile(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importCSV("", "username,password,firstname,lastname,email,idnumber,cohort1\n"+
		"JSmith,Pass1234*,Jane,Smith,jane@example.edu,E100,Staff\n"+ // 2
		"bdoe,Pass1234*,Bob,Doe,bob@example.edu,,Staff\n"+ // 3 no idnumber: a user without an SIS id
		"cwu,Pass1234*,Cy,Wu,not-an-email,E102,\n") // 4
	rs := s.results(imp.ID, "")
	sameOutcomes(t, "moodle users", outcomes(rs), map[string]string{
		"users.csv:2": "created/", "users.csv:3": "created/", "users.csv:4": "failed/invalid_value"})
	if str(rs[0].SISID) != "E100" || str(rs[1].SISID) != "bdoe" {
		t.Errorf("results name the idnumber, else the username: %q %q", str(rs[0].SISID), str(rs[1].SISID))
	}
	if got := s.userLine("jsmith"); got != "jsmith E100 Jane Smith jane@example.edu active" {
		t.Errorf("JSmith: %s", got)
	}
	if got := s.userLine("bdoe"); got != "bdoe - Bob Doe bob@example.edu active" {
		t.Errorf("bdoe: %s", got)
	}
	if got := strings.Join(s.groupMembers(), "; "); got != "Staff(sis):bdoe jsmith" {
		t.Errorf("groups: %s", got)
	}
	if imp.Data.Counts["users"] != 2 || imp.Data.Counts["group_memberships"] != 2 {
		t.Errorf("counts %v", imp.Data.Counts)
	}

	// Again, matched on the username (Moodle's key): unchanged; a rename
	// without allow_renames fails, with it the user keeps its id.
	imp = s.importCSV("import_type=moodle_csv", "username,oldusername,firstname,lastname,idnumber,cohort1\n"+
		"jsmith,,Jane,Smith,E100,Staff\n"+
		"bobby,bdoe,Bob,Doe,,\n")
	sameOutcomes(t, "again", outcomes(s.results(imp.ID, "")), map[string]string{
		"users.csv:2": "unchanged/", "users.csv:3": "failed/invalid_value"})
	imp = s.importCSV("import_type=moodle_csv&allow_renames=true", "username,oldusername,firstname,lastname\n"+
		"bobby,bdoe,Bob,Doe\n"+
		"ghost,nobody,Gh,Ost\n")
	sameOutcomes(t, "renames", outcomes(s.results(imp.ID, "")), map[string]string{
		"users.csv:2": "updated/", "users.csv:3": "skipped/not_found"})
	if got := s.userLine("bobby"); got != "bobby - Bob Doe bob@example.edu active" {
		t.Errorf("renamed: %s", got)
	}

	// suspended and deleted apply only when allowed, and say so once.
	imp = s.importCSV("", "username,firstname,lastname,suspended\njsmith,Jane,Smith,1\n")
	sameOutcomes(t, "suspend not allowed", outcomes(s.results(imp.ID, "")), map[string]string{"users.csv:2": "unchanged/"})
	if len(imp.ProcessingWarnings) != 1 || !strings.Contains(imp.ProcessingWarnings[0][1], "allow_suspends") {
		t.Errorf("warnings %v", imp.ProcessingWarnings)
	}
	imp = s.importCSV("allow_suspends=true", "username,firstname,lastname,suspended\njsmith,Jane,Smith,1\n")
	sameOutcomes(t, "suspend", outcomes(s.results(imp.ID, "")), map[string]string{"users.csv:2": "deactivated/"})
	imp = s.importCSV("allow_deletes=true", "username,firstname,lastname,deleted\nbobby,Bob,Doe,1\n")
	sameOutcomes(t, "delete", outcomes(s.results(imp.ID, "")), map[string]string{"users.csv:2": "deleted/",
		"group_membership:": "deleted/"}) // what goes with a deleted user: its membership of Staff
}

// Moodle's own test fixtures, unchanged: cohorts become groups of the
// account; course1 names the course by its SIS id, group1 a group of it.
func TestMoodleFixtures(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata/external/moodle-uploaduser", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	imp := s.importCSV("", read("upload_users_cohorts.csv"))
	sameOutcomes(t, "cohorts", outcomes(s.results(imp.ID, "")), map[string]string{
		"users.csv:2": "created/", "users.csv:3": "created/", "users.csv:4": "created/", "users.csv:5": "created/"})
	if got := strings.Join(s.groupMembers(), "; "); got != "ASD(sis):bobjones tomjones; DSA(sis):alicesmith marysmith" {
		t.Errorf("cohorts: %s", got)
	}
	s.importCSV("", "course_id,short_name,long_name,status\nmath102,Math 102,Mathematics 102,active\n")
	imp = s.importCSV("", read("upload_users_email_matching.csv"))
	got := outcomes(s.results(imp.ID, ""))
	if got["users.csv:2"] != "created/" || got["users.csv:3"] != "created/" {
		t.Errorf("users: %v", got)
	}
	groups := strings.Join(s.groupMembers(), "; ")
	if !strings.Contains(groups, "Section 1(sis,math102):bilbob") || !strings.Contains(groups, "Section 3(sis,math102):frodob") {
		t.Errorf("course groups: %s", groups)
	}
}

// The HRIS file of Moodle's documentation: no usernames, users matched on the employee id
// (here the integration id), update_only. An empty cell keeps the stored
// value, the required login_id and status of a matched user too; a new
// user still needs them.
func TestHRISUpdateWithoutUsernames(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,integration_id,first_name,last_name,status\n"+
		"S1,ann,E1,Ann,Lee,active\nS2,ben,E2,Ben,Ode,suspended\n")
	imp := s.importCSV("user_upload_type=update_only&user_match_on=integration_id",
		"user_id,login_id,integration_id,first_name,last_name,status\n"+
			",,E1,Anne,Lee,\n"+ // 2 only the first name changes
			",,E2,Ben,Ode,\n"+ // 3 stays suspended
			",,E9,Nobody,Here,\n") // 4 no such employee
	sameOutcomes(t, "hris", outcomes(s.results(imp.ID, "")), map[string]string{
		"users.csv:2": "updated/", "users.csv:3": "unchanged/", "users.csv:4": "skipped/not_found"})
	if got := s.userLine("ann"); got != "ann S1 Anne Lee  active" {
		t.Errorf("ann: %s", got)
	}
	if got := s.userLine("ben"); got != "ben S2 Ben Ode  suspended" {
		t.Errorf("ben: %s", got)
	}
	// The file of an HRIS that has no usernames at all, nor a status: an
	// update_only import needs only the column it matches on, in Canvas's
	// words or Moodle's.
	imp = s.importCSV("user_upload_type=update_only&user_match_on=integration_id",
		"integration_id,first_name,last_name\nE1,Annie,Lee\nE9,No,One\n")
	sameOutcomes(t, "hris without usernames", outcomes(s.results(imp.ID, "")), map[string]string{
		"users.csv:2": "updated/", "users.csv:3": "skipped/not_found"})
	imp = s.importCSV("import_type=moodle_csv&user_upload_type=update_only&user_match_on=user_id",
		"idnumber,firstname,lastname\nS2,Benedict,Ode\n")
	sameOutcomes(t, "a Moodle file without usernames", outcomes(s.results(imp.ID, "")), map[string]string{"users.csv:2": "updated/"})
	if got := s.userLine("ann") + "; " + s.userLine("ben"); got != "ann S1 Annie Lee  active; ben S2 Benedict Ode  suspended" {
		t.Errorf("after the files without usernames: %s", got)
	}
	// Without update_only, Canvas's users file needs its login_id column.
	imp = s.importCSV("user_match_on=integration_id", "integration_id,first_name,last_name\nE1,Ann,Lee\n")
	if len(imp.ProcessingErrors) != 1 || !strings.Contains(imp.ProcessingErrors[0][1], "matches no known file type") {
		t.Errorf("a users file without login_id outside update_only: %v", imp.ProcessingErrors)
	}
	imp = s.importCSV("", "user_id,login_id,status\nS1,,\nS3,,active\nS4,dee,\n")
	sameOutcomes(t, "create needs", outcomes(s.results(imp.ID, "")), map[string]string{
		"users.csv:2": "unchanged/", "users.csv:3": "failed/missing_value", "users.csv:4": "failed/missing_value"})
}

// A group column on a Canvas users file, as other LMSs' user imports have: the user joins the named
// groups of the import's account, made by the import; a manual group of
// the same name is never joined.
func TestUsersFileGroupColumn(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	code, b, _ := s.do("POST", "/api/v1/accounts/1/groups", strings.NewReader(`{"name":"Chess"}`), map[string]string{"Content-Type": "application/json"})
	if code != 200 {
		t.Fatalf("manual group: %d %s", code, b)
	}
	file := "user_id,login_id,status,group\n" +
		"S1,ann,active,Chess; Debate\n" + // 2
		"S2,ben,active,Debate\n" + // 3
		"S3,cy,active,\n" + // 4 no groups: no membership result
		"S4,,active,Chess\n" // 5 no user to join: a new user needs a login id
	imp := s.importCSV("", file)
	first := imp
	rs := s.results(imp.ID, "")
	// The users; the two groups the import made; a membership for each join.
	if got := summary(rs); got != "2:created 3:created 4:created 5:failed/missing_value 2:created 2:created 2:created 2:created 3:created 5:failed/unknown_reference" {
		t.Errorf("results: %s", got)
	}
	var joins []string
	for _, r := range rs {
		if r.Entity == "group_membership" && r.Action == "created" {
			if r.ObjectID == nil || r.File != "users.csv" {
				t.Errorf("a join's result names the membership and the file: %+v", r)
			}
			joins = append(joins, fmt.Sprintf("%d:%s:%s", *r.Row, str(r.SISID), str(r.Message)))
		}
	}
	if got := strings.Join(joins, "; "); got != `2:S1:group "Chess"; 2:S1:group "Debate"; 3:S2:group "Debate"` {
		t.Errorf("joins: %s", got)
	}
	if imp.Data.Counts["groups"] != 2 || imp.Data.Counts["group_memberships"] != 3 {
		t.Errorf("counts %v", imp.Data.Counts)
	}
	want := "Chess(manual):; Chess(sis):ann; Debate(sis):ann ben"
	if got := strings.Join(s.groupMembers(), "; "); got != want {
		t.Errorf("groups: %s, want %s", got, want)
	}
	for _, w := range imp.ProcessingWarnings {
		if strings.Contains(w[1], "ignored") {
			t.Errorf("the group column is read: %v", w)
		}
	}
	imp = s.importCSV("", file)
	if got := summary(s.results(imp.ID, "")); got != "2:unchanged 3:unchanged 4:unchanged 5:failed/missing_value 2:unchanged 2:unchanged 3:unchanged 5:failed/unknown_reference" {
		t.Errorf("again: %s", got)
	}
	if got := strings.Join(s.groupMembers(), "; "); got != want {
		t.Errorf("groups again: %s", got)
	}
	// A restore of the first import takes back its joins and its groups.
	if restored := s.restore(first.ID); restored.WorkflowState != "restored" {
		t.Errorf("restore: %s", restored.WorkflowState)
	}
	var live int
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM group_memberships WHERE workflow_state = 'accepted')
		+ (SELECT count(*) FROM groups WHERE workflow_state = 'available' AND origin = 'sis')`).Scan(&live))
	if live != 0 {
		t.Errorf("after the restore, %d memberships and groups the import made are live", live)
	}
}

// A Moodle line with everything: a cohort, a course and a role. Moodle's roles
// are Canvas's (editingteacher a teacher, teacher a TA); the user is found
// by its username when it has no idnumber; a row without a course has no
// enrollment; groupN is a group of the course.
func TestMoodleEnrolments(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "course_id,short_name,long_name,status\nBIO101,Bio,Biology 101,active\nCHEM1,Chem,Chemistry,active\n")
	imp := s.importCSV("", "username,password,firstname,lastname,email,idnumber,cohort1,course1,role1,group1,enrolstatus1,enroltimestart1,enrolperiod1\n"+
		"ann,Pass1234*,Ann,Lee,ann@example.edu,E1,Year 9,BIO101,student,Lab A,,2026-09-01,30\n"+ // 2
		"bob,Pass1234*,Bob,Ode,bob@example.edu,,Staff,BIO101,editingteacher,,,,\n"+ // 3 no idnumber: found by username
		"cy,Pass1234*,Cy,Wu,cy@example.edu,E3,Staff,CHEM1,teacher,,1,,\n"+ // 4 a suspended enrolment
		"dee,Pass1234*,Dee,Ho,dee@example.edu,E4,,,,,,,\n"+ // 5 no course, no cohort
		"eve,Pass1234*,Eve,Ng,eve@example.edu,E5,,NOPE,student,,,,\n"+ // 6 no such course
		"fay,Pass1234*,Fay,Li,fay@example.edu,E6,,BIO101,manager,,,,\n") // 7 no such role
	var got []string
	for _, r := range s.results(imp.ID, "") {
		if r.Row == nil || r.File != "users.csv" {
			t.Errorf("a result that names no line of the file: %+v", r)
			continue
		}
		got = append(got, fmt.Sprintf("%s:%d:%s/%s", r.Entity, *r.Row, r.Action, str(r.Code)))
	}
	slices.Sort(got)
	rs := s.results(imp.ID, "")
	for _, r := range rs {
		if r.Entity == "enrollment" && *r.Row == 6 && !strings.HasPrefix(str(r.Message), `column course1: no course "NOPE"`) {
			t.Errorf("a failure names the file's own column: %q", str(r.Message))
		}
	}
	want := []string{"enrollment:2:created/", "enrollment:3:created/", "enrollment:4:created/",
		"enrollment:6:failed/unknown_reference", "enrollment:7:failed/unknown_reference",
		"group:2:created/", "group:2:created/", "group:3:created/", // Year 9 and Lab A, then Staff: made where first named
		"group_membership:2:created/", "group_membership:2:created/", // cohort Year 9, and Lab A of BIO101
		"group_membership:3:created/", "group_membership:4:created/",
		"user:2:created/", "user:3:created/", "user:4:created/", "user:5:created/", "user:6:created/", "user:7:created/"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("results:\n got  %v\n want %v", got, want)
	}
	rows, err := s.db.Query(context.Background(), `SELECT u.login_id || ' ' || c.sis_course_id || ' ' || e.role || ' ' || e.workflow_state
			|| ' ' || COALESCE(to_char(e.start_at, 'YYYY-MM-DD'), '-') || ' ' || COALESCE(to_char(e.end_at, 'YYYY-MM-DD'), '-')
		FROM enrollments e JOIN users u ON u.id = e.user_id JOIN courses c ON c.id = e.course_id ORDER BY u.login_id`)
	pgtest.Must(t, err)
	var enrolments []string
	for rows.Next() {
		var line string
		pgtest.Must(t, rows.Scan(&line))
		enrolments = append(enrolments, line)
	}
	rows.Close()
	wantE := "ann BIO101 student active 2026-09-01 2026-10-01; bob BIO101 teacher active - -; cy CHEM1 ta inactive - -"
	if got := strings.Join(enrolments, "; "); got != wantE {
		t.Errorf("enrollments:\n got  %s\n want %s", got, wantE)
	}
	wantG := "Lab A(sis,BIO101):ann; Staff(sis):bob cy; Year 9(sis):ann"
	if got := strings.Join(s.groupMembers(), "; "); got != wantG {
		t.Errorf("groups:\n got  %s\n want %s", got, wantG)
	}
}

// Moodle's "existing user details" (user_update_type) and its profile
// fields, which are the root account's user properties.
func TestMoodleExistingUserDetails(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	code, b, _ := s.do("POST", "/api/v1/accounts/1/user_properties", strings.NewReader(`{"name":"house","type":"text"}`),
		map[string]string{"Content-Type": "application/json"})
	if code != 200 {
		t.Fatalf("define: %d %s", code, b)
	}
	s.importCSV("", "user_id,login_id,first_name,last_name,email,status\nS1,ann,Ann,,ann@old.example,active\n")
	file := "username,firstname,lastname,email,profile_field_house\nann,Anne,Lee,ann@new.example,Red\n"
	cases := []struct{ params, want, props string }{
		{"user_update_type=nochanges", "ann S1 Ann  ann@old.example active", "{}"},
		{"user_update_type=missing", "ann S1 Ann Lee ann@old.example active", `{"house": "Red"}`},
		{"user_update_type=file&default[email]=%25u@default.example", "ann S1 Anne Lee ann@new.example active", `{"house": "Red"}`},
	}
	for _, c := range cases {
		imp := s.importCSV(c.params, file)
		if len(imp.ProcessingWarnings) != 0 {
			t.Errorf("%s: profile_field_house is read: %v", c.params, imp.ProcessingWarnings)
		}
		if got := s.userLine("ann"); got != c.want {
			t.Errorf("%s: %s, want %s", c.params, got, c.want)
		}
		var props string
		pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT properties::text FROM users WHERE login_id = 'ann'`).Scan(&props))
		if props != c.props {
			t.Errorf("%s: properties %s, want %s", c.params, props, c.props)
		}
	}
	// file leaves out the defaults; file_and_defaults (the default) applies them.
	s.importCSV("user_update_type=file&default[email]=%25u@default.example", "username,firstname,lastname\nann,Anne,Lee\n")
	if got := s.userLine("ann"); got != "ann S1 Anne Lee ann@new.example active" {
		t.Errorf("file: %s", got)
	}
	s.importCSV("default[email]=%25u@default.example", "username,firstname,lastname\nann,Anne,Lee\n")
	if got := s.userLine("ann"); got != "ann S1 Anne Lee ann@default.example active" {
		t.Errorf("file_and_defaults: %s", got)
	}
}
