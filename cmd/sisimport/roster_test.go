package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// importZip uploads a zip of name/content pairs to account and waits.
func (s *service) importZip(account, params string, files ...string) sisImport {
	s.t.Helper()
	path := "/api/v1/accounts/" + account + "/sis_imports"
	if params != "" {
		path += "?" + params
	}
	code, b, _ := s.do("POST", path, bytes.NewReader(zipOf(s.t, files...)), map[string]string{"Content-Type": "application/zip"})
	if code != 200 {
		s.t.Fatalf("zip upload: %d %s", code, b)
	}
	var up sisImport
	decode(s.t, b, &up)
	return s.wait(account, up.ID)
}

// outcomes maps each result to action/code: rows by file:line, results
// without a row by entity:sis_id.
func outcomes(rs []result) map[string]string {
	got := map[string]string{}
	for _, r := range rs {
		k := fmt.Sprintf("%s:%s", r.Entity, str(r.SISID))
		if r.Row != nil {
			k = fmt.Sprintf("%s:%d", r.File, *r.Row)
		}
		got[k] = r.Action + "/" + str(r.Code)
	}
	return got
}

func sameOutcomes(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		var diff []string
		for k, w := range want {
			if got[k] != w {
				diff = append(diff, fmt.Sprintf("%s: got %q, want %q", k, got[k], w))
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				diff = append(diff, fmt.Sprintf("%s: got %q, not expected", k, g))
			}
		}
		sort.Strings(diff)
		t.Fatalf("%s:\n%s", what, strings.Join(diff, "\n"))
	}
}

// rosterZip holds every file type, in an order Canvas's is not.
var rosterZip = []string{
	"7_memberships.csv", "group_id,user_id,status\nG1,U1,accepted\nG1,U2,accepted\nG1,NOPE,accepted\n",
	"6_groups.csv", "group_id,name,status,course_id\nG1,Lab group,available,C1\n",
	"5_enrollments.csv", "course_id,section_id,user_id,role,status\nC1,,U1,teacher,active\n,S1,U2,student,active\nC1,S1,U1,ta,inactive\nC2,,U2,student,active\nC1,,U1,teacher,active\n",
	"4_sections.csv", "section_id,course_id,name,status,start_date\nS1,C1,Section 1,active,2026-09-01\nS2,C9,Lost,active,\n",
	"3_courses.csv", "course_id,short_name,long_name,account_id,term_id,status\nC1,BIO1,Biology 1,SUB,T1,active\nC2,CHEM1,Chemistry 1,,,published\n",
	"2_users.csv", "user_id,login_id,first_name,last_name,status\nU1,u1,Ada,Lovelace,active\nU2,u2,Alan,Turing,active\n",
	"1_terms.csv", "term_id,name,status,start_date,end_date\nT1,Fall 2026,active,2026-08-24,2026-12-20T17:00:00Z\n",
	"0_accounts.csv", "account_id,parent_account_id,name,status\nSUB,,Science,active\n",
}

func TestRosterZipOfEveryType(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importZip("1", "", rosterZip...)
	if imp.WorkflowState != "imported_with_messages" {
		t.Fatalf("state %s, errors %v", imp.WorkflowState, imp.ProcessingErrors)
	}
	want := map[string]string{
		"0_accounts.csv:2": "created/", "1_terms.csv:2": "created/", "2_users.csv:2": "created/", "2_users.csv:3": "created/",
		"3_courses.csv:2": "created/", "3_courses.csv:3": "created/",
		"4_sections.csv:2": "created/", "4_sections.csv:3": "failed/unknown_reference",
		"5_enrollments.csv:2": "created/", "5_enrollments.csv:3": "created/", "5_enrollments.csv:4": "created/",
		"5_enrollments.csv:5": "created/", "5_enrollments.csv:6": "failed/duplicate_in_file",
		"6_groups.csv:2":      "created/",
		"7_memberships.csv:2": "created/", "7_memberships.csv:3": "created/", "7_memberships.csv:4": "failed/unknown_reference",
	}
	sameOutcomes(t, "first import", outcomes(s.results(imp.ID, "")), want)
	for _, c := range []struct{ key, want string }{
		{"courses", "2"}, {"sections", "1"}, {"enrollments", "4"}, {"groups", "1"}, {"group_memberships", "2"},
	} {
		if got := fmt.Sprint(imp.Data.Counts[c.key]); got != c.want {
			t.Errorf("data.counts[%s] = %s, want %s", c.key, got, c.want)
		}
	}
	// The course hangs in the account the same upload created, in the term
	// it created; the section's enrollment belongs to its course.
	var account, term, state string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT a.sis_account_id, t.sis_term_id, c.workflow_state FROM courses c JOIN accounts a ON a.id = c.account_id
		JOIN terms t ON t.id = c.term_id WHERE c.sis_course_id = 'C1'`).Scan(&account, &term, &state))
	if account != "SUB" || term != "T1" || state != "active" {
		t.Errorf("course C1: account %q term %q state %q", account, term, state)
	}
	var n int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM enrollments e JOIN courses c ON c.id = e.course_id JOIN sections x ON x.id = e.section_id
		WHERE c.sis_course_id = 'C1' AND x.sis_section_id = 'S1'`).Scan(&n))
	if n != 2 {
		t.Errorf("enrollments in section S1 of C1: %d, want 2", n)
	}
	dup := s.results(imp.ID, "file=5_enrollments.csv&action[]=failed")
	if len(dup) != 1 || !strings.Contains(str(dup[0].Message), "line 2") {
		t.Errorf("the duplicate enrollment does not name the first line: %+v", dup)
	}

	// The same zip again changes nothing.
	again := s.importZip("1", "", rosterZip...)
	for k, v := range outcomes(s.results(again.ID, "")) {
		if w := want[k]; w != v && !(strings.HasPrefix(w, "created/") && v == "unchanged/") {
			t.Errorf("second import %s: %s (first: %s)", k, v, w)
		}
	}
}

