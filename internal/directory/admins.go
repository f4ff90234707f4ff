package directory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Admin is a user's account role on an account, as Canvas's Admin object
// (docs/api.md#directory).
type Admin struct {
	ID            int64  `json:"id"`
	Role          string `json:"role"` // the role's name
	RoleID        int64  `json:"role_id"`
	User          User   `json:"user"`
	WorkflowState string `json:"workflow_state"`
}

// ListAdmins lists the active admins of the account itself (not of its
// sub-accounts), in id order, as Canvas's GET admins does; users, when not
// empty, narrows the list to those users' ids.
func ListAdmins(ctx context.Context, db *pgxpool.Pool, accountID int64, users []int64, limit, offset int) ([]Admin, error) {
	if users == nil {
		users = []int64{}
	}
	rows, err := db.Query(ctx, `SELECT aa.id, r.name, aa.role_id, aa.workflow_state, `+userColumns+`
		FROM account_admins aa JOIN roles r ON r.id = aa.role_id JOIN users u ON u.id = aa.user_id
		WHERE aa.account_id = $1 AND aa.workflow_state = 'active' AND (cardinality($2::bigint[]) = 0 OR aa.user_id = ANY($2))
		ORDER BY aa.id LIMIT $3 OFFSET $4`, accountID, users, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Admin, error) {
		a := Admin{User: User{Properties: map[string]any{}}}
		err := row.Scan(append([]any{&a.ID, &a.Role, &a.RoleID, &a.WorkflowState}, a.User.targets()...)...)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	return out, nil
}
