package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/pgtest"
)

func TestRemoveUnlistedUsersStaysInsideTheSubtree(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := context.Background()
	north := s.account("North", 1, "north")
	south := s.account("South", 1, "south")
	northTok, southTok := s.newToken(north.ID, auth.SISImport), s.newToken(south.ID, auth.SISImport)
	post := func(token string, account int64, params, csv string) sisImport {
		t.Helper()
		code, b, _ := s.do("POST", fmt.Sprintf("/api/v1/accounts/%d/sis_imports?extension=csv&%s", account, params),
			strings.NewReader(csv), map[string]string{"Authorization": "Bearer " + token})
		if code != 200 {
			t.Fatalf("upload: %d %s", code, b)
		}
		var i sisImport
		decode(t, b, &i)
		return s.wait(fmt.Sprint(account), i.ID)
	}
	var north10, south3 strings.Builder
	north10.WriteString("user_id,login_id,status\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&north10, "N%d,n%d,active\n", i, i)
	}
	south3.WriteString("user_id,login_id,status\nS0,s0,active\nS1,s1,active\nS2,s2,active\n")
	post(northTok, north.ID, "", north10.String())
	post(southTok, south.ID, "", south3.String())
	// A manual user in North, which no import may remove.
	s.do("POST", fmt.Sprintf("/api/v1/accounts/%d/users", north.ID), strings.NewReader("pseudonym[unique_id]=manual"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})

	// North's feed drops N9 (and N8 fails on a bad status: still listed).
	var feed strings.Builder
	feed.WriteString("user_id,login_id,status\n")
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&feed, "N%d,n%d,active\n", i, i)
	}
	feed.WriteString("N8,n8,retired\n")
	imp := post(northTok, north.ID, "remove_unlisted_users=true", feed.String())
	if imp.WorkflowState != "imported_with_messages" || !imp.Data.Applied {
		t.Fatalf("removal import: %s %v", imp.WorkflowState, imp.ProcessingErrors)
	}
	rs := s.resultsIn(fmt.Sprint(north.ID), imp.ID, "action[]=deactivated")
	if len(rs) != 1 || str(rs[0].SISID) != "N9" || rs[0].Row != nil {
		t.Fatalf("removals: %+v", rs)
	}
	states := map[string]string{}
	rows, err := s.db.Query(ctx, `SELECT login_id, workflow_state FROM users`)
	pgtest.Must(t, err)
	defer rows.Close()
	for rows.Next() {
		var l, st string
		pgtest.Must(t, rows.Scan(&l, &st))
		states[l] = st
	}
	rows.Close()
	pgtest.Must(t, rows.Err())
	if states["n9"] != "suspended" || states["n8"] != "active" || states["manual"] != "active" || states["s0"] != "active" {
		t.Errorf("states after removal: %v", states)
	}

	// A feed that would remove 4 of 9 (N5–N8: 44 %) breaches the default 20 %:
	// with change_threshold_action=abort nothing changes.
	feed.Reset()
	feed.WriteString("user_id,login_id,first_name,status\n")
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&feed, "N%d,n%d,Changed,active\n", i, i)
	}
	imp = post(northTok, north.ID, "remove_unlisted_users=true&change_threshold_action=abort", feed.String())
	if imp.WorkflowState != "aborted" || imp.Data.Applied || !strings.Contains(fmt.Sprint(imp.ProcessingErrors), "threshold_exceeded") {
		t.Fatalf("threshold: %s applied=%v %v", imp.WorkflowState, imp.Data.Applied, imp.ProcessingErrors)
	}
	if got := len(s.resultsIn(fmt.Sprint(north.ID), imp.ID, "action[]=deactivated")); got != 4 {
		t.Errorf("the aborted import shows %d planned removals, want 4", got)
	}
	var changed int
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT count(*) FROM users WHERE first_name = 'Changed' OR (login_id IN ('n5','n6','n7','n8') AND workflow_state <> 'active')`).Scan(&changed))
	if changed != 0 {
		t.Errorf("a breached import changed %d users", changed)
	}
	// By default (skip_removals, what Canvas does) the same feed applies its
	// rows and skips the removals, each a skipped result saying why.
	imp = post(northTok, north.ID, "remove_unlisted_users=true", feed.String())
	skipped := s.resultsIn(fmt.Sprint(north.ID), imp.ID, "action[]=skipped&code[]=threshold_exceeded")
	if imp.WorkflowState != "imported_with_messages" || !imp.Data.Applied || len(skipped) != 4 ||
		!strings.Contains(fmt.Sprint(imp.ProcessingWarnings), "these removals were skipped") {
		t.Errorf("skip_removals: %s applied=%v, %d skipped removals, warnings %v", imp.WorkflowState, imp.Data.Applied, len(skipped), imp.ProcessingWarnings)
	}
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT count(*) FROM users WHERE first_name = 'Changed'`).Scan(&changed))
	var removed int
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT count(*) FROM users WHERE login_id IN ('n5','n6','n7','n8') AND workflow_state <> 'active'`).Scan(&removed))
	if changed != 5 || removed != 0 {
		t.Errorf("skip_removals: %d rows applied (want 5), %d users removed (want 0)", changed, removed)
	}
	// An empty feed never reads as "everyone left" (South has 3: below 10, but no valid row).
	imp = post(southTok, south.ID, "remove_unlisted_users=true&change_threshold=99&change_threshold_action=abort", "user_id,login_id,status\n")
	if imp.WorkflowState != "aborted" {
		t.Errorf("an empty file removing everyone: %s", imp.WorkflowState)
	}
	imp = post(southTok, south.ID, "remove_unlisted_users=true&change_threshold=100&unlisted_user_status=deleted", "user_id,login_id,status\n")
	if imp.WorkflowState != "imported" || len(s.resultsIn(fmt.Sprint(south.ID), imp.ID, "action[]=deleted")) != 3 {
		t.Errorf("change_threshold=100 removing everyone: %s", imp.WorkflowState)
	}
}

func TestDeactivationFile(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,email,status\nA,a,a@example.edu,active\nB,b,b@example.edu,active\nC,c,c@example.edu,suspended\n")
	imp := s.importCSV("", "email,remove_from_groups,login_id\n"+
		"a@example.edu,y,a\n"+ // deactivated
		"B@EXAMPLE.EDU,,bee\n"+ // login does not match: left alone
		"c@example.edu,,\n"+ // already suspended
		"nobody@example.edu,,\n"+
		"a@example.edu,Y,\n")
	if got := summary(s.results(imp.ID, "")); got != "2:deactivated 3:failed/identity_mismatch 4:unchanged 5:skipped/not_found 6:failed/duplicate_in_file" {
		t.Fatalf("deactivation results: %s", got)
	}
	var a, b string
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT (SELECT workflow_state FROM users WHERE login_id = 'a'), (SELECT workflow_state FROM users WHERE login_id = 'b')`).Scan(&a, &b))
	if a != "suspended" || b != "active" {
		t.Errorf("after deactivation: a %s, b %s", a, b)
	}
	// A suspended user listed as active by a later import comes back.
	imp = s.importCSV("", "user_id,login_id,status\nA,a,active\n")
	if got := summary(s.results(imp.ID, "")); got != "2:reactivated" {
		t.Errorf("reactivation: %s", got)
	}
}

