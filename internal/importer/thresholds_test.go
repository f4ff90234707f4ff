package importer

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestThresholdDecisions is the threshold rule as a table
// (docs/import-rules.md#safety-thresholds): what may be removed, and what
// a breach does: skip the removals (the default, Canvas's), or hold or
// abort the import.
func TestThresholdDecisions(t *testing.T) {
	pct := func(n int) *int { return &n }
	cases := []struct {
		name         string
		opts         Options
		validRows    int // rows of the type the files held that did not fail
		n, eligible  int
		limit        int
		breach       string // in the message, "" for none
		outcome      string // how the import ends, "" when the breach only skips the removals
		wouldHoldToo bool
	}{
		{"nothing to remove", Options{}, 0, 0, 50, 20, "", "", false},
		{"under the default", Options{}, 100, 10, 100, 20, "", "", false},
		{"at the default", Options{}, 100, 20, 100, 20, "", "", false},
		{"over the default: the removals are skipped", Options{ChangeThresholdAction: "skip_removals"}, 100, 21, 100, 20, "21 of 100 users (21.0 %), above change_threshold 20 %", "", false},
		{"over the default, with abort", Options{ChangeThresholdAction: "abort"}, 100, 21, 100, 20, "21 of 100 users (21.0 %), above change_threshold 20 %", "aborted", false},
		{"change_threshold raises it", Options{ChangeThreshold: pct(30)}, 100, 25, 100, 20, "", "", false},
		{"change_threshold lowers it", Options{ChangeThreshold: pct(5), ChangeThresholdAction: "abort"}, 100, 6, 100, 100, "above change_threshold 5 %", "aborted", false},
		{"everyone of ten", Options{ChangeThresholdAction: "abort"}, 10, 10, 10, 100, "every one of the 10 SIS-managed users", "aborted", false},
		{"everyone of nine, from a file with valid rows", Options{}, 9, 9, 9, 100, "", "", false},
		{"everyone of nine, from a file without one", Options{ChangeThresholdAction: "abort"}, 0, 9, 9, 100, "every one of the 9 SIS-managed users", "aborted", false},
		{"everyone needs an explicit 100", Options{ChangeThreshold: pct(100)}, 0, 50, 50, 100, "", "", false},
		{"a 99 is not enough for everyone", Options{ChangeThreshold: pct(99), ChangeThresholdAction: "skip_removals"}, 0, 50, 50, 100, "every one of the 50", "", false},
		{"hold", Options{ChangeThresholdAction: "hold"}, 100, 30, 100, 20, "above change_threshold 20 %", "awaiting_approval", false},
		{"a dry run never holds", Options{ChangeThresholdAction: "hold", DryRun: true}, 100, 30, 100, 20, "above change_threshold", "aborted", true},
		{"an approved plan", Options{ApprovedRemovals: map[string]int{"users": 30}}, 100, 30, 100, 20, "", "", false},
		{"more than the approved plan", Options{ApprovedRemovals: map[string]int{"users": 30}, ChangeThresholdAction: "hold"}, 100, 31, 100, 20,
			"the approved plan removed 30 users; the import would now remove 31", "awaiting_approval", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := &attempt{opts: c.opts, total: newTally(), file: newTally(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			at.total.counts[typeUsers] = c.validRows
			v, msg := at.judge(typeUsers, c.n, c.eligible, c.limit, "users.csv", "")
			if (v == removeThem) != (c.breach == "") {
				t.Fatalf("verdict %v %q, want a breach saying %q", v, msg, c.breach)
			}
			if c.breach == "" {
				if at.breached {
					t.Fatal("breached without a message")
				}
				return
			}
			if !strings.Contains(msg, c.breach) || !strings.HasPrefix(msg, "threshold_exceeded: ") {
				t.Fatalf("message %q, want one saying %q", msg, c.breach)
			}
			if c.outcome == "" {
				// skip_removals: no breach, a warning, and the rest applies.
				if v != skipThem || at.breached || at.file.warningCount != 1 || !strings.Contains(at.file.warnings[0][1], "were skipped") {
					t.Errorf("skip_removals: verdict %v, breached %v, warnings %v", v, at.breached, at.file.warnings)
				}
				return
			}
			if v != showPlan || len(at.errorList) != 1 || at.errorList[0].Code != "threshold_exceeded" {
				t.Fatalf("verdict %v, errors %+v: want a breach that shows the plan", v, at.errorList)
			}
			if at.planned[typeUsers] != c.n {
				t.Errorf("planned %v, want %d users", at.planned, c.n)
			}
			if got := at.breachOutcome(); got != c.outcome {
				t.Errorf("outcome %s, want %s", got, c.outcome)
			}
			if at.wouldHold() != c.wouldHoldToo {
				t.Errorf("would_hold %v, want %v", at.wouldHold(), c.wouldHoldToo)
			}
		})
	}
	at := &attempt{}
	if at.guardsCascade(9) || !at.guardsCascade(10) {
		t.Error("what goes with deleted users counts against the threshold from 10 objects on")
	}
	at.opts.ChangeThreshold = pct(50)
	if !at.guardsCascade(1) {
		t.Error("with an explicit change_threshold, what goes with deleted users always counts")
	}
}
