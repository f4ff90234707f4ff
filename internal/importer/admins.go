package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/result"
)

// adminRow is one row of an admins file (Canvas's admins.csv): a user's
// account role on an account.
type adminRow struct {
	UserID    string `csv:"user_id" validate:"required,max=255"`
	AccountID string `csv:"account_id" validate:"max=255"` // empty: the account the import was posted to
	Role      string `csv:"role" validate:"required_without=RoleID,max=255"`
	RoleID    string `csv:"role_id" validate:"max=20"`
	Status    string `csv:"status,lower" validate:"required,oneof=active deleted"`
	// RootAccount names another root account; as in Canvas's open-source
	// code, a row with one is not applied.
	RootAccount string `csv:"root_account" validate:"max=255"`
}

// typeAdmins is the type's name.
const typeAdmins = "admins"

func init() {
	register(&fileType{name: typeAdmins, batch: "admin", entity: "admin",
		detect: detectAdmins, detectRank: 65,
		// After enrollments and before group categories and groups, as on
		// Canvas. Batch mode does not touch admins, as on Canvas.
		applyRank: 82, layout: layoutOf(&adminRow{}), required: []string{"status"}, apply: importAdmins,
		restore: restoring("account_admins", ""),
		// Canvas's diff key: a user on an account, whatever the roles; a
		// key the file no longer lists drops the user's SIS-made admin
		// roles on that account (an empty account_id is the import's).
		diffKey: []string{"user_id", "account_id"}, diffRowKey: adminKey,
		drop: &dropRule{find: `SELECT aa.id, u.sis_user_id, aa.workflow_state FROM unnest($4::text[], $5::text[]) AS k(usr, acc)
			JOIN users u ON u.root_account_id = $1 AND u.sis_user_id = k.usr
			JOIN account_admins aa ON aa.user_id = u.id
			JOIN accounts a ON a.id = aa.account_id AND (CASE WHEN k.acc = '' THEN a.id = $2 ELSE a.sis_account_id = k.acc END)
			WHERE aa.root_account_id = $1 AND $2 = ANY(a.path) AND aa.origin = 'sis' AND aa.workflow_state NOT IN ($3, 'deleted') ORDER BY aa.id`,
			update: `UPDATE account_admins SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
	})
}

// adminKey is a diffed admins row's key: its user and account.
func adminKey(cells []string) string {
	if cells[0] == "" {
		return ""
	}
	return cells[0] + "\x00" + cells[1]
}

// detectAdmins is Canvas's test, user_id and account_id, tried after
// enrollments (a file with course_id or section_id is one) and before
// group memberships. Canvas tries users before both: a file with login_id
// is a users file here too, and so is one without login_id when
// default[login_id] supplies it, unless it has role or role_id, which a
// users file never has (docs/import-rules.md#type-detection).
func detectAdmins(h header) bool {
	switch {
	case !h.has("user_id") || !h.has("account_id") || h.has("login_id"):
		return false
	case h.defaults["login_id"] != "":
		return h.has("role") || h.has("role_id")
	}
	return true
}

// key is what identifies the row's admin in the file: user, account and
// role (by id, which wins, or by name).
func (r *adminRow) key() string {
	role := "n\x00" + strings.ToLower(r.Role)
	if r.RoleID != "" {
		role = "i\x00" + r.RoleID
	}
	return r.UserID + "\x00" + r.AccountID + "\x00" + role
}

// describe names the row's admin for messages.
func (r *adminRow) describe() string {
	role, account := fmt.Sprintf("role %q", r.Role), "the import's account"
	if r.RoleID != "" {
		role = fmt.Sprintf("role_id %s", r.RoleID)
	}
	if r.AccountID != "" {
		account = fmt.Sprintf("account %q", r.AccountID)
	}
	return fmt.Sprintf("user %q as %s on %s", r.UserID, role, account)
}

// importAdmins applies an admins file a row at a time: admins files are
// small.
func importAdmins(ctx context.Context, at *attempt, f *typedFile) error {
	roles, err := directory.LoadRoles(ctx, at.DB, at.account.RootAccountID)
	if err != nil {
		return err
	}
	return at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r adminRow
		f.fill(&r, rec)
		res.SISID = r.UserID
		key := ""
		if r.UserID != "" {
			key = r.key()
		}
		if fail := f.check(&r, rec.Line, key, "the admin "+r.describe()); fail != nil {
			return fail, nil
		}
		if f.same {
			res.Action = result.Unchanged // as in the diffing base
			return nil, nil
		}
		if r.RootAccount != "" {
			return &rowFailure{code: "other_root_account", skip: true,
				message: fmt.Sprintf("column root_account: %q names another root account; its rows are skipped, as on Canvas", r.RootAccount)}, nil
		}
		return at.applyAdmin(ctx, &r, roles, res)
	})
}

// storedAdmin is an account_admins row as an admins row finds it.
type storedAdmin struct {
	id            int64
	state, origin string
}

func (at *attempt) applyAdmin(ctx context.Context, r *adminRow, roles *directory.Roles, res *result.Result) (*rowFailure, error) {
	role, err := roles.Find(r.Role, r.RoleID, true)
	if err != nil {
		return &rowFailure{code: "unknown_reference", message: err.Error()}, nil
	}
	accountID := at.account.ID
	if r.AccountID != "" {
		a, fail, err := at.accountInScope(ctx, "account_id", r.AccountID)
		switch {
		case fail != nil || err != nil:
			return fail, err
		case a.state == "deleted":
			return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column account_id: account %q is deleted", r.AccountID)}, nil
		}
		accountID = a.id
	}
	var userID int64
	var userState string
	err = at.tx.QueryRow(ctx, `SELECT id, workflow_state FROM users WHERE root_account_id = $1 AND sis_user_id = $2`,
		at.account.RootAccountID, r.UserID).Scan(&userID, &userState)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column user_id: no user %q exists", r.UserID)}, nil
	case err != nil:
		return nil, fmt.Errorf("read user: %w", err)
	case userState == "deleted":
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column user_id: user %q is deleted", r.UserID)}, nil
	}
	var old storedAdmin
	err = at.tx.QueryRow(ctx, `SELECT id, workflow_state, origin FROM account_admins WHERE account_id = $1 AND user_id = $2 AND role_id = $3`,
		accountID, userID, role.ID).Scan(&old.id, &old.state, &old.origin)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if r.Status == "deleted" {
			return &rowFailure{code: "not_found", skip: true, message: fmt.Sprintf("the admin %s does not exist, so it cannot be deleted", r.describe())}, nil
		}
		err := at.tx.QueryRow(ctx, `INSERT INTO account_admins (root_account_id, account_id, user_id, role_id, last_import_id)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, at.account.RootAccountID, accountID, userID, role.ID, at.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create admin: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read admin: %w", err)
	}
	res.ObjectID = old.id
	switch {
	case old.state == r.Status:
		res.Action = result.Unchanged
		return nil, nil
	case old.origin == "manual":
		return &rowFailure{code: "manual_object", skip: true,
			message: fmt.Sprintf("the admin %s was not made by an import: imports never change it", r.describe())}, nil
	}
	if f := at.skipDelete("admin", old.state, r.Status); f != nil {
		return f, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE account_admins SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = $1`,
		old.id, r.Status, at.job.ID); err != nil {
		return nil, fmt.Errorf("update admin: %w", err)
	}
	res.Changes = map[string][2]any{"workflow_state": {old.state, r.Status}}
	res.Action = result.Transition(old.state, r.Status, true)
	return nil, nil
}
