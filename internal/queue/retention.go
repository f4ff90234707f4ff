package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Purge deletes the stored files and the results of imports that ended more
// than days ago, a few imports per transaction; the imports themselves stay
// listed. It returns how many imports it purged.
func Purge(ctx context.Context, db *pgxpool.Pool, days int) (int, error) {
	total := 0
	for {
		tx, err := db.Begin(ctx)
		if err != nil {
			return total, fmt.Errorf("purge: %w", err)
		}
		rows, err := tx.Query(ctx, `UPDATE sis_imports SET purged_at = now()
			WHERE id IN (SELECT id FROM sis_imports
				WHERE purged_at IS NULL AND ended_at < now() - $1 * interval '1 day'
				  AND workflow_state NOT IN ('created', 'importing')
				ORDER BY id LIMIT 20 FOR UPDATE SKIP LOCKED)
			RETURNING id`, days)
		if err != nil {
			tx.Rollback(ctx)
			return total, fmt.Errorf("purge: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				tx.Rollback(ctx)
				return total, fmt.Errorf("purge: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return total, tx.Rollback(ctx)
		}
		for _, q := range []string{`DELETE FROM sis_import_chunks WHERE import_id = ANY($1)`, `DELETE FROM sis_import_results WHERE import_id = ANY($1)`} {
			if _, err := tx.Exec(ctx, q, ids); err != nil {
				tx.Rollback(ctx)
				return total, fmt.Errorf("purge: %w", err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return total, fmt.Errorf("purge: %w", err)
		}
		total += len(ids)
	}
}

// RunRetention purges every hour until ctx ends; every replica may run it.
func RunRetention(ctx context.Context, db *pgxpool.Pool, log *slog.Logger, days int) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := Purge(ctx, db, days)
		if err != nil && ctx.Err() == nil {
			log.Warn("retention purge failed", slog.Any("err", err))
		} else if n > 0 {
			log.Info("retention purge", slog.Int("imports", n), slog.Int("days", days))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
