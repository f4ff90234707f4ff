package importer

import (
	"context"
	"fmt"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
)

// deactivationRow is one row of a user_deactivations file (SPEC §4.11,
// seed 004): the user is found by email; every other filled column must
// agree with that user.
type deactivationRow struct {
	Email            string `validate:"required,max=255,sis_email"`
	RemoveFromGroups string `validate:"omitempty,oneof=y Y"`
	UserID           string `validate:"max=255"`
	LoginID          string `validate:"max=255"`
	IntegrationID    string `validate:"max=255"`
	AccountID        string `validate:"max=255"`
}

var deactivationColumns = []string{"email", "remove_from_groups", "user_id", "login_id", "integration_id", "account_id"}

var deactivationColumnOf = map[string]string{"Email": "email", "RemoveFromGroups": "remove_from_groups",
	"UserID": "user_id", "LoginID": "login_id", "IntegrationID": "integration_id", "AccountID": "account_id"}

func (d *deactivationRow) fields() []*string {
	return []*string{&d.Email, &d.RemoveFromGroups, &d.UserID, &d.LoginID, &d.IntegrationID, &d.AccountID}
}

type deactivationItem struct {
	line   int
	fields []string
	row    deactivationRow
	fail   *rowFailure
}

// importDeactivations suspends the users a user_deactivations file lists,
// a batch at a time, and with remove_from_groups removes their group
// memberships.
func (ru *run) importDeactivations(ctx context.Context, file string, head csvread.Record, cols map[string]int, rd *csvread.Reader) error {
	idx := positions(deactivationColumns, cols)
	seen := ru.newKeySet()
	parse := func(rec csvread.Record, fail *rowFailure) deactivationItem {
		it := deactivationItem{line: rec.Line, fields: rec.Fields, fail: fail}
		if fail != nil {
			return it
		}
		for i, f := range it.row.fields() {
			*f = cell(rec.Fields, idx[i])
		}
		it.fail = validateRow(&it.row, deactivationColumnOf)
		if it.fail == nil {
			if first, dup := seen.add(strings.ToLower(it.row.Email), rec.Line); dup {
				it.fail = &rowFailure{code: "duplicate_in_file", message: fmt.Sprintf("email %q already appears on line %d; the first row wins", it.row.Email, first)}
			}
		}
		return it
	}
	return readBatches(rd, len(head.Fields), parse, func(batch []deactivationItem) error { return ru.applyDeactivations(ctx, file, batch) })
}

type deactivationTarget struct {
	id                                      int64
	sis, login, integration, account, state string
}

func (ru *run) applyDeactivations(ctx context.Context, file string, batch []deactivationItem) error {
	emails := make([]string, 0, len(batch))
	for _, it := range batch {
		if it.fail == nil {
			emails = append(emails, strings.ToLower(it.row.Email))
		}
	}
	rows, err := ru.tx.Query(ctx, `SELECT u.id, u.key, COALESCE(u.sis_user_id, ''), u.login_id, COALESCE(u.integration_id, ''),
			COALESCE(a.sis_account_id, a.id::text), a.id::text, u.workflow_state
		FROM `+usersByKey("$3", keyColumns["email"])+` JOIN accounts a ON a.id = u.account_id WHERE $2 = ANY(a.path)`,
		ru.account.RootAccountID, ru.account.ID, emails)
	if err != nil {
		return fmt.Errorf("find users by email: %w", err)
	}
	byEmail := map[string][]deactivationTarget{}
	for rows.Next() {
		var t deactivationTarget
		var email, accountID string
		if err := rows.Scan(&t.id, &email, &t.sis, &t.login, &t.integration, &t.account, &accountID, &t.state); err != nil {
			rows.Close()
			return fmt.Errorf("find users by email: %w", err)
		}
		t.account += "\x00" + accountID // either the account's SIS id or its id may be given
		byEmail[email] = append(byEmail[email], t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find users by email: %w", err)
	}
	results := make([]Result, len(batch))
	var ids, ungroup []int64
	for i := range batch {
		it := &batch[i]
		res := &results[i]
		*res = Result{File: file, Row: it.line, Entity: "user"}
		f := it.fail
		var t deactivationTarget
		if f == nil {
			found := byEmail[strings.ToLower(it.row.Email)]
			switch {
			case len(found) == 0:
				f = &rowFailure{code: "not_found", skip: true, message: fmt.Sprintf("no user in this account has the email %q", it.row.Email)}
			case len(found) > 1:
				f = &rowFailure{code: "ambiguous_match", message: fmt.Sprintf("%d users have the email %q", len(found), it.row.Email)}
			default:
				t = found[0]
				f = identityCheck(&it.row, t)
			}
		}
		if f != nil {
			res.fail(f, it.fields, nil, len(it.fields))
			continue
		}
		res.SISID, res.ObjectID = t.sis, t.id
		if it.row.RemoveFromGroups != "" {
			ungroup = append(ungroup, t.id)
		}
		if t.state == "suspended" {
			res.Action = Unchanged
			continue
		}
		res.Action = Deactivated
		res.Changes = map[string][2]any{"workflow_state": {t.state, "suspended"}}
		ids = append(ids, t.id)
	}
	if len(ids) > 0 {
		if _, err := ru.tx.Exec(ctx, `UPDATE users SET workflow_state = 'suspended', updated_at = now(), last_import_id = $2
			WHERE id = ANY($1)`, ids, ru.job.ID); err != nil {
			return fmt.Errorf("deactivate users: %w", err)
		}
	}
	ru.record(typeUserDeactivation, results)
	if len(ungroup) > 0 {
		if err := ru.removeMemberships(ctx, file, ungroup); err != nil {
			return err
		}
	}
	return ru.progress(ctx)
}

// identityCheck fails a row whose filled columns disagree with the user its
// email found (identity_mismatch): the user is then left as is.
func identityCheck(r *deactivationRow, t deactivationTarget) *rowFailure {
	sisAccount, idAccount, _ := strings.Cut(t.account, "\x00")
	checks := []struct{ col, got, want string }{
		{"user_id", r.UserID, t.sis}, {"integration_id", r.IntegrationID, t.integration},
	}
	for _, c := range checks {
		if c.got != "" && c.got != c.want {
			return &rowFailure{code: "identity_mismatch", message: fmt.Sprintf("column %s: %q, but the user with email %q has %q", c.col, c.got, r.Email, c.want)}
		}
	}
	if r.LoginID != "" && !strings.EqualFold(r.LoginID, t.login) {
		return &rowFailure{code: "identity_mismatch", message: fmt.Sprintf("column login_id: %q, but the user with email %q has %q", r.LoginID, r.Email, t.login)}
	}
	if r.AccountID != "" && r.AccountID != sisAccount && r.AccountID != idAccount {
		return &rowFailure{code: "identity_mismatch", message: fmt.Sprintf("column account_id: %q, but the user with email %q belongs to account %q", r.AccountID, r.Email, sisAccount)}
	}
	return nil
}
