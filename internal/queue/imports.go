// Package queue is the life of an import in the sis_imports table: uploads
// become queued imports, workers claim them under a lease, and every state
// change is one conditional UPDATE, so that of two racing requests exactly
// one wins. The importer writes an import's final state through Job.Finish,
// in the import's own transaction.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Import is one row of sis_imports as the API shows it.
type Import struct {
	ID                 int64
	AccountID          int64
	RootAccountID      int64
	TokenID            *int64
	TokenName          string
	WorkflowState      string
	Params             json.RawMessage
	Data               json.RawMessage
	ProcessingWarnings json.RawMessage
	ProcessingErrors   json.RawMessage
	Progress           int
	FileName           string
	FileType           string
	FileBytes          int64
	FileEncoding       string
	FileBadLine        *int
	// FileSecrets: the stored upload still holds password cells (until
	// the import ends); PurgedAt: when retention removed it.
	FileSecrets    bool
	PurgedAt       *time.Time
	Attempt        int
	ResultsAttempt *int
	CreatedAt      time.Time
	StartedAt      *time.Time
	EndedAt        *time.Time
	UpdatedAt      time.Time
	// Kind is "import", or "restore" for a restore_states job of RestoreOf.
	Kind      string
	RestoreOf *int64
}

// Running reports whether the import is queued or being worked on.
func (i Import) Running() bool {
	return i.WorkflowState == "created" || i.WorkflowState == "importing"
}

const importColumns = `id, account_id, root_account_id, token_id, token_name, workflow_state, params, data,
	processing_warnings, processing_errors, progress, file_name, file_type, file_bytes, file_encoding,
	file_bad_line, file_secrets, purged_at, attempt, results_attempt, created_at, started_at, ended_at, updated_at, kind, restore_of`

func scanImport(row pgx.Row) (Import, error) {
	var i Import
	err := row.Scan(&i.ID, &i.AccountID, &i.RootAccountID, &i.TokenID, &i.TokenName, &i.WorkflowState, &i.Params, &i.Data,
		&i.ProcessingWarnings, &i.ProcessingErrors, &i.Progress, &i.FileName, &i.FileType, &i.FileBytes, &i.FileEncoding,
		&i.FileBadLine, &i.FileSecrets, &i.PurgedAt, &i.Attempt, &i.ResultsAttempt, &i.CreatedAt, &i.StartedAt, &i.EndedAt, &i.UpdatedAt, &i.Kind, &i.RestoreOf)
	if errors.Is(err, pgx.ErrNoRows) {
		return i, errs.ErrNotFound
	}
	return i, err
}

// GetInAccount reads import id of the account that accountMatch, a
// condition on "accounts a" with arguments from $2 (directory.AccountMatch),
// finds: one round trip for what clients poll.
func GetInAccount(ctx context.Context, db *pgxpool.Pool, id int64, accountMatch string, args ...any) (Import, error) {
	i, err := scanImport(db.QueryRow(ctx, `SELECT `+importColumns+` FROM sis_imports
		WHERE id = $1 AND kind = 'import' AND account_id = (SELECT a.id FROM accounts a WHERE `+accountMatch+`)`,
		append([]any{id}, args...)...))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return i, fmt.Errorf("get import: %w", err)
	}
	return i, err
}

// Get reads import id of account.
func Get(ctx context.Context, db *pgxpool.Pool, accountID, id int64) (Import, error) {
	i, err := scanImport(db.QueryRow(ctx, `SELECT `+importColumns+` FROM sis_imports WHERE id = $1 AND account_id = $2 AND kind = 'import'`, id, accountID))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return i, fmt.Errorf("get import: %w", err)
	}
	return i, err
}

// Filter selects imports of one account for List.
type Filter struct {
	AccountID     int64
	CreatedSince  *time.Time
	CreatedBefore *time.Time
	States        []string
	Limit, Offset int
	// Subtree lists the imports of AccountID's sub-accounts too.
	Subtree bool
}

