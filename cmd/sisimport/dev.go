package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/config"
	"github.com/sisimport/sisimport/internal/postgres"
)

// dev is `make run`: with no DATABASE_URL it starts a private PostgreSQL in
// ./.data, then migrates, makes an admin token for account 1, prints a curl
// that imports the example file, and serves.
func dev(ctx context.Context, environ []string, stdout io.Writer) error {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["DATABASE_URL"] == "" {
		fmt.Fprintln(stdout, "starting a private PostgreSQL in ./.data …")
		cluster, err := postgres.StartCluster(".data")
		if err != nil {
			return err
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "stop the private PostgreSQL:", err)
			}
		}()
		if err := createDatabase(ctx, cluster.URL("postgres"), "sisimport"); err != nil {
			return err
		}
		environ = append(environ, "DATABASE_URL="+cluster.URL("sisimport"))
		env["DATABASE_URL"] = cluster.URL("sisimport")
	}
	cfg, err := config.Load(environ)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return err
	}
	if _, err := postgres.Migrate(ctx, db, "up"); err != nil {
		db.Close()
		return err
	}
	_, secret, err := auth.Create(ctx, db, 1, "make run", auth.Admin, nil)
	db.Close()
	if err != nil {
		return err
	}
	return serveConfig(ctx, cfg, func(addr string) {
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		fmt.Fprintf(stdout, `
sisimport is up: http://localhost:%[1]s   (database: %[2]s)
Your admin token for account 1 (shown once):

  export TOKEN=%[3]s

In the browser: http://localhost:%[1]s/console (sign in with the token).
Or import the example file and read its results:

  curl -s -H "Authorization: Bearer $TOKEN" -F attachment=@api/examples/users.csv http://localhost:%[1]s/api/v1/accounts/1/sis_imports
  curl -s -H "Authorization: Bearer $TOKEN" http://localhost:%[1]s/api/v1/accounts/1/sis_imports/1
  curl -s -H "Authorization: Bearer $TOKEN" http://localhost:%[1]s/api/v1/accounts/1/sis_imports/1/results

`, port, redact(cfg.DatabaseURL), secret)
		slog.Debug("dev server ready")
	})
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to the private cluster: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", name, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return nil
}

func redact(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}
