package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
)

// accountRow is one row of an accounts file (Canvas's accounts.csv).
type accountRow struct {
	AccountID       string `validate:"required,max=255"`
	ParentAccountID string `validate:"max=255"`
	Name            string `validate:"required,max=255"`
	Status          string `validate:"required,oneof=active deleted"`
}

var accountColumns = []string{"account_id", "parent_account_id", "name", "status"}

var accountColumnOf = map[string]string{"AccountID": "account_id", "ParentAccountID": "parent_account_id", "Name": "name", "Status": "status"}

func (r *accountRow) fields() []*string {
	return []*string{&r.AccountID, &r.ParentAccountID, &r.Name, &r.Status}
}

// storedAccount is an account as an accounts file compares and writes it.
type storedAccount struct {
	id       int64
	parentID *int64
	name     string
	state    string
	path     []int64
}

// importAccounts applies an accounts file. Accounts form a tree whose
// parent must exist or come earlier in the file, so rows apply in file
// order, one statement each: accounts files are small.
func (ru *run) importAccounts(ctx context.Context, file string, head csvread.Record, cols map[string]int, rd *csvread.Reader) error {
	if err := ru.checkColumns(file, "accounts", head, cols, accountColumns, []string{"name", "status"}); err != nil {
		return err
	}
	idx := positions(accountColumns, cols)
	st := ru.stream(typeAccounts, file)
	return ru.eachRow(ctx, file, typeAccounts, "account", len(head.Fields), rd, func(ctx context.Context, rec csvread.Record, res *Result) (*rowFailure, error) {
		return ru.applyAccount(ctx, rec, idx, st, res)
	})
}

func (ru *run) applyAccount(ctx context.Context, rec csvread.Record, idx []int, st *fileStream, res *Result) (*rowFailure, error) {
	fail := func(code, msg string) (*rowFailure, error) {
		return &rowFailure{code: code, message: msg}, nil
	}
	var r accountRow
	fillRow(r.fields(), rec, idx)
	r.Status = strings.ToLower(r.Status)
	res.SISID = r.AccountID
	if f := validateRow(&r, accountColumnOf); f != nil {
		return f, nil
	}
	if f := st.duplicate("account_id", r.AccountID, rec.Line); f != nil {
		return f, nil
	}
	old, err := ru.accountBySIS(ctx, r.AccountID)
	if err != nil {
		return nil, err
	}
	if old != nil && (old.id == ru.account.ID || !slices.Contains(old.path, ru.account.ID)) {
		return fail("out_of_scope", fmt.Sprintf("account %q is not inside the account this import was posted to", r.AccountID))
	}
	parent := &storedAccount{id: ru.account.ID, path: ru.account.Path}
	if r.ParentAccountID != "" {
		if parent, err = ru.accountBySIS(ctx, r.ParentAccountID); err != nil {
			return nil, err
		}
		if parent == nil {
			return fail("unknown_reference", fmt.Sprintf("column parent_account_id: no account %q exists or comes earlier in the file", r.ParentAccountID))
		}
		if !slices.Contains(parent.path, ru.account.ID) {
			return fail("out_of_scope", fmt.Sprintf("column parent_account_id: account %q is outside the account this import was posted to", r.ParentAccountID))
		}
		if old != nil && slices.Contains(parent.path, old.id) {
			return fail("invalid_value", fmt.Sprintf("column parent_account_id: %q is inside account %q, which cannot become its own ancestor", r.ParentAccountID, r.AccountID))
		}
	}
	if old == nil {
		if r.Status == "deleted" {
			return notFound("account", r.AccountID), nil
		}
		err := ru.tx.QueryRow(ctx, `WITH n AS (SELECT nextval('accounts_id_seq') AS id)
			INSERT INTO accounts (id, parent_account_id, root_account_id, path, name, sis_account_id, last_import_id)
			SELECT n.id, $1, $2, $3::bigint[] || n.id, $4, $5, $6 FROM n RETURNING id`,
			parent.id, ru.account.RootAccountID, parent.path, r.Name, r.AccountID, ru.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
		res.Action = Created
		return nil, nil
	}
	res.ObjectID = old.id
	changes := map[string][2]any{}
	if old.name != r.Name {
		changes["name"] = [2]any{old.name, r.Name}
	}
	if old.parentID == nil || *old.parentID != parent.id {
		changes["parent_account_id"] = [2]any{old.parentID, parent.id}
	}
	if old.state != r.Status {
		changes["workflow_state"] = [2]any{old.state, r.Status}
	}
	if len(changes) == 0 {
		res.Action = Unchanged
		return nil, nil
	}
	res.Action = transitionAction(old.state, r.Status, true)
	if f := ru.skipDelete("account", old.state, r.Status); f != nil {
		return f, nil
	}
	res.Changes = changes
	if _, err := ru.tx.Exec(ctx, `UPDATE accounts SET name = $2, parent_account_id = $3, workflow_state = $4, updated_at = now(),
		last_import_id = $5 WHERE id = $1`, old.id, r.Name, parent.id, r.Status, ru.job.ID); err != nil {
		return nil, fmt.Errorf("update account: %w", err)
	}
	if _, moved := changes["parent_account_id"]; moved {
		// The account and its subtree hang below the new parent now.
		if _, err := ru.tx.Exec(ctx, `UPDATE accounts SET path = $2::bigint[] || path[array_position(path, $1::bigint):]
			WHERE $1 = ANY(path)`, old.id, parent.path); err != nil {
			return nil, fmt.Errorf("move account: %w", err)
		}
	}
	return nil, nil
}

// accountBySIS reads an account of the root account by SIS id, in the
// import's transaction (so accounts made earlier in the file are found).
func (ru *run) accountBySIS(ctx context.Context, sis string) (*storedAccount, error) {
	a := &storedAccount{}
	err := ru.tx.QueryRow(ctx, `SELECT id, parent_account_id, name, workflow_state, path FROM accounts
		WHERE root_account_id = $1 AND sis_account_id = $2`, ru.account.RootAccountID, sis).Scan(&a.id, &a.parentID, &a.name, &a.state, &a.path)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	return a, nil
}
