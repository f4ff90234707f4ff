// Package pgtest gives every test its own PostgreSQL database, cloned from a
// migrated template, so tests run in parallel against a real server.
//
// With TEST_DATABASE_URL unset, the first New starts a private cluster in a temporary
// directory for the test binary, and Main removes it afterwards.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/postgres"
)

var (
	adminURL string // a database of the server where CREATE DATABASE runs
	template string
	counter  atomic.Int64
	// Cluster is the private cluster the first New started, nil when TEST_DATABASE_URL is set.
	Cluster *postgres.Cluster
)

// Main wraps testing.M.Run for packages whose tests use New. The server
// starts on the first New, so a run of tests that need none (a fuzz
// worker, say) starts nothing.
func Main(m *testing.M) {
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

var (
	started  sync.Once
	startErr error
	cleanups []func()
)

// start finds or starts the server and makes the migrated template.
func start() error {
	adminURL = os.Getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		dir, err := os.MkdirTemp("", "sisimport-pg-")
		if err != nil {
			return err
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
		if Cluster, err = postgres.StartCluster(dir); err != nil {
			return err
		}
		cleanups = append(cleanups, func() { report(Cluster.Stop()) })
		adminURL = Cluster.URL("postgres")
	}
	template = fmt.Sprintf("sisimport_tmpl_%d", os.Getpid())
	cleanups = append(cleanups, func() { report(exec(context.Background(), "DROP DATABASE IF EXISTS "+template+" WITH (FORCE)")) })
	return makeTemplate()
}

// report prints a cleanup's error: the tests have passed or failed by then.
func report(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: cleanup:", err)
	}
}

func makeTemplate() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := exec(ctx, "DROP DATABASE IF EXISTS "+template+" WITH (FORCE)"); err != nil {
		return err
	}
	if err := exec(ctx, "CREATE DATABASE "+template); err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, withDB(adminURL, template), 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = postgres.Migrate(ctx, pool, "up")
	return err
}

// New returns a pool on a fresh migrated database of its own, and its URL.
func New(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	if started.Do(func() { startErr = start() }); startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}
	ctx := context.Background()
	name := fmt.Sprintf("sisimport_t%d_%d", os.Getpid(), counter.Add(1))
	if err := exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	u := withDB(adminURL, name)
	pool, err := postgres.Open(ctx, u, 20)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		_ = exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return pool, u
}

func exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

func withDB(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + db
	return u.String()
}

// Must fails the test when err is not nil: a query whose error a test
// ignores would let a broken query pass.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Execer runs a statement: a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Exec runs sql on db, failing the test on error.
func Exec(t testing.TB, db Execer, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