func TestEnrollmentRules(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "",
		"users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\nU3,u3,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\nC2,B,B,active\n",
		"sections.csv", "section_id,course_id,name,status\nS1,C1,One,active\nS2,C2,Two,active\n",
		"enrollments.csv", "course_id,user_id,role,status\nC1,U1,student,active\nC1,U2,student,active\nC1,U3,student,active\nC2,U3,student,active\n",
		"groups.csv", "group_id,name,status\nG1,Group,available\n",
		"memberships.csv", "group_id,user_id,status\nG1,U3,accepted\n",
	)
	imp := s.importZip("1", "skip_deletes=false",
		"enrollments.csv", "course_id,section_id,user_id,role,status,start_date\n"+
			"C1,,U1,student,inactive,\n"+ // 2 deactivated
			"C1,,U2,student,completed,\n"+ // 3 updated
			"C1,,U3,student,deleted_last_completed,\n"+ // 4 U3 has C1 only once: concluded
			"C1,,U9,student,active,\n"+ // 5 unknown user
			"C9,,U1,student,active,\n"+ // 6 unknown course
			"C1,S2,U1,student,active,\n"+ // 7 S2 is C2's
			"C1,,U1,principal,active,\n"+ // 8 not a role
			"C1,,U2,teacher,deleted,\n"+ // 9 no such enrollment
			"C2,,U3,student,active,24/08/2026\n"+ // 10 not ISO 8601
			",,U1,student,active,\n", // 11 neither course nor section
		"users.csv", "user_id,login_id,status\nU3,u3,deleted\n",
	)
	got := outcomes(s.results(imp.ID, ""))
	want := map[string]string{
		"users.csv:2":         "deleted/",
		"enrollments.csv:2":   "deactivated/",
		"enrollments.csv:3":   "updated/",
		"enrollments.csv:4":   "updated/",
		"enrollments.csv:5":   "failed/unknown_reference",
		"enrollments.csv:6":   "failed/unknown_reference",
		"enrollments.csv:7":   "failed/invalid_value",
		"enrollments.csv:8":   "failed/unknown_reference",
		"enrollments.csv:9":   "skipped/not_found",
		"enrollments.csv:10":  "failed/invalid_value",
		"enrollments.csv:11":  "failed/missing_value",
		"enrollment:U3":       "deleted/", // U3's enrollments go with U3 (C2's, and C1's concluded one)
		"group_membership:U3": "deleted/",
	}
	sameOutcomes(t, "enrollment rules", got, want)
	var live int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM enrollments e JOIN users u ON u.id = e.user_id WHERE u.sis_user_id = 'U3' AND e.workflow_state <> 'deleted'`).Scan(&live))
	if live != 0 {
		t.Errorf("a deleted user keeps %d live enrollments", live)
	}
	if n := len(s.results(imp.ID, "action[]=deleted&file=users.csv")); n != 4 {
		t.Errorf("the user's deletion lists %d results, want 4: the user, 2 enrollments, 1 membership", n)
	}
	// A file that breaks down halfway applies none of its rows.
	broken := s.importZip("1", "", "enrollments.csv", "course_id,user_id,role,status\nC1,U1,student,active\nC2,\"U2,student,active\n")
	var u1 string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT e.workflow_state FROM enrollments e JOIN users u ON u.id = e.user_id JOIN courses c ON c.id = e.course_id
		WHERE u.sis_user_id = 'U1' AND c.sis_course_id = 'C1' AND e.role = 'student'`).Scan(&u1))
	if broken.WorkflowState != "failed_with_messages" || u1 != "inactive" || len(s.results(broken.ID, "")) != 0 {
		t.Errorf("a broken enrollments file: %s %v; U1 in C1 is %s", broken.WorkflowState, broken.ProcessingErrors, u1)
	}
	msgs := map[int]string{}
	for _, r := range s.results(imp.ID, "action[]=failed") {
		msgs[*r.Row] = str(r.Message)
	}
	for line, part := range map[int]string{5: `no user "U9"`, 6: `no course "C9"`, 7: `section "S2" does not belong to course "C1"`,
		8: "column role", 10: "column start_date", 11: "course_id or section_id"} {
		if !strings.Contains(msgs[line], part) {
			t.Errorf("line %d: message %q does not say %q", line, msgs[line], part)
		}
	}
	// An enrollments file alone has its references resolved ahead, on a
	// connection of its own: the same rules apply.
	alone := s.importZip("1", "", "enrollments.csv", "course_id,section_id,user_id,role,status\n"+
		"C1,,U9,student,active\n"+ // 2 unknown user
		"C9,,U1,student,active\n"+ // 3 unknown course
		"C1,S2,U1,student,active\n"+ // 4 S2 is C2's
		"C1,,U2,student,active\n") // 5 completed before: reactivated
	sameOutcomes(t, "an enrollments file alone", outcomes(s.results(alone.ID, "")), map[string]string{
		"enrollments.csv:2": "failed/unknown_reference", "enrollments.csv:3": "failed/unknown_reference",
		"enrollments.csv:4": "failed/invalid_value", "enrollments.csv:5": "reactivated/"})
}

