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
				  AND workflow_state NOT IN ('created', 'importing', 'awaiting_approval', 'restoring')
				  -- a diffing base keeps its file while it is the latest of its data set
				  AND NOT (params ? 'diffing_data_set_identifier' AND (data->>'applied')::boolean AND NOT EXISTS (
					SELECT 1 FROM sis_imports l WHERE l.account_id = sis_imports.account_id AND l.id > sis_imports.id
					  AND l.params->>'diffing_data_set_identifier' = sis_imports.params->>'diffing_data_set_identifier'
					  AND (l.data->>'applied')::boolean))
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

// ExpireHolds ends imports held for approval longer than days as aborted.
func ExpireHolds(ctx context.Context, db *pgxpool.Pool, days int) (int64, error) {
	tag, err := db.Exec(ctx, `UPDATE sis_imports SET workflow_state = 'aborted', updated_at = now(),
			processing_errors = processing_errors || jsonb_build_array(jsonb_build_array('', 'held for approval longer than ' || $1 || ' days: expired'))
		WHERE workflow_state = 'awaiting_approval' AND ended_at < now() - $1 * interval '1 day'`, days)
	if err != nil {
		return 0, fmt.Errorf("expire held imports: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RunRetention expires old holds and purges old files every hour until ctx
// ends; every replica may run it.
func RunRetention(ctx context.Context, db *pgxpool.Pool, log *slog.Logger, days, holdDays int) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := ExpireHolds(ctx, db, holdDays); err != nil && ctx.Err() == nil {
			log.Warn("expiring held imports failed", slog.Any("err", err))
		} else if n > 0 {
			log.Info("held imports expired", slog.Int64("imports", n), slog.Int("days", holdDays))
		}
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
