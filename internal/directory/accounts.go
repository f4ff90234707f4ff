// Package directory is the objects imports apply to (accounts, users,
// enrollments, groups, user properties) as the API reads and writes them:
// their types and that SQL. Imports read and write the same tables with
// their own statements, a batch at a time (internal/importer).
package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Account is a node of the account tree.
type Account struct {
	ID              int64   `json:"id"`
	Name            string  `json:"name"`
	ParentAccountID *int64  `json:"parent_account_id"`
	RootAccountID   int64   `json:"root_account_id"`
	SISAccountID    *string `json:"sis_account_id"`
	IntegrationID   *string `json:"integration_id"`
	WorkflowState   string  `json:"workflow_state"`
	// StickyFields are the fields edited through the API, which imports
	// leave alone (docs/import-rules.md#stickiness-and-manual-objects).
	StickyFields []string  `json:"sticky_fields"`
	Path         []int64   `json:"-"`
	CreatedAt    time.Time `json:"-"`
}

const accountColumns = `id, name, parent_account_id, root_account_id, sis_account_id, integration_id, workflow_state, sticky_fields, path, created_at`

func scanAccount(row pgx.Row) (Account, error) {
	var a Account
	err := row.Scan(&a.ID, &a.Name, &a.ParentAccountID, &a.RootAccountID, &a.SISAccountID, &a.IntegrationID, &a.WorkflowState, &a.StickyFields,
		&a.Path, &a.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, errs.ErrNotFound
	}
	return a, err
}

// CreateAccount makes a root account (parent nil) or a sub-account.
func CreateAccount(ctx context.Context, db *pgxpool.Pool, name string, parent *int64, sisID string) (Account, error) {
	if strings.TrimSpace(name) == "" {
		return Account{}, errs.New(errs.Invalid, "missing_value", "account name is required")
	}
	var sis *string
	if sisID != "" {
		sis = &sisID
	}
	row := db.QueryRow(ctx, `
		WITH p AS (SELECT id, root_account_id, path FROM accounts WHERE id = $2),
		     n AS (SELECT nextval('accounts_id_seq') AS id)
		INSERT INTO accounts (id, parent_account_id, root_account_id, path, name, sis_account_id)
		SELECT n.id, p.id, COALESCE(p.root_account_id, n.id), COALESCE(p.path, '{}') || n.id, $1, $3
		FROM n LEFT JOIN p ON true
		WHERE $2::bigint IS NULL OR p.id IS NOT NULL
		RETURNING `+accountColumns, name, parent, sis)
	a, err := scanAccount(row)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return a, errs.New(errs.Conflict, "sis_id_taken", "sis_account_id %q is already used in this root account", sisID)
	}
	if errs.KindOf(err) == errs.NotFound {
		return a, errs.New(errs.NotFound, "not_found", "parent account %d does not exist", *parent)
	}
	if err != nil {
		return a, fmt.Errorf("create account: %w", err)
	}
	return a, nil
}

// GetAccount reads one account by id.
func GetAccount(ctx context.Context, db *pgxpool.Pool, id int64) (Account, error) {
	a, err := scanAccount(db.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return a, fmt.Errorf("get account: %w", err)
	}
	return a, err
}