func TestCanvasDocumentationExamples(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	dir := "testdata/external/canvas-docs"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	lines := 0
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, e.Name(), string(b))
		lines += strings.Count(strings.TrimSpace(string(b)), "\n")
	}
	imp := s.importZip("1", "", files...)
	if len(imp.ProcessingErrors) != 0 {
		t.Errorf("file-level errors: %v", imp.ProcessingErrors)
	}
	rs := s.results(imp.ID, "")
	rows := 0
	for _, r := range rs {
		if r.Row != nil {
			rows++
		}
		if r.Action == "failed" && str(r.Message) == "" {
			t.Errorf("%s line %d failed without a message", r.File, *r.Row)
		}
	}
	if rows != lines {
		t.Errorf("%d row results for %d data rows", rows, lines)
	}
	// What the examples hold that cannot be applied, each with its reason:
	// an account and sections that do not exist, and a term named by its
	// name instead of its id. Their dates (2013-1-03 00:00:00) are Canvas's.
	sameOutcomes(t, "Canvas's examples", outcomes(rs), map[string]string{
		"accounts.csv:2": "created/", "accounts.csv:3": "created/", "accounts.csv:4": "created/",
		"terms.csv:2": "created/", "terms.csv:3": "created/", "terms.csv:4": "created/",
		"users.csv:2": "created/", "users.csv:3": "created/", "users.csv:4": "created/",
		"courses.csv:2": "created/", "courses.csv:3": "failed/unknown_reference", "courses.csv:4": "created/",
		"sections.csv:2": "created/", "sections.csv:3": "created/", "sections.csv:4": "failed/unknown_reference",
		"enrollments.csv:2": "failed/unknown_reference", "enrollments.csv:3": "failed/unknown_reference", "enrollments.csv:4": "failed/unknown_reference",
	})
	// Every column of the examples is one Canvas documents, and is read.
	if strings.Contains(fmt.Sprint(imp.ProcessingWarnings), "ignored") {
		t.Errorf("a documented column was ignored: %v", imp.ProcessingWarnings)
	}
	var providers string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT string_agg(sis_user_id || '=' || authentication_provider_id, ' ' ORDER BY sis_user_id)
		FROM users WHERE sis_user_id IS NOT NULL`).Scan(&providers))
	if providers != "01103= 13834=google 13aa3=7" {
		t.Errorf("authentication providers: %s", providers)
	}
}

func TestChangeSISID(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "",
		"users.csv", "user_id,login_id,integration_id,status\nU1,u1,I1,active\nU2,u2,,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\n",
		"enrollments.csv", "course_id,user_id,role,status\nC1,U1,student,active\n",
	)
	// change_sis_id applies before the other files, so the enrollments file
	// may already use the new ids.
	imp := s.importZip("1", "",
		"enrollments.csv", "course_id,user_id,role,status\nNEWC1,NEWU1,student,active\n",
		"change.csv", "old_id,new_id,old_integration_id,new_integration_id,type\n"+
			"U1,NEWU1,I1,NEWI1,user\n"+ // 2
			"C1,NEWC1,,,course\n"+ // 3
			"U2,NEWU1,,,user\n"+ // 4 taken
			"NOPE,X,,,course\n"+ // 5 unknown
			"U2,U2B,,,planet\n"+ // 6 not a type
			"U2,U2C,NOPE,X,user\n", // 7 the integration id is unknown: neither id changes
	)
	sameOutcomes(t, "change_sis_id", outcomes(s.results(imp.ID, "")), map[string]string{
		"change.csv:2": "updated/", "change.csv:3": "updated/", "change.csv:4": "failed/exists", "change.csv:5": "skipped/not_found",
		"change.csv:6": "failed/invalid_value", "change.csv:7": "skipped/not_found", "enrollments.csv:2": "unchanged/",
	})
	var u2 int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM users WHERE sis_user_id = 'U2'`).Scan(&u2))
	if u2 != 1 {
		t.Errorf("a change_sis_id row that was skipped changed U2's SIS id")
	}
	rs := s.results(imp.ID, "file=change.csv&action[]=updated")
	if len(rs) != 2 || rs[0].Entity != "user" || str(rs[0].SISID) != "NEWU1" || fmt.Sprint(rs[0].Changes["sis_id"]) != "[U1 NEWU1]" ||
		fmt.Sprint(rs[0].Changes["integration_id"]) != "[I1 NEWI1]" {
		t.Errorf("change results: %+v", rs)
	}
}

func TestGroupsOfImportsAndOfHands(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	// A group made by hand with the SIS id the feed uses, and another with
	// the name the feed uses.
	var manual int64
	for _, body := range []string{`{"name":"Chess club","sis_group_id":"HAND"}`, `{"name":"Robotics"}`} {
		code, b, _ := s.do("POST", "/api/v1/accounts/1/groups", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
		var g struct {
			ID int64 `json:"id"`
		}
		decode(t, b, &g)
		if code != 200 {
			t.Fatalf("manual group: %d %s", code, b)
		}
		if manual == 0 {
			manual = g.ID
		}
	}
	imp := s.importZip("1", "",
		"users.csv", "user_id,login_id,status\nU1,u1,active\n",
		"groups.csv", "group_id,name,status\nHAND,Chess club renamed,available\nG1,Robotics,available\n",
		"memberships.csv", "group_id,user_id,status\nHAND,U1,accepted\nG1,U1,accepted\n",
	)
	sameOutcomes(t, "groups", outcomes(s.results(imp.ID, "")), map[string]string{
		"users.csv:2": "created/", "groups.csv:2": "skipped/manual_object", "groups.csv:3": "created/",
		"memberships.csv:2": "skipped/manual_object", "memberships.csv:3": "created/",
	})
	var name string
	var robotics int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT name FROM groups WHERE id = $1`, manual).Scan(&name))
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM groups WHERE name = 'Robotics'`).Scan(&robotics))
	if name != "Chess club" || robotics != 2 {
		t.Errorf("the manual group is now %q; %d groups are called Robotics, want 2", name, robotics)
	}
	// remove_from_groups removes the user's memberships of imported groups.
	pgtest.Exec(t, s.db, `UPDATE users SET email = 'u1@example.edu' WHERE sis_user_id = 'U1'`)
	imp = s.importZip("1", "", "deactivate.csv", "email,remove_from_groups\nu1@example.edu,y\n")
	sameOutcomes(t, "deactivation", outcomes(s.results(imp.ID, "")), map[string]string{
		"deactivate.csv:2": "deactivated/", "group_membership:U1": "deleted/",
	})
}

