package importer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// deactivationRow is one row of a user_deactivations file
// (docs/import-rules.md#bulk-deactivation): the user is found by email;
// every other filled column must agree with that user.
type deactivationRow struct {
	Email            string `csv:"email" validate:"required,max=255,sis_email"`
	RemoveFromGroups string `csv:"remove_from_groups" validate:"omitempty,oneof=y Y"`
	UserID           string `csv:"user_id" validate:"max=255"`
	CanvasUserID     string `csv:"canvas_user_id" validate:"max=255"`
	LoginID          string `csv:"login_id" validate:"max=255"`
	IntegrationID    string `csv:"integration_id" validate:"max=255"`
	AccountID        string `csv:"account_id" validate:"max=255"`
}

// typeUserDeactivation is the type's name.
const typeUserDeactivation = "user_deactivations"

func init() {
	register(&fileType{name: typeUserDeactivation, batch: "user_deactivation", entity: "user",
		detect: func(h header) bool { return h.has("email") && h.has("remove_from_groups") }, detectRank: 50,
		applyRank: 50, layout: layoutOf(&deactivationRow{}), apply: importDeactivations,
	})
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
func importDeactivations(ctx context.Context, at *attempt, f *typedFile) error {
	parse := func(rec csvread.Record, fail *rowFailure) deactivationItem {
		it := deactivationItem{line: rec.Line, fields: rec.Fields, fail: fail}
		if fail != nil {
			return it
		}
		f.fill(&it.row, rec)
		it.fail = f.check(&it.row, rec.Line, strings.ToLower(it.row.Email), fmt.Sprintf("email %q", it.row.Email))
		return it
	}
	return readBatches(f, parse, func(batch []deactivationItem) error { return at.applyDeactivations(ctx, f, batch) })
}

type deactivationTarget struct {
	id                                      int64
	sis, login, integration, account, state string
}

func (at *attempt) applyDeactivations(ctx context.Context, file *typedFile, batch []deactivationItem) error {
	emails := make([]string, 0, len(batch))
	for _, it := range batch {
		if it.fail == nil {
			emails = append(emails, strings.ToLower(it.row.Email))
		}
	}
	rows, err := at.tx.Query(ctx, `SELECT u.id, u.key, COALESCE(u.sis_user_id, ''), u.login_id, COALESCE(u.integration_id, ''),
			COALESCE(a.sis_account_id, a.id::text), a.id::text, u.workflow_state
		FROM `+usersByKey("$3", keyColumns["email"])+` JOIN accounts a ON a.id = u.account_id WHERE $2 = ANY(a.path)`,
		at.account.RootAccountID, at.account.ID, emails)
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
	results := make([]result.Result, len(batch))
	var ids, ungroup []int64
	for i := range batch {
		it := &batch[i]
		res := &results[i]
		*res = result.Result{File: file.name, Row: it.line, Entity: "user"}
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
				f = identityCheck(&it.row, t, file.view.column)
			}
		}
		if f != nil {
			failResult(res, f, it.fields, nil, len(it.fields))
			continue
		}
		res.SISID, res.ObjectID = t.sis, t.id
		if it.row.RemoveFromGroups != "" {
			ungroup = append(ungroup, t.id)
		}
		if t.state == "suspended" {
			res.Action = result.Unchanged
			continue
		}
		res.Action = result.Deactivated
		res.Changes = map[string][2]any{"workflow_state": {t.state, "suspended"}}
		ids = append(ids, t.id)
	}
	if len(ids) > 0 {
		if _, err := at.tx.Exec(ctx, `UPDATE users SET workflow_state = 'suspended', updated_at = now(), last_import_id = $2
			WHERE id = ANY($1)`, ids, at.job.ID); err != nil {
			return fmt.Errorf("deactivate users: %w", err)
		}
	}
	at.record(typeUserDeactivation, results)
	if len(ungroup) > 0 {
		if err := at.removeMemberships(ctx, file.name, ungroup); err != nil {
			return err
		}
	}
	return at.progress(ctx)
}

// identityCheck fails a row whose filled columns disagree with the user its
// email found (identity_mismatch): the user is then left as is. column
// names a column as the file names it.
func identityCheck(r *deactivationRow, t deactivationTarget, column func(string) string) *rowFailure {
	sisAccount, idAccount, _ := strings.Cut(t.account, "\x00")
	mismatch := func(col, got, want string) *rowFailure {
		return &rowFailure{code: "identity_mismatch", message: fmt.Sprintf("column %s: %q, but the user with email %q has %q", column(col), got, r.Email, want)}
	}
	checks := []struct{ col, got, want string }{
		{"user_id", r.UserID, t.sis}, {"integration_id", r.IntegrationID, t.integration}, {"canvas_user_id", r.CanvasUserID, strconv.FormatInt(t.id, 10)},
	}
	for _, c := range checks {
		if c.got != "" && c.got != c.want {
			return mismatch(c.col, c.got, c.want)
		}
	}
	if r.LoginID != "" && !strings.EqualFold(r.LoginID, t.login) {
		return mismatch("login_id", r.LoginID, t.login)
	}
	if r.AccountID != "" && r.AccountID != sisAccount && r.AccountID != idAccount {
		return &rowFailure{code: "identity_mismatch", message: fmt.Sprintf("column %s: %q, but the user with email %q belongs to account %q", column("account_id"), r.AccountID, r.Email, sisAccount)}
	}
	return nil
}
