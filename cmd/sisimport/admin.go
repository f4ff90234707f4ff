package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/postgres"
)

// openDB opens a small pool on DATABASE_URL for the admin commands.
func openDB(ctx context.Context, environ []string) (*pgxpool.Pool, error) {
	for _, kv := range environ {
		if u, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok && u != "" {
			return postgres.Open(ctx, u, 4)
		}
	}
	return nil, fmt.Errorf("DATABASE_URL: not set")
}

func migrateCmd(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: sisimport migrate up|down|version")
	}
	db, err := openDB(ctx, environ)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := postgres.Migrate(ctx, db, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema version %d\n", v)
	return nil
}

func accountsCmd(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: sisimport accounts create --name N [--parent ID] [--sis-id S]")
	}
	fs := newFlags("accounts create")
	name := fs.String("name", "", "account name")
	parent := fs.Int64("parent", 0, "parent account id (none: a new root account)")
	sisID := fs.String("sis-id", "", "sis_account_id")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	db, err := openDB(ctx, environ)
	if err != nil {
		return err
	}
	defer db.Close()
	var p *int64
	if *parent != 0 {
		p = parent
	}
	a, err := directory.CreateAccount(ctx, db, *name, p, *sisID)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(a)
}

func tokensCmd(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke") {
		return fmt.Errorf("usage: sisimport tokens create --account ID [--name N] [--role R] [--expires D] | tokens revoke --id ID")
	}
	fs := newFlags("tokens " + args[0])
	account := fs.Int64("account", 0, "account id")
	name := fs.String("name", "cli", "token name")
	role := fs.String("role", string(auth.Admin), "admin, sis_import or read_only")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h (default: no expiry)")
	id := fs.Int64("id", 0, "token id (revoke)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	db, err := openDB(ctx, environ)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "revoke" {
		if err := auth.Revoke(ctx, db, *id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %d revoked\n", *id)
		return nil
	}
	if *account == 0 {
		return fmt.Errorf("tokens create: --account is required")
	}
	if *expires < 0 {
		return fmt.Errorf("tokens create: --expires must be a positive duration, e.g. 720h")
	}
	var exp *time.Time
	if *expires > 0 {
		t := time.Now().Add(*expires)
		exp = &t
	}
	t, secret, err := auth.Create(ctx, db, *account, *name, auth.Role(*role), exp)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token %d for account %d, role %s\n%s\n", t.ID, t.AccountID, t.Role, secret)
	return nil
}