func TestBatchModeByTerm(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	var users strings.Builder
	users.WriteString("user_id,login_id,status\n")
	for i := range 12 {
		fmt.Fprintf(&users, "U%d,u%d,active\n", i, i)
	}
	// Two terms, each with two courses; every user in both of a term's courses.
	enrollments := func(courses ...string) string {
		var b strings.Builder
		b.WriteString("course_id,user_id,role,status\n")
		for _, c := range courses {
			for i := range 12 {
				fmt.Fprintf(&b, "%s,U%d,student,active\n", c, i)
			}
		}
		return b.String()
	}
	s.importZip("1", "",
		"terms.csv", "term_id,name,status\nFALL,Fall,active\nSPRING,Spring,active\n",
		"users.csv", users.String(),
		"courses.csv", "course_id,short_name,long_name,term_id,status\nF1,F1,F1,FALL,active\nF2,F2,F2,FALL,active\nS1,S1,S1,SPRING,active\nS2,S2,S2,SPRING,active\n",
		"enrollments.csv", enrollments("F1", "F2", "S1", "S2"),
	)
	live := func(course string) int {
		var n int
		pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM enrollments e JOIN courses c ON c.id = e.course_id
			WHERE c.sis_course_id = $1 AND e.workflow_state = 'active'`, course).Scan(&n))
		return n
	}

	// Spring's batch drops S2 (course and enrollments) and U0 from S1; Fall
	// is another term and stays as it is.
	spring := strings.Replace(enrollments("S1"), "S1,U0,student,active\n", "", 1)
	imp := s.importZip("1", "batch_mode=true&batch_mode_term_id=sis_term_id:SPRING&batch_mode_enrollment_drop_status=inactive",
		"courses.csv", "course_id,short_name,long_name,term_id,status\nS1,S1,S1,SPRING,active\n",
		"enrollments.csv", spring,
	)
	if imp.WorkflowState != "imported" {
		t.Fatalf("spring batch: %s %v", imp.WorkflowState, imp.ProcessingErrors)
	}
	if !imp.BatchMode || str(imp.BatchModeTermID) != "sis_term_id:SPRING" {
		t.Errorf("the import does not show its batch mode: %v %q", imp.BatchMode, str(imp.BatchModeTermID))
	}
	if live("F1") != 12 || live("F2") != 12 || live("S1") != 11 || live("S2") != 0 {
		t.Errorf("active enrollments after spring's batch: F1 %d F2 %d S1 %d S2 %d", live("F1"), live("F2"), live("S1"), live("S2"))
	}
	if imp.Data.Counts["batch_enrollments_deleted"] != 13 || imp.Data.Counts["batch_courses_deleted"] != 1 {
		t.Errorf("data.counts of the batch: %v", imp.Data.Counts)
	}
	removed := s.results(imp.ID, "entity=enrollment&action[]=deactivated")
	if len(removed) != 13 || removed[0].Row != nil {
		t.Errorf("batch removals: %d results (want 13: S1's U0 and S2's 12), first %+v", len(removed), removed)
	}
	var state string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT workflow_state FROM courses WHERE sis_course_id = 'S2'`).Scan(&state))
	if state != "deleted" {
		t.Errorf("S2 after spring's batch: %s", state)
	}

	// A batch that would drop every one of Fall's 24 enrollments breaches:
	// with change_threshold_action=abort nothing at all is applied, not even
	// the course it lists.
	imp = s.importZip("1", "batch_mode=true&batch_mode_term_id=sis_term_id:FALL&change_threshold_action=abort",
		"courses.csv", "course_id,short_name,long_name,term_id,status\nF1,F1 renamed,F1,FALL,active\nF2,F2,F2,FALL,active\n",
		"enrollments.csv", "course_id,user_id,role,status\n",
	)
	if imp.WorkflowState != "aborted" || !strings.Contains(fmt.Sprint(imp.ProcessingErrors), "enrollments") {
		t.Fatalf("fall's empty batch: %s %v", imp.WorkflowState, imp.ProcessingErrors)
	}
	var short string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT short_name FROM courses WHERE sis_course_id = 'F1'`).Scan(&short))
	if live("F1") != 12 || live("F2") != 12 || short != "F1" {
		t.Errorf("a breached batch changed things: F1 %d F2 %d, F1 is %q", live("F1"), live("F2"), short)
	}
	// multi_term_batch_mode works on the terms the upload's terms file
	// lists: Fall, told that removing all of F2's enrollments is meant.
	imp = s.importZip("1", "multi_term_batch_mode=true&change_threshold=100",
		"terms.csv", "term_id,name,status\nFALL,Fall,active\n",
		"courses.csv", "course_id,short_name,long_name,term_id,status\nF1,F1,F1,FALL,active\n",
		"enrollments.csv", enrollments("F1"),
	)
	if len(imp.ProcessingErrors) != 0 || live("F1") != 12 || live("F2") != 0 || live("S1") != 11 {
		t.Errorf("multi-term batch: %v; F1 %d F2 %d S1 %d", imp.ProcessingErrors, live("F1"), live("F2"), live("S1"))
	}
	if n := len(s.results(imp.ID, "entity=course&action[]=deleted")); n != 1 {
		t.Errorf("multi-term batch deleted %d courses, want F2 only", n)
	}
	// Without batch_mode_term_id, batch_mode is refused up front.
	code, b, _ := s.do("POST", "/api/v1/accounts/1/sis_imports?extension=csv&batch_mode=true", strings.NewReader("course_id,short_name,long_name,status\n"), nil)
	if code != 400 || !strings.Contains(string(b), "batch_mode_term_id") {
		t.Errorf("batch_mode without a term: %d %s", code, b)
	}
}

func TestDiffingEnrollmentsAndCourses(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\nU3,u3,active\n")
	const set = "diffing_data_set_identifier=nightly&diffing_drop_status=inactive"
	courses := "course_id,short_name,long_name,status\nC1,A,A,active\nC2,B,B,active\nC3,C,C,active\n"
	enrollments := "course_id,user_id,role,status\nC1,U1,student,active\nC1,U2,student,active\nC2,U3,teacher,active\n"
	first := s.importZip("1", set, "courses.csv", courses, "enrollments.csv", enrollments)
	if len(first.ProcessingErrors) != 0 {
		t.Fatalf("base import: %s %v", first.WorkflowState, first.ProcessingErrors)
	}
	// The next night: C3 and U2's enrollment are gone, U3 is now a TA as
	// well, the columns come in another order; the rest is as before.
	imp := s.importZip("1", set,
		"enrollments.csv", "user_id,course_id,role,status\nU1,C1,student,active\nU3,C2,teacher,active\nU3,C2,ta,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\nC2,B renamed,B,active\n",
	)
	sameOutcomes(t, "diffed night", outcomes(s.results(imp.ID, "")), map[string]string{
		"courses.csv:2": "unchanged/", "courses.csv:3": "updated/", "course:C3": "deleted/",
		"enrollments.csv:2": "unchanged/", "enrollments.csv:3": "unchanged/", "enrollments.csv:4": "created/",
		"enrollment:U2": "deactivated/",
	})
	var state string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT e.workflow_state FROM enrollments e JOIN users u ON u.id = e.user_id WHERE u.sis_user_id = 'U2'`).Scan(&state))
	if state != "inactive" {
		t.Errorf("U2's dropped enrollment is %s, want inactive (diffing_drop_status)", state)
	}
	// A night that lists other courses only drops the earlier ones: fewer
	// than 10, and the file has valid rows, so no guard holds it.
	other := s.importZip("1", set, "courses.csv", "course_id,short_name,long_name,status\nC7,G,G,active\nC8,H,H,active\n")
	if len(other.ProcessingErrors) != 0 || len(s.results(other.ID, "entity=course&action[]=deleted")) != 2 {
		t.Errorf("other courses: %s %v", other.WorkflowState, other.ProcessingErrors)
	}
	var against struct {
		DiffedAgainst *int64 `json:"diffed_against_import_id"`
	}
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", imp.ID), &against)
	if against.DiffedAgainst == nil || *against.DiffedAgainst != first.ID {
		t.Errorf("diffed_against_import_id = %v, want %d", against.DiffedAgainst, first.ID)
	}
}

