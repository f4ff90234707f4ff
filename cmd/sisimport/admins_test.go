package main

import (
	"fmt"
	"strings"
	"testing"
)

// dirAdmin is Canvas's Admin object as GET /accounts/:id/admins answers it.
type dirAdmin struct {
	ID     int64  `json:"id"`
	Role   string `json:"role"`
	RoleID int64  `json:"role_id"`
	User   struct {
		ID            int64   `json:"id"`
		SISUserID     *string `json:"sis_user_id"`
		LoginID       string  `json:"login_id"`
		WorkflowState string  `json:"workflow_state"`
	} `json:"user"`
	WorkflowState string `json:"workflow_state"`
}

// admins lists an account's admins as "sis_user_id/role/role_id" in order.
func (s *service) admins(path string) string {
	s.t.Helper()
	var list []dirAdmin
	s.getJSON(path, &list)
	var out []string
	for _, a := range list {
		if a.WorkflowState != "active" || a.User.ID == 0 || a.User.LoginID == "" {
			s.t.Errorf("GET %s: admin %+v", path, a)
		}
		out = append(out, fmt.Sprintf("%s/%s/%d", str(a.User.SISUserID), a.Role, a.RoleID))
	}
	return strings.Join(out, " ")
}

func TestAdminsFileAndTheAdminsList(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	code, dean, body := s.createRole(`{"label":"Dean","base_role_type":"AccountMembership"}`)
	if code != 200 || !dean.IsAccountRole {
		t.Fatalf("create role: %d %s", code, body)
	}

	header := "user_id,account_id,role,role_id,status,root_account\n"
	rows := "" +
		"U1,,AccountAdmin,,active,\n" + // 2 on the account the import was posted to
		fmt.Sprintf("U2,A1,,%d,active,\n", dean.ID) + // 3 a custom account role by id
		"U1,A1,accountadmin,,ACTIVE,\n" + // 4 any case
		"U3,A2,Dean,,active,\n" + // 5 by name, on a sub-account of A1
		"U2,A1,teacher,,active,\n" + // 6 an enrollment role
		"U2,A1,,1,active,\n" + // 7 an enrollment role by id
		"U9,A1,AccountAdmin,,active,\n" + // 8 no such user
		"U2,NOPE,AccountAdmin,,active,\n" + // 9 no such account
		"U1,,AccountAdmin,,active,\n" + // 10 the same as line 2
		"U2,A1,AccountAdmin,,deleted,\n" + // 11 deleting an admin that does not exist
		"U3,A1,AccountAdmin,,retired,\n" + // 12 no such status
		"U3,A1,AccountAdmin,,active,other.example.com\n" + // 13 another root account
		"U3,A1,Principal,,active,\n" // 14 no such role
	files := []string{
		// The admins file first: the zip is applied in Canvas's order all the same.
		"admins.csv", header + rows,
		"accounts.csv", "account_id,parent_account_id,name,status\nA1,,Faculty,active\nA2,A1,Department,active\n",
		"users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\nU3,u3,active\n",
	}
	imp := s.importZip("1", "", files...)
	sameOutcomes(t, "admins", outcomes(s.results(imp.ID, "file=admins.csv")), map[string]string{
		"admins.csv:2": "created/", "admins.csv:3": "created/", "admins.csv:4": "created/", "admins.csv:5": "created/",
		"admins.csv:6": "failed/unknown_reference", "admins.csv:7": "failed/unknown_reference",
		"admins.csv:8": "failed/unknown_reference", "admins.csv:9": "failed/unknown_reference",
		"admins.csv:10": "failed/duplicate_in_file", "admins.csv:11": "skipped/not_found",
		"admins.csv:12": "failed/invalid_status", "admins.csv:13": "skipped/other_root_account",
		"admins.csv:14": "failed/unknown_reference",
	})
	for _, r := range s.results(imp.ID, "file=admins.csv&action[]=failed&action[]=skipped") {
		msg := str(r.Message)
		for line, want := range map[int]string{6: `column role: role "teacher" is not an account role`,
			7: `column role_id: role "1" is not an account role`, 8: `column user_id: no user "U9" exists`,
			9: `column account_id: no account "NOPE" exists`, 10: "line 2", 13: "column root_account",
			14: `column role: no role "Principal" exists`} {
			if *r.Row == line && !strings.Contains(msg, want) {
				t.Errorf("line %d: %q, want it to say %q", line, msg, want)
			}
		}
		if r.Entity != "admin" {
			t.Errorf("line %d: entity %q", *r.Row, r.Entity)
		}
	}
	if n := imp.Data.Counts["admins"]; n != 6 { // the created rows and the two skipped ones
		t.Errorf("counts.admins = %d, want 6", n)
	}

	if got, want := s.admins("/api/v1/accounts/1/admins"), "U1/AccountAdmin/6"; got != want {
		t.Errorf("admins of account 1: %s, want %s", got, want)
	}
	if got, want := s.admins("/api/v1/accounts/sis_account_id:A1/admins"), fmt.Sprintf("U2/Dean/%d U1/AccountAdmin/6", dean.ID); got != want {
		t.Errorf("admins of A1: %s, want %s", got, want)
	}
	if got, want := s.admins(fmt.Sprintf("/api/v1/accounts/sis_account_id:A1/admins?user_id[]=%d", s.userID("U1"))), "U1/AccountAdmin/6"; got != want {
		t.Errorf("admins of A1 that are U1: %s, want %s", got, want)
	}
	if got, want := s.admins("/api/v1/accounts/sis_account_id:A1/admins?per_page=1&page=2"), "U1/AccountAdmin/6"; got != want {
		t.Errorf("second page of A1's admins: %s, want %s", got, want)
	}
	if code, b, _ := s.do("GET", "/api/v1/accounts/1/admins?user_id[]=U1", nil, nil); code != 400 || !strings.Contains(string(b), "user_id[]") {
		t.Errorf("user_id[] that is not an id: %d %s", code, b)
	}

	// The same upload again changes nothing.
	again := s.importZip("1", "", files...)
	for k, v := range outcomes(s.results(again.ID, "file=admins.csv")) {
		if v == "created/" || v == "updated/" || v == "reactivated/" {
			t.Errorf("second import %s: %s", k, v)
		}
	}

	// deleted removes an admin the import made; a restore of that import
	// puts it back.
	removal := s.importZip("1", "", "admins.csv", fmt.Sprintf("user_id,account_id,role_id,status\nU2,A1,%d,deleted\n", dean.ID))
	sameOutcomes(t, "a deleted row", outcomes(s.results(removal.ID, "")), map[string]string{"admins.csv:2": "deleted/"})
	if got, want := s.admins("/api/v1/accounts/sis_account_id:A1/admins"), "U1/AccountAdmin/6"; got != want {
		t.Errorf("admins of A1 after the deleted row: %s, want %s", got, want)
	}
	if restored := s.restore(removal.ID); restored.WorkflowState != "restored" {
		t.Errorf("restore of the removal: %s", restored.WorkflowState)
	}
	if got, want := s.admins("/api/v1/accounts/sis_account_id:A1/admins"), fmt.Sprintf("U2/Dean/%d U1/AccountAdmin/6", dean.ID); got != want {
		t.Errorf("admins of A1 after the restore: %s, want %s", got, want)
	}

	// A user deleted by a users file loses their admin roles, each a result
	// of its own.
	gone := s.importCSV("", "user_id,login_id,status\nU3,u3,deleted\n")
	sameOutcomes(t, "a deleted user", outcomes(s.results(gone.ID, "entity=admin")), map[string]string{"admin:U3": "deleted/"})
	if got := s.admins("/api/v1/accounts/sis_account_id:A2/admins"); got != "" {
		t.Errorf("admins of A2 after U3 was deleted: %s", got)
	}
	// A deleted user's admin rows fail, as on Canvas, which finds only
	// active logins.
	late := s.importZip("1", "", "admins.csv", "user_id,account_id,role,status\nU3,A2,Dean,active\n")
	sameOutcomes(t, "a deleted user's row", outcomes(s.results(late.ID, "")), map[string]string{"admins.csv:2": "failed/unknown_reference"})
}

