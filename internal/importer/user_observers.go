package importer

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// observerRow is one row of a user observers file (Canvas's
// user_observers.csv): the observer observes the student.
type observerRow struct {
	ObserverID string `csv:"observer_id" validate:"required,max=255"`
	StudentID  string `csv:"student_id" validate:"required,max=255"`
	Status     string `csv:"status,lower" validate:"required,oneof=active deleted"`
}

// typeUserObservers is the type's name.
const typeUserObservers = "user_observers"

func init() {
	// Canvas tests this header last and applies the type after every other
	// (docs/import-rules.md#user-observers).
	register(&fileType{name: typeUserObservers, batch: "user_observer", entity: "user_observer",
		detect: func(h header) bool { return h.has("observer_id") && h.has("student_id") }, detectRank: 200,
		applyRank: 200, layout: layoutOf(&observerRow{}), required: []string{"status"}, apply: importUserObservers,
		restore: restoring("user_observers", ""),
	})
}

// linkedUser is a user an observers row names.
type linkedUser struct {
	id      int64
	state   string
	inScope bool // homed inside the import's account
}

// importUserObservers applies a user observers file a row at a time: a
// row makes, keeps, brings back or deletes one observer link.
func importUserObservers(ctx context.Context, at *attempt, f *typedFile) error {
	return at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r observerRow
		f.fill(&r, rec)
		res.SISID = r.ObserverID
		key := ""
		if r.ObserverID != "" && r.StudentID != "" {
			key = r.ObserverID + "\x00" + r.StudentID
		}
		if fail := f.check(&r, rec.Line, key, fmt.Sprintf("observer %q of student %q", r.ObserverID, r.StudentID)); fail != nil {
			return fail, nil
		}
		if r.ObserverID == r.StudentID {
			return &rowFailure{code: "invalid_value", message: fmt.Sprintf("columns observer_id and student_id: user %q cannot observe themselves", r.ObserverID)}, nil
		}
		return at.applyUserObserver(ctx, &r, res)
	})
}

func (at *attempt) applyUserObserver(ctx context.Context, r *observerRow, res *result.Result) (*rowFailure, error) {
	users, err := at.linkedUsers(ctx, r.ObserverID, r.StudentID)
	if err != nil {
		return nil, err
	}
	for _, c := range [...]struct{ column, sis string }{{"observer_id", r.ObserverID}, {"student_id", r.StudentID}} {
		u, ok := users[c.sis]
		switch {
		case !ok:
			return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no user %q exists", c.column, c.sis)}, nil
		case u.state != "active":
			return &rowFailure{code: "inactive_user", message: fmt.Sprintf("column %s: user %q is %s: only active users observe or are observed", c.column, c.sis, u.state)}, nil
		case c.column == "student_id" && !u.inScope:
			return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column student_id: user %q is outside the account this import was posted to", c.sis)}, nil
		}
	}
	observer, student := users[r.ObserverID].id, users[r.StudentID].id
	var id int64
	var state string
	err = at.tx.QueryRow(ctx, `SELECT id, workflow_state FROM user_observers WHERE observer_id = $1 AND student_id = $2`,
		observer, student).Scan(&id, &state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("read observer link: %w", err)
	}
	res.ObjectID = id
	res.Message = fmt.Sprintf("observer %q, student %q", r.ObserverID, r.StudentID)
	switch {
	case r.Status == "deleted" && state != "active":
		// Canvas refuses to delete a link that is not there.
		return &rowFailure{code: "not_linked", message: fmt.Sprintf("user %q does not observe user %q, so the link cannot be deleted", r.ObserverID, r.StudentID)}, nil
	case id == 0:
		err := at.tx.QueryRow(ctx, `INSERT INTO user_observers (root_account_id, observer_id, student_id, last_import_id)
			VALUES ($1, $2, $3, $4) RETURNING id`, at.account.RootAccountID, observer, student, at.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create observer link: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	case state == r.Status:
		res.Action = result.Unchanged
		return nil, nil
	}
	if f := at.skipDelete("observer link", state, r.Status); f != nil {
		return f, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE user_observers SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = $1`,
		id, r.Status, at.job.ID); err != nil {
		return nil, fmt.Errorf("update observer link: %w", err)
	}
	res.Changes = map[string][2]any{"workflow_state": {state, r.Status}}
	res.Action = result.Transition(state, r.Status, true)
	return nil, nil
}

// linkedUsers reads the users of the root account with the two SIS ids, in
// the import's transaction (a users file of the same upload may have made
// them).
func (at *attempt) linkedUsers(ctx context.Context, observer, student string) (map[string]linkedUser, error) {
	rows, err := at.tx.Query(ctx, `SELECT u.key, u.id, u.workflow_state, $3 = ANY(a.path)
		FROM `+usersByKey("$2", keyColumns["user_id"])+` JOIN accounts a ON a.id = u.account_id`,
		at.account.RootAccountID, []string{observer, student}, at.account.ID)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	users := make(map[string]linkedUser, 2)
	var sis string
	var u linkedUser
	if _, err := pgx.ForEachRow(rows, []any{&sis, &u.id, &u.state, &u.inScope}, func() error { users[sis] = u; return nil }); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return users, nil
}
