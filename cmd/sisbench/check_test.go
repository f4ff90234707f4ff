package main

import (
	"strings"
	"testing"
	"time"
)

func TestCheckComparesStateAndActions(t *testing.T) {
	now := time.Now()
	imp := importJSON{WorkflowState: "imported", StartedAt: &now, EndedAt: &now}
	imp.Data.Actions = map[string]map[string]int{"total": {"updated": 10, "unchanged": 90, "failed": 0}}
	if got := check(imp, map[string]int{"updated": 10, "unchanged": 90}); got != "" {
		t.Errorf("a matching import: %q", got)
	}
	imp.WorkflowState = "imported_with_messages"
	imp.Data.Actions["total"]["failed"] = 1
	got := check(imp, map[string]int{"updated": 10, "unchanged": 90})
	if !strings.Contains(got, "workflow_state") || !strings.Contains(got, "failed=1") {
		t.Errorf("a failed row and the wrong state: %q", got)
	}
}

func TestUsersFileChangesEveryTenthRow(t *testing.T) {
	for i := 1; i <= 30; i++ {
		a, b := userAt(i, false), userAt(i, true)
		if (a != b) != (i%10 == 0) {
			t.Errorf("row %d: %+v vs %+v", i, a, b)
		}
	}
	if u := userAt(7, false); u.userID != "U0000007" || u.login != "user0000007" || u.email != "user0000007@example.edu" {
		t.Errorf("row 7: %+v", u)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
