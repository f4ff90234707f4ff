package importer

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/sisimport/sisimport/internal/result"
)

// An import removes objects by itself, not by a row: batch mode's unlisted
// courses, sections and enrollments, diffing's drops, and what goes with a
// deleted user. Each removal is a result with row null, counted against its
// type's threshold before anything commits (docs/import-rules.md#removing-what-the-feed-no-longer-lists, docs/import-rules.md#safety-thresholds).

// removal is one such set of objects of a type.
type removal struct {
	typ, entity, file string
	target            string // the state the objects get
	why               string // the results' message, and what a breach says
	eligible          int    // the objects of the type that could have been removed
	guarded           bool   // the threshold applies
	cleanup           bool   // Canvas's batch-mode cleanup, which skip_deletes does not stop
	update            string // UPDATE … WHERE id = ANY($1), with $2 the target and $3 the import
	objects           []removed
}

// removed is an object to remove, as the queries that find them read it;
// to, when set, is the state it gets instead of the removal's target.
type removed struct {
	id    int64
	sis   *string
	state string
	to    string
}

// targetOf is the state the object gets.
func (o removed) targetOf(target string) string {
	if o.to != "" {
		return o.to
	}
	return target
}

// scanRemoved reads (id, SIS id, state) rows; keep, when given, says which to keep.
func scanRemoved(rows pgx.Rows, keep func(removed) bool) ([]removed, error) {
	var out []removed
	var r removed
	_, err := pgx.ForEachRow(rows, []any{&r.id, &r.sis, &r.state}, func() error {
		if keep == nil || keep(r) {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// apply writes the removal, unless it breaches the threshold (then only the
// plan is shown), and records a result for each object. It says whether
// the objects were removed.
func (at *attempt) apply(ctx context.Context, rm removal) (bool, error) {
	n := len(rm.objects)
	if n == 0 {
		return false, nil
	}
	// As Canvas's /deleted/ test: deleted_last_completed is a deletion too.
	if (rm.target == "deleted" || rm.target == "deleted_last_completed") && at.opts.SkipDeletes && !rm.cleanup {
		at.warn(rm.file, fmt.Sprintf("skip_deletes: %d %s (%s) were not deleted", n, rm.typ, rm.why))
		return false, nil
	}
	byTarget := map[string][]int64{}
	for _, o := range rm.objects {
		t := o.targetOf(rm.target)
		byTarget[t] = append(byTarget[t], o.id)
	}
	v, msg := removeThem, ""
	if rm.guarded {
		v, msg = at.judge(rm.typ, n, max(rm.eligible, n), 100, rm.file, rm.why)
	}
	if v == removeThem {
		for _, t := range slices.Sorted(maps.Keys(byTarget)) {
			if _, err := at.tx.Exec(ctx, rm.update, byTarget[t], t, at.job.ID); err != nil {
				return false, fmt.Errorf("remove %ss: %w", rm.entity, err)
			}
		}
	}
	at.recordRemoval(rm.typ, rm.entity, rm.file, rm.target, rm.why, v, msg, rm.objects)
	return v == removeThem, nil
}

// recordRemoval records a result for each object of a removal: what it
// became, or, when a breach skipped the removal, a skipped result saying
// why (msg); a breach that holds or aborts shows the plan.
func (at *attempt) recordRemoval(typ, entity, file, target, why string, v verdict, msg string, objects []removed) {
	recordEach(at, typ, objects, func(o *removed) result.Result {
		to := o.targetOf(target)
		r := result.Result{File: file, Entity: entity, ObjectID: o.id, Action: result.Transition(o.state, to, true),
			Message: why, Changes: map[string][2]any{"workflow_state": {o.state, to}}}
		if v == skipThem {
			r.Action, r.Code, r.Message, r.Changes = result.Skipped, "threshold_exceeded", msg, nil
		}
		if o.sis != nil {
			r.SISID = *o.sis
		}
		return r
	})
}

// recordEach records the result of each item, made a batch at a time: a
// batch of rows keeps its results in its items, and a removal of many
// objects keeps only their ids, SIS ids and states until then.
func recordEach[T any](at *attempt, typ string, items []T, resultOf func(*T) result.Result) {
	for i := 0; i < len(items); i += batchSize {
		batch := items[i:min(i+batchSize, len(items))]
		rs := make([]result.Result, len(batch))
		for j := range batch {
			rs[j] = resultOf(&batch[j])
		}
		at.record(typ, rs)
	}
}
