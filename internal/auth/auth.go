// Package auth issues API tokens, stores them hashed and checks them.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Role is what a token may do (docs/api.md#authentication-and-roles): each role includes the ones before it.
type Role string

// The token roles.
const (
	ReadOnly  Role = "read_only"
	SISImport Role = "sis_import"
	Admin     Role = "admin"
)

var rank = map[Role]int{ReadOnly: 1, SISImport: 2, Admin: 3}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return rank[r] > 0 }

// Allows reports whether a token of role r may do what needs role need.
func (r Role) Allows(need Role) bool { return rank[r] >= rank[need] }

// Token is an authenticated caller: it reaches AccountID's subtree.
type Token struct {
	ID            int64
	AccountID     int64
	RootAccountID int64
	Name          string
	Role          Role
}

// Create makes a token for account and returns it with its secret, which is
// stored only as a hash and cannot be shown again.
func Create(ctx context.Context, db *pgxpool.Pool, accountID int64, name string, role Role, expires *time.Time) (Token, string, error) {
	if !role.Valid() {
		return Token{}, "", errs.New(errs.Invalid, "invalid_value", "role %q is not read_only, sis_import or admin", role)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Token{}, "", fmt.Errorf("make token secret: %w", err)
	}
	secret := "sis_" + base64.RawURLEncoding.EncodeToString(raw)
	t := Token{AccountID: accountID, Name: name, Role: role}
	err := db.QueryRow(ctx, `
		INSERT INTO tokens (account_id, name, role, secret_hash, expires_at)
		SELECT a.id, $2, $3, $4, $5 FROM accounts a WHERE a.id = $1
		RETURNING id, (SELECT root_account_id FROM accounts WHERE id = $1)`,
		accountID, name, role, hash(secret), expires).Scan(&t.ID, &t.RootAccountID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, "", errs.New(errs.NotFound, "not_found", "account %d does not exist", accountID)
	}
	if err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	return t, secret, nil
}

// Revoke makes the token with this id unusable from now on.
func Revoke(ctx context.Context, db *pgxpool.Pool, id int64) error {
	tag, err := db.Exec(ctx, `UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "not_found", "token %d does not exist or is already revoked", id)
	}
	return nil
}

// ErrBadToken answers a missing, unknown, revoked or expired token.
var ErrBadToken = errs.New(errs.Unauthorized, "unauthorized", "Invalid access token.")

// Authenticate finds the live token whose secret this is.
func Authenticate(ctx context.Context, db *pgxpool.Pool, secret string) (Token, error) {
	if secret == "" {
		return Token{}, ErrBadToken
	}
	var t Token
	err := db.QueryRow(ctx, `
		SELECT t.id, t.account_id, a.root_account_id, t.name, t.role
		FROM tokens t JOIN accounts a ON a.id = t.account_id
		WHERE t.secret_hash = $1 AND t.revoked_at IS NULL
		  AND (t.expires_at IS NULL OR t.expires_at > now()) AND a.workflow_state <> 'deleted'`,
		hash(secret)).Scan(&t.ID, &t.AccountID, &t.RootAccountID, &t.Name, &t.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, ErrBadToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	return t, nil
}

// hash is SHA-256: the secret has 256 random bits, so no slow hash is needed.
func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
