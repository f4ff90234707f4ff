package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// accountRow is one row of an accounts file (Canvas's accounts.csv).
type accountRow struct {
	AccountID       string `csv:"account_id" validate:"required,max=255"`
	ParentAccountID string `csv:"parent_account_id" validate:"max=255"`
	Name            string `csv:"name" validate:"required,max=255"`
	Status          string `csv:"status,lower" validate:"required,oneof=active deleted"`
	IntegrationID   string `csv:"integration_id" validate:"max=255"`
}

// typeAccounts is the type's name.
const typeAccounts = "accounts"

func init() {
	register(&fileType{name: typeAccounts, batch: "account", entity: "account",
		detect: func(h header) bool { return h.has("account_id") && h.has("parent_account_id") }, detectRank: 20,
		applyRank: 20, layout: layoutOf(&accountRow{}), required: []string{"name", "status"}, apply: importAccounts,
		restore: restoring("accounts", "sis_account_id", "name", "integration_id", "sticky_fields"),
		ids:     &idTarget{"accounts", "sis_account_id", "integration_id", "t.id"},
		diffKey: []string{"account_id"}, drop: &dropRule{find: `SELECT x.id, x.sis_account_id, x.workflow_state FROM accounts x
			WHERE x.root_account_id = $1 AND $2 = ANY(x.path) AND x.id <> $2 AND x.sis_account_id = ANY($4)
			  AND x.workflow_state NOT IN ($3, 'deleted') ORDER BY x.id`,
			update: `UPDATE accounts SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
	})
}

// storedAccount is an account as an accounts file compares and writes it.
type storedAccount struct {
	id            int64
	parentID      *int64
	name          string
	state         string
	path          []int64
	integrationID *string
	sticky        []string
}

// importAccounts applies an accounts file. Accounts form a tree whose
// parent must exist or come earlier in the file, so rows apply in file
// order, one statement each: accounts files are small.
func importAccounts(ctx context.Context, at *attempt, f *typedFile) error {
	return at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r accountRow
		f.fill(&r, rec)
		res.SISID = r.AccountID
		if fail := f.check(&r, rec.Line, r.AccountID, fmt.Sprintf("account_id %q", r.AccountID)); fail != nil {
			return fail, nil
		}
		if f.same {
			res.Action = result.Unchanged // as in the diffing base
			return nil, nil
		}
		integrationID := assigned(r.IntegrationID, f.has("integration_id"))
		return at.applyAccount(ctx, &r, integrationID, res)
	})
}

// applyAccount applies a row, whose integration_id cell integrationID is.
func (at *attempt) applyAccount(ctx context.Context, r *accountRow, integrationID assignment, res *result.Result) (*rowFailure, error) {
	fail := func(code, msg string) (*rowFailure, error) {
		return &rowFailure{code: code, message: msg}, nil
	}
	old, err := at.readAccount(ctx, r.AccountID, true)
	if err != nil {
		return nil, err
	}
	if old != nil && (old.id == at.account.ID || !slices.Contains(old.path, at.account.ID)) {
		return fail("out_of_scope", fmt.Sprintf("account %q is not inside the account this import was posted to", r.AccountID))
	}
	parent := &storedAccount{id: at.account.ID, path: at.account.Path}
	if r.ParentAccountID != "" {
		if parent, err = at.accountBySIS(ctx, r.ParentAccountID); err != nil {
			return nil, err
		}
		if parent == nil {
			return fail("unknown_reference", fmt.Sprintf("column parent_account_id: no account %q exists or comes earlier in the file", r.ParentAccountID))
		}
		if !slices.Contains(parent.path, at.account.ID) {
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
		integration := integrationID.over(nil)
		if fail, err := at.integrationTaken(ctx, "account", 0, integration); fail != nil || err != nil {
			return fail, err
		}
		err := at.tx.QueryRow(ctx, `WITH n AS (SELECT nextval('accounts_id_seq') AS id)
			INSERT INTO accounts (id, parent_account_id, root_account_id, path, name, sis_account_id, integration_id, last_import_id)
			SELECT n.id, $1, $2, $3::bigint[] || n.id, $4, $5, $6, $7 FROM n RETURNING id`,
			parent.id, at.account.RootAccountID, parent.path, r.Name, r.AccountID, integration, at.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create account: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	}
	res.ObjectID = old.id
	integration := integrationID.over(old.integrationID)
	changes := map[string][2]any{}
	name, parentID := r.Name, parent.id
	if old.name != name {
		changes["name"] = [2]any{old.name, name}
	}
	if old.parentID == nil || *old.parentID != parentID {
		changes["parent_account_id"] = [2]any{old.parentID, parentID}
	}
	if old.state != r.Status {
		changes["workflow_state"] = [2]any{old.state, r.Status}
	}
	diffPtr(changes, "integration_id", old.integrationID, integration)
	st := at.stickiness(old.sticky)
	oldParent := parentID
	if old.parentID != nil {
		oldParent = *old.parentID
	}
	st.hold(changes, sticks("name", &name, old.name), sticks("parent_account_id", &parentID, oldParent))
	if fail := st.settle(changes); fail != nil {
		return fail, nil
	}
	if len(changes) == 0 {
		res.Action = result.Unchanged
		return nil, nil
	}
	res.Action = result.Transition(old.state, r.Status, true)
	if f := at.skipDelete("account", old.state, r.Status); f != nil {
		return f, nil
	}
	if _, ok := changes["integration_id"]; ok {
		if fail, err := at.integrationTaken(ctx, "account", old.id, integration); fail != nil || err != nil {
			return fail, err
		}
	}
	res.Changes = changes
	if _, err := at.tx.Exec(ctx, `UPDATE accounts SET name = $2, parent_account_id = $3, workflow_state = $4, integration_id = $5,
		updated_at = now(), last_import_id = $6, sticky_fields = $7 WHERE id = $1`,
		old.id, name, parentID, r.Status, integration, at.job.ID, nonNil(st.after)); err != nil {
		return nil, fmt.Errorf("update account: %w", err)
	}
	if _, moved := changes["parent_account_id"]; moved {
		// The account and its subtree hang below the new parent now.
		if _, err := at.tx.Exec(ctx, `UPDATE accounts SET path = $2::bigint[] || path[array_position(path, $1::bigint):]
			WHERE $1 = ANY(path)`, old.id, parent.path); err != nil {
			return nil, fmt.Errorf("move account: %w", err)
		}
	}
	return nil, nil
}

// integrationTables are the tables of the entities whose integration ids
// integrationTaken checks.
var integrationTables = map[string]string{"account": "accounts", "term": "terms", "course": "courses"}

// integrationTaken fails a row that would give an object of the entity
// (id, 0 for a new one) an integration id another object of the root
// account holds, deleted ones included: they are unique per root account
// and type.
func (at *attempt) integrationTaken(ctx context.Context, entity string, id int64, integrationID *string) (*rowFailure, error) {
	if integrationID == nil {
		return nil, nil
	}
	var taken bool
	if err := at.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+integrationTables[entity]+` WHERE root_account_id = $1 AND integration_id = $2 AND id <> $3)`,
		at.account.RootAccountID, *integrationID, id).Scan(&taken); err != nil {
		return nil, fmt.Errorf("read %s integration ids: %w", entity, err)
	}
	if taken {
		return &rowFailure{code: "exists", message: fmt.Sprintf("column integration_id: %q belongs to another %s", *integrationID, entity)}, nil
	}
	return nil, nil
}

// accountBySIS reads an account of the root account by SIS id, in the
// import's transaction (so accounts made earlier in the file are found).
func (at *attempt) accountBySIS(ctx context.Context, sis string) (*storedAccount, error) {
	return at.readAccount(ctx, sis, false)
}

// readAccount is accountBySIS, locking the account when lock says so
// (forUpdate).
func (at *attempt) readAccount(ctx context.Context, sis string, lock bool) (*storedAccount, error) {
	a := &storedAccount{}
	err := at.tx.QueryRow(ctx, `SELECT id, parent_account_id, name, workflow_state, path, integration_id, sticky_fields FROM accounts
		WHERE root_account_id = $1 AND sis_account_id = $2`+forUpdate(lock, ""), at.account.RootAccountID, sis).Scan(&a.id, &a.parentID, &a.name, &a.state, &a.path,
		&a.integrationID, &a.sticky)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	return a, nil
}
