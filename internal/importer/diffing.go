package importer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/keyset"
	"github.com/sisimport/sisimport/internal/queue"
)

// diffBaseFor returns the diffing base of the import's file of type typ,
// or nil when the whole file is to be applied: no diffing, a remaster,
// several files of the type, or no earlier import of the data set.
func (at *attempt) diffBaseFor(ctx context.Context, v view, file string) (*keyset.Base, error) {
	t, typ := v.typ, v.typ.name
	if at.opts.DiffingDataSet == "" || at.opts.DiffingRemaster {
		return nil, nil
	}
	if at.typeFiles[typ] > 1 {
		at.warn(file, fmt.Sprintf("several %s files in one upload are applied in full: diffing needs one file of a type", typ))
		return nil, nil
	}
	id, baseFile, zipped, enc, err := at.findBase(ctx, typ)
	if err != nil {
		return nil, err
	}
	if id == 0 {
		at.warn(file, fmt.Sprintf("no earlier import of data set %q with one %s file to diff against: the whole file is applied and becomes the base", at.opts.DiffingDataSet, typ))
		return nil, nil
	}
	open := func(ctx context.Context) (io.ReadCloser, string, error) {
		if !zipped {
			return queue.OpenFile(ctx, at.DB, id), enc, nil
		}
		return at.openZipMember(ctx, id, baseFile)
	}
	rows, err := at.DB.Query(ctx, `SELECT r.row FROM sis_import_results r JOIN sis_imports i ON i.id = r.import_id AND r.attempt = i.results_attempt
		WHERE i.id = $1 AND r.file = $2 AND r.action = 'failed' AND r.row IS NOT NULL`, id, baseFile)
	if err != nil {
		return nil, fmt.Errorf("read the base's failed rows: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("read the base's failed rows: %w", err)
	}
	failed := map[int]bool{}
	for _, l := range lines {
		failed[l] = true
	}
	// Under 64 keys (a course, or a few rows), a range would cost a round trip more.
	b := keyset.NewBase(open, v.columnsOf(t.diffKey), t.keyOf, failed, at.spill, 64)
	if err := b.Load(ctx); err != nil {
		return nil, err
	}
	at.diffedAgainst = &id
	return b, nil
}

// findBase is the import this one's file of type typ is diffed against:
// the latest import of the same account and data set that applied, was
// not restored, had no file-level error, still has its upload, held
// exactly one file of the type, and whose diff was not past
// diff_row_count_threshold (as on Canvas, whose baseline is a batch that
// used its diff). It returns that file's name, whether the
// upload is a zip, and the upload's encoding.
func (at *attempt) findBase(ctx context.Context, typ string) (id int64, file string, zipped bool, enc string, err error) {
	err = at.DB.QueryRow(ctx, `SELECT i.id, f.file, i.file_type = 'zip', i.file_encoding FROM sis_imports i
		CROSS JOIN LATERAL (SELECT min(x->>'file') AS file, count(*) AS n FROM jsonb_array_elements(COALESCE(i.data->'files', '[]')) x
			WHERE x->>'type' = $4) f
		WHERE i.account_id = $1 AND i.kind = 'import' AND i.id < $2 AND i.purged_at IS NULL
		  AND i.params->>'diffing_data_set_identifier' = $3 AND (i.data->>'applied')::boolean
		  AND i.workflow_state IN ('imported', 'imported_with_messages', 'failed_with_messages')
		  AND jsonb_array_length(COALESCE(i.data->'file_errors', '[]')) = 0 AND f.n = 1
		  AND NOT COALESCE((i.data->>'diffing_threshold_exceeded')::boolean, false)
		ORDER BY i.id DESC LIMIT 1`, at.job.AccountID, at.job.ID, at.opts.DiffingDataSet, typ).Scan(&id, &file, &zipped, &enc)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", false, "", nil
	}
	if err != nil {
		return 0, "", false, "", fmt.Errorf("find diffing base: %w", err)
	}
	return id, file, zipped, enc, nil
}