// ResolveAccount finds the account a path names — an id, "self" (the
// caller's own account) or "sis_account_id:X" — among the accounts of the
// subtree of reach. Anything outside that subtree is not found.
func ResolveAccount(ctx context.Context, db *pgxpool.Pool, ref string, reach, root int64) (Account, error) {
	cond, args, err := AccountMatch(ref, reach, root, 1)
	if err != nil {
		return Account{}, err
	}
	a, err := scanAccount(db.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE `+cond, args...))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return a, fmt.Errorf("resolve account: %w", err)
	}
	return a, err
}

// AccountMatch is ResolveAccount's condition on "accounts a" and its
// arguments, numbered from $first, for a query that reads something of
// the account in the same round trip.
func AccountMatch(ref string, reach, root int64, first int) (string, []any, error) {
	if ref == "self" {
		return fmt.Sprintf("a.id = $%d", first), []any{reach}, nil
	}
	return refMatch("a", "sis_account_id", ref, reach, root, first)
}

// refMatch is the condition that finds what a path names — an id or
// "<sisColumn>:X" — in the table aliased t, among the rows whose account,
// joined as "accounts a", is in the subtree of reach, and its arguments,
// numbered from $first. A ref that is neither is not found.
func refMatch(t, sisColumn, ref string, reach, root int64, first int) (string, []any, error) {
	if sis, ok := strings.CutPrefix(ref, sisColumn+":"); ok {
		return fmt.Sprintf("%s.root_account_id = $%d AND %s.%s = $%d AND $%d = ANY(a.path)", t, first, t, sisColumn, first+1, first+2),
			[]any{root, sis, reach}, nil
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return "", nil, errs.ErrNotFound
	}
	return fmt.Sprintf("%s.id = $%d AND $%d = ANY(a.path)", t, first, first+1), []any{id, reach}, nil
}

// AccountEdit is a manual edit of an account; nil fields are left alone.
type AccountEdit struct {
	Name, SISAccountID, IntegrationID *string
	// ParentAccountID names the new parent: an id or sis_account_id:X.
	ParentAccountID *string
}

// UpdateAccount edits account a, for a token of account reach: its name and
// parent stick (docs/import-rules.md#stickiness-and-manual-objects). A new
// parent is an account of the subtree of reach that is not deleted and not
// inside a's own subtree; the account's subtree moves with it.
func UpdateAccount(ctx context.Context, db *pgxpool.Pool, a Account, reach int64, in AccountEdit) (Account, error) {
	for param, v := range map[string]*string{"account[name]": in.Name, "account[sis_account_id]": in.SISAccountID,
		"account[integration_id]": in.IntegrationID} {
		if err := text(param, v, param == "account[name]"); err != nil {
			return Account{}, err
		}
	}
	err := inTx(ctx, db, func(tx pgx.Tx) error {
		var e edit
		if in.Name != nil {
			e.col("name", strings.TrimSpace(*in.Name), "name")
		}
		if in.SISAccountID != nil {
			e.col("sis_account_id", orNull(in.SISAccountID), "")
		}
		if in.IntegrationID != nil {
			e.col("integration_id", orNull(in.IntegrationID), "")
		}
		var parent *Account
		if in.ParentAccountID != nil {
			p, err := newParent(ctx, tx, a, reach, *in.ParentAccountID)
			if err != nil {
				return err
			}
			parent = &p
			e.col("parent_account_id", p.ID, "parent_account_id")
		}
		if err := e.apply(ctx, tx, "accounts", a.ID); err != nil {
			return err
		}
		if parent == nil || parent.ID == *a.ParentAccountID {
			return nil
		}
		// The account and its subtree hang below the new parent now.
		_, err := tx.Exec(ctx, `UPDATE accounts SET path = $2::bigint[] || path[array_position(path, $1::bigint):] WHERE $1 = ANY(path)`,
			a.ID, parent.Path)
		return err
	})
	if err := editError("update account", err, map[string]string{
		"accounts_sis_id":         "account[sis_account_id]: already used by another account of this root account",
		"accounts_integration_id": "account[integration_id]: already used by another account of this root account",
	}); err != nil {
		return Account{}, err
	}
	return GetAccount(ctx, db, a.ID)
}

// newParent resolves account[parent_account_id] for account a.
func newParent(ctx context.Context, tx pgx.Tx, a Account, reach int64, ref string) (Account, error) {
	bad := func(format string, args ...any) (Account, error) {
		return Account{}, errs.New(errs.Invalid, "invalid_value", "account[parent_account_id]: "+format, args...)
	}
	if a.ParentAccountID == nil {
		return bad("account %d is a root account, which has no parent", a.ID)
	}
	cond, args, err := AccountMatch(strings.TrimSpace(ref), reach, a.RootAccountID, 1)
	if err != nil {
		return bad("%q is not an account id or sis_account_id:X", ref)
	}
	p, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE `+cond+` FOR SHARE`, args...))
	switch {
	case errs.KindOf(err) == errs.NotFound:
		return bad("no account %q within reach of the token", ref)
	case err != nil:
		return Account{}, err
	case p.WorkflowState == "deleted":
		return bad("account %q is deleted", ref)
	case slices.Contains(p.Path, a.ID):
		return bad("account %q is inside account %d, which cannot become its own ancestor", ref, a.ID)
	}
	return p, nil
}
