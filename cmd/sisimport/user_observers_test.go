package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// linkedNames GETs a list of users and returns their SIS ids in order.
func (s *service) linkedNames(path string) string {
	s.t.Helper()
	var users []struct {
		SISUserID *string `json:"sis_user_id"`
	}
	s.getJSON(path, &users)
	var out []string
	for _, u := range users {
		out = append(out, str(u.SISUserID))
	}
	return strings.Join(out, ",")
}

// linkState is the stored state of the link observer → student, "" if none.
func (s *service) linkState(observer, student string) string {
	s.t.Helper()
	var state string
	err := s.db.QueryRow(s.t.Context(), `SELECT COALESCE(max(o.workflow_state), '') FROM user_observers o
		JOIN users a ON a.id = o.observer_id JOIN users b ON b.id = o.student_id
		WHERE a.sis_user_id = $1 AND b.sis_user_id = $2`, observer, student).Scan(&state)
	pgtest.Must(s.t, err)
	return state
}

func TestUserObserversLinkAndList(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,status\nD,d,active\nX,x,active\n")

	// The observers file comes first in the zip; it is applied after the
	// users file, which creates its users and deletes D and suspends X.
	imp := s.importZip("1", "",
		"0_observers.csv", "observer_id,student_id,status\n"+
			"P1,S1,active\nP1,S2,ACTIVE\nP2,S1,active\nP1,S1,active\nP2,P2,active\nNOPE,S1,active\n"+
			"P2,NOBODY,active\nP2,D,active\nX,S2,active\nP2,S2,deleted\nP2,S2,removed\n",
		"1_users.csv", "user_id,login_id,first_name,last_name,status\n"+
			"P1,p1,Pat,Parent,active\nP2,p2,Pam,Other,active\nS1,s1,Zed,Young,active\nS2,s2,Amy,Adams,active\n"+
			"D,d,,,deleted\nX,x,,,suspended\n")
	if imp.WorkflowState != "imported_with_messages" {
		t.Fatalf("state %s, errors %v", imp.WorkflowState, imp.ProcessingErrors)
	}
	rs := s.results(imp.ID, "entity=user_observer")
	sameOutcomes(t, "links", outcomes(rs), map[string]string{
		"0_observers.csv:2": "created/", "0_observers.csv:3": "created/", "0_observers.csv:4": "created/",
		"0_observers.csv:5": "failed/duplicate_in_file", "0_observers.csv:6": "failed/invalid_value",
		"0_observers.csv:7": "failed/unknown_reference", "0_observers.csv:8": "failed/unknown_reference",
		"0_observers.csv:9": "failed/inactive_user", "0_observers.csv:10": "failed/inactive_user",
		"0_observers.csv:11": "failed/not_linked", "0_observers.csv:12": "failed/invalid_status",
	})
	msg := map[int]string{}
	for _, r := range rs {
		msg[*r.Row] = str(r.Message)
		if *r.Row == 2 && (str(r.SISID) != "P1" || r.ObjectID == nil || !strings.Contains(str(r.Message), `"S1"`)) {
			t.Errorf("a created link's result: sis_id %q, object_id %v, message %q", str(r.SISID), r.ObjectID, str(r.Message))
		}
	}
	for row, want := range map[int][]string{6: {"observer_id", "P2", "themselves"}, 7: {"column observer_id", `"NOPE"`},
		8: {"column student_id", `"NOBODY"`}, 9: {"column student_id", `"D"`, "deleted"}, 10: {"column observer_id", `"X"`, "suspended"},
		11: {`"P2"`, `"S2"`}} {
		for _, w := range want {
			if !strings.Contains(msg[row], w) {
				t.Errorf("line %d: message %q does not say %q", row, msg[row], w)
			}
		}
	}
	if n := imp.Data.Counts["user_observers"]; n != 3 {
		t.Errorf("data.counts.user_observers = %d, want 3", n)
	}
	if a := imp.Data.Actions["user_observers"]; a["created"] != 3 || a["failed"] != 8 {
		t.Errorf("data.actions.user_observers = %v", a)
	}
	stats, _ := imp.Data.Statistics["UserObserver"].(map[string]any)
	if !strings.Contains(strings.Join(imp.Data.Supplied, ","), "user_observer") || fmt.Sprint(stats["created"]) != "3" {
		t.Errorf("supplied_batches %v, statistics.UserObserver %v", imp.Data.Supplied, imp.Data.Statistics["UserObserver"])
	}

	// The lists: by sortable name, paginated; a deleted user is a 404.
	for path, want := range map[string]string{
		"/api/v1/users/sis_user_id:P1/observees": "S2,S1", "/api/v1/users/sis_user_id:S1/observers": "P2,P1",
		"/api/v1/users/sis_user_id:S1/observees": "", "/api/v1/users/sis_user_id:P2/observees": "S1",
	} {
		if got := s.linkedNames(path); got != want {
			t.Errorf("GET %s: %q, want %q", path, got, want)
		}
	}
	var page []struct {
		SISUserID *string `json:"sis_user_id"`
	}
	h := s.getJSON("/api/v1/users/sis_user_id:P1/observees?per_page=1", &page)
	if len(page) != 1 || str(page[0].SISUserID) != "S2" || !strings.Contains(h.Get("Link"), `rel="next"`) {
		t.Errorf("first page of one: %v, Link %q", page, h.Get("Link"))
	}
	if code, b, _ := s.do("GET", "/api/v1/users/sis_user_id:D/observees", nil, nil); code != 404 {
		t.Errorf("observees of a deleted user: %d %s, want 404", code, b)
	}

	// The same links again change nothing.
	links := "observer_id,student_id,status\nP1,S1,active\nP1,S2,active\nP2,S1,active\n"
	again := s.importCSV("", links)
	sameOutcomes(t, "again", outcomes(s.results(again.ID, "")), map[string]string{
		"users.csv:2": "unchanged/", "users.csv:3": "unchanged/", "users.csv:4": "unchanged/"})
}

