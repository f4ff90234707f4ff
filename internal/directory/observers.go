package directory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ListObservees lists the users that user observes through an active link
// (docs/api.md#directory), deleted users left out and by sortable name, as
// Canvas's GET /users/:user_id/observees does.
func ListObservees(ctx context.Context, db *pgxpool.Pool, user int64, limit, offset int) ([]User, error) {
	return listLinked(ctx, db, `o.observer_id = $1 AND u.id = o.student_id`, user, limit, offset)
}

// ListObservers lists the users that observe user through an active link,
// as ListObservees does the other way.
func ListObservers(ctx context.Context, db *pgxpool.Pool, user int64, limit, offset int) ([]User, error) {
	return listLinked(ctx, db, `o.student_id = $1 AND u.id = o.observer_id`, user, limit, offset)
}

// listLinked lists the live users at the other end of user's active
// observer links; on picks the side.
func listLinked(ctx context.Context, db *pgxpool.Pool, on string, user int64, limit, offset int) ([]User, error) {
	rows, err := db.Query(ctx, `SELECT `+userColumns+` FROM user_observers o JOIN users u ON `+on+`
		WHERE o.workflow_state = 'active' AND u.workflow_state <> 'deleted'
		ORDER BY u.sortable_name, u.id LIMIT $2 OFFSET $3`, user, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list linked users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list linked users: %w", err)
	}
	return out, nil
}
