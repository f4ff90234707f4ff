package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// joinRow is a user's joining of groups by their names, as files of other
// shapes say it: a users file's group column (several names, ; between
// them), Moodle's cohortN (a group of the import's account) and groupN (a
// group of the course courseN names). No Canvas file has this type: it
// is only ever a view of another file (docs/import-rules.md#group-columns).
type joinRow struct {
	UserID   string `csv:"user_id" validate:"max=255"`
	LoginID  string `csv:"login_id,lower" validate:"max=255"`
	Groups   string `csv:"group" validate:"max=4096"`
	CourseID string `csv:"course_id" validate:"max=255"` // the groups are the course's; empty: the import's account's
}

// typeGroupJoins is the type's name; its rows count as group memberships.
const typeGroupJoins = "group_joins"

func init() {
	register(&fileType{name: typeGroupJoins, counts: "group_memberships", batch: "group_membership", entity: "group_membership",
		detect:     func(header) bool { return false }, // a view of a users file, never a file of its own
		detectRank: 1000, applyRank: 95, layout: layoutOf(&joinRow{}), apply: importGroupJoins,
	})
}

// groupJoinView reads a file's column group (or the file's column of it)
// as joins of the user the row names by user and login.
func groupJoinView(user, login, group, course string) view {
	return view{typ: byName[typeGroupJoins], only: group,
		columns: map[string]string{"user_id": user, "login_id": login, "group": group, "course_id": course}}
}

// joinedGroup is a group a join found or made, by its context and name.
type joinedGroup struct {
	id int64
}

// importGroupJoins applies a file's group cells a row at a time: the
// user joins each named group of the import's account (or of the row's
// course), which the import makes, origin sis, when it has none of that
// name. A group made through the API is never joined, even of the same
// name: the import makes its own (SPEC §4.8; the LMS of seed 003 does the
// same). A row with an empty group cell is no join (view.only): it has no
// result.
func importGroupJoins(ctx context.Context, at *attempt, f *typedFile) error {
	groups := map[string]joinedGroup{} // course id + "\x00" + name → group
	return at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r joinRow
		f.fill(&r, rec)
		res.SISID = cmp.Or(r.UserID, r.LoginID) // the id the file sent
		if fail := f.validate(&r); fail != nil {
			return fail, nil
		}
		names := splitGroups(r.Groups)
		if len(names) == 0 {
			return &rowFailure{code: "missing_value", message: fmt.Sprintf("column %s: no group name", f.view.column("group"))}, nil
		}
		user, fail, err := at.joiningUser(ctx, f, &r)
		if fail != nil || err != nil {
			return fail, err
		}
		accountID, courseID := at.account.ID, (*int64)(nil)
		if r.CourseID != "" {
			c, err := at.courseBySIS(ctx, r.CourseID)
			switch {
			case err != nil:
				return nil, err
			case c == nil || c.state == "deleted":
				return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no course %q exists", f.view.column("course_id"), r.CourseID)}, nil
			case !c.inScope:
				return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column %s: course %q is outside the account this import was posted to", f.view.column("course_id"), r.CourseID)}, nil
			}
			accountID, courseID = c.accountID, &c.id
		}
		joined := map[string][2]any{}
		res.Action = result.Unchanged
		for _, name := range names {
			key := r.CourseID + "\x00" + name
			g, ok := groups[key]
			if !ok {
				if g, err = at.groupByName(ctx, accountID, courseID, name); err != nil {
					return nil, err
				}
				groups[key] = g
			}
			state, err := at.joinGroup(ctx, g.id, user)
			if err != nil {
				return nil, err
			}
			if state != "accepted" {
				joined[name] = [2]any{nilIfEmpty(state), "accepted"}
				res.Action = result.Created
			}
		}
		if len(joined) > 0 {
			res.Changes = joined
		}
		return nil, nil
	})
}

// splitGroups are the names of a group cell, ; between them.
func splitGroups(cell string) []string {
	var names []string
	for _, n := range strings.Split(cell, ";") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// joiningUser finds the row's user by its SIS id, or else by its login
// id: a file of another system may name users by login alone (Moodle's
// idnumber is optional).
func (at *attempt) joiningUser(ctx context.Context, f *typedFile, r *joinRow) (int64, *rowFailure, error) {
	col, key, cond := f.view.column("user_id"), r.UserID, "u.sis_user_id = $2"
	if key == "" {
		col, key, cond = f.view.column("login_id"), r.LoginID, "lower(u.login_id) = $2"
	}
	if key == "" {
		return 0, &rowFailure{code: "missing_value", message: fmt.Sprintf("column %s: a value is required to join groups", col)}, nil
	}
	var id int64
	var inScope bool
	err := at.tx.QueryRow(ctx, `SELECT u.id, $3 = ANY(a.path) FROM users u JOIN accounts a ON a.id = u.account_id
		WHERE u.root_account_id = $1 AND `+cond, at.account.RootAccountID, key, at.account.ID).Scan(&id, &inScope)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no user %q exists", col, key)}, nil
	case err != nil:
		return 0, nil, fmt.Errorf("read joining user: %w", err)
	case !inScope:
		return 0, &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column %s: user %q is outside the account this import was posted to", col, key)}, nil
	}
	return id, nil, nil
}

// groupByName is the oldest available group an import made with the
// name in the account (in the course, when courseID is set), made now
// when there is none.
func (at *attempt) groupByName(ctx context.Context, accountID int64, courseID *int64, name string) (joinedGroup, error) {
	var g joinedGroup
	err := at.tx.QueryRow(ctx, `SELECT id FROM groups WHERE root_account_id = $1 AND account_id = $2 AND course_id IS NOT DISTINCT FROM $3
		AND name = $4 AND origin = 'sis' AND workflow_state = 'available' ORDER BY id LIMIT 1`,
		at.account.RootAccountID, accountID, courseID, name).Scan(&g.id)
	if err == nil {
		return g, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return g, fmt.Errorf("find group by name: %w", err)
	}
	if err := at.tx.QueryRow(ctx, `INSERT INTO groups (root_account_id, account_id, course_id, name, origin, last_import_id)
		VALUES ($1, $2, $3, $4, 'sis', $5) RETURNING id`, at.account.RootAccountID, accountID, courseID, name, at.job.ID).Scan(&g.id); err != nil {
		return g, fmt.Errorf("create group by name: %w", err)
	}
	return g, nil
}

// joinGroup makes the user an accepted member of the group and returns
// the membership's state before: "" when it had none.
func (at *attempt) joinGroup(ctx context.Context, group, user int64) (string, error) {
	var id int64
	var state string
	err := at.tx.QueryRow(ctx, `SELECT id, workflow_state FROM group_memberships WHERE group_id = $1 AND user_id = $2 ORDER BY id LIMIT 1`,
		group, user).Scan(&id, &state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := at.tx.Exec(ctx, `INSERT INTO group_memberships (group_id, user_id, workflow_state, last_import_id)
			VALUES ($1, $2, 'accepted', $3)`, group, user, at.job.ID); err != nil {
			return "", fmt.Errorf("join group: %w", err)
		}
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read membership: %w", err)
	case state != "accepted":
		if _, err := at.tx.Exec(ctx, `UPDATE group_memberships SET workflow_state = 'accepted', last_import_id = $2, updated_at = now()
			WHERE id = $1`, id, at.job.ID); err != nil {
			return "", fmt.Errorf("rejoin group: %w", err)
		}
	}
	return state, nil
}
