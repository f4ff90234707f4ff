package importer

import (
	"fmt"
	"log/slog"
)

// Every threshold decision of an import is here
// (docs/import-rules.md#safety-thresholds): whether a removal may go
// (judge, overThreshold), which removals the threshold counts
// (guardsCascade), what a breach records (breach) and how the import then
// ends (breachOutcome, wouldHold). The removals themselves are in
// removals.go, unlisted.go, batchmode.go, cascade.go and diffing.go.

// Threshold defaults: with remove_unlisted_users, at most 20 % of the
// eligible users may be removed unless change_threshold says otherwise;
// removing every eligible object of a type needs change_threshold=100.
const (
	defaultUnlistedThreshold = 20
	everyoneGuardMin         = 10
)

// overThreshold says why removing n of the eligible objects of a file type
// breaches the change threshold, or "": change_threshold if given, else
// limit (%). Removing everyone, where there are at least 10 or the type's
// files held no valid row, needs change_threshold=100; an approved re-run
// may remove what its held plan showed.
func (at *attempt) overThreshold(typ string, n, eligible, limit int) string {
	if n == 0 {
		return ""
	}
	if approved, ok := at.opts.ApprovedRemovals[typ]; ok {
		if n <= approved {
			return ""
		}
		return fmt.Sprintf("threshold_exceeded: the approved plan removed %d %s; the import would now remove %d", approved, typ, n)
	}
	explicit := false
	if t := at.opts.ChangeThreshold; t != nil {
		limit, explicit = *t, true
	}
	pct := float64(n) * 100 / float64(eligible)
	validRows := at.total.counts[typ]+at.file.counts[typ] > 0 // the file being read counts too
	everyone := n == eligible && (eligible >= everyoneGuardMin || !validRows)
	switch {
	case everyone && !(explicit && limit == 100):
		return fmt.Sprintf("threshold_exceeded: the import would remove every one of the %d SIS-managed %s it could remove; that needs change_threshold=100", eligible, typ)
	case pct > float64(limit):
		return fmt.Sprintf("threshold_exceeded: the import would remove %d of %d %s (%.1f %%), above change_threshold %d %%", n, eligible, typ, pct, limit)
	}
	return ""
}

// A verdict is what the threshold says of a removal.
type verdict int

const (
	removeThem verdict = iota // within the threshold: the objects are removed
	showPlan                  // a breach with abort or hold: the import applies nothing, its results show the plan
	skipThem                  // a breach with skip_removals: the rest applies, these removals are skipped results
)

// judge decides whether the import may remove n of the eligible objects
// of type typ, limit being the percentage allowed without change_threshold
// (100: only the guard against removing everyone). A breach does what
// change_threshold_action says: skip_removals (the default, Canvas's)
// skips these removals with a warning and lets the rest apply; abort and
// hold record a breach, and the import applies nothing. why, when given,
// says in the message what the removal was; the message is returned.
func (at *attempt) judge(typ string, n, eligible, limit int, file, why string) (verdict, string) {
	msg := at.overThreshold(typ, n, eligible, limit)
	if msg == "" {
		return removeThem, ""
	}
	if why != "" {
		msg += " (" + why + ")"
	}
	if at.opts.ChangeThresholdAction == "skip_removals" {
		at.warn(file, msg+": these removals were skipped; the rest of the import applies")
		return skipThem, msg
	}
	at.breach(typ, n, file, msg)
	return showPlan, msg
}

// guardsCascade says whether what goes with deleted users (their
// enrollments and memberships) counts against the threshold: the guard
// against removing everyone is about a type's own file, so it holds from
// everyoneGuardMin objects on, or with an explicit change_threshold.
func (at *attempt) guardsCascade(eligible int) bool {
	return eligible >= everyoneGuardMin || at.opts.ChangeThreshold != nil
}

// breach records a threshold breach: the import ends as breachOutcome
// says, applying nothing, its results showing what it would have done.
func (at *attempt) breach(typ string, removals int, file, msg string) {
	at.breached = true
	at.total.errorCount++
	if at.planned == nil {
		at.planned = map[string]int{}
	}
	at.planned[typ] = removals
	at.fileErrors = append(at.fileErrors, [2]string{file, msg})
	at.errorList = append(at.errorList, FileErrorInfo{File: file, Code: "threshold_exceeded", Message: msg})
	at.log.Info("threshold exceeded", slog.String("file", file), slog.String("message", msg))
}

// breachOutcome is the final state of an import that breached: held for
// approval with change_threshold_action=hold, else aborted. A dry run
// never holds (wouldHold says it would have).
func (at *attempt) breachOutcome() string {
	if at.opts.ChangeThresholdAction == "hold" && !at.opts.DryRun {
		return "awaiting_approval"
	}
	return "aborted"
}

// wouldHold says whether a dry run that breached would have been held.
func (at *attempt) wouldHold() bool {
	return at.breached && at.opts.ChangeThresholdAction == "hold" && at.opts.DryRun
}
