package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// termRow is one row of a terms file (Canvas's terms.csv).
type termRow struct {
	TermID        string `csv:"term_id" validate:"required,max=255"`
	Name          string `csv:"name" validate:"required_without=OverrideType,max=255"`
	Status        string `csv:"status,lower" validate:"required,oneof=active deleted"`
	StartDate     string `csv:"start_date" validate:"max=64"`
	EndDate       string `csv:"end_date" validate:"max=64"`
	IntegrationID string `csv:"integration_id" validate:"max=255"`
	// OverrideType makes the row a date override of an existing term for
	// one enrollment type: the row sets (active) or removes (deleted) the
	// term's dates for that type only, and its name and integration_id are
	// not read, as on Canvas.
	OverrideType string `csv:"date_override_enrollment_type" validate:"omitempty,oneof=StudentEnrollment TeacherEnrollment TaEnrollment DesignerEnrollment"`
}

// typeTerms is the type's name.
const typeTerms = "terms"

func init() {
	register(&fileType{name: typeTerms, batch: "term", entity: "term", emptyDateClears: true,
		detect: func(h header) bool { return h.has("term_id") && h.has("name") }, detectRank: 30,
		applyRank: 30, layout: layoutOf(&termRow{}), required: []string{"status"}, apply: importTerms,
		restore: restoringWith(restoring("terms", "sis_term_id", "name", "start_at", "end_at", "integration_id", "sticky_fields"), overridesPrefix, restoreTermOverride),
		ids:     &idTarget{"terms", "sis_term_id", "integration_id", ""},
		// A term's date overrides are keyed with it; only terms are
		// dropped, by an import posted to the root account.
		diffKey: []string{"term_id", "date_override_enrollment_type"}, diffRowKey: termKey,
		drop: &dropRule{find: `SELECT t.id, t.sis_term_id, t.workflow_state FROM unnest($4::text[], $5::text[]) AS k(term, type)
			JOIN terms t ON t.root_account_id = $1 AND t.sis_term_id = k.term
			WHERE k.type = '' AND t.root_account_id = $2 AND t.workflow_state NOT IN ($3, 'deleted') ORDER BY t.id`,
			update: `UPDATE terms SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
	})
}

// termKey is what identifies a terms row in its file: the term, or the
// term and the enrollment type of a date override; "" without a term.
func termKey(cells []string) string {
	if cells[0] == "" || cells[1] == "" {
		return cells[0]
	}
	return cells[0] + "\x00" + cells[1]
}

// overridesPrefix begins the fields of a term's date overrides, as results
// name them: overrides.StudentEnrollment.start_at.
const overridesPrefix = "overrides."

// importTerms applies a terms file, a row at a time: terms files are small.
// Terms belong to the root account: an import posted to a sub-account may
// list them only unchanged (docs/import-rules.md#files).
func importTerms(ctx context.Context, at *attempt, f *typedFile) error {
	var listed []int64
	err := at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r termRow
		f.fill(&r, rec)
		res.SISID = r.TermID
		// A term and its overrides share a term_id: each is a key.
		key, what := termKey([]string{r.TermID, r.OverrideType}), fmt.Sprintf("term_id %q", r.TermID)
		if r.OverrideType != "" {
			what = fmt.Sprintf("term_id %q with date_override_enrollment_type %s", r.TermID, r.OverrideType)
		}
		if fail := f.check(&r, rec.Line, key, what); fail != nil {
			return fail, nil
		}
		if f.same {
			res.Action = result.Unchanged // as in the diffing base
			return nil, nil
		}
		dates, fail := f.dates(r.StartDate, r.EndDate)
		if fail != nil {
			return fail, nil
		}
		if r.OverrideType != "" {
			return at.applyTermOverride(ctx, &r, dates, res)
		}
		fail, err := at.applyTerm(ctx, &r, dates, assigned(r.IntegrationID, f.has("integration_id")), res)
		if res.ObjectID != 0 {
			listed = append(listed, res.ObjectID)
		}
		return fail, err
	})
	if err == nil {
		// Only a file that applied lists terms for multi_term_batch_mode.
		at.listedTerms = append(at.listedTerms, listed...)
	}
	return err
}

// termsOutOfScope fails a row of an import posted to a sub-account that
// would change a term.
var termsOutOfScope = &rowFailure{code: "out_of_scope", message: "terms belong to the root account: an import posted to a sub-account may list them only unchanged"}

func (at *attempt) applyTerm(ctx context.Context, r *termRow, dates dateRange, integrationID assignment, res *result.Result) (*rowFailure, error) {
	var id int64
	var name, state string
	var oldStart, oldEnd *time.Time
	var oldIntegration *string
	var sticky []string
	err := at.tx.QueryRow(ctx, `SELECT id, name, workflow_state, start_at, end_at, integration_id, sticky_fields FROM terms
		WHERE root_account_id = $1 AND sis_term_id = $2 FOR UPDATE`,
		at.account.RootAccountID, r.TermID).Scan(&id, &name, &state, &oldStart, &oldEnd, &oldIntegration, &sticky)
	exists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("read term: %w", err)
	}
	integration := integrationID.over(oldIntegration)
	changes := map[string][2]any{}
	dates.over(oldStart, oldEnd, changes)
	newName := r.Name
	st := at.stickiness(sticky)
	if exists {
		diff(changes, "name", name, r.Name)
		diff(changes, "workflow_state", state, r.Status)
		diffPtr(changes, "integration_id", oldIntegration, integration)
		st.hold(changes, append(datesStick(&dates.start, oldStart, &dates.end, oldEnd), sticks("name", &newName, name))...)
		if fail := st.settle(changes); fail != nil {
			res.ObjectID = id
			return fail, nil
		}
	}
	inRoot := at.account.ID == at.account.RootAccountID
	switch {
	case !exists && r.Status == "deleted":
		return notFound("term", r.TermID), nil
	case exists && len(changes) == 0:
		res.ObjectID, res.Action = id, result.Unchanged
		return nil, nil
	case !inRoot:
		return termsOutOfScope, nil
	}
	if _, ok := changes["integration_id"]; ok || !exists {
		if fail, err := at.integrationTaken(ctx, "term", id, integration); fail != nil || err != nil {
			return fail, err
		}
	}
	if !exists {
		if err := at.tx.QueryRow(ctx, `INSERT INTO terms (root_account_id, sis_term_id, name, start_at, end_at, integration_id, last_import_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, at.account.RootAccountID, r.TermID, r.Name, dates.start, dates.end, integration,
			at.job.ID).Scan(&res.ObjectID); err != nil {
			return nil, fmt.Errorf("create term: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	}
	if f := at.skipDelete("term", state, r.Status); f != nil {
		return f, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE terms SET name = $2, workflow_state = $3, start_at = $4, end_at = $5, integration_id = $6,
		updated_at = now(), last_import_id = $7, sticky_fields = $8 WHERE id = $1`,
		id, newName, r.Status, dates.start, dates.end, integration, at.job.ID, nonNil(st.after)); err != nil {
		return nil, fmt.Errorf("update term: %w", err)
	}
	res.ObjectID, res.Changes = id, changes
	res.Action = result.Transition(state, r.Status, true)
	return nil, nil
}

// applyTermOverride applies a row with a date_override_enrollment_type:
// active sets the term's dates for that enrollment type (an empty cell
// clears one), deleted removes them. The term must exist. The result is
// the term's, its changes named overrides.<type>.start_at and .end_at.
func (at *attempt) applyTermOverride(ctx context.Context, r *termRow, dates dateRange, res *result.Result) (*rowFailure, error) {
	var termID int64
	err := at.tx.QueryRow(ctx, `SELECT id FROM terms WHERE root_account_id = $1 AND sis_term_id = $2`, at.account.RootAccountID, r.TermID).Scan(&termID)
	if errors.Is(err, pgx.ErrNoRows) {
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column term_id: no term %q exists; a date override needs an existing term", r.TermID)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read term: %w", err)
	}
	res.ObjectID = termID
	var oldStart, oldEnd *time.Time
	var sticky []string
	err = at.tx.QueryRow(ctx, `SELECT start_at, end_at, sticky_fields FROM term_date_overrides WHERE term_id = $1 AND enrollment_type = $2 FOR UPDATE`,
		termID, r.OverrideType).Scan(&oldStart, &oldEnd, &sticky)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("read term date override: %w", err)
	}
	if r.Status == "deleted" {
		dates = dateRange{setStart: true, setEnd: true}
	}
	dated := map[string][2]any{}
	dates.over(oldStart, oldEnd, dated)
	st := at.stickiness(sticky)
	st.hold(dated, datesStick(&dates.start, oldStart, &dates.end, oldEnd)...)
	if fail := st.settle(dated); fail != nil {
		return fail, nil
	}
	if len(dated) == 0 {
		res.Action = result.Unchanged
		return nil, nil
	}
	if at.account.ID != at.account.RootAccountID {
		return termsOutOfScope, nil
	}
	if r.Status == "deleted" {
		if f := at.skipDelete("term date override", "active", "deleted"); f != nil {
			return f, nil
		}
	}
	if _, err := at.tx.Exec(ctx, `INSERT INTO term_date_overrides (term_id, enrollment_type, start_at, end_at, last_import_id, sticky_fields)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (term_id, enrollment_type) DO UPDATE
		SET start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at, last_import_id = EXCLUDED.last_import_id,
			sticky_fields = EXCLUDED.sticky_fields, updated_at = now()`,
		termID, r.OverrideType, dates.start, dates.end, at.job.ID, nonNil(st.after)); err != nil {
		return nil, fmt.Errorf("write term date override: %w", err)
	}
	res.Changes = map[string][2]any{}
	for field, ch := range dated {
		res.Changes[overridesPrefix+r.OverrideType+"."+field] = ch
	}
	res.Action = result.Updated
	return nil, nil
}

// restoreTermOverride sets a term's date override back to what it was
// before import target, where target (or this restore) is still the
// import that last wrote it; changes are the override's fields the import
// changed, as its result names them. false: left alone, changed since.
func restoreTermOverride(ctx context.Context, at *attempt, target, termID int64, changes map[string][2]any) (bool, error) {
	var typ string
	before := map[string]*string{}
	var sticky []string
	for field, ch := range changes {
		var col string
		typ, col, _ = strings.Cut(strings.TrimPrefix(field, overridesPrefix), ".")
		if col == "sticky_fields" {
			sticky = []string{}
			list, _ := ch[0].([]any)
			for _, f := range list {
				sticky = append(sticky, fmt.Sprint(f))
			}
			continue
		}
		var v *string
		if s, ok := ch[0].(string); ok {
			v = &s
		}
		before[col] = v
	}
	start, setStart := before["start_at"]
	end, setEnd := before["end_at"]
	tag, err := at.tx.Exec(ctx, `UPDATE term_date_overrides SET start_at = CASE WHEN $3 THEN $5::timestamptz ELSE start_at END,
			end_at = CASE WHEN $4 THEN $6::timestamptz ELSE end_at END, sticky_fields = COALESCE($9, sticky_fields),
			last_import_id = $7, updated_at = now()
		WHERE term_id = $1 AND enrollment_type = $2 AND last_import_id IN ($7, $8)`,
		termID, typ, setStart, setEnd, start, end, at.job.ID, target, sticky)
	if err != nil {
		return false, fmt.Errorf("restore term date override: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
