package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// GroupCategory is a category of groups, of an account or of a course, as
// Canvas's GroupCategory API object shows it (docs/api.md#directory).
// Imports make every category (docs/import-rules.md#group-categories), so
// the fields of Canvas's self sign-up and group sets are always their
// defaults. Exactly one of account_id and course_id is present, as
// context_type says.
type GroupCategory struct {
	ID                        int64   `json:"id"`
	Name                      string  `json:"name"`
	Role                      *string `json:"role"`
	SelfSignup                *string `json:"self_signup"`
	AutoLeader                *string `json:"auto_leader"`
	ContextType               string  `json:"context_type"`
	AccountID                 *int64  `json:"account_id,omitempty"`
	CourseID                  *int64  `json:"course_id,omitempty"`
	GroupLimit                *int    `json:"group_limit"`
	SISGroupCategoryID        *string `json:"sis_group_category_id"`
	SISImportID               *int64  `json:"sis_import_id"`
	Protected                 bool    `json:"protected"`
	AllowsMultipleMemberships bool    `json:"allows_multiple_memberships"`
	IsMember                  bool    `json:"is_member"`
}

// groupCategoryFrom reads a category with the account of its context (a
// course's account for a course's category) as a, for reach.
const groupCategoryFrom = `group_categories g LEFT JOIN courses c ON c.id = g.course_id
	JOIN accounts a ON a.id = COALESCE(g.account_id, c.account_id)`

const groupCategoryColumns = `g.id, g.name, g.account_id, g.course_id, g.sis_group_category_id, g.last_import_id`

func scanGroupCategory(row pgx.Row) (GroupCategory, error) {
	var c GroupCategory
	err := row.Scan(&c.ID, &c.Name, &c.AccountID, &c.CourseID, &c.SISGroupCategoryID, &c.SISImportID)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.ErrNotFound
	}
	c.ContextType = "Account"
	if c.CourseID != nil {
		c.ContextType = "Course"
	}
	return c, err
}

// ListGroupCategories lists the active categories whose context is the
// account itself (not its courses or sub-accounts), as Canvas lists an
// account's, by id.
func ListGroupCategories(ctx context.Context, db *pgxpool.Pool, accountID int64, limit, offset int) ([]GroupCategory, error) {
	rows, err := db.Query(ctx, `SELECT `+groupCategoryColumns+` FROM group_categories g
		WHERE g.account_id = $1 AND g.workflow_state = 'active' ORDER BY g.id LIMIT $2 OFFSET $3`, accountID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list group categories: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (GroupCategory, error) { return scanGroupCategory(r) })
	if err != nil {
		return nil, fmt.Errorf("list group categories: %w", err)
	}
	return out, nil
}

// GetGroupCategory finds the active category a path names — an id or
// "sis_group_category_id:X" — among those whose context is in the subtree
// of reach. A deleted category is not found, as on Canvas.
func GetGroupCategory(ctx context.Context, db *pgxpool.Pool, ref string, reach, root int64) (GroupCategory, error) {
	cond, args, err := refMatch("g", "sis_group_category_id", ref, reach, root, 1)
	if err != nil {
		return GroupCategory{}, err
	}
	c, err := scanGroupCategory(db.QueryRow(ctx, `SELECT `+groupCategoryColumns+` FROM `+groupCategoryFrom+`
		WHERE `+cond+` AND g.workflow_state = 'active'`, args...))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return c, fmt.Errorf("get group category: %w", err)
	}
	return c, err
}
