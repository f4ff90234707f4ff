package importer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Deleting a user deletes their live enrollments, group memberships and
// SIS-managed account admins, and a deactivation row with
// remove_from_groups removes the user's memberships, inside the import's
// account; each is a result of its own, with row null,
// counted in its type's threshold (docs/import-rules.md#removing-what-the-feed-no-longer-lists, docs/import-rules.md#bulk-deactivation).
// A deleted user's extra logins go too, results of their own but with no
// threshold (docs/import-rules.md#logins-files).

// cascadeDeletedUsers follows the users this import deleted.
func (at *attempt) cascadeDeletedUsers(ctx context.Context, file string) error {
	var ids []int64
	rows, err := at.tx.Query(ctx, `SELECT id FROM users WHERE root_account_id = $1 AND last_import_id = $2 AND workflow_state = 'deleted'`,
		at.account.RootAccountID, at.job.ID)
	if err != nil {
		return fmt.Errorf("read deleted users: %w", err)
	}
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return fmt.Errorf("read deleted users: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	err = at.cascade(ctx, file, typeEnrollments, "enrollment", "deleted with the user", `
		SELECT e.id, u.sis_user_id, e.workflow_state FROM enrollments e JOIN users u ON u.id = e.user_id
		JOIN courses c ON c.id = e.course_id JOIN accounts a ON a.id = c.account_id
		WHERE e.user_id = ANY($1) AND $2 = ANY(a.path) AND e.workflow_state <> 'deleted' ORDER BY e.id FOR UPDATE OF e`, `
		SELECT count(*) FROM enrollments e JOIN courses c ON c.id = e.course_id JOIN accounts a ON a.id = c.account_id
		WHERE c.root_account_id = $1 AND $2 = ANY(a.path) AND e.origin = 'sis' AND e.workflow_state <> 'deleted'`,
		`UPDATE enrollments SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	if err := at.removeMemberships(ctx, file, ids); err != nil {
		return err
	}
	if err := at.removeAdmins(ctx, file, ids); err != nil {
		return err
	}
	return at.deleteLogins(ctx, file, ids)
}

// removeAdmins deletes the SIS-managed account admins of users, as Canvas
// removes a deleted user's account roles; admins not made by an import
// stay, as a deleted row leaves them (docs/import-rules.md#admins).
func (at *attempt) removeAdmins(ctx context.Context, file string, users []int64) error {
	return at.cascade(ctx, file, typeAdmins, "admin", "deleted with the user", `
		SELECT aa.id, u.sis_user_id, aa.workflow_state FROM account_admins aa JOIN users u ON u.id = aa.user_id
		JOIN accounts a ON a.id = aa.account_id
		WHERE aa.user_id = ANY($1) AND $2 = ANY(a.path) AND aa.workflow_state = 'active' AND aa.origin = 'sis' ORDER BY aa.id FOR UPDATE OF aa`, `
		SELECT count(*) FROM account_admins aa JOIN accounts a ON a.id = aa.account_id
		WHERE aa.root_account_id = $1 AND $2 = ANY(a.path) AND aa.origin = 'sis' AND aa.workflow_state = 'active'`,
		`UPDATE account_admins SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, users)
}

// deleteLogins deletes the extra logins of deleted users, as Canvas
// deletes every login of a user it deletes. A login is part of its user,
// not an object the feed lists: no threshold counts them.
func (at *attempt) deleteLogins(ctx context.Context, file string, users []int64) error {
	rows, err := at.tx.Query(ctx, `SELECT id, sis_user_id, workflow_state FROM logins
		WHERE user_id = ANY($1) AND workflow_state <> 'deleted' ORDER BY id FOR UPDATE`, users)
	if err != nil {
		return fmt.Errorf("delete logins of users: %w", err)
	}
	rm := removal{typ: typeLogins, entity: "login", file: file, target: "deleted", why: "deleted with the user",
		update: `UPDATE logins SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`}
	if rm.objects, err = scanRemoved(rows, nil); err != nil {
		return fmt.Errorf("delete logins of users: %w", err)
	}
	_, err = at.apply(ctx, rm)
	return err
}

// removeMemberships deletes the accepted group memberships of users.
// Memberships of groups created through the API stay: imports never change
// those groups (docs/import-rules.md#stickiness-and-manual-objects).
func (at *attempt) removeMemberships(ctx context.Context, file string, users []int64) error {
	return at.cascade(ctx, file, typeGroupMemberships, "group_membership", "deleted with the user", `
		SELECT m.id, u.sis_user_id, m.workflow_state FROM group_memberships m JOIN groups g ON g.id = m.group_id
		JOIN users u ON u.id = m.user_id JOIN accounts a ON a.id = g.account_id
		WHERE m.user_id = ANY($1) AND $2 = ANY(a.path) AND m.workflow_state = 'accepted' AND g.origin = 'sis' ORDER BY m.id FOR UPDATE OF m`, `
		SELECT count(*) FROM group_memberships m JOIN groups g ON g.id = m.group_id JOIN accounts a ON a.id = g.account_id
		WHERE g.root_account_id = $1 AND $2 = ANY(a.path) AND g.origin = 'sis' AND m.workflow_state = 'accepted'`,
		`UPDATE group_memberships SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, users)
}

// cascade deletes what find returns for the objects ids (users, or
// sections), inside the import's account — (id, user's SIS id, state
// before) — by update, counted against the eligible objects that count
// returns; why says with what, in each result.
func (at *attempt) cascade(ctx context.Context, file, typ, entity, why, find, count, update string, ids []int64) error {
	rows, err := at.tx.Query(ctx, find, ids, at.account.ID)
	if err != nil {
		return fmt.Errorf("delete %ss %s: %w", entity, why, err)
	}
	rm := removal{typ: typ, entity: entity, file: file, target: "deleted", why: why, update: update}
	if rm.objects, err = scanRemoved(rows, nil); err != nil || len(rm.objects) == 0 {
		return err
	}
	if err := at.tx.QueryRow(ctx, count, at.account.RootAccountID, at.account.ID).Scan(&rm.eligible); err != nil {
		return fmt.Errorf("count %ss: %w", entity, err)
	}
	rm.guarded = at.guardsCascade(rm.eligible)
	_, err = at.apply(ctx, rm)
	return err
}
