package result

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Change is a result about one user, with when its import was made.
type Change struct {
	Stored
	ImportedAt time.Time
	DryRun     bool
	RestoreOf  *int64 // the import a restore put back; its page shows the restore
}

// personEntities are the results whose sis_id is a user's SIS id.
var personEntities = []string{"user", "login", "enrollment", "group_membership", "admin", "user_observer"}

// History lists the results of the last `imports` imports (restores too)
// of the subtree of reach that name a user: by its id (rows of users files, removals) or
// by its SIS id (users, logins, enrollments, memberships, admins,
// observers). Results have no index by SIS id — one would slow every
// import's COPY — so the search reads only recent imports' results.
func History(ctx context.Context, db *pgxpool.Pool, reach, userID int64, sisID string, imports, limit int) ([]Change, error) {
	rows, err := db.Query(ctx, `
		WITH recent AS (
			SELECT i.id, i.results_attempt, i.created_at, COALESCE((i.params->>'dry_run')::boolean, false) AS dry_run, i.restore_of
			FROM sis_imports i JOIN accounts a ON a.id = i.account_id
			WHERE $1 = ANY(a.path) AND i.results_attempt IS NOT NULL
			ORDER BY i.id DESC LIMIT $4)
		SELECT r.id, r.import_id, r.file, r.row, r.entity, r.sis_id, r.object_id, r.action, r.changes, r.code, r.message, recent.created_at, recent.dry_run, recent.restore_of
		FROM recent JOIN sis_import_results r ON r.import_id = recent.id AND r.attempt = recent.results_attempt
		WHERE (r.entity = 'user' AND r.object_id = $2) OR ($3 <> '' AND r.sis_id = $3 AND r.entity = ANY($6))
		ORDER BY r.import_id DESC, r.id LIMIT $5`, reach, userID, sisID, imports, limit, personEntities)
	if err != nil {
		return nil, fmt.Errorf("read user's history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Change, error) {
		var c Change
		s := &c.Stored
		var changes []byte
		err := r.Scan(&s.ID, &s.SISImportID, &s.File, &s.Row, &s.Entity, &s.SISID, &s.ObjectID, &s.Action, &changes, &s.Code, &s.Message, &c.ImportedAt, &c.DryRun, &c.RestoreOf)
		s.Changes = json.RawMessage(changes)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read user's history: %w", err)
	}
	return out, nil
}
