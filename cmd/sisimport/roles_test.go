package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

type dirRole struct {
	ID            int64  `json:"id"`
	Role          string `json:"role"`
	Label         string `json:"label"`
	BaseRoleType  string `json:"base_role_type"`
	WorkflowState string `json:"workflow_state"`
	IsAccountRole bool   `json:"is_account_role"`
}

// createRole posts a custom role to account 1 and returns the answer.
func (s *service) createRole(body string) (int, dirRole, string) {
	s.t.Helper()
	code, b, _ := s.do("POST", "/api/v1/accounts/1/roles", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
	var r dirRole
	if code == 200 {
		decode(s.t, b, &r)
	}
	return code, r, string(b)
}

func TestRolesAndTheEnrollmentsThatNameThem(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)

	// The built-in roles have the same ids everywhere; a custom one is
	// listed after them.
	code, lab, body := s.createRole(`{"label":"Lab Assistant","base_role_type":"TaEnrollment"}`)
	if code != 200 || lab.Role != "Lab Assistant" || lab.BaseRoleType != "TaEnrollment" || lab.WorkflowState != "active" || lab.IsAccountRole {
		t.Fatalf("create role: %d %s", code, body)
	}
	for _, dup := range []string{`{"label":"lab assistant","base_role_type":"StudentEnrollment"}`, `{"label":"Student","base_role_type":"StudentEnrollment"}`,
		`{"label":"StudentEnrollment"}`} {
		if code, _, body := s.createRole(dup); code != 409 || !strings.Contains(body, "name_taken") {
			t.Errorf("role %s: %d %s, want 409 name_taken", dup, code, body)
		}
	}
	if code, _, body := s.createRole(`{"label":"Odd","base_role_type":"PrincipalEnrollment"}`); code != 400 || !strings.Contains(body, "base_role_type") {
		t.Errorf("an unknown base type: %d %s", code, body)
	}
	var roles []dirRole
	s.getJSON("/api/v1/accounts/1/roles?per_page=100", &roles)
	var names []string
	for _, r := range roles {
		names = append(names, fmt.Sprintf("%d:%s", r.ID, r.Role))
	}
	want := fmt.Sprintf("1:StudentEnrollment 2:TeacherEnrollment 3:TaEnrollment 4:DesignerEnrollment 5:ObserverEnrollment 6:AccountAdmin %d:Lab Assistant", lab.ID)
	if got := strings.Join(names, " "); got != want {
		t.Errorf("roles: %s, want %s", got, want)
	}

	header := "course_id,section_id,user_id,user_integration_id,role,role_id,status,start_date,associated_user_id,limit_section_privileges,notify,root_account\n"
	rows := "" +
		"C1,,U1,,ta,,active,,,,,\n" + // 2 a TA
		"C1,,U1,,Lab Assistant,,active,,,,,\n" + // 3 and a lab assistant: another enrollment
		"C1,,,INT2,student,,active,2026-8-24 00:00:00,,,,\n" + // 4 by integration id, a date as Canvas writes it
		"C1,,U3,,,5,active,,U1,true,,\n" + // 5 an observer by role_id, of U1, limited to its section
		"C1,,U3,,observer,,active,,U2,,,\n" + // 6 observing U2: a second enrollment
		"C1,,U3,,observer,,active,,U1,,,\n" + // 7 the same as line 5
		"C1,,U1,,Principal,,active,,,,,\n" + // 8 no such role
		"C1,,U1,,,6,active,,,,,\n" + // 9 an account role
		"C1,S1,U1,,teacher,,active,,,yes,,\n" + // 10 limited to the section
		"C1,,U2,,student,,active,,,,,other.example.com\n" + // 11 another root account
		"C1,,,NOPE,student,,active,,,,,\n" + // 12 no such integration id
		"C1,,U3,,observer,,active,,U9,,,\n" + // 13 observing nobody
		"C1,,U1,,lab assistant,,active,,,,,\n" // 14 the same as line 3
	files := []string{
		"users.csv", "user_id,integration_id,login_id,status\nU1,,u1,active\nU2,INT2,u2,active\nU3,,u3,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,C1,Course one,active\n",
		"sections.csv", "section_id,course_id,name,status\nS1,C1,One,active\n",
		"enrollments.csv", header + rows,
	}
	imp := s.importZip("1", "diffing_data_set_identifier=roster", files...)
	got := outcomes(s.results(imp.ID, "file=enrollments.csv"))
	sameOutcomes(t, "enrollments naming roles", got, map[string]string{
		"enrollments.csv:2": "created/", "enrollments.csv:3": "created/", "enrollments.csv:4": "created/",
		"enrollments.csv:5": "created/", "enrollments.csv:6": "created/", "enrollments.csv:7": "failed/duplicate_in_file",
		"enrollments.csv:8": "failed/unknown_reference", "enrollments.csv:9": "failed/unknown_reference",
		"enrollments.csv:10": "created/", "enrollments.csv:11": "skipped/other_root_account",
		"enrollments.csv:12": "failed/unknown_reference", "enrollments.csv:13": "failed/unknown_reference",
		"enrollments.csv:14": "failed/duplicate_in_file",
	})
	for _, r := range s.results(imp.ID, "file=enrollments.csv&action[]=failed&action[]=skipped") {
		msg := str(r.Message)
		for line, want := range map[int]string{8: `column role: no role "Principal" exists`, 9: "column role_id: role \"6\" is not an enrollment role",
			11: "column root_account", 12: `column user_integration_id: no user_integration_id "NOPE" exists`,
			13: `column associated_user_id: no user "U9" exists`, 14: "line 3", 7: "line 5"} {
			if *r.Row == line && !strings.Contains(msg, want) {
				t.Errorf("line %d: %q, want it to say %q", line, msg, want)
			}
		}
	}

	var list []dirEnrollment
	s.getJSON("/api/v1/courses/sis_course_id:C1/enrollments?per_page=100", &list)
	var seen []string
	for _, e := range list {
		assoc := ""
		if e.Associated != nil {
			assoc = fmt.Sprintf(" observing %d", *e.Associated)
		}
		seen = append(seen, fmt.Sprintf("%s %s/%d/%s%s limited=%v", str(e.SISUserID), e.Role, e.RoleID, e.Type, assoc, e.Limited))
	}
	u1, u2 := s.userID("U1"), s.userID("U2")
	wantList := []string{
		"U1 TaEnrollment/3/TaEnrollment limited=false",
		fmt.Sprintf("U1 Lab Assistant/%d/TaEnrollment limited=false", lab.ID),
		"U2 StudentEnrollment/1/StudentEnrollment limited=false",
		fmt.Sprintf("U3 ObserverEnrollment/5/ObserverEnrollment observing %d limited=true", u1),
		fmt.Sprintf("U3 ObserverEnrollment/5/ObserverEnrollment observing %d limited=false", u2),
		"U1 TeacherEnrollment/2/TeacherEnrollment limited=true",
	}
	if strings.Join(seen, "\n") != strings.Join(wantList, "\n") {
		t.Errorf("enrollments:\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(wantList, "\n"))
	}

	// The same file again changes nothing. Without the lab assistant's rows
	// the diffed import drops that enrollment alone: the rows that fail or
	// are skipped still list theirs.
	again := s.importZip("1", "", files...)
	for k, v := range outcomes(s.results(again.ID, "file=enrollments.csv")) {
		if v == "created/" || v == "updated/" {
			t.Errorf("second import %s: %s", k, v)
		}
	}
	files[7] = header + strings.NewReplacer("C1,,U1,,Lab Assistant,,active,,,,,\n", "", "C1,,U1,,lab assistant,,active,,,,,\n", "").Replace(rows)
	dropped := s.importZip("1", "diffing_data_set_identifier=roster", files...)
	var drops []string
	for _, r := range s.results(dropped.ID, "file=enrollments.csv") {
		if r.Row == nil {
			drops = append(drops, fmt.Sprintf("%s %s", str(r.SISID), r.Action))
		}
	}
	if strings.Join(drops, ",") != "U1 deleted" {
		t.Errorf("diffed import without the lab assistant's row: %v, want U1 deleted", drops)
	}
	var state string
	s.getJSON("/api/v1/courses/sis_course_id:C1/enrollments?per_page=100&state[]=all", &list)
	for _, e := range list {
		if e.Role == "Lab Assistant" {
			state = e.EnrollmentState
		} else if e.EnrollmentState != "active" {
			t.Errorf("%s %s: %s after the diffed import", str(e.SISUserID), e.Role, e.EnrollmentState)
		}
	}
	if state != "deleted" {
		t.Errorf("the lab assistant's enrollment: %q, want deleted", state)
	}
}

// userID is the id of the user with SIS id sis.
func (s *service) userID(sis string) int64 {
	s.t.Helper()
	var id int64
	pgtest.Must(s.t, s.db.QueryRow(s.t.Context(), `SELECT id FROM users WHERE sis_user_id = $1`, sis).Scan(&id))
	return id
}
