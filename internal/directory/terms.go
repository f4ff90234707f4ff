package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Term is an enrollment term of a root account as the API shows it:
// Canvas's EnrollmentTerm, the fields this service keeps
// (docs/api.md#directory).
type Term struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	SISTermID     *string    `json:"sis_term_id"`
	SISImportID   *int64     `json:"sis_import_id"`
	IntegrationID *string    `json:"integration_id"`
	StartAt       *time.Time `json:"start_at"`
	EndAt         *time.Time `json:"end_at"`
	WorkflowState string     `json:"workflow_state"`
	CreatedAt     time.Time  `json:"created_at"`
	// Overrides are the term's dates for some enrollment types, by type
	// (StudentEnrollment, …): only when asked for, as on Canvas.
	Overrides map[string]TermDates `json:"overrides,omitzero"`
}

// TermDates are a term's dates for one enrollment type.
type TermDates struct {
	StartAt *time.Time `json:"start_at"`
	EndAt   *time.Time `json:"end_at"`
}

// TermStates are the states a term may be in.
var TermStates = []string{"active", "deleted"}

const termColumns = `t.id, t.name, t.sis_term_id, t.last_import_id, t.integration_id, t.start_at, t.end_at, t.workflow_state, t.created_at`

func scanTerm(row pgx.Row) (Term, error) {
	var t Term
	err := row.Scan(&t.ID, &t.Name, &t.SISTermID, &t.SISImportID, &t.IntegrationID, &t.StartAt, &t.EndAt, &t.WorkflowState, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, errs.ErrNotFound
	}
	return t, err
}

// TermFilter selects terms of a root account.
type TermFilter struct {
	RootAccountID int64
	// States are the states to list; none lists none.
	States []string
	// Overrides reads each term's date overrides too.
	Overrides     bool
	Limit, Offset int
}

// ListTerms lists the terms of a root account in Canvas's order: by start
// date, then end date, the latest (and the undated) first, then by id.
func ListTerms(ctx context.Context, db *pgxpool.Pool, f TermFilter) ([]Term, error) {
	rows, err := db.Query(ctx, `SELECT `+termColumns+` FROM terms t WHERE t.root_account_id = $1 AND t.workflow_state = ANY($2)
		ORDER BY t.start_at DESC, t.end_at DESC, t.id LIMIT $3 OFFSET $4`, f.RootAccountID, f.States, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("list terms: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Term, error) { return scanTerm(r) })
	if err != nil {
		return nil, fmt.Errorf("list terms: %w", err)
	}
	if f.Overrides {
		if err := readOverrides(ctx, db, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetTerm reads the term of the root account that ref names — an id or
// "sis_term_id:X" — with its date overrides.
func GetTerm(ctx context.Context, db *pgxpool.Pool, root int64, ref string) (Term, error) {
	var row pgx.Row
	if sis, ok := strings.CutPrefix(ref, "sis_term_id:"); ok {
		row = db.QueryRow(ctx, `SELECT `+termColumns+` FROM terms t WHERE t.root_account_id = $1 AND t.sis_term_id = $2`, root, sis)
	} else {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil {
			return Term{}, errs.ErrNotFound
		}
		row = db.QueryRow(ctx, `SELECT `+termColumns+` FROM terms t WHERE t.root_account_id = $1 AND t.id = $2`, root, id)
	}
	t, err := scanTerm(row)
	if err != nil {
		if errs.KindOf(err) != errs.NotFound {
			err = fmt.Errorf("get term: %w", err)
		}
		return t, err
	}
	terms := []Term{t}
	if err := readOverrides(ctx, db, terms); err != nil {
		return t, err
	}
	return terms[0], nil
}

// readOverrides fills in the date overrides of terms: those with a date,
// as Canvas lists them (an override whose dates were removed has none).
func readOverrides(ctx context.Context, db *pgxpool.Pool, terms []Term) error {
	ids := make([]int64, len(terms))
	at := make(map[int64]*Term, len(terms))
	for i := range terms {
		ids[i], at[terms[i].ID] = terms[i].ID, &terms[i]
		terms[i].Overrides = map[string]TermDates{}
	}
	rows, err := db.Query(ctx, `SELECT term_id, enrollment_type, start_at, end_at FROM term_date_overrides
		WHERE term_id = ANY($1) AND (start_at IS NOT NULL OR end_at IS NOT NULL)`, ids)
	if err != nil {
		return fmt.Errorf("read term date overrides: %w", err)
	}
	var termID int64
	var typ string
	var d TermDates
	_, err = pgx.ForEachRow(rows, []any{&termID, &typ, &d.StartAt, &d.EndAt}, func() error {
		at[termID].Overrides[typ] = d
		d = TermDates{} // the next row's dates are new values, not these
		return nil
	})
	if err != nil {
		return fmt.Errorf("read term date overrides: %w", err)
	}
	return nil
}
