package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// SessionIdle is how long a console session lives without a request
// (docs/console.md#sessions).
const SessionIdle = 8 * time.Hour

// Session is a signed-in browser of the console: the token it signed in
// with, and the CSRF token its forms carry.
type Session struct {
	Token Token
	CSRF  string
}

// ErrNoSession answers a missing, unknown or expired session, or one whose
// token was revoked.
var ErrNoSession = errs.New(errs.Unauthorized, "unauthorized", "You are not signed in, or your session ended.")

// StartSession signs in with a token's secret: it returns the session and
// its id, which is stored only as a hash (the cookie's value).
func StartSession(ctx context.Context, db *pgxpool.Pool, secret string) (Session, string, error) {
	t, err := Authenticate(ctx, db, secret)
	if err != nil {
		return Session{}, "", err
	}
	id, err := RandomString()
	if err != nil {
		return Session{}, "", err
	}
	csrf, err := RandomString()
	if err != nil {
		return Session{}, "", err
	}
	// Ended sessions go when someone signs in: no job of their own.
	if _, err := db.Exec(ctx, `DELETE FROM console_sessions WHERE expires_at < now()`); err != nil {
		return Session{}, "", fmt.Errorf("drop ended sessions: %w", err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO console_sessions (id_hash, token_id, csrf, expires_at) VALUES ($1, $2, $3, now() + $4 * interval '1 second')`,
		hash(id), t.ID, csrf, int64(SessionIdle.Seconds())); err != nil {
		return Session{}, "", fmt.Errorf("start session: %w", err)
	}
	return Session{Token: t, CSRF: csrf}, id, nil
}

// ResumeSession finds the live session of this id and moves its expiry
// SessionIdle ahead. The token must still be live, as for Authenticate.
func ResumeSession(ctx context.Context, db *pgxpool.Pool, id string) (Session, error) {
	if id == "" {
		return Session{}, ErrNoSession
	}
	var s Session
	t := &s.Token
	err := db.QueryRow(ctx, `
		UPDATE console_sessions s SET expires_at = now() + $2 * interval '1 second'
		FROM tokens t JOIN accounts a ON a.id = t.account_id
		WHERE s.id_hash = $1 AND s.expires_at > now() AND t.id = s.token_id AND t.revoked_at IS NULL
		  AND (t.expires_at IS NULL OR t.expires_at > now()) AND a.workflow_state <> 'deleted'
		RETURNING t.id, t.account_id, a.root_account_id, t.name, t.role, s.csrf`,
		hash(id), int64(SessionIdle.Seconds())).Scan(&t.ID, &t.AccountID, &t.RootAccountID, &t.Name, &t.Role, &s.CSRF)
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("resume session: %w", err)
	}
	return s, nil
}

// EndSession signs out: the session of this id is deleted.
func EndSession(ctx context.Context, db *pgxpool.Pool, id string) error {
	if _, err := db.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, hash(id)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// RandomString is 256 random bits, URL-safe: session ids and CSRF tokens.
func RandomString() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make session id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}
