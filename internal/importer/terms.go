package importer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// termRow is one row of a terms file (Canvas's terms.csv).
type termRow struct {
	TermID    string `csv:"term_id" validate:"required,max=255"`
	Name      string `csv:"name" validate:"required,max=255"`
	Status    string `csv:"status,lower" validate:"required,oneof=active deleted"`
	StartDate string `csv:"start_date" validate:"max=64"`
	EndDate   string `csv:"end_date" validate:"max=64"`
}

// typeTerms is the type's name.
const typeTerms = "terms"

func init() {
	register(&fileType{name: typeTerms, batch: "term", entity: "term", emptyDateClears: true,
		detect: func(h header) bool { return h.has("term_id") && h.has("name") }, detectRank: 30,
		applyRank: 30, layout: layoutOf(&termRow{}), required: []string{"status"}, apply: importTerms,
		restore: restoring("terms", "sis_term_id", "name", "start_at", "end_at"),
		ids:     &idTarget{"terms", "sis_term_id", "", ""},
	})
}

// importTerms applies a terms file, a row at a time: terms files are small.
// Terms belong to the root account: an import posted to a sub-account may
// list them only unchanged (docs/import-rules.md#files).
func importTerms(ctx context.Context, at *attempt, f *typedFile) error {
	var listed []int64
	err := at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r termRow
		f.fill(&r, rec)
		res.SISID = r.TermID
		if fail := f.check(&r, rec.Line, r.TermID, fmt.Sprintf("term_id %q", r.TermID)); fail != nil {
			return fail, nil
		}
		dates, fail := f.dates(r.StartDate, r.EndDate)
		if fail != nil {
			return fail, nil
		}
		fail, err := at.applyTerm(ctx, &r, dates, res)
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

func (at *attempt) applyTerm(ctx context.Context, r *termRow, dates dateRange, res *result.Result) (*rowFailure, error) {
	var id int64
	var name, state string
	var oldStart, oldEnd *time.Time
	err := at.tx.QueryRow(ctx, `SELECT id, name, workflow_state, start_at, end_at FROM terms WHERE root_account_id = $1 AND sis_term_id = $2`,
		at.account.RootAccountID, r.TermID).Scan(&id, &name, &state, &oldStart, &oldEnd)
	exists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("read term: %w", err)
	}
	changes := map[string][2]any{}
	dates.over(oldStart, oldEnd, changes)
	if exists {
		diff(changes, "name", name, r.Name)
		diff(changes, "workflow_state", state, r.Status)
	}
	inRoot := at.account.ID == at.account.RootAccountID
	switch {
	case !exists && r.Status == "deleted":
		return notFound("term", r.TermID), nil
	case exists && len(changes) == 0:
		res.ObjectID, res.Action = id, result.Unchanged
		return nil, nil
	case !inRoot:
		return &rowFailure{code: "out_of_scope", message: "terms belong to the root account: an import posted to a sub-account may list them only unchanged"}, nil
	case !exists:
		if err := at.tx.QueryRow(ctx, `INSERT INTO terms (root_account_id, sis_term_id, name, start_at, end_at, last_import_id)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, at.account.RootAccountID, r.TermID, r.Name, dates.start, dates.end, at.job.ID).Scan(&res.ObjectID); err != nil {
			return nil, fmt.Errorf("create term: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	}
	if f := at.skipDelete("term", state, r.Status); f != nil {
		return f, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE terms SET name = $2, workflow_state = $3, start_at = $4, end_at = $5, updated_at = now(),
		last_import_id = $6 WHERE id = $1`, id, r.Name, r.Status, dates.start, dates.end, at.job.ID); err != nil {
		return nil, fmt.Errorf("update term: %w", err)
	}
	res.ObjectID, res.Changes = id, changes
	res.Action = result.Transition(state, r.Status, true)
	return nil, nil
}
