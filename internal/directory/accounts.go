// Package directory is the objects imports apply to (accounts, users,
// enrollments, groups, user properties) as the API reads and writes them:
// their types and that SQL. Imports read and write the same tables with
// their own statements, a batch at a time (internal/importer).
package directory

import (
	"context"
	"errors"
	"fmt"
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
	ID              int64     `json:"id"`
	Name            string    `json:"name"`
	ParentAccountID *int64    `json:"parent_account_id"`
	RootAccountID   int64     `json:"root_account_id"`
	SISAccountID    *string   `json:"sis_account_id"`
	IntegrationID   *string   `json:"integration_id"`
	WorkflowState   string    `json:"workflow_state"`
	Path            []int64   `json:"-"`
	CreatedAt       time.Time `json:"-"`
}

const accountColumns = `id, name, parent_account_id, root_account_id, sis_account_id, integration_id, workflow_state, path, created_at`

func scanAccount(row pgx.Row) (Account, error) {
	var a Account
	err := row.Scan(&a.ID, &a.Name, &a.ParentAccountID, &a.RootAccountID, &a.SISAccountID, &a.IntegrationID, &a.WorkflowState, &a.Path, &a.CreatedAt)
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
	switch {
	case ref == "self":
		return fmt.Sprintf("a.id = $%d", first), []any{reach}, nil
	case strings.HasPrefix(ref, "sis_account_id:"):
		return fmt.Sprintf("a.root_account_id = $%d AND a.sis_account_id = $%d AND $%d = ANY(a.path)", first, first+1, first+2),
			[]any{root, strings.TrimPrefix(ref, "sis_account_id:"), reach}, nil
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return "", nil, errs.ErrNotFound
	}
	return fmt.Sprintf("a.id = $%d AND $%d = ANY(a.path)", first, first+1), []any{id, reach}, nil
}