// dropUnlisted gives diffing_user_remove_status to the users of the base
// that the new file no longer lists, each a result with row null; the
// threshold counts drops against the base's rows.
func (a *userApplier) dropUnlisted(ctx context.Context, b *keyset.Base) error {
	at := a.at
	keys, err := b.Gone(ctx)
	if err != nil || len(keys) == 0 || !at.diffUsed(a.stream.fileStream, a.file, len(keys)) {
		return err
	}
	gone := make([]string, len(keys))
	for i, k := range keys {
		gone[i] = k[0]
	}
	target := at.opts.DiffingUserRemoveStatus
	if target == "deleted" && at.opts.SkipDeletes {
		at.warn(a.file, fmt.Sprintf("skip_deletes: %d users of the diffing base that the file no longer lists were not deleted", len(gone)))
		return nil
	}
	// Manual users and users whose status stuck are never dropped
	// (docs/import-rules.md#stickiness-and-manual-objects).
	rows, err := at.tx.Query(ctx, `SELECT u.id, u.sis_user_id, u.workflow_state FROM users u JOIN accounts a ON a.id = u.account_id
		WHERE u.root_account_id = $1 AND $2 = ANY(a.path) AND u.sis_user_id = ANY($3) AND u.workflow_state <> $4
		  AND u.workflow_state <> 'deleted' AND u.origin = 'sis'
		  AND ($5 OR NOT 'workflow_state' = ANY(u.sticky_fields))
		ORDER BY u.id FOR UPDATE OF u`, at.account.RootAccountID, at.account.ID, gone, target, at.opts.OverrideSISStickiness)
	if err != nil {
		return fmt.Errorf("find users the diffed file no longer lists: %w", err)
	}
	dropped, err := scanRemoved(rows, nil)
	if err != nil {
		return fmt.Errorf("find users the diffed file no longer lists: %w", err)
	}
	// Drops count against the base's rows; only change_threshold limits
	// them, but removing everyone needs change_threshold=100.
	v, msg := at.judge(typeUsers, len(gone), b.Rows(), 100, a.file, "drops against the diffing base")
	if v == removeThem {
		if err := a.suspend(ctx, dropped, target); err != nil {
			return err
		}
	}
	at.recordRemoval(typeUsers, "user", a.file, target, "not in the file, but in its diffing base: "+target, v, msg, dropped)
	return nil
}

// diffDrop applies a diffed file's drops of one type: the objects that find
// returns (id, SIS id, state; given root account, scope, target and keys)
// become target, each a result with row null, counted against the base's
// rows.
func (at *attempt) diffDrop(ctx context.Context, typ, entity, file, target string, baseRows int, find, update string, keys ...any) error {
	rows, err := at.tx.Query(ctx, find, append([]any{at.account.RootAccountID, at.account.ID, target}, keys...)...)
	if err != nil {
		return fmt.Errorf("find dropped %ss: %w", entity, err)
	}
	objects, err := scanRemoved(rows, nil)
	if err != nil {
		return fmt.Errorf("find dropped %ss: %w", entity, err)
	}
	return at.dropObjects(ctx, typ, entity, file, target, baseRows, update, objects)
}

// A dropRule deletes what a diffed file no longer lists, as Canvas's diff
// does by a row with status deleted. find reads (id, SIS id, state) of the
// live SIS-managed objects in the import's scope, given $1 the root account,
// $2 the import's account, $3 the target state and from $4 one text[] per
// diffKey column; update writes them (removal.update).
type dropRule struct {
	find, update string
	// override: find reads override_sis_stickiness after the keys, for a
	// type whose state can stick: a course whose state stuck is not
	// dropped, as Canvas's diff, a row with status deleted, would leave it
	// (docs/import-rules.md#stickiness-and-manual-objects).
	override bool
}

// dropGone applies a row-at-a-time file's drops by its type's rule.
func (at *attempt) dropGone(ctx context.Context, f *typedFile) error {
	base := f.stream.base
	if base == nil || f.typ.drop == nil {
		return nil
	}
	gone, err := base.Gone(ctx)
	if err != nil || len(gone) == 0 || !at.diffUsed(f.stream, f.name, len(gone)) {
		return err
	}
	keys := make([]any, len(f.typ.diffKey))
	for i := range keys {
		col := make([]string, len(gone))
		for j, k := range gone {
			col[j] = k[i]
		}
		keys[i] = col
	}
	if f.typ.drop.override {
		keys = append(keys, at.opts.OverrideSISStickiness)
	}
	return at.diffDrop(ctx, f.typ.name, f.typ.entity, f.name, "deleted", base.Rows(), f.typ.drop.find, f.typ.drop.update, keys...)
}

// dropObjects applies the drops of a diffed file: the objects become
// target (or each its own, removed.to), each a result with row null,
// counted against the base's rows.
func (at *attempt) dropObjects(ctx context.Context, typ, entity, file, target string, baseRows int, update string, objects []removed) error {
	_, err := at.apply(ctx, removal{typ: typ, entity: entity, file: file, target: target, eligible: baseRows, guarded: true,
		why: "not in the file, but in its diffing base: " + target, update: update, objects: objects})
	return err
}

// diffUsed says whether a diffed stream's drops apply: not when its diff,
// the rows that differ from their base rows and the base rows it no longer
// lists, is larger than diff_row_count_threshold. As on Canvas, which then
// imports the whole file, nothing is dropped, and the import says so
// (diffing_threshold_exceeded).
func (at *attempt) diffUsed(st *fileStream, file string, gone int) bool {
	limit := at.opts.DiffRowCountThreshold
	if limit == 0 || st.changed+gone <= limit {
		return true
	}
	at.diffExceeded = true
	at.warn(file, fmt.Sprintf("the diff against the diffing base has %d rows (%d new, changed or failing, %d no longer listed), more than diff_row_count_threshold %d: nothing was dropped, as if the whole file had been imported",
		st.changed+gone, st.changed, gone, limit))
	return false
}
