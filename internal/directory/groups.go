package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Group is a group of users, of an account or of a course in it, as the API
// shows it (docs/api.md#directory).
type Group struct {
	ID              int64   `json:"id"`
	Name            string  `json:"name"`
	SISGroupID      *string `json:"sis_group_id"`
	AccountID       int64   `json:"account_id"`
	CourseID        *int64  `json:"course_id"`
	GroupCategoryID *int64  `json:"group_category_id"`
	WorkflowState   string  `json:"workflow_state"`
	Origin          string  `json:"origin"`
	// StickyFields are the fields edited through the API, which imports
	// leave alone (docs/import-rules.md#stickiness-and-manual-objects).
	StickyFields []string `json:"sticky_fields"`
}

// GroupStates are the states a group may be in.
var GroupStates = []string{"available", "deleted"}

const groupColumns = `g.id, g.name, g.sis_group_id, g.account_id, g.course_id, g.group_category_id, g.workflow_state, g.origin, g.sticky_fields`

func scanGroup(row pgx.Row) (Group, error) {
	var g Group
	err := row.Scan(&g.ID, &g.Name, &g.SISGroupID, &g.AccountID, &g.CourseID, &g.GroupCategoryID, &g.WorkflowState, &g.Origin, &g.StickyFields)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, errs.ErrNotFound
	}
	return g, err
}

// GroupFilter selects groups of an account's subtree.
type GroupFilter struct {
	AccountID int64
	// States are the states to list; none lists none.
	States        []string
	Limit, Offset int
}

// ListGroups lists the groups whose account is in the subtree, by name.
func ListGroups(ctx context.Context, db *pgxpool.Pool, f GroupFilter) ([]Group, error) {
	rows, err := db.Query(ctx, `SELECT `+groupColumns+` FROM groups g JOIN accounts a ON a.id = g.account_id
		WHERE $1 = ANY(a.path) AND g.workflow_state = ANY($2)
		ORDER BY g.name, g.id LIMIT $3 OFFSET $4`, f.AccountID, f.States, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Group, error) { return scanGroup(r) })
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return out, nil
}

// GetGroup finds the group a path names — an id or "sis_group_id:X" —
// among the groups whose account is in the subtree of reach.
func GetGroup(ctx context.Context, db *pgxpool.Pool, ref string, reach, root int64) (Group, error) {
	cond, args, err := refMatch("g", "sis_group_id", ref, reach, root, 1)
	if err != nil {
		return Group{}, err
	}
	g, err := scanGroup(db.QueryRow(ctx, `SELECT `+groupColumns+` FROM groups g JOIN accounts a ON a.id = g.account_id WHERE `+cond, args...))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return g, fmt.Errorf("get group: %w", err)
	}
	return g, err
}

// CreateGroup makes a manual group of acct: imports never change it
// (docs/import-rules.md#stickiness-and-manual-objects). An empty sisID leaves the group without an SIS id.
func CreateGroup(ctx context.Context, db *pgxpool.Pool, acct Account, name, sisID string) (Group, error) {
	name, sisID = strings.TrimSpace(name), strings.TrimSpace(sisID)
	if name == "" {
		return Group{}, errs.New(errs.Invalid, "missing_value", "name is required")
	}
	if len(name) > 255 {
		return Group{}, errs.New(errs.Invalid, "invalid_value", "name: longer than 255 characters")
	}
	if len(sisID) > 255 {
		return Group{}, errs.New(errs.Invalid, "invalid_value", "sis_group_id: longer than 255 characters")
	}
	g, err := scanGroup(db.QueryRow(ctx, `WITH n AS (
		INSERT INTO groups (root_account_id, account_id, sis_group_id, name, origin)
		VALUES ($1, $2, NULLIF($3, ''), $4, 'manual') RETURNING *)
		SELECT `+groupColumns+` FROM n g`, acct.RootAccountID, acct.ID, sisID, name))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "groups_sis_id" {
		return g, errs.New(errs.Conflict, "sis_id_taken", "sis_group_id %q is already used by another group of this root account", sisID)
	}
	if err != nil {
		return g, fmt.Errorf("create group: %w", err)
	}
	return g, nil
}

// UpdateGroup renames group g, of root account root; the name sticks
// (docs/import-rules.md#stickiness-and-manual-objects).
func UpdateGroup(ctx context.Context, db *pgxpool.Pool, root int64, g Group, name *string) (Group, error) {
	if err := text("name", name, true); err != nil {
		return Group{}, err
	}
	err := inTx(ctx, db, func(tx pgx.Tx) error {
		var e edit
		if name != nil {
			e.col("name", strings.TrimSpace(*name), "name")
		}
		return e.apply(ctx, tx, "groups", g.ID)
	})
	if err := editError("update group", err, nil); err != nil {
		return Group{}, err
	}
	return GetGroup(ctx, db, strconv.FormatInt(g.ID, 10), root, root)
}

// ListGroupUsers lists the users with an accepted membership of the group,
// by sortable name.
func ListGroupUsers(ctx context.Context, db *pgxpool.Pool, groupID int64, limit, offset int) ([]User, error) {
	rows, err := db.Query(ctx, `SELECT `+userColumns+` FROM group_memberships m JOIN users u ON u.id = m.user_id
		WHERE m.group_id = $1 AND m.workflow_state = 'accepted'
		ORDER BY u.sortable_name, u.id LIMIT $2 OFFSET $3`, groupID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list group users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list group users: %w", err)
	}
	return out, nil
}