// List returns the account's imports, newest first, one page.
func List(ctx context.Context, db *pgxpool.Pool, f Filter) ([]Import, error) {
	account := `account_id = $1`
	if f.Subtree {
		account = `account_id IN (SELECT a.id FROM accounts a WHERE $1 = ANY(a.path))`
	}
	rows, err := db.Query(ctx, `SELECT `+importColumns+` FROM sis_imports
		WHERE `+account+` AND kind = 'import'
		  AND ($2::timestamptz IS NULL OR created_at >= $2)
		  AND ($3::timestamptz IS NULL OR created_at < $3)
		  AND (cardinality($4::text[]) = 0 OR workflow_state = ANY($4))
		ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6`,
		f.AccountID, f.CreatedSince, f.CreatedBefore, f.States, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Import, error) { return scanImport(r) })
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	return out, nil
}

// ErrStateChanged answers a transition whose precondition no longer holds.
var ErrStateChanged = errs.New(errs.Conflict, "conflict", "The import is not in a state that allows this.")

// Abort ends a queued or running import as aborted. A running import's
// worker notices at its next batch and rolls back.
func Abort(ctx context.Context, db *pgxpool.Pool, accountID, id int64) (Import, error) {
	return transition(ctx, db, accountID, id, "abort", `
		SET workflow_state = 'aborted', progress = 100, ended_at = now(), updated_at = now(),
		    lease_until = NULL, data = data || '{"applied": false}'
		WHERE id = $1 AND account_id = $2 AND workflow_state IN ('created', 'importing', 'awaiting_approval')`)
}

// transition runs one conditional UPDATE (set and where) of an import: when
// no row matched, the import is unknown (404) or its state no longer allows
// the change (409).
func transition(ctx context.Context, db *pgxpool.Pool, accountID, id int64, verb, setWhere string) (Import, error) {
	i, err := scanImport(db.QueryRow(ctx, `UPDATE sis_imports `+setWhere+` RETURNING `+importColumns, id, accountID))
	if errs.KindOf(err) == errs.NotFound {
		if _, gerr := Get(ctx, db, accountID, id); gerr != nil {
			return i, gerr
		}
		return i, ErrStateChanged
	}
	if err != nil {
		return i, fmt.Errorf("%s import: %w", verb, err)
	}
	return i, nil
}

// AbortAllPending aborts every queued import of the subtree of accountID.
func AbortAllPending(ctx context.Context, db *pgxpool.Pool, accountID int64) (int64, error) {
	tag, err := db.Exec(ctx, `UPDATE sis_imports i
		SET workflow_state = 'aborted', progress = 100, ended_at = now(), updated_at = now(),
		    data = data || '{"applied": false}'
		FROM accounts a
		WHERE a.id = i.account_id AND $1 = ANY(a.path) AND i.workflow_state = 'created' AND i.kind = 'import'`, accountID)
	if err != nil {
		return 0, fmt.Errorf("abort pending imports: %w", err)
	}
	return tag.RowsAffected(), nil
}

// BlockedBy is the id of the import that holds a queued import back, if any.
func BlockedBy(ctx context.Context, db *pgxpool.Pool, i Import) (*int64, error) {
	if i.WorkflowState != "created" {
		return nil, nil
	}
	var id int64
	err := db.QueryRow(ctx, `SELECT o.id FROM sis_imports o JOIN accounts oa ON oa.id = o.account_id, accounts ia
		WHERE ia.id = $4 AND o.root_account_id = $1 AND o.id <> $2
		  AND (o.workflow_state = 'importing' OR (o.workflow_state = 'created' AND (o.created_at, o.id) < ($3, $2))
		       OR (o.workflow_state = 'awaiting_approval' AND (o.created_at, o.id) < ($3, $2)
		           AND (oa.id = ANY(ia.path) OR ia.id = ANY(oa.path))))
		ORDER BY (o.workflow_state = 'awaiting_approval') DESC, (o.workflow_state = 'importing') DESC, o.created_at, o.id
		LIMIT 1`, i.RootAccountID, i.ID, i.CreatedAt, i.AccountID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find blocking import: %w", err)
	}
	return &id, nil
}