func TestUserObserversDeleteRestoreAndScope(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.account("East", 1, "east")
	s.importCSV("", "user_id,login_id,first_name,last_name,status,account_id\n"+
		"P1,p1,Pat,Parent,active,\nS1,s1,Zed,Young,active,\nS2,s2,Amy,Adams,active,\nE1,e1,Eve,East,active,east\n")
	s.importCSV("", "observer_id,student_id,status\nP1,S1,active\nP1,S2,active\n")

	// deleted removes a link (it is kept as deleted); one that is not there
	// fails; skip_deletes keeps a link.
	del := s.importCSV("", "observer_id,student_id,status\nP1,S2,deleted\nS1,S2,deleted\n")
	sameOutcomes(t, "delete", outcomes(s.results(del.ID, "")), map[string]string{
		"users.csv:2": "deleted/", "users.csv:3": "failed/not_linked"})
	if got := s.linkedNames("/api/v1/users/sis_user_id:P1/observees"); got != "S1" || s.linkState("P1", "S2") != "deleted" {
		t.Errorf("after delete: observees %q, link P1→S2 %q", got, s.linkState("P1", "S2"))
	}
	gone := s.importCSV("", "observer_id,student_id,status\nP1,S2,deleted\n")
	sameOutcomes(t, "delete again", outcomes(s.results(gone.ID, "")), map[string]string{"users.csv:2": "failed/not_linked"})
	kept := s.importCSV("skip_deletes=true", "observer_id,student_id,status\nP1,S1,deleted\n")
	sameOutcomes(t, "skip_deletes", outcomes(s.results(kept.ID, "")), map[string]string{"users.csv:2": "skipped/skip_deletes"})

	// active brings it back; restoring that import deletes it again.
	back := s.importCSV("", "observer_id,student_id,status\nP1,S2,active\n")
	sameOutcomes(t, "back", outcomes(s.results(back.ID, "")), map[string]string{"users.csv:2": "reactivated/"})
	if s.linkState("P1", "S2") != "active" {
		t.Fatalf("link P1→S2 after reactivation: %q", s.linkState("P1", "S2"))
	}
	if r := s.restore(back.ID); r.WorkflowState != "restored" {
		t.Fatalf("restore: %s", r.WorkflowState)
	}
	if rs := s.results(back.ID, "phase=restore"); len(rs) != 1 || rs[0].Entity != "user_observer" || rs[0].Action != "deleted" {
		t.Errorf("restore results: %+v", rs)
	}
	if got := s.linkedNames("/api/v1/users/sis_user_id:P1/observees"); got != "S1" {
		t.Errorf("observees after restore: %q, want S1", got)
	}

	// Posted to a sub-account: the student must be homed in it; the
	// observer may be anyone of the root account.
	sub := s.upload("sis_account_id:east", "", "observer_id,student_id,status\nP1,E1,active\nE1,S1,active\n")
	sub = s.wait("sis_account_id:east", sub.ID)
	sameOutcomes(t, "sub-account", outcomes(s.resultsIn("sis_account_id:east", sub.ID, "")), map[string]string{
		"users.csv:2": "created/", "users.csv:3": "failed/out_of_scope"})

	// Deleting a user keeps their links, as on Canvas, but the lists leave
	// deleted users out.
	s.importCSV("", "user_id,login_id,status\nS1,s1,deleted\n")
	if got := s.linkedNames("/api/v1/users/sis_user_id:P1/observees"); got != "E1" || s.linkState("P1", "S1") != "active" {
		t.Errorf("after S1 was deleted: observees %q, link P1→S1 %q", got, s.linkState("P1", "S1"))
	}
}