func TestDiffingDropStatusAndRowCountThreshold(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "",
		"users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\nU3,u3,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\n",
		"sections.csv", "section_id,course_id,name,status\nS1,C1,One,active\nS2,C1,Two,active\n")
	// U1 is a student in both sections; U2 in S1 only.
	const set = "diffing_data_set_identifier=night&diffing_drop_status=deleted_last_completed"
	base := "section_id,user_id,role,status\nS1,U1,student,active\nS2,U1,student,active\nS1,U2,student,active\nS1,U3,teacher,active\n"
	s.importZip("1", set, "enrollments.csv", base)
	// Both of S1's student rows are gone: U1 still has S2 (deleted), U2
	// has nothing else (concluded), as a deleted_last_completed row would.
	imp := s.importZip("1", set, "enrollments.csv", "section_id,user_id,role,status\nS2,U1,student,active\nS1,U3,teacher,active\n")
	sameOutcomes(t, "deleted_last_completed drops", outcomes(s.results(imp.ID, "")), map[string]string{
		"enrollments.csv:2": "unchanged/", "enrollments.csv:3": "unchanged/", "enrollment:U1": "deleted/", "enrollment:U2": "updated/",
	})
	var states string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT string_agg(u.sis_user_id || ':' || x.sis_section_id || '=' || e.workflow_state, ' '
		ORDER BY u.sis_user_id, x.sis_section_id) FROM enrollments e JOIN users u ON u.id = e.user_id JOIN sections x ON x.id = e.section_id`).Scan(&states))
	if states != "U1:S1=deleted U1:S2=active U2:S1=completed U3:S1=active" {
		t.Errorf("enrollments: %s", states)
	}

	// A diff larger than diff_row_count_threshold drops nothing and says so.
	s.importZip("1", "diffing_data_set_identifier=small", "enrollments.csv", base)
	big := s.importZip("1", "diffing_data_set_identifier=small&diff_row_count_threshold=2",
		"enrollments.csv", "section_id,user_id,role,status\nS1,U3,teacher,completed\n")
	if n := len(s.results(big.ID, "action[]=deleted")); n != 0 {
		t.Errorf("a diff past diff_row_count_threshold dropped %d enrollments", n)
	}
	var view struct {
		Exceeded  *bool `json:"diffing_threshold_exceeded"`
		Threshold *int  `json:"diff_row_count_threshold"`
	}
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", big.ID), &view)
	if view.Exceeded == nil || !*view.Exceeded || view.Threshold == nil || *view.Threshold != 2 {
		t.Errorf("diffing_threshold_exceeded %v, diff_row_count_threshold %v", view.Exceeded, view.Threshold)
	}
	if !strings.Contains(fmt.Sprint(big.ProcessingWarnings), "diff_row_count_threshold 2") {
		t.Errorf("no warning says why nothing was dropped: %v", big.ProcessingWarnings)
	}
	// Within the threshold, the drops apply.
	within := s.importZip("1", "diffing_data_set_identifier=small&diff_row_count_threshold=10",
		"enrollments.csv", "section_id,user_id,role,status\nS1,U3,teacher,completed\n")
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", within.ID), &view)
	if n := len(s.results(within.ID, "entity=enrollment&action[]=deleted")); n == 0 || *view.Exceeded {
		t.Errorf("within diff_row_count_threshold: %d dropped, exceeded %v", n, *view.Exceeded)
	}
}

// restore asks for restore_states of an import of account 1 and waits for
// the Progress to end.
func (s *service) restore(id int64) sisImport {
	s.t.Helper()
	code, b, _ := s.do("PUT", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/restore_states", id), nil, nil)
	var progress struct {
		WorkflowState string `json:"workflow_state"`
		URL           string `json:"url"`
	}
	decode(s.t, b, &progress)
	if code != 200 || progress.URL == "" {
		s.t.Fatalf("restore_states: %d %s", code, b)
	}
	for deadline := time.Now().Add(30 * time.Second); progress.WorkflowState != "completed" && progress.WorkflowState != "failed"; {
		if time.Now().After(deadline) {
			s.t.Fatalf("restore still %s", progress.WorkflowState)
		}
		time.Sleep(20 * time.Millisecond)
		s.getJSON(progress.URL, &progress)
	}
	var restored sisImport
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", id), &restored)
	return restored
}

func TestRestoreOfARosterImport(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "",
		"users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\nU3,u3,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,Bio,Biology,active\n",
		"enrollments.csv", "course_id,user_id,role,status\nC1,U1,student,active\nC1,U2,student,active\nC1,U3,student,active\n",
	)
	bad := s.importZip("1", "",
		"change.csv", "old_id,new_id,type\nC1,C1-NEW,course\nU2,U2-NEW,user\n",
		"users.csv", "user_id,login_id,first_name,status\nU3,u3,,deleted\nU2-NEW,u2,Renamed,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1-NEW,Bio 2,Biology,active\n",
		"sections.csv", "section_id,course_id,name,status\nS1,C1-NEW,Section,active\n",
		"enrollments.csv", "course_id,user_id,role,status\nC1-NEW,U1,student,inactive\nC1-NEW,U2-NEW,student,completed\n",
	)
	if len(bad.ProcessingErrors) != 0 {
		t.Fatalf("the import to restore: %s %v", bad.WorkflowState, bad.ProcessingErrors)
	}
	// U2's enrollment is changed by hand afterwards: the restore leaves it.
	if code, b, _ := s.do("PUT", "/api/v1/courses/sis_course_id:C1-NEW/enrollments/sis_user_id:U2-NEW/reactivate", nil, nil); code != 200 {
		t.Fatalf("manual reactivation: %d %s", code, b)
	}
	restored := s.restore(bad.ID)
	if restored.WorkflowState != "partially_restored" {
		t.Fatalf("after restore: %s", restored.WorkflowState)
	}
	got := map[string]string{}
	for _, r := range s.results(bad.ID, "phase=restore") {
		got[r.Entity+":"+str(r.SISID)+":"+r.File] = r.Action + "/" + str(r.Code)
	}
	sameOutcomes(t, "restore outcomes", got, map[string]string{
		"user:U3:users.csv": "reactivated/", "course:C1-NEW:courses.csv": "updated/", "course:C1-NEW:change.csv": "updated/",
		"user:U2-NEW:change.csv": "updated/", "user:U2-NEW:users.csv": "updated/",
		"section:S1:sections.csv": "deleted/", "enrollment:U1:enrollments.csv": "reactivated/",
		"enrollment:U2-NEW:enrollments.csv": "skipped/changed_since", "enrollment:U3:users.csv": "reactivated/",
	})
	var short, sis, section string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT short_name, sis_course_id FROM courses`).Scan(&short, &sis))
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT workflow_state FROM sections WHERE sis_section_id = 'S1'`).Scan(&section))
	if short != "Bio" || sis != "C1" || section != "deleted" {
		t.Errorf("after restore: course %q %q, section %s", sis, short, section)
	}
	var u2 string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT first_name FROM users WHERE sis_user_id = 'U2'`).Scan(&u2))
	if u2 != "" {
		t.Errorf("U2 after restore: first name %q, or not U2 again", u2)
	}
	var n2 int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM users WHERE sis_user_id = 'U2'`).Scan(&n2))
	if n2 != 1 {
		t.Errorf("U2's SIS id did not come back")
	}
	var states string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT string_agg(u.sis_user_id || ':' || e.workflow_state, ' ' ORDER BY u.sis_user_id)
		FROM enrollments e JOIN users u ON u.id = e.user_id`).Scan(&states))
	if states != "U1:active U2:active U3:active" {
		t.Errorf("enrollments after restore: %s", states)
	}
}