// Approve re-queues an import held for approval at the head of its root
// account's queue (it keeps its place: it is older than what waits behind
// it). The re-run may remove what its held plan showed, no more.
func Approve(ctx context.Context, db *pgxpool.Pool, accountID, id int64) (Import, error) {
	return transition(ctx, db, accountID, id, "approve", `
		SET workflow_state = 'created', progress = 0, ended_at = NULL, updated_at = now(),
		    params = params || jsonb_build_object('approved_removals', COALESCE(data->'planned_removals', '{}'::jsonb))
		WHERE id = $1 AND account_id = $2 AND workflow_state = 'awaiting_approval'`)
}

// restorable are the states of an import that applied and may be restored.
var restorable = []string{"imported", "imported_with_messages", "failed_with_messages"}

// QueueRestore marks an applied import restoring and queues the restore job
// in its root account's queue; it returns the job (Canvas's Progress).
// Restoring anything else — a dry run, a held or aborted import, a restore,
// an import restored before — is a conflict.
func QueueRestore(ctx context.Context, db *pgxpool.Pool, i Import, tokenID int64, tokenName string) (Import, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return Import{}, fmt.Errorf("queue restore: %w", err)
	}
	defer tx.Rollback(ctx)
	var before string
	err = tx.QueryRow(ctx, `UPDATE sis_imports n SET workflow_state = 'restoring', updated_at = now()
		FROM sis_imports o WHERE o.id = n.id AND n.id = $1 AND n.kind = 'import' AND n.workflow_state = ANY($2)
		  AND (n.data->>'applied')::boolean AND n.purged_at IS NULL
		RETURNING o.workflow_state`, i.ID, restorable).Scan(&before)
	if errors.Is(err, pgx.ErrNoRows) {
		return Import{}, errs.New(errs.Conflict, "conflict", "only an import that applied (imported, imported_with_messages, failed_with_messages, not a dry run), whose results are still kept, can be restored, once")
	}
	if err != nil {
		return Import{}, fmt.Errorf("queue restore: %w", err)
	}
	// The job remembers the import's state, to give it back if the restore fails.
	job, err := scanImport(tx.QueryRow(ctx, `INSERT INTO sis_imports (account_id, root_account_id, token_id, token_name, kind, restore_of, workflow_state, params)
		VALUES ($1, $2, $3, $4, 'restore', $5, 'created', jsonb_build_object('restore_from_state', $6::text)) RETURNING `+importColumns,
		i.AccountID, i.RootAccountID, tokenID, tokenName, i.ID, before))
	if err != nil {
		return Import{}, fmt.Errorf("queue restore: %w", err)
	}
	return job, tx.Commit(ctx)
}

// GetJob reads any job (import or restore) the subtree of reach holds.
func GetJob(ctx context.Context, db *pgxpool.Pool, id, reach int64) (Import, error) {
	i, err := scanImport(db.QueryRow(ctx, `SELECT `+importColumns+` FROM sis_imports i
		WHERE id = $1 AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = i.account_id AND $2 = ANY(a.path))`, id, reach))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return i, fmt.Errorf("get job: %w", err)
	}
	return i, err
}

// RestoreJobOf finds the restore job of an import.
func RestoreJobOf(ctx context.Context, db *pgxpool.Pool, importID int64) (Import, error) {
	i, err := scanImport(db.QueryRow(ctx, `SELECT `+importColumns+` FROM sis_imports WHERE restore_of = $1`, importID))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return i, fmt.Errorf("get restore job: %w", err)
	}
	return i, err
}

// FinishRestored sets the restored import's final state inside the restore
// job's transaction.
func FinishRestored(ctx context.Context, tx pgx.Tx, importID int64, state string) error {
	_, err := tx.Exec(ctx, `UPDATE sis_imports SET workflow_state = $2, updated_at = now() WHERE id = $1 AND workflow_state = 'restoring'`, importID, state)
	if err != nil {
		return fmt.Errorf("finish restored import: %w", err)
	}
	return nil
}
