package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
)

// membershipRow is one row of a group memberships file (Canvas's
// group_memberships.csv).
type membershipRow struct {
	GroupID string `validate:"required,max=255"`
	UserID  string `validate:"required,max=255"`
	Status  string `validate:"required,oneof=accepted deleted"`
}

var membershipColumns = []string{"group_id", "user_id", "status"}

var membershipColumnOf = map[string]string{"GroupID": "group_id", "UserID": "user_id", "Status": "status"}

func (r *membershipRow) fields() []*string { return []*string{&r.GroupID, &r.UserID, &r.Status} }

// importMemberships applies a group memberships file a row at a time.
func (ru *run) importMemberships(ctx context.Context, file string, head csvread.Record, cols map[string]int, rd *csvread.Reader) error {
	if err := ru.checkColumns(file, "group_memberships", head, cols, membershipColumns, []string{"status"}); err != nil {
		return err
	}
	idx := positions(membershipColumns, cols)
	st := ru.stream(typeGroupMemberships, file)
	return ru.eachRow(ctx, file, typeGroupMemberships, "group_membership", len(head.Fields), rd, func(ctx context.Context, rec csvread.Record, res *Result) (*rowFailure, error) {
		var r membershipRow
		fillRow(r.fields(), rec, idx)
		r.Status = strings.ToLower(r.Status)
		res.SISID = r.UserID
		if r.GroupID != "" && r.UserID != "" {
			if where, dup := st.firstSeen(r.GroupID+"\x00"+r.UserID, rec.Line); dup {
				return &rowFailure{code: "duplicate_in_file", message: fmt.Sprintf("user %q in group %q already appears on %s; the first row wins", r.UserID, r.GroupID, where)}, nil
			}
		}
		if f := validateRow(&r, membershipColumnOf); f != nil {
			return f, nil
		}
		return ru.applyMembership(ctx, &r, res)
	})
}

func (ru *run) applyMembership(ctx context.Context, r *membershipRow, res *Result) (*rowFailure, error) {
	g, err := ru.groupBySIS(ctx, r.GroupID)
	switch {
	case err != nil:
		return nil, err
	case g == nil:
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column group_id: no group %q exists", r.GroupID)}, nil
	case g.origin == "manual":
		return &rowFailure{code: "manual_object", skip: true, message: fmt.Sprintf("group %q was created through the API: imports never change its members", r.GroupID)}, nil
	case !g.inScope:
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column group_id: group %q is outside the account this import was posted to", r.GroupID)}, nil
	}
	var userID int64
	err = ru.tx.QueryRow(ctx, `SELECT id FROM users WHERE root_account_id = $1 AND sis_user_id = $2`, ru.account.RootAccountID, r.UserID).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column user_id: no user %q exists", r.UserID)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	var id int64
	var state string
	err = ru.tx.QueryRow(ctx, `SELECT id, workflow_state FROM group_memberships WHERE group_id = $1 AND user_id = $2`, g.id, userID).Scan(&id, &state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if r.Status == "deleted" {
			return notFound("membership of user", r.UserID), nil
		}
		if err := ru.tx.QueryRow(ctx, `INSERT INTO group_memberships (group_id, user_id, workflow_state, last_import_id) VALUES ($1, $2, $3, $4)
			RETURNING id`, g.id, userID, r.Status, ru.job.ID).Scan(&res.ObjectID); err != nil {
			return nil, fmt.Errorf("create membership: %w", err)
		}
		res.Action = Created
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read membership: %w", err)
	}
	res.ObjectID = id
	if state == r.Status {
		res.Action = Unchanged
		return nil, nil
	}
	if f := ru.skipDelete("membership", state, r.Status); f != nil {
		return f, nil
	}
	if _, err := ru.tx.Exec(ctx, `UPDATE group_memberships SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = $1`,
		id, r.Status, ru.job.ID); err != nil {
		return nil, fmt.Errorf("update membership: %w", err)
	}
	res.Changes = map[string][2]any{"workflow_state": {state, r.Status}}
	res.Action = transitionAction(state, r.Status, true)
	return nil, nil
}
