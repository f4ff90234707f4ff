package importer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// usersBySIS reads the ids of the root account's users with the given SIS
// ids, through q, one index probe an id (see userSelect).
func (at *attempt) usersBySIS(ctx context.Context, q querier, sisIDs []string) (map[string]int64, error) {
	return at.userIDs(ctx, q, "user_id", sisIDs)
}

// userIDs reads the ids of the root account's users by the column on
// (user_id or integration_id), through q.
func (at *attempt) userIDs(ctx context.Context, q querier, on string, keys []string) (map[string]int64, error) {
	users := make(map[string]int64, len(keys))
	if len(keys) == 0 {
		return users, nil
	}
	rows, err := q.Query(ctx, `SELECT u.key, u.id FROM `+usersByKey("$2", keyColumns[on]),
		at.account.RootAccountID, distinct(keys))
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	var sis string
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&sis, &id}, func() error { users[sis] = id; return nil }); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return users, nil
}

// groupsBySIS reads the root account's groups with the given SIS ids, in
// the import's transaction (a groups file of the same import may have
// made them).
func (at *attempt) groupsBySIS(ctx context.Context, sisIDs []string) (map[string]*storedGroup, error) {
	groups := make(map[string]*storedGroup, len(sisIDs))
	if len(sisIDs) == 0 {
		return groups, nil
	}
	rows, err := at.tx.Query(ctx, `SELECT g.sis_group_id, g.id, g.account_id, g.course_id, g.group_category_id, g.name, g.workflow_state, g.origin, $3 = ANY(a.path)
		FROM (SELECT g.* FROM unnest($2::text[]) AS k(key)
			CROSS JOIN LATERAL (SELECT * FROM groups g WHERE g.root_account_id = $1 AND g.sis_group_id = k.key OFFSET 0) g OFFSET 0) g
		JOIN accounts a ON a.id = g.account_id`, at.account.RootAccountID, distinct(sisIDs), at.account.ID)
	if err != nil {
		return nil, fmt.Errorf("read groups: %w", err)
	}
	var sis string
	var g storedGroup
	if _, err := pgx.ForEachRow(rows, []any{&sis, &g.id, &g.accountID, &g.courseID, &g.categoryID, &g.name, &g.state, &g.origin, &g.inScope}, func() error {
		found := g
		groups[sis] = &found
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read groups: %w", err)
	}
	return groups, nil
}
