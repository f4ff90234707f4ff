package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// StickyFields are the fields edited through the API, which imports
	// leave alone (docs/import-rules.md#stickiness-and-manual-objects).
	StickyFields []string `json:"sticky_fields"`
	// Overrides are the term's dates for some enrollment types, by type
	// (StudentEnrollment, …): only when asked for, as on Canvas.
	Overrides map[string]TermDates `json:"overrides,omitzero"`
}

// TermDates are a term's dates for one enrollment type.
type TermDates struct {
	StartAt *time.Time `json:"start_at"`
	EndAt   *time.Time `json:"end_at"`
	// StickyFields are the dates edited through the API.
	StickyFields []string `json:"sticky_fields"`
}

// OverrideTypes are the enrollment types a term's dates may be overridden for.
var OverrideTypes = []string{"StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "DesignerEnrollment"}

// TermStates are the states a term may be in.
var TermStates = []string{"active", "deleted"}

const termColumns = `t.id, t.name, t.sis_term_id, t.last_import_id, t.integration_id, t.start_at, t.end_at, t.workflow_state, t.created_at,
	t.sticky_fields`

func scanTerm(row pgx.Row) (Term, error) {
	var t Term
	err := row.Scan(&t.ID, &t.Name, &t.SISTermID, &t.SISImportID, &t.IntegrationID, &t.StartAt, &t.EndAt, &t.WorkflowState, &t.CreatedAt,
		&t.StickyFields)
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
	rows, err := db.Query(ctx, `SELECT term_id, enrollment_type, start_at, end_at, sticky_fields FROM term_date_overrides
		WHERE term_id = ANY($1) AND (start_at IS NOT NULL OR end_at IS NOT NULL)`, ids)
	if err != nil {
		return fmt.Errorf("read term date overrides: %w", err)
	}
	var termID int64
	var typ string
	var d TermDates
	_, err = pgx.ForEachRow(rows, []any{&termID, &typ, &d.StartAt, &d.EndAt, &d.StickyFields}, func() error {
		at[termID].Overrides[typ] = d
		d = TermDates{} // the next row's dates are new values, not these
		return nil
	})
	if err != nil {
		return fmt.Errorf("read term date overrides: %w", err)
	}
	return nil
}

// TermEdit is a manual edit of a term; nil fields are left alone.
type TermEdit struct {
	Name, SISTermID, IntegrationID *string
	StartAt, EndAt                 *DateEdit
	// Overrides are the term's dates for enrollment types (OverrideTypes).
	Overrides map[string]OverrideEdit
}

// OverrideEdit is a manual edit of a term's dates for one enrollment type.
type OverrideEdit struct {
	StartAt, EndAt *DateEdit
}

// UpdateTerm edits term t of root account root: its name and dates stick,
// and so do the dates of an override it sets
// (docs/import-rules.md#stickiness-and-manual-objects).
func UpdateTerm(ctx context.Context, db *pgxpool.Pool, root int64, t Term, in TermEdit) (Term, error) {
	if err := in.validate(t); err != nil {
		return Term{}, err
	}
	err := inTx(ctx, db, func(tx pgx.Tx) error {
		var e edit
		if in.Name != nil {
			e.col("name", strings.TrimSpace(*in.Name), "name")
		}
		if in.SISTermID != nil {
			e.col("sis_term_id", strings.TrimSpace(*in.SISTermID), "")
		}
		if in.IntegrationID != nil {
			e.col("integration_id", orNull(in.IntegrationID), "")
		}
		e.date("start_at", in.StartAt)
		e.date("end_at", in.EndAt)
		if err := e.apply(ctx, tx, "terms", t.ID); err != nil {
			return err
		}
		for typ, o := range in.Overrides {
			if err := o.apply(ctx, tx, t.ID, typ); err != nil {
				return err
			}
		}
		return nil
	})
	if err := editError("update term", err, map[string]string{
		"terms_root_account_id_sis_term_id_key": "enrollment_term[sis_term_id]: already used by another term of this root account",
		"terms_integration_id":                  "enrollment_term[integration_id]: already used by another term of this root account",
	}); err != nil {
		return Term{}, err
	}
	return GetTerm(ctx, db, root, strconv.FormatInt(t.ID, 10))
}

func (in TermEdit) validate(t Term) error {
	if err := text("enrollment_term[name]", in.Name, true); err != nil {
		return err
	}
	if err := text("enrollment_term[sis_term_id]", in.SISTermID, true); err != nil {
		return err
	}
	if err := text("enrollment_term[integration_id]", in.IntegrationID, false); err != nil {
		return err
	}
	if err := datesInOrder("enrollment_term[end_at]", after(in.StartAt, t.StartAt), after(in.EndAt, t.EndAt)); err != nil {
		return err
	}
	for typ, o := range in.Overrides {
		if !slices.Contains(OverrideTypes, typ) {
			return errs.New(errs.Invalid, "invalid_value", "enrollment_term[overrides][%s]: not StudentEnrollment, TeacherEnrollment, TaEnrollment or DesignerEnrollment", typ)
		}
		stored := t.Overrides[typ]
		if err := datesInOrder("enrollment_term[overrides]["+typ+"][end_at]", after(o.StartAt, stored.StartAt), after(o.EndAt, stored.EndAt)); err != nil {
			return err
		}
	}
	return nil
}

// apply writes the edit of the term's dates for enrollment type typ.
func (o OverrideEdit) apply(ctx context.Context, tx pgx.Tx, termID int64, typ string) error {
	var sticky []string
	if o.StartAt != nil {
		sticky = append(sticky, "start_at")
	}
	if o.EndAt != nil {
		sticky = append(sticky, "end_at")
	}
	var start, end *time.Time
	if o.StartAt != nil {
		start = o.StartAt.At
	}
	if o.EndAt != nil {
		end = o.EndAt.At
	}
	_, err := tx.Exec(ctx, `INSERT INTO term_date_overrides AS o (term_id, enrollment_type, start_at, end_at, sticky_fields)
		VALUES ($1, $2, $3, $4, $7) ON CONFLICT (term_id, enrollment_type) DO UPDATE
		SET start_at = CASE WHEN $5 THEN EXCLUDED.start_at ELSE o.start_at END, end_at = CASE WHEN $6 THEN EXCLUDED.end_at ELSE o.end_at END,
			sticky_fields = ARRAY(SELECT DISTINCT f FROM unnest(o.sticky_fields || EXCLUDED.sticky_fields) f ORDER BY f),
			last_import_id = NULL, updated_at = now()`,
		termID, typ, start, end, o.StartAt != nil, o.EndAt != nil, sticky)
	return err
}
