package importer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/sisimport/sisimport/internal/keyset"
)

// removeUnlisted gives unlisted_user_status to the SIS-managed users of the
// import's subtree that the file did not list (docs/import-rules.md#removing-what-the-feed-no-longer-lists), each with a
// result of its own (row null) — unless that breaches the threshold, which
// ends the import with nothing applied.
func (a *userApplier) removeUnlisted(ctx context.Context, listed *keyset.Set) error {
	at := a.at
	target := at.opts.UnlistedUserStatus
	states := []string{"active"}
	if target == "deleted" {
		states = append(states, "suspended")
	}
	rows, err := at.tx.Query(ctx, `SELECT u.id, u.sis_user_id, u.workflow_state FROM users u JOIN accounts a ON a.id = u.account_id
		WHERE u.root_account_id = $1 AND $2 = ANY(a.path) AND u.origin = 'sis' AND u.sis_user_id IS NOT NULL
		  AND u.workflow_state = ANY($3) AND ($4 OR NOT 'workflow_state' = ANY(u.sticky_fields))
		ORDER BY u.id`, at.account.RootAccountID, at.account.ID, states, at.opts.OverrideSISStickiness)
	if err != nil {
		return fmt.Errorf("find unlisted users: %w", err)
	}
	// Only the id, SIS id and state of a user to remove are kept until the
	// threshold is known, not its result.
	var eligible int
	var u removed
	notIn := keyset.NewUnlisted(listed, func(u removed) *string { return u.sis })
	_, err = pgx.ForEachRow(rows, []any{&u.id, &u.sis, &u.state}, func() error {
		if eligible++; !a.stream.matched[u.id] {
			notIn.Add(u)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find unlisted users: %w", err)
	}
	remove := notIn.Items()
	v, msg := at.judge(typeUsers, len(remove), eligible, defaultUnlistedThreshold, a.file, "")
	if v == removeThem {
		if err := a.suspend(ctx, remove, target); err != nil {
			return err
		}
	}
	at.recordRemoval(typeUsers, "user", a.file, target, "not listed by the file (remove_unlisted_users)", v, msg, remove)
	return nil
}

// suspend writes the removals, a batch of ids per statement.
func (a *userApplier) suspend(ctx context.Context, remove []removed, target string) error {
	for i := 0; i < len(remove); i += batchSize {
		ids := make([]int64, 0, batchSize)
		for _, r := range remove[i:min(i+batchSize, len(remove))] {
			ids = append(ids, r.id)
		}
		if _, err := a.at.tx.Exec(ctx, `UPDATE users SET workflow_state = $2, updated_at = now(), last_import_id = $3
			WHERE id = ANY($1)`, ids, target, a.at.job.ID); err != nil {
			return fmt.Errorf("remove unlisted users: %w", err)
		}
	}
	return nil
}