func TestHoldThenApprove(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := context.Background()
	north := s.account("North", 1, "north")
	south := s.account("South", 1, "south")
	var all strings.Builder
	all.WriteString("user_id,login_id,account_id,status\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&all, "N%d,n%d,north,active\n", i, i)
	}
	s.importCSV("", all.String())
	post := func(account int64, params, csv string) sisImport {
		t.Helper()
		code, b, _ := s.do("POST", fmt.Sprintf("/api/v1/accounts/%d/sis_imports?extension=csv&%s", account, params), strings.NewReader(csv), nil)
		if code != 200 {
			t.Fatalf("upload: %d %s", code, b)
		}
		var i sisImport
		decode(t, b, &i)
		return i
	}
	// North's feed drops half its users: held, not applied.
	held := s.wait(fmt.Sprint(north.ID), post(north.ID, "remove_unlisted_users=true&change_threshold_action=hold",
		"user_id,login_id,status\nN0,n0,active\nN1,n1,active\nN2,n2,active\nN3,n3,active\nN4,n4,active\n").ID)
	if held.WorkflowState != "awaiting_approval" || held.Data.Applied || held.Progress != 100 {
		t.Fatalf("held import: %s applied=%v", held.WorkflowState, held.Data.Applied)
	}
	// A later North import waits behind the hold; a South import goes on.
	waiting := post(north.ID, "", "user_id,login_id,status\nN0,n0,active\n")
	southDone := s.wait(fmt.Sprint(south.ID), post(south.ID, "", "user_id,login_id,status\nS0,s0,active\n").ID)
	if southDone.WorkflowState != "imported" {
		t.Errorf("a disjoint subtree's import: %s", southDone.WorkflowState)
	}
	_, b, _ := s.do("GET", fmt.Sprintf("/api/v1/accounts/%d/sis_imports/%d", north.ID, waiting.ID), nil, nil)
	if !strings.Contains(string(b), `"workflow_state":"created"`) || !strings.Contains(string(b), fmt.Sprintf(`"blocked_by":%d`, held.ID)) {
		t.Errorf("the overlapping import is not held back by %d: %s", held.ID, b)
	}
	var suspended int
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT count(*) FROM users WHERE workflow_state = 'suspended'`).Scan(&suspended))
	if suspended != 0 {
		t.Fatalf("a held import suspended %d users", suspended)
	}
	// A read_only or sis_import token cannot approve; an admin can.
	code, _, _ := s.do("PUT", fmt.Sprintf("/api/v1/accounts/%d/sis_imports/%d/approve", north.ID, held.ID), nil,
		map[string]string{"Authorization": "Bearer " + s.newToken(1, auth.SISImport)})
	if code != 403 {
		t.Errorf("a sis_import token approved: %d", code)
	}
	code, b, _ = s.do("PUT", fmt.Sprintf("/api/v1/accounts/%d/sis_imports/%d/approve", north.ID, held.ID), nil, nil)
	if code != 200 {
		t.Fatalf("approve: %d %s", code, b)
	}
	done := s.wait(fmt.Sprint(north.ID), held.ID)
	if done.WorkflowState != "imported" || !done.Data.Applied {
		t.Fatalf("approved import: %s %v", done.WorkflowState, done.ProcessingErrors)
	}
	if after := s.wait(fmt.Sprint(north.ID), waiting.ID); after.WorkflowState != "imported" {
		t.Errorf("the import behind the hold: %s", after.WorkflowState)
	}
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT count(*) FROM users WHERE workflow_state = 'suspended'`).Scan(&suspended))
	if suspended != 5 {
		t.Errorf("%d users suspended after approval, want 5", suspended)
	}
	code, _, _ = s.do("PUT", fmt.Sprintf("/api/v1/accounts/%d/sis_imports/%d/approve", north.ID, held.ID), nil, nil)
	if code != 409 {
		t.Errorf("a second approval: %d, want 409", code)
	}
	// A dry run never holds.
	dry := s.wait(fmt.Sprint(north.ID), post(north.ID, "dry_run=true&remove_unlisted_users=true&change_threshold_action=hold",
		"user_id,login_id,status\nN0,n0,active\n").ID)
	if dry.WorkflowState != "aborted" {
		t.Errorf("dry run of a breaching hold: %s", dry.WorkflowState)
	}
}
