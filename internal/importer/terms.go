package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
)

// termRow is one row of a terms file (Canvas's terms.csv).
type termRow struct {
	TermID    string `validate:"required,max=255"`
	Name      string `validate:"required,max=255"`
	Status    string `validate:"required,oneof=active deleted"`
	StartDate string `validate:"max=64"`
	EndDate   string `validate:"max=64"`
}

var termColumns = []string{"term_id", "name", "status", "start_date", "end_date"}

var termColumnOf = map[string]string{"TermID": "term_id", "Name": "name", "Status": "status", "StartDate": "start_date", "EndDate": "end_date"}

func (r *termRow) fields() []*string {
	return []*string{&r.TermID, &r.Name, &r.Status, &r.StartDate, &r.EndDate}
}

// importTerms applies a terms file, a row at a time: terms files are small.
// Terms belong to the root account: an import posted to a sub-account may
// list them only unchanged (SPEC §4.1).
func (ru *run) importTerms(ctx context.Context, file string, head csvread.Record, cols map[string]int, rd *csvread.Reader) error {
	if err := ru.checkColumns(file, "terms", head, cols, termColumns, []string{"status"}); err != nil {
		return err
	}
	idx := positions(termColumns, cols)
	st := ru.stream(typeTerms, file)
	var listed []int64
	err := ru.eachRow(ctx, file, typeTerms, "term", len(head.Fields), rd, func(ctx context.Context, rec csvread.Record, res *Result) (*rowFailure, error) {
		f, err := ru.applyTerm(ctx, rec, idx, st, res)
		if res.ObjectID != 0 {
			listed = append(listed, res.ObjectID)
		}
		return f, err
	})
	if err == nil {
		// Only a file that applied lists terms for multi_term_batch_mode.
		ru.listedTerms = append(ru.listedTerms, listed...)
	}
	return err
}

func (ru *run) applyTerm(ctx context.Context, rec csvread.Record, idx []int, st *fileStream, res *Result) (*rowFailure, error) {
	var r termRow
	fillRow(r.fields(), rec, idx)
	r.Status = strings.ToLower(r.Status)
	res.SISID = r.TermID
	if f := validateRow(&r, termColumnOf); f != nil {
		return f, nil
	}
	if f := st.duplicate("term_id", r.TermID, rec.Line); f != nil {
		return f, nil
	}
	dates, f := parseDates(r.StartDate, r.EndDate)
	if f != nil {
		return f, nil
	}
	var id int64
	var name, state string
	var oldStart, oldEnd *time.Time
	err := ru.tx.QueryRow(ctx, `SELECT id, name, workflow_state, start_at, end_at FROM terms WHERE root_account_id = $1 AND sis_term_id = $2`,
		ru.account.RootAccountID, r.TermID).Scan(&id, &name, &state, &oldStart, &oldEnd)
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
	inRoot := ru.account.ID == ru.account.RootAccountID
	switch {
	case !exists && r.Status == "deleted":
		return notFound("term", r.TermID), nil
	case exists && len(changes) == 0:
		res.ObjectID, res.Action = id, Unchanged
		return nil, nil
	case !inRoot:
		return &rowFailure{code: "out_of_scope", message: "terms belong to the root account: an import posted to a sub-account may list them only unchanged"}, nil
	case !exists:
		if err := ru.tx.QueryRow(ctx, `INSERT INTO terms (root_account_id, sis_term_id, name, start_at, end_at, last_import_id)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, ru.account.RootAccountID, r.TermID, r.Name, dates.start, dates.end, ru.job.ID).Scan(&res.ObjectID); err != nil {
			return nil, fmt.Errorf("create term: %w", err)
		}
		res.Action = Created
		return nil, nil
	}
	if f := ru.skipDelete("term", state, r.Status); f != nil {
		return f, nil
	}
	if _, err := ru.tx.Exec(ctx, `UPDATE terms SET name = $2, workflow_state = $3, start_at = $4, end_at = $5, updated_at = now(),
		last_import_id = $6 WHERE id = $1`, id, r.Name, r.Status, dates.start, dates.end, ru.job.ID); err != nil {
		return nil, fmt.Errorf("update term: %w", err)
	}
	res.ObjectID, res.Changes = id, changes
	res.Action = transitionAction(state, r.Status, true)
	return nil, nil
}
