package importer

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/sisimport/sisimport/internal/queue"
	"github.com/sisimport/sisimport/internal/result"
)

// outcome decides the final state and whether the directory changes stand
// (docs/import-rules.md#final-state).
func (at *attempt) outcome() (state string, applied bool) {
	t := &at.total
	failedRows := t.actions["total"][result.Failed]
	skippedRows := t.actions["total"][result.Skipped]
	switch {
	case at.breached:
		return at.breachOutcome(), false
	case len(at.fileErrors) > 0 || (at.opts.Atomic && failedRows > 0):
		state = "failed_with_messages"
	case failedRows > 0 || skippedRows > 0 || t.warningCount > 0:
		state = "imported_with_messages"
	default:
		state = "imported"
	}
	applied = !at.opts.DryRun && !(at.opts.Atomic && state == "failed_with_messages")
	return state, applied
}

// finish writes the final state last in the import's transaction and
// commits; a run that does not apply rolls its changes back first and
// writes the state in a transaction of its own.
func (at *attempt) finish(ctx context.Context) error {
	state, applied := at.outcome()
	o := queue.Outcome{State: state, Data: at.data(applied), Warnings: capped(at.total.warnings, at.total.moreWarnings), Errors: capped(at.fileErrors, 0)}
	tx := at.tx
	if !applied {
		if err := at.tx.Rollback(ctx); err != nil {
			return fmt.Errorf("roll back unapplied import: %w", err)
		}
		var err error
		if tx, err = at.DB.Begin(ctx); err != nil {
			return fmt.Errorf("begin finish: %w", err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
	}
	if err := at.job.Finish(ctx, tx, o); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit import: %w", err)
	}
	if at.secrets && state != "awaiting_approval" {
		// The import has ended: its job's context ends with the next
		// heartbeat, which finds it no longer running. The scrub has a
		// minute of its own; the scrubber tries again after that.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := ScrubSecrets(sctx, at.DB, at.job.ID); err != nil {
			at.log.Warn("scrubbing the upload's passwords failed; the scrubber tries again", slog.Any("err", err))
		}
	}
	elapsed := time.Since(at.start)
	dry := strconv.FormatBool(at.opts.DryRun)
	if m := at.Metrics; m != nil {
		m.ImportsTotal.WithLabelValues(state, dry).Inc()
		m.ImportDuration.Observe(elapsed.Seconds())
		for entity, byAction := range at.total.actions {
			if entity == "total" {
				continue
			}
			for a, n := range byAction {
				m.ImportRows.WithLabelValues(entity, a, dry).Add(float64(n))
			}
		}
	}
	at.log.Info("import done", slog.String("state", state), slog.Bool("applied", applied),
		slog.Int64("results", at.results.Written()), slog.Duration("elapsed", elapsed))
	return nil
}

// data is the SisImport's data object (docs/api.md#the-sisimport-object).
func (at *attempt) data(applied bool) map[string]any {
	t := &at.total
	// Canvas's counts: every key it has, and the rows of each type whose
	// result is not failed.
	counts := map[string]int{"change_sis_ids": 0, "accounts": 0, "terms": 0, "abstract_courses": 0, "courses": 0,
		"sections": 0, "xlists": 0, "users": 0, "logins": 0, "enrollments": 0, "admins": 0, "group_categories": 0,
		"groups": 0, "group_memberships": 0, "grade_publishing_results": 0, "user_observers": 0,
		"batch_courses_deleted": 0, "batch_sections_deleted": 0, "batch_enrollments_deleted": 0,
		"error_count": t.errorCount, "warning_count": t.warningCount}
	for name, n := range t.counts {
		if ft := byName[name]; ft != nil {
			name = ft.countKey()
		}
		counts[name] += n // several types may count as one (group joins are group memberships)
	}
	supplied := []string{}
	for _, t := range at.types {
		supplied = append(supplied, t.batch)
	}
	return map[string]any{
		"import_type":                at.opts.ImportType,
		"supplied_batches":           supplied,
		"counts":                     counts,
		"actions":                    t.actions,
		"applied":                    applied,
		"dry_run":                    at.opts.DryRun,
		"atomic":                     at.opts.Atomic,
		"files":                      nonNil(at.files),
		"planned_removals":           at.planned,
		"diffed_against_import_id":   at.diffedAgainst,
		"diffing_threshold_exceeded": at.diffExceeded,
		"would_hold":                 at.wouldHold(),
		"statistics":                 statistics(t.actions),
		"file_warnings":              nonNil(t.notes),
		"file_errors":                nonNil(at.errorList),
	}
}

// statisticClasses are Canvas's names, in data.statistics, of the objects
// each entity's results are about; users and their extra logins are both
// Canvas's pseudonyms.
var statisticClasses = map[string]string{"accounts": "Account", "terms": "EnrollmentTerm", "courses": "Course",
	"sections": "CourseSection", "users": "Pseudonym", "logins": "Pseudonym", "enrollments": "Enrollment", "groups": "Group",
	"group_memberships": "GroupMembership", "group_categories": "GroupCategory", "user_observers": "UserObserver",
	"admins": "AccountUser"}

// statistics is Canvas's data.statistics: per class the objects created,
// restored (reactivated), deleted and deactivated, and their sum.
func statistics(actions map[string]map[string]int) map[string]any {
	out := map[string]any{}
	total := 0
	for entity, class := range statisticClasses {
		a := actions[entity]
		st, _ := out[class].(map[string]int)
		if st == nil {
			st = map[string]int{}
			out[class] = st
		}
		for name, action := range map[string]string{"created": result.Created, "restored": result.Reactivated,
			"deleted": result.Deleted, "deactivated": result.Deactivated} {
			st[name] += a[action]
			total += a[action]
		}
	}
	out["total_state_changes"] = total
	return out
}

// capped keeps Canvas's 24 messages, then one line saying how many more.
func capped(m [][2]string, more int) [][2]string {
	if len(m) > maxWarnings {
		more += len(m) - maxWarnings
		m = m[:maxWarnings]
	}
	if more > 0 {
		m = append(m, [2]string{fmt.Sprintf("and %d more …", more), "the results and the errors endpoint list every one"})
	}
	return m
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
