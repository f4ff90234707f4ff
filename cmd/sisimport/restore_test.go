package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/pgtest"
)

func TestRestoreStatesUndoesAnImport(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := context.Background()
	s.importCSV("", "user_id,login_id,first_name,last_name,status\nA,a,Ann,Able,active\nB,b,Ben,Baker,active\nC,c,Cy,Cole,active\nD,d,Di,Dean,active\n")
	bad := s.importCSV("remove_unlisted_users=true&change_threshold=50",
		"user_id,login_id,first_name,last_name,status\nA,a,Ann,Changed,active\nB,b,Ben,Baker,active\nD,d,Di,Dean,suspended\nE,e,Eve,East,active\n")
	if bad.WorkflowState != "imported" {
		t.Fatalf("the import to restore: %s %v", bad.WorkflowState, bad.ProcessingErrors)
	}
	// Someone edits D after the import: restoring must leave D alone.
	if code, b, _ := s.do("PUT", "/api/v1/users/sis_user_id:D", strings.NewReader(`{"user":{"first_name":"Diana"}}`),
		map[string]string{"Content-Type": "application/json"}); code != 200 {
		t.Fatalf("manual edit: %d %s", code, b)
	}
	code, b, _ := s.do("PUT", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/restore_states", bad.ID), nil, nil)
	var progress struct {
		ID            int64  `json:"id"`
		WorkflowState string `json:"workflow_state"`
		Completion    int    `json:"completion"`
		URL           string `json:"url"`
	}
	decode(t, b, &progress)
	if code != 200 || progress.URL == "" {
		t.Fatalf("restore_states: %d %s", code, b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for progress.WorkflowState != "completed" && progress.WorkflowState != "failed" {
		if time.Now().After(deadline) {
			t.Fatalf("restore still %s", progress.WorkflowState)
		}
		time.Sleep(20 * time.Millisecond)
		s.getJSON(progress.URL, &progress)
	}
	var restored sisImport
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", bad.ID), &restored)
	if progress.WorkflowState != "completed" || restored.WorkflowState != "partially_restored" {
		t.Fatalf("after restore: progress %s, import %s", progress.WorkflowState, restored.WorkflowState)
	}
	got := map[string]string{}
	for _, r := range s.results(bad.ID, "phase=restore") {
		got[str(r.SISID)] = r.Action + "/" + str(r.Code)
	}
	want := map[string]string{"A": "updated/", "C": "reactivated/", "D": "skipped/changed_since", "E": "deleted/"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("restore outcomes:\n got %v\nwant %v", got, want)
	}
	rows, err := s.db.Query(ctx, `SELECT sis_user_id, last_name, first_name, workflow_state FROM users ORDER BY sis_user_id`)
	pgtest.Must(t, err)
	defer rows.Close()
	var users []string
	for rows.Next() {
		var id, last, first, st string
		pgtest.Must(t, rows.Scan(&id, &last, &first, &st))
		users = append(users, id+":"+first+" "+last+":"+st)
	}
	rows.Close()
	pgtest.Must(t, rows.Err())
	if strings.Join(users, " ") != "A:Ann Able:active B:Ben Baker:active C:Cy Cole:active D:Diana Dean:suspended E:Eve East:deleted" {
		t.Errorf("users after restore: %v", users)
	}
	// Once only; never a dry run.
	if code, _, _ := s.do("PUT", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/restore_states", bad.ID), nil, nil); code != 409 {
		t.Errorf("a second restore: %d, want 409", code)
	}
	dry := s.importCSV("dry_run=true", "user_id,login_id,status\nZ,z,active\n")
	if code, _, _ := s.do("PUT", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/restore_states", dry.ID), nil, nil); code != 409 {
		t.Errorf("restoring a dry run: %d, want 409", code)
	}
}

func TestDiffingAgainstTheLastFile(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := context.Background()
	base := s.importCSV("diffing_data_set_identifier=nightly",
		"user_id,login_id,first_name,status\nA,a,Ann,active\nB,b,Ben,active\nC,c,Cy,active\nE,e,Ed,retired\n")
	if base.WorkflowState != "imported_with_messages" {
		t.Fatalf("base: %s", base.WorkflowState)
	}
	// Someone changes A by hand: a diffed import does not look at rows equal to the base's.
	s.do("PUT", "/api/v1/users/sis_user_id:A", strings.NewReader(`{"user":{"first_name":"Annie"}}`), map[string]string{"Content-Type": "application/json"})
	// Columns in another order still compare equal; E failed in the base, so it is tried again.
	imp := s.importCSV("diffing_data_set_identifier=nightly",
		"first_name,user_id,login_id,status\nAnn,A,a,active\nBenny,B,b,active\nDi,D,d,active\nEd,E,e,active\n")
	got := map[string]string{}
	for _, r := range s.results(imp.ID, "") {
		row := "null"
		if r.Row != nil {
			row = fmt.Sprint(*r.Row)
		}
		got[str(r.SISID)] = row + ":" + r.Action
	}
	want := map[string]string{"A": "2:unchanged", "B": "3:updated", "D": "4:created", "E": "5:created", "C": "null:deleted"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("diffed import:\n got %v\nwant %v", got, want)
	}
	_, b, _ := s.do("GET", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", imp.ID), nil, nil)
	if !strings.Contains(string(b), fmt.Sprintf(`"diffed_against_import_id":%d`, base.ID)) {
		t.Errorf("diffed_against_import_id missing: %s", b)
	}
	var first, cState string
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT (SELECT first_name FROM users WHERE sis_user_id = 'A'), (SELECT workflow_state FROM users WHERE sis_user_id = 'C')`).Scan(&first, &cState))
	if first != "Annie" || cState != "deleted" {
		t.Errorf("A %q (the manual edit must stay), C %q", first, cState)
	}
	// Dropping 2 of 4 with change_threshold=25 breaches: with
	// change_threshold_action=abort nothing is applied.
	breach := s.importCSV("diffing_data_set_identifier=nightly&diffing_user_remove_status=suspended&change_threshold=25&change_threshold_action=abort",
		"user_id,login_id,first_name,status\nA,a,Ann,active\nB,b,Benny,active\n")
	if breach.WorkflowState != "aborted" {
		t.Errorf("a diffed import dropping half its base: %s %v", breach.WorkflowState, breach.ProcessingErrors)
	}
	// Remastering applies the whole file: A's row equals the base's, but it
	// is applied, and meets A's sticky first name.
	re := s.importCSV("diffing_data_set_identifier=nightly&diffing_remaster_data_set=true", "user_id,login_id,first_name,status\nA,a,Ann,active\n")
	if got := summary(s.results(re.ID, "")); got != "2:skipped/sticky" {
		t.Errorf("remaster: %s", got)
	}
	// Batch mode wins over diffing, as on Canvas, with a warning.
	code, b, _ := s.do("POST", "/api/v1/accounts/1/sis_imports?extension=csv&batch_mode=true&batch_mode_term_id=T1&diffing_data_set_identifier=x", strings.NewReader("user_id,login_id,status\n"), nil)
	if code != 200 || !strings.Contains(string(b), "diffing_data_set_identifier was ignored") {
		t.Errorf("batch_mode with diffing: %d %s, want 200 and a warning", code, b)
	}
}

func TestDiffingAndRestoreEdges(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := context.Background()
	var base strings.Builder
	base.WriteString("user_id,login_id,status\n")
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&base, "U%d,u%d,active\n", i, i)
	}
	base.WriteString("M,manual,active\n")
	// M is a manual user that the feed also lists.
	s.do("POST", "/api/v1/accounts/1/users", strings.NewReader("pseudonym[unique_id]=manual&pseudonym[sis_user_id]=M"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	s.importCSV("diffing_data_set_identifier=d", base.String())
	// A header-only diffed file would drop everyone: it breaches, and by
	// default (skip_removals, Canvas's) the drops are skipped, each a result.
	empty := s.importCSV("diffing_data_set_identifier=d", "user_id,login_id,status\n")
	if empty.WorkflowState != "imported_with_messages" || len(s.results(empty.ID, "action[]=skipped&code[]=threshold_exceeded")) != 12 {
		t.Errorf("a header-only diffed file: %s %v", empty.WorkflowState, empty.ProcessingWarnings)
	}
	// A malformed row still lists its user; the manual user is never dropped.
	var next strings.Builder
	next.WriteString("user_id,login_id,first_name,status\n")
	for i := 0; i < 11; i++ {
		fmt.Fprintf(&next, "U%d,u%d,,active\n", i, i)
	}
	next.WriteString("U11,u11,Able, Ann,active\n") // an extra field
	imp := s.importCSV("diffing_data_set_identifier=d&change_threshold=50", next.String())
	var states []string
	rows, err := s.db.Query(ctx, `SELECT sis_user_id || ':' || workflow_state FROM users WHERE sis_user_id IN ('U11', 'M') ORDER BY 1`)
	pgtest.Must(t, err)
	defer rows.Close()
	for rows.Next() {
		var v string
		pgtest.Must(t, rows.Scan(&v))
		states = append(states, v)
	}
	rows.Close()
	pgtest.Must(t, rows.Err())
	if strings.Join(states, " ") != "M:active U11:active" {
		t.Errorf("after the diffed import %s: %v", imp.WorkflowState, states)
	}

	// Restoring a login that another user took since leaves that user alone.
	a := s.importCSV("", "user_id,login_id,status\nA,jdoe,active\n")
	change := s.importCSV("", "user_id,login_id,status\nA,john.doe,active\n")
	s.importCSV("", "user_id,login_id,status\nB,jdoe,active\n")
	_ = a
	code, b, _ := s.do("PUT", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/restore_states", change.ID), nil, nil)
	if code != 200 {
		t.Fatalf("restore: %d %s", code, b)
	}
	deadline := time.Now().Add(20 * time.Second)
	var got sisImport
	for time.Now().Before(deadline) {
		s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", change.ID), &got)
		if got.WorkflowState != "restoring" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	rs := s.results(change.ID, "phase=restore")
	if got.WorkflowState != "partially_restored" || len(rs) != 1 || str(rs[0].Code) != "changed_since" {
		t.Errorf("restore over a taken login: %s %+v", got.WorkflowState, rs)
	}
}
