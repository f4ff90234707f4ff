package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// ApplyDryRun queues the upload of a finished dry run again, the same stored
// file with the same options, applied for real: Moodle's preview, then
// upload. The new import belongs to the dry run's account and to the token
// that asks. The file's chunks are copied in one statement.
func ApplyDryRun(ctx context.Context, db *pgxpool.Pool, dry Import, tokenID int64, tokenName string) (Import, error) {
	var params map[string]any
	if err := json.Unmarshal(dry.Params, &params); err != nil || params["dry_run"] != true {
		return Import{}, errs.New(errs.Conflict, "conflict", "import %d is not a dry run; only a dry run can be applied", dry.ID)
	}
	params["dry_run"] = false
	p, err := json.Marshal(params)
	if err != nil {
		return Import{}, fmt.Errorf("encode params: %w", err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return Import{}, fmt.Errorf("apply dry run: %w", err)
	}
	defer tx.Rollback(ctx)
	i, err := scanImport(tx.QueryRow(ctx, `INSERT INTO sis_imports (account_id, root_account_id, token_id, token_name, workflow_state,
			params, file_name, file_type, file_bytes, file_encoding, file_bad_line, processing_warnings, created_at, updated_at)
		SELECT account_id, root_account_id, $2, $3, 'created', $4, file_name, file_type, file_bytes, file_encoding, file_bad_line,
			processing_warnings, clock_timestamp(), clock_timestamp()
		FROM sis_imports WHERE id = $1 AND kind = 'import' AND purged_at IS NULL
		  AND workflow_state NOT IN ('uploading', 'created', 'importing')
		RETURNING `+importColumns, dry.ID, tokenID, tokenName, p))
	if errors.Is(err, errs.ErrNotFound) {
		return Import{}, errs.New(errs.Conflict, "conflict", "import %d cannot be applied: it is still running, or its upload was removed by retention", dry.ID)
	}
	if err != nil {
		return Import{}, fmt.Errorf("apply dry run: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO sis_import_chunks (import_id, seq, data)
		SELECT $2, seq, data FROM sis_import_chunks WHERE import_id = $1`, dry.ID, i.ID); err != nil {
		return Import{}, fmt.Errorf("copy upload: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Import{}, fmt.Errorf("apply dry run: %w", err)
	}
	return i, nil
}
