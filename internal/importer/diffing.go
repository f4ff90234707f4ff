package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/queue"
)

// diffBase is the base of a diffed users file (SPEC §4.9): per user_id of
// the base file, a digest of its row, and whether the new file lists it.
type diffBase struct {
	importID int64
	encoding string
	failed   map[int]bool // lines of the base that failed there: they are tried again
	keys     *keySet      // user_id → its entry's index in entries
	entries  []diffEntry
	seed     maphash.Seed
}

type diffEntry struct {
	digest uint64
	seen   bool
}

// findBase is the import this one is diffed against: the latest import of
// the same account and data set that applied, was not restored, had no
// file-level error, and still has its file.
func (ru *run) findBase(ctx context.Context) (int64, string, error) {
	var id int64
	var enc string
	err := ru.DB.QueryRow(ctx, `SELECT id, file_encoding FROM sis_imports
		WHERE account_id = $1 AND kind = 'import' AND id < $2 AND purged_at IS NULL
		  AND params->>'diffing_data_set_identifier' = $3 AND (data->>'applied')::boolean
		  AND workflow_state IN ('imported', 'imported_with_messages', 'failed_with_messages')
		  AND jsonb_array_length(COALESCE(data->'file_errors', '[]')) = 0
		ORDER BY id DESC LIMIT 1`, ru.job.AccountID, ru.job.ID, ru.opts.DiffingDataSet).Scan(&id, &enc)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("find diffing base: %w", err)
	}
	return id, enc, nil
}

// loadBase reads the base import's users file into digests.
func (ru *run) loadBase(ctx context.Context, id int64, enc string) (*diffBase, error) {
	b := &diffBase{importID: id, encoding: enc, failed: map[int]bool{}, keys: newKeySet(), seed: maphash.MakeSeed()}
	rows, err := ru.DB.Query(ctx, `SELECT r.row FROM sis_import_results r JOIN sis_imports i ON i.id = r.import_id AND r.attempt = i.results_attempt
		WHERE i.id = $1 AND r.action = 'failed' AND r.row IS NOT NULL`, id)
	if err != nil {
		return nil, fmt.Errorf("read the base's failed rows: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("read the base's failed rows: %w", err)
	}
	for _, l := range lines {
		b.failed[l] = true
	}
	err = b.each(ctx, ru, func(userID string, digest uint64) {
		if _, dup := b.keys.add(userID, len(b.entries)); !dup {
			b.entries = append(b.entries, diffEntry{digest: digest})
		}
	})
	return b, err
}

// each calls fn for every row of the base file that did not fail there.
func (b *diffBase) each(ctx context.Context, ru *run, fn func(userID string, digest uint64)) error {
	stream := queue.OpenFile(ctx, ru.DB, b.importID)
	defer stream.Close()
	opt := csvread.Options{}
	if b.encoding == "windows-1252" {
		opt.Encoding = csvread.Windows1252
	}
	rd := csvread.NewReader(stream, opt)
	head, err := rd.Read()
	if err != nil {
		return fmt.Errorf("read the diffing base's header: %w", err)
	}
	d := newDigester(head.Fields, b.seed)
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var rowErr *csvread.RowError
		if errors.As(err, &rowErr) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read the diffing base: %w", err)
		}
		if b.failed[rec.Line] || len(rec.Fields) != len(head.Fields) {
			continue
		}
		if id := cell(rec.Fields, d.userID); id != "" {
			fn(id, d.digest(rec.Fields))
		}
	}
}

// digester hashes a row by its column names and cells, in name order, so
// that two files with their columns in another order compare equal.
type digester struct {
	order  []int
	names  []string
	userID int
	seed   maphash.Seed
}

func newDigester(header []string, seed maphash.Seed) *digester {
	cols, _ := columnIndex(header)
	d := &digester{userID: -1, seed: seed}
	for name := range cols {
		d.names = append(d.names, name)
	}
	sort.Strings(d.names)
	for _, n := range d.names {
		d.order = append(d.order, cols[n])
	}
	if i, ok := cols["user_id"]; ok {
		d.userID = i
	}
	return d
}

func (d *digester) digest(fields []string) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	for i, idx := range d.order {
		h.WriteString(d.names[i])
		h.WriteByte(0)
		h.WriteString(cell(fields, idx))
		h.WriteByte(0)
	}
	return h.Sum64()
}

// mark notes that the new file lists userID and reports whether its row
// equals the base's.
func (b *diffBase) mark(userID string, digest uint64) (same bool) {
	i, ok := b.keys.lookup(userID)
	if !ok {
		return false
	}
	e := &b.entries[i]
	e.seen = true
	return e.digest == digest
}

// dropUnlisted gives diffing_user_remove_status to the users of the base
// that the new file no longer lists, each a result with row null; the
// threshold counts drops against the base's rows.
func (a *userApplier) dropUnlisted(ctx context.Context, b *diffBase) error {
	ru := a.ru
	var gone []string
	err := b.each(ctx, ru, func(userID string, _ uint64) {
		if i, ok := b.keys.lookup(userID); ok && !b.entries[i].seen {
			b.entries[i].seen = true // a user repeated in the base drops once
			gone = append(gone, userID)
		}
	})
	if err != nil || len(gone) == 0 {
		return err
	}
	target := ru.opts.DiffingUserRemoveStatus
	if target == "deleted" && ru.opts.SkipDeletes {
		ru.warn(a.file, fmt.Sprintf("skip_deletes: %d users of the diffing base that the file no longer lists were not deleted", len(gone)))
		return nil
	}
	// Drops count against the base's rows; only change_threshold limits them,
	// but removing everyone needs change_threshold=100 (SPEC §4.6).
	if msg := ru.overThreshold(typeUsers, len(gone), len(b.entries), 100); msg != "" {
		ru.breach(typeUsers, len(gone), a.file, msg+" (drops against the diffing base)")
		return nil
	}
	// Manual users and users whose status stuck are never dropped (SPEC §4.5, §4.8).
	rows, err := ru.tx.Query(ctx, `WITH old AS (
			SELECT u.id, u.sis_user_id, u.workflow_state FROM users u JOIN accounts a ON a.id = u.account_id
			WHERE u.root_account_id = $1 AND $2 = ANY(a.path) AND u.sis_user_id = ANY($3) AND u.workflow_state <> $4
			  AND u.workflow_state <> 'deleted' AND u.origin = 'sis'
			  AND ($6 OR NOT 'workflow_state' = ANY(u.sticky_fields)) FOR UPDATE OF u)
		UPDATE users u SET workflow_state = $4, updated_at = now(), last_import_id = $5 FROM old WHERE u.id = old.id
		RETURNING old.id, old.sis_user_id, old.workflow_state`, ru.account.RootAccountID, ru.account.ID, gone, target, ru.job.ID,
		ru.opts.OverrideSISStickiness)
	if err != nil {
		return fmt.Errorf("drop users the diffed file no longer lists: %w", err)
	}
	var results []Result
	for rows.Next() {
		r := Result{File: a.file, Entity: "user", Message: "not in the file, but in its diffing base: " + target}
		var state string
		if err := rows.Scan(&r.ObjectID, &r.SISID, &state); err != nil {
			rows.Close()
			return fmt.Errorf("drop users: %w", err)
		}
		r.Action = transitionAction(state, target, true)
		r.Changes = map[string][2]any{"workflow_state": {state, target}}
		results = append(results, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("drop users: %w", err)
	}
	for i := 0; i < len(results); i += batchSize {
		ru.record(typeUsers, results[i:min(i+batchSize, len(results))])
	}
	return nil
}