func TestDeletedUsersTakeTheirEnrollmentsWithinTheThreshold(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	var users, enrollments, deleted strings.Builder
	users.WriteString("user_id,login_id,status\n")
	deleted.WriteString("user_id,login_id,status\n")
	enrollments.WriteString("course_id,user_id,role,status\n")
	for i := range 12 {
		fmt.Fprintf(&users, "U%d,u%d,active\n", i, i)
		fmt.Fprintf(&deleted, "U%d,u%d,deleted\n", i, i)
		fmt.Fprintf(&enrollments, "C1,U%d,student,active\n", i)
	}
	s.importZip("1", "", "users.csv", users.String(), "courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\n",
		"enrollments.csv", enrollments.String())
	// Deleting every user would delete all 12 enrollments with them: that
	// breaches, and with change_threshold_action=abort nothing is applied.
	imp := s.importCSV("change_threshold_action=abort", deleted.String())
	if imp.WorkflowState != "aborted" || !strings.Contains(fmt.Sprint(imp.ProcessingErrors), "enrollments") {
		t.Fatalf("deleting everyone: %s %v", imp.WorkflowState, imp.ProcessingErrors)
	}
	var live int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM users WHERE workflow_state = 'active'`).Scan(&live))
	if live != 12 {
		t.Errorf("%d users are active after a breached import, want 12", live)
	}
	// Told that everyone goes, it applies.
	imp = s.importCSV("change_threshold=100", deleted.String())
	if imp.WorkflowState != "imported" || len(s.results(imp.ID, "entity=enrollment&action[]=deleted")) != 12 {
		t.Errorf("deleting everyone with change_threshold=100: %s %v", imp.WorkflowState, imp.ProcessingErrors)
	}
}

func TestMovingASectionMovesItsEnrollments(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "",
		"users.csv", "user_id,login_id,status\nU1,u1,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\nC2,B,B,active\n",
		"sections.csv", "section_id,course_id,name,status\nS1,C1,One,active\n",
		"enrollments.csv", "section_id,user_id,role,status\nS1,U1,student,active\n")
	imp := s.importZip("1", "", "sections.csv", "section_id,course_id,name,status\nS1,C2,One,active\n")
	sameOutcomes(t, "a section moved", outcomes(s.results(imp.ID, "")), map[string]string{
		"sections.csv:2": "updated/", "enrollment:U1": "updated/",
	})
	var course string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT c.sis_course_id FROM enrollments e JOIN courses c ON c.id = e.course_id`).Scan(&course))
	if course != "C2" {
		t.Errorf("the enrollment is in %s after its section moved to C2", course)
	}
	if r := s.restore(imp.ID); r.WorkflowState != "restored" {
		t.Errorf("restoring the move: %s", r.WorkflowState)
	}
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT c.sis_course_id FROM enrollments e JOIN courses c ON c.id = e.course_id`).Scan(&course))
	if course != "C1" {
		t.Errorf("the enrollment is in %s after the move was restored", course)
	}
}

// TestMembershipsAcrossBatches imports more memberships than one batch
// holds: a duplicate in the second batch names the first batch's line,
// every row has one result, and the same file again is all unchanged.
func TestMembershipsAcrossBatches(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	const n = 5001 // one more than a batch
	var users, members strings.Builder
	users.WriteString("user_id,login_id,status\n")
	members.WriteString("group_id,user_id,status\n")
	for i := 1; i <= n+1; i++ {
		fmt.Fprintf(&users, "U%d,u%d,active\n", i, i)
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&members, "G1,U%d,accepted\n", i)
	}
	members.WriteString("G1,U1,accepted\n")        // line n+2: a duplicate of line 2
	fmt.Fprintf(&members, "G1,U%d,deleted\n", n+1) // line n+3: no such membership
	s.importCSV("", users.String())
	s.importCSV("", "group_id,name,status\nG1,Lab,available\n")
	for _, want := range []string{"created", "unchanged"} {
		imp := s.importCSV("", members.String())
		got := imp.Data.Actions["group_memberships"]
		if got[want] != n || got["failed"] != 1 || got["skipped"] != 1 {
			t.Fatalf("memberships (%s expected): %v", want, got)
		}
		rs := s.results(imp.ID, "action[]=failed&action[]=skipped")
		if len(rs) != 2 || *rs[0].Row != n+2 || !strings.Contains(str(rs[0].Message), "line 2") || str(rs[1].Code) != "not_found" {
			t.Errorf("the duplicate and the missing membership: %+v", rs)
		}
	}
	var count int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM group_memberships WHERE workflow_state = 'accepted'`).Scan(&count))
	if count != n {
		t.Errorf("%d memberships stored, want %d", count, n)
	}
}

