package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	idx := positions(accountColumns, cols)
	for _, c := range []string{"name", "status"} {
		if idx[slices.Index(accountColumns, c)] < 0 {
			return &fileError{Code: "missing_column", Message: fmt.Sprintf("line %d: an accounts file needs the column %s", head.Line, c)}
		}
	}
	seen := newKeySet()
	var results []Result
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		res := Result{File: file, Entity: "account"}
		var rowErr *csvread.RowError
		switch {
		case errors.As(err, &rowErr):
			f := malformed(rowErr)
			res.Row, res.Action, res.Code, res.Message = rowErr.Line, Failed, f.code, f.message
		case err != nil:
			return csvFileError(err)
		default:
			res.Row = rec.Line
			if err := ru.applyAccount(ctx, rec, head, idx, seen, &res); err != nil {
				return err
			}
		}
		results = append(results, res)
		if len(results) == batchSize {
			ru.record(typeAccounts, results)
			results = nil
		}
	}
	ru.record(typeAccounts, results)
	return ru.progress(ctx)
}

func (ru *run) applyAccount(ctx context.Context, rec csvread.Record, head csvread.Record, idx []int, seen *keySet, res *Result) error {
	fail := func(code, msg string) error {
		res.Action, res.Code, res.Message, res.RowInfo = Failed, code, msg, rowInfo(rec.Fields, nil, len(head.Fields))
		return nil
	}
	if len(rec.Fields) != len(head.Fields) {
		f := wrongWidth(len(rec.Fields), len(head.Fields))
		return fail(f.code, f.message)
	}
	var r accountRow
	for i, f := range r.fields() {
		*f = cell(rec.Fields, idx[i])
	}
	r.Status = strings.ToLower(r.Status)
	res.SISID = r.AccountID
	if f := validateRow(&r, accountColumnOf); f != nil {
		return fail(f.code, f.message)
	}
	if first, dup := seen.add(r.AccountID, rec.Line); dup {
		return fail("duplicate_in_file", fmt.Sprintf("account_id %q already appears on line %d; the first row wins", r.AccountID, first))
	}
	old, err := ru.accountBySIS(ctx, r.AccountID)
	if err != nil {
		return err
	}
	if old != nil && (old.id == ru.account.ID || !slices.Contains(old.path, ru.account.ID)) {
		return fail("out_of_scope", fmt.Sprintf("account %q is not inside the account this import was posted to", r.AccountID))
	}
	parent := &storedAccount{id: ru.account.ID, path: ru.account.Path}
	if r.ParentAccountID != "" {
		if parent, err = ru.accountBySIS(ctx, r.ParentAccountID); err != nil {
			return err
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
			res.Action, res.Code, res.Message = Skipped, "not_found", fmt.Sprintf("account %q does not exist, so it cannot be deleted", r.AccountID)
			return nil
		}
		err := ru.tx.QueryRow(ctx, `WITH n AS (SELECT nextval('accounts_id_seq') AS id)
			INSERT INTO accounts (id, parent_account_id, root_account_id, path, name, sis_account_id)
			SELECT n.id, $1, $2, $3::bigint[] || n.id, $4, $5 FROM n RETURNING id`,
			parent.id, ru.account.RootAccountID, parent.path, r.Name, r.AccountID).Scan(&res.ObjectID)
		if err != nil {
			return fmt.Errorf("create account: %w", err)
		}
		res.Action = Created
		return nil
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
	switch {
	case len(changes) == 0:
		res.Action = Unchanged
		return nil
	case r.Status == "deleted" && old.state != "deleted":
		res.Action = Deleted
	case r.Status == "active" && old.state == "deleted":
		res.Action = Reactivated
	default:
		res.Action = Updated
	}
	res.Changes = changes
	if _, err := ru.tx.Exec(ctx, `UPDATE accounts SET name = $2, parent_account_id = $3, workflow_state = $4, updated_at = now() WHERE id = $1`,
		old.id, r.Name, parent.id, r.Status); err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	if _, moved := changes["parent_account_id"]; moved {
		// The account and its subtree hang below the new parent now.
		if _, err := ru.tx.Exec(ctx, `UPDATE accounts SET path = $2::bigint[] || path[array_position(path, $1::bigint):]
			WHERE $1 = ANY(path)`, old.id, parent.path); err != nil {
			return fmt.Errorf("move account: %w", err)
		}
	}
	return nil
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
