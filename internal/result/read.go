package result

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Stored is a result as the API shows it.
type Stored struct {
	ID          int64           `json:"id"`
	SISImportID int64           `json:"sis_import_id"`
	File        string          `json:"file"`
	Row         *int            `json:"row"`
	Entity      string          `json:"entity"`
	SISID       *string         `json:"sis_id"`
	ObjectID    *int64          `json:"object_id"`
	Action      string          `json:"action"`
	Changes     json.RawMessage `json:"changes"`
	Code        *string         `json:"code"`
	Message     *string         `json:"message"`
	RowInfo     *string         `json:"-"`
}

// Filter selects results of one import; After is the keyset cursor.
type Filter struct {
	ImportID int64
	Attempt  int
	Actions  []string
	Codes    []string
	File     string
	Entity   string
	SISID    string
	After    int64
	Limit    int
}

// List returns one page of results in file and row order (the order
// they were written), after the cursor.
func List(ctx context.Context, db *pgxpool.Pool, f Filter) ([]Stored, error) {
	rows, err := db.Query(ctx, `SELECT id, import_id, file, row, entity, sis_id, object_id, action, changes, code, message, row_info
		FROM sis_import_results
		WHERE import_id = $1 AND attempt = $2 AND id > $3
		  AND (COALESCE(cardinality($4::text[]), 0) = 0 OR action = ANY($4))
		  AND (COALESCE(cardinality($5::text[]), 0) = 0 OR code = ANY($5))
		  AND ($6 = '' OR file = $6) AND ($7 = '' OR entity = $7) AND ($8 = '' OR sis_id = $8)
		ORDER BY id LIMIT $9`,
		f.ImportID, f.Attempt, f.After, f.Actions, f.Codes, f.File, f.Entity, f.SISID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list results: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Stored, error) {
		var s Stored
		err := r.Scan(&s.ID, &s.SISImportID, &s.File, &s.Row, &s.Entity, &s.SISID, &s.ObjectID, &s.Action, &s.Changes, &s.Code, &s.Message, &s.RowInfo)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("list results: %w", err)
	}
	return out, nil
}

// ImportError is an entry of sis_import_errors, as Canvas lists them: a
// file-level or import-level error (Failure), or a warning: a failed or
// skipped row, or a warning about a file.
type ImportError struct {
	SISImportID int64   `json:"sis_import_id"`
	File        string  `json:"file"`
	Row         *int    `json:"row"`
	RowInfo     *string `json:"row_info"`
	Message     string  `json:"message"`
	Code        string  `json:"code"`
	Failure     bool    `json:"failure"`
}

// ListErrors lists the errors and warnings of one import (importID > 0) or
// of every import of an account, newest import first: errors, warnings
// about files, then rows. With failureOnly, only the errors.
func ListErrors(ctx context.Context, db *pgxpool.Pool, accountID, importID int64, failureOnly bool, offset, limit int) ([]ImportError, error) {
	rows, err := db.Query(ctx, `
		SELECT import_id, file, row, row_info, message, code, failure FROM (
			SELECT i.id AS import_id, fe->>'file' AS file, NULL::int AS row, NULL::text AS row_info,
			       fe->>'message' AS message, fe->>'code' AS code, true AS failure, 0 AS ord, n AS rid
			FROM sis_imports i, jsonb_array_elements(COALESCE(i.data->'file_errors', '[]')) WITH ORDINALITY fe(fe, n)
			WHERE i.account_id = $1 AND ($2 = 0 OR i.id = $2)
			UNION ALL
			SELECT i.id, fw->>0, NULL, NULL, fw->>1, '', false, 1, n
			FROM sis_imports i, jsonb_array_elements(COALESCE(i.data->'file_warnings', '[]')) WITH ORDINALITY fw(fw, n)
			WHERE i.account_id = $1 AND ($2 = 0 OR i.id = $2) AND NOT $5
			UNION ALL
			SELECT r.import_id, r.file, r.row, r.row_info, COALESCE(r.message, ''), COALESCE(r.code, ''), false, 2, r.id
			FROM sis_imports i JOIN sis_import_results r ON r.import_id = i.id AND r.attempt = i.results_attempt
			WHERE i.account_id = $1 AND ($2 = 0 OR i.id = $2) AND r.action IN ('failed', 'skipped') AND r.row IS NOT NULL AND NOT $5
		) e ORDER BY import_id DESC, ord, rid LIMIT $3 OFFSET $4`, accountID, importID, limit, offset, failureOnly)
	if err != nil {
		return nil, fmt.Errorf("list errors: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ImportError, error) {
		var e ImportError
		err := r.Scan(&e.SISImportID, &e.File, &e.Row, &e.RowInfo, &e.Message, &e.Code, &e.Failure)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list errors: %w", err)
	}
	return out, nil
}