// TestDeletedLastCompleted checks both outcomes of Canvas's
// deleted_last_completed: an enrollment with another live one of the user
// in the course is deleted; the last one is concluded.
func TestDeletedLastCompleted(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "",
		"users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\n",
		"sections.csv", "section_id,course_id,name,status\nS1,C1,One,active\n",
		"enrollments.csv", "course_id,section_id,user_id,role,status\nC1,,U1,student,active\nC1,S1,U1,student,active\nC1,,U2,student,active\n",
	)
	imp := s.importZip("1", "", "enrollments.csv", "course_id,section_id,user_id,role,status\n"+
		"C1,,U1,student,deleted_last_completed\n"+ // 2 U1 is also in S1: deleted
		"C1,,U2,student,deleted_last_completed\n") // 3 U2's only one: concluded
	sameOutcomes(t, "deleted_last_completed", outcomes(s.results(imp.ID, "")), map[string]string{
		"enrollments.csv:2": "deleted/", "enrollments.csv:3": "updated/"})
}

// TestBatchModeNeedsBatchModeTrue: a term id alone, or with
// batch_mode=false, removes nothing, as on Canvas; the import says the term
// id was ignored. batch_mode=true with the same file removes the course,
// skip_deletes or not.
func TestBatchModeNeedsBatchModeTrue(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "", "terms.csv", "term_id,name,status\nT1,Term 1,active\n",
		"courses.csv", "course_id,short_name,long_name,term_id,status\nC1,C1,C1,T1,active\nC2,C2,C2,T1,active\n")
	state := func(course string) string {
		var st string
		pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT workflow_state FROM courses WHERE sis_course_id = $1`, course).Scan(&st))
		return st
	}
	onlyC1 := "course_id,short_name,long_name,term_id,status\nC1,C1,C1,T1,active\n"
	for _, params := range []string{"batch_mode_term_id=sis_term_id:T1&batch_mode=false", "batch_mode_term_id=sis_term_id:T1"} {
		imp := s.importZip("1", params, "courses.csv", onlyC1)
		if imp.WorkflowState != "imported" || imp.BatchMode || imp.BatchModeTermID != nil {
			t.Errorf("%s: %s, batch_mode %v, batch_mode_term_id %v: want imported without batch mode",
				params, imp.WorkflowState, imp.BatchMode, str(imp.BatchModeTermID))
		}
		if want := "batch_mode_term_id was ignored: batch mode needs batch_mode=true"; !slices.ContainsFunc(imp.ProcessingWarnings,
			func(w [2]string) bool { return strings.Contains(w[1], want) }) {
			t.Errorf("%s: warnings %v, want one saying %q", params, imp.ProcessingWarnings, want)
		}
		if st := state("C2"); st != "active" {
			t.Fatalf("%s: the unlisted course C2 is %s, want active", params, st)
		}
	}
	// skip_deletes does not stop batch mode's cleanup, as on Canvas.
	imp := s.importZip("1", "batch_mode=true&batch_mode_term_id=sis_term_id:T1&skip_deletes=true", "courses.csv", onlyC1)
	if !imp.BatchMode || state("C2") != "deleted" {
		t.Errorf("batch_mode=true with skip_deletes: batch_mode %v, C2 %s; want batch mode and C2 deleted", imp.BatchMode, state("C2"))
	}
}

// TestDatesAsCanvasWritesThem: terms, courses, sections and enrollments take
// the dates of Canvas's documentation (2026-8-24 00:00:00); an empty date
// cell clears a term's, a section's or an enrollment's date, as on Canvas,
// and keeps a course's, which <delete> clears.
func TestDatesAsCanvasWritesThem(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importZip("1", "",
		"terms.csv", "term_id,name,status,start_date,end_date\nT1,Fall,active,2026-8-24 00:00:00,2026-12-18T17:00:00-05:00\n",
		"courses.csv", "course_id,short_name,long_name,term_id,status,start_date,end_date\nC1,C1,Course 1,T1,active,2026-8-24,2026-12-18\n",
		"sections.csv", "section_id,course_id,name,status,start_date,end_date\nS1,C1,Section 1,active,2026-08-24 08:00,2026-12-18\n")
	if imp.WorkflowState != "imported" {
		t.Fatalf("import: %s %v %v", imp.WorkflowState, imp.ProcessingWarnings, imp.ProcessingErrors)
	}
	dates := func(table, sisColumn, id string) string {
		var start, end *time.Time
		pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT start_at, end_at FROM `+table+` WHERE `+sisColumn+` = $1`, id).Scan(&start, &end))
		f := func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return t.UTC().Format(time.RFC3339)
		}
		return f(start) + " " + f(end)
	}
	if got := dates("terms", "sis_term_id", "T1"); got != "2026-08-24T00:00:00Z 2026-12-18T22:00:00Z" {
		t.Errorf("term dates %s", got)
	}
	if got := dates("sections", "sis_section_id", "S1"); got != "2026-08-24T08:00:00Z 2026-12-18T00:00:00Z" {
		t.Errorf("section dates %s", got)
	}
	imp = s.importZip("1", "",
		"terms.csv", "term_id,name,status,start_date,end_date\nT1,Fall,active,,2026-12-18T17:00:00-05:00\n",
		"courses.csv", "course_id,short_name,long_name,term_id,status,start_date,end_date\nC1,C1,Course 1,T1,active,,<delete>\n",
		"sections.csv", "section_id,course_id,name,status\nS1,C1,Section 1,active\n")
	if got := summary(s.results(imp.ID, "")); got != "2:updated 2:updated 2:unchanged" {
		t.Errorf("results %s: want the term and the course updated, the section (without date columns) unchanged", got)
	}
	for _, c := range []struct{ table, col, id, want string }{
		{"terms", "sis_term_id", "T1", "- 2026-12-18T22:00:00Z"},                          // an empty cell clears
		{"courses", "sis_course_id", "C1", "2026-08-24T00:00:00Z -"},                      // an empty cell keeps; <delete> clears
		{"sections", "sis_section_id", "S1", "2026-08-24T08:00:00Z 2026-12-18T00:00:00Z"}, // no column keeps
	} {
		if got := dates(c.table, c.col, c.id); got != c.want {
			t.Errorf("%s %s after the second import: %s, want %s", c.table, c.id, got, c.want)
		}
	}
	imp = s.importZip("1", "", "terms.csv", "term_id,name,status,start_date\nT2,Spring,active,24/01/2027\n")
	if rs := s.results(imp.ID, ""); len(rs) != 1 || str(rs[0].Code) != "invalid_value" || !strings.Contains(str(rs[0].Message), "column start_date") {
		t.Errorf("a date in another form: %+v", rs)
	}
}