func TestAFileWithCourseIDIsAnEnrollmentsFile(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importZip("1", "",
		"users.csv", "user_id,login_id,status\nU1,u1,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,C1,Course one,active\n",
		"admins.csv", "course_id,user_id,account_id,role,status\nC1,U1,,teacher,active\n",
	)
	sameOutcomes(t, "a file with course_id", outcomes(s.results(imp.ID, "file=admins.csv")), map[string]string{"admins.csv:2": "created/"})
	for _, r := range s.results(imp.ID, "file=admins.csv") {
		if r.Entity != "enrollment" {
			t.Errorf("entity %q, want enrollment", r.Entity)
		}
	}
	if !strings.Contains(fmt.Sprint(imp.ProcessingWarnings), "columns ignored: account_id") {
		t.Errorf("warnings %v, want account_id ignored", imp.ProcessingWarnings)
	}
	if got := s.admins("/api/v1/accounts/1/admins"); got != "" {
		t.Errorf("admins: %s", got)
	}
	// A file with login_id is a users file, as on Canvas, which tries users
	// first.
	users := s.importCSV("", "user_id,login_id,account_id,status\nU2,u2,,active\n")
	sameOutcomes(t, "a file with login_id", outcomes(s.results(users.ID, "")), map[string]string{"users.csv:2": "created/"})
}

// TestDiffedAdminsFiles diffs admins files by Canvas's key, a user on an
// account: equal rows are unchanged without a look, and a user the file no
// longer lists on an account loses the SIS-made roles there.
func TestDiffedAdminsFiles(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "", "accounts.csv", "account_id,parent_account_id,name,status\nA1,,Faculty,active\n",
		"users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\nU3,u3,active\n")
	const set = "diffing_data_set_identifier=staff"
	header := "user_id,account_id,role,status\n"
	base := header + "U1,,AccountAdmin,active\nU2,A1,AccountAdmin,active\nU3,A1,AccountAdmin,active\n"
	first := s.importZip("1", set, "admins.csv", base)
	sameOutcomes(t, "the base", outcomes(s.results(first.ID, "")), map[string]string{
		"admins.csv:2": "created/", "admins.csv:3": "created/", "admins.csv:4": "created/"})
	next := s.importZip("1", set, "admins.csv", header+"U1,,AccountAdmin,active\nU3,A1,AccountAdmin,active\n")
	sameOutcomes(t, "the diffed file", outcomes(s.results(next.ID, "")), map[string]string{
		"admins.csv:2": "unchanged/", "admins.csv:3": "unchanged/", "admin:U2": "deleted/"})
	if got, want := s.admins("/api/v1/accounts/sis_account_id:A1/admins"), "U3/AccountAdmin/6"; got != want {
		t.Errorf("admins of A1 after the diff: %s, want %s", got, want)
	}
}
