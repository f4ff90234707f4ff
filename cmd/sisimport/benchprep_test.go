package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// TestBenchPrepDeactivationTemplate imports BenchPrep's bulk-deactivation
// template as it is downloaded: its columns are the user_deactivations
// file's under BenchPrep's names, user_id being the user's id here.
func TestBenchPrepDeactivationTemplate(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	east := s.account("East", 1, "east")
	s.importZip("1", "", "users.csv", "user_id,login_id,email,account_id,status\n"+
		"S1,ann,ann@example.edu,east,active\nS2,ben,ben@example.edu,east,active\n"+
		"S3,cy,cy@example.edu,east,active\nS4,di,di@example.edu,east,active\n",
		"groups.csv", "group_id,name,account_id,status\nG1,Readers,east,available\n",
		"group_memberships.csv", "group_id,user_id,status\nG1,S2,accepted\n")
	id := func(login string) int64 {
		var id int64
		pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT id FROM users WHERE login_id = $1`, login).Scan(&id))
		return id
	}
	template := "email,user_id,username,sis_id,institution,remove_from_group\n" +
		"ann@example.edu,,,,,\n" + // 2 the email alone is enough
		fmt.Sprintf("ben@example.edu,%d,ben,S2,%d,Y\n", id("ben"), east.ID) + // 3 every column agrees; out of its group
		"cy@example.edu,,cyrus,,,\n" + // 4 the username disagrees: left alone
		fmt.Sprintf("di@example.edu,%d,,,east,\n", id("ann")) + // 5 the id is another user's: left alone
		",,ann,S1,,\n" // 6 no email: not deleted
	imp := s.importCSV("", template)
	if len(imp.ProcessingErrors) != 0 {
		t.Fatalf("the template is not read: %v", imp.ProcessingErrors)
	}
	rs := s.results(imp.ID, "")
	if got := summary(rs); got != "2:deactivated 3:deactivated 4:failed/identity_mismatch 5:failed/identity_mismatch 6:failed/missing_value null:deleted" {
		t.Fatalf("results: %s", got)
	}
	for _, r := range rs {
		if r.Row == nil || r.Action != "failed" {
			continue
		}
		// A message names the column as the template names it.
		want := map[int]string{4: "column username", 5: "column user_id", 6: "column email"}[*r.Row]
		if !strings.Contains(str(r.Message), want) {
			t.Errorf("line %d: %q, want it to name %q", *r.Row, str(r.Message), want)
		}
	}
	var states string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT string_agg(login_id || ':' || workflow_state, ' ' ORDER BY login_id) FROM users`).Scan(&states))
	if states != "ann:suspended ben:suspended cy:active di:active" {
		t.Errorf("users after the template: %s", states)
	}
	var members int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM group_memberships WHERE workflow_state = 'accepted'`).Scan(&members))
	if members != 0 {
		t.Errorf("remove_from_group=Y left %d memberships", members)
	}

	// Named outright, the format reads the same file; a Canvas users file is
	// not BenchPrep's template, and says so.
	again := s.importCSV("import_type=benchprep_csv", "email,user_id,username,sis_id,institution,remove_from_group\ndi@example.edu,,di,S4,east,\n")
	if got := summary(s.results(again.ID, "")); got != "2:deactivated" {
		t.Errorf("import_type=benchprep_csv: %s", got)
	}
	wrong := s.importCSV("import_type=benchprep_csv", "user_id,login_id,status\nS5,eve,active\n")
	if len(wrong.ProcessingErrors) != 1 || !strings.Contains(wrong.ProcessingErrors[0][1], "unknown_file_type") && !strings.Contains(wrong.ProcessingErrors[0][1], "matches no") {
		t.Errorf("a users file read as benchprep_csv: %v", wrong.ProcessingErrors)
	}
}