func TestDiffingSectionsAndGroups(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "", "courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\n",
		"users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\n")
	const set = "diffing_data_set_identifier=rooms"
	s.importZip("1", set,
		"sections.csv", "section_id,course_id,name,status\nS1,C1,One,active\nS2,C1,Two,active\nS3,C1,Three,active\n",
		"groups.csv", "group_id,name,status\nG1,Chess,available\nG2,Choir,available\n",
		"group_memberships.csv", "group_id,user_id,status\nG1,U1,accepted\nG1,U2,accepted\n")
	// S2's row now fails (an unknown course): it still lists S2, which
	// stays. S3 and G2 are gone and are deleted, each a result of its own.
	imp := s.importZip("1", set,
		"sections.csv", "section_id,course_id,name,status\nS1,C1,One,active\nS2,C9,Two,active\n",
		"groups.csv", "group_id,name,status\nG1,Chess club,available\n",
		"group_memberships.csv", "group_id,user_id,status\nG1,U1,accepted\n")
	sameOutcomes(t, "diffed sections and groups", outcomes(s.results(imp.ID, "")), map[string]string{
		"sections.csv:2": "unchanged/", "sections.csv:3": "failed/unknown_reference", "section:S3": "deleted/",
		"groups.csv:2": "updated/", "group:G2": "deleted/",
		"group_memberships.csv:2": "unchanged/", "group_membership:U2": "deleted/",
	})
	var states string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT string_agg(x, ' ' ORDER BY x) FROM (
		SELECT sis_section_id || '=' || workflow_state AS x FROM sections UNION ALL SELECT sis_group_id || '=' || workflow_state FROM groups) v`).Scan(&states))
	if states != "G1=available G2=deleted S1=active S2=active S3=deleted" {
		t.Errorf("after the diffed import: %s", states)
	}
}

func TestADeletedSectionTakesItsEnrollments(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "",
		"users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\n",
		"sections.csv", "section_id,course_id,name,status\nS1,C1,One,active\nS2,C1,Two,active\n",
		"enrollments.csv", "course_id,section_id,user_id,role,status\nC1,S1,U1,student,active\nC1,S2,U2,student,active\nC1,,U2,teacher,active\n")
	imp := s.importCSV("", "section_id,course_id,name,status\nS1,C1,One,deleted\n")
	rs := s.results(imp.ID, "entity=enrollment")
	if len(rs) != 1 || str(rs[0].SISID) != "U1" || rs[0].Action != "deleted" || rs[0].Row != nil || str(rs[0].Message) != "deleted with its section" {
		t.Fatalf("the deleted section's enrollments: %+v", rs)
	}
	var live int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM enrollments WHERE workflow_state = 'active'`).Scan(&live))
	if live != 2 {
		t.Errorf("%d active enrollments, want 2 (S2's and the course's)", live)
	}
	// A restore puts the section and its enrollment back.
	if r := s.restore(imp.ID); r.WorkflowState != "restored" {
		t.Fatalf("restore: %s", r.WorkflowState)
	}
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM enrollments WHERE workflow_state = 'active'`).Scan(&live))
	if live != 3 {
		t.Errorf("after the restore, %d active enrollments, want 3", live)
	}
}

func TestDiffingAccountsTermsAndCourses(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	const set = "diffing_data_set_identifier=tree"
	s.importZip("1", set,
		"accounts.csv", "account_id,parent_account_id,name,status\nA1,,One,active\nA2,,Two,active\n",
		"terms.csv", "term_id,name,status,date_override_enrollment_type,start_date\nT1,Fall,active,,\nT2,Spring,active,,\nT1,,active,StudentEnrollment,2026-09-01\n",
		"courses.csv", "course_id,short_name,long_name,status,account_id\nC1,A,A,active,A1\nC2,B,B,active,A1\n")
	imp := s.importZip("1", set,
		"accounts.csv", "account_id,parent_account_id,name,status\nA1,,One,active\n",
		"terms.csv", "term_id,name,status\nT1,Fall,active\n",
		"courses.csv", "course_id,short_name,long_name,status,account_id\nC1,A,A,active,A9\n")
	// T1's override row is gone too, but only terms are dropped; C1's row
	// fails (no account A9) yet keeps C1.
	sameOutcomes(t, "diffed accounts, terms and courses", outcomes(s.results(imp.ID, "")), map[string]string{
		"accounts.csv:2": "unchanged/", "account:A2": "deleted/",
		"terms.csv:2": "unchanged/", "term:T2": "deleted/",
		"courses.csv:2": "failed/unknown_reference", "course:C2": "deleted/",
	})
}

func TestAGroupRowWithAnAccountAndACourseFails(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importZip("1", "", "courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\n",
		"groups.csv", "group_id,account_id,course_id,name,status\nG1,,C1,Chess,available\nG2,1,C1,Choir,available\n")
	rs := s.results(imp.ID, "file=groups.csv")
	if got := summary(rs); got != "2:created 3:failed/invalid_value" || !strings.Contains(str(rs[1].Message), "not both") {
		t.Errorf("groups: %s %v", got, rs)
	}
}

func TestCanvasTypesNotImportedAreSkippedWithAWarning(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importZip("1", "",
		"users.csv", "user_id,login_id,status\nU1,u1,active\n",
		"differentiation_tags.csv", "tag_id,tag_set_id,course_id,name,status\nT1,S1,C1,Reading,available\n",
		"institutional_tags.csv", "institutional_tag_id,category_id,name,status\nI1,K1,Honors,active\n",
		"abstract_courses.csv", "abstract_course_id,short_name,long_name,account_id,term_id,status\nA1,A,A,,,active\n")
	if imp.WorkflowState != "imported_with_messages" || len(imp.ProcessingErrors) != 0 {
		t.Fatalf("%s, errors %v", imp.WorkflowState, imp.ProcessingErrors)
	}
	for _, f := range []string{"differentiation_tags.csv", "institutional_tags.csv", "abstract_courses.csv"} {
		if !strings.Contains(fmt.Sprint(imp.ProcessingWarnings), f) {
			t.Errorf("no warning about %s: %v", f, imp.ProcessingWarnings)
		}
	}
	if got := summary(s.results(imp.ID, "")); got != "2:created" {
		t.Errorf("results: %s", got)
	}
}
