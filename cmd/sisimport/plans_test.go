package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/pgtest"
)

// TestLookupsStayProbesWhenAVacuumRunsMidImport runs VACUUM ANALYZE on
// users in the middle of an import, as autovacuum does about a minute
// after any large rollback. The statistics then say that users holds the
// handful of committed rows while the import's transaction holds
// thousands more. The import must go on reading about one index entry a
// key: a lookup planned on those statistics used to walk every entry the
// import had written for each key of each batch (docs/operations.md,
// "Plans that statistics cannot change").
//
// It counts the index entries each index returned and the rows read by
// whole-table scans (pg_stat_user_indexes and _tables), so it times nothing. Every statement is planned generically, as pgx's
// prepared statements are from their sixth run on a connection.
func TestLookupsStayProbesWhenAVacuumRunsMidImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := pgtest.New(t)
	var name string
	pgtest.Must(t, db.QueryRow(ctx, `SELECT current_database()`).Scan(&name))
	pgtest.Exec(t, db, `ALTER DATABASE "`+name+`" SET plan_cache_mode = force_generic_plan`)
	s := &service{t: t, db: db, url: url}
	s.start(nil)
	s.token = s.newToken(1, auth.Admin)

	// Five committed users in five root accounts, and long SIS ids beside
	// short logins: two of the statistics a plan may hang on.
	s.importCSV("", "user_id,login_id,status\nP0,p0,active\n")
	for i := range 4 {
		root := s.account(fmt.Sprintf("Root %d", i), 0, "")
		pgtest.Exec(t, db, `INSERT INTO users (root_account_id, account_id, sis_user_id, login_id) VALUES ($1, $1, $2, $2)`,
			root.ID, fmt.Sprintf("P%d", i+1))
	}

	// The import pauses on the row of P0, which a transaction of the test
	// holds, after it has written the first half of the file.
	const half = 10_000
	var users strings.Builder
	users.WriteString("user_id,login_id,first_name,status\n")
	for i := range half {
		fmt.Fprintf(&users, "%s,u%05d,First,active\n", sisID(i), i)
	}
	users.WriteString("P0,p0,Paused,active\n")
	for i := half; i < 2*half; i++ {
		fmt.Fprintf(&users, "%s,u%05d,First,active\n", sisID(i), i)
	}
	hold, err := db.Begin(ctx)
	pgtest.Must(t, err)
	defer hold.Rollback(ctx)
	pgtest.Exec(t, hold, `SELECT 1 FROM users WHERE sis_user_id = 'P0' FOR UPDATE`)
	imp := s.upload("1", "", users.String())
	waitFor(t, "the import to wait for the row of P0", func() bool {
		var waiting bool
		pgtest.Must(t, db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting))
		return waiting
	})
	pgtest.Exec(t, db, `VACUUM ANALYZE users`)
	var reltuples float64
	pgtest.Must(t, db.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE relname = 'users'`).Scan(&reltuples))
	if reltuples > 100 {
		t.Fatalf("after the vacuum the statistics count %.0f users; the test needs them to count the committed handful", reltuples)
	}
	pgtest.Must(t, hold.Rollback(ctx))
	done := s.wait("1", imp.ID)
	if got := done.Data.Actions["users"]; done.WorkflowState != "imported" || got["created"] != 2*half || got["updated"] != 1 {
		t.Fatalf("users import: %s %v, want imported with %d created and 1 updated", done.WorkflowState, got, 2*half)
	}

	// An enrollments file of every user, on the statistics the vacuum left.
	var enrollments strings.Builder
	enrollments.WriteString("course_id,user_id,role,status\n")
	for i := range 2 * half {
		fmt.Fprintf(&enrollments, "C1,%s,student,active\n", sisID(i))
	}
	roster := s.importZip("1", "", "courses.csv", "course_id,short_name,long_name,status\nC1,C1,Course 1,active\n",
		"enrollments.csv", enrollments.String())
	if got := roster.Data.Actions["enrollments"]; got["created"] != 2*half {
		t.Fatalf("enrollments import: %s %v, want %d created", roster.WorkflowState, got, 2*half)
	}

	// Backends write their counters when they exit.
	s.stop()
	db.Reset()
	waitFor(t, "the service's connections to close", func() bool {
		var n int
		pgtest.Must(t, db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&n))
		return n == 0
	})
	// An index returns at most one entry for each row of a file that looks
	// it up, and only for the keys it holds: here, at most a file's rows.
	// Whole tables are read only once per import (the users a users file
	// deleted are found by a scan), never once per batch.
	const fileRows = 2*half + 1
	rows, err := db.Query(ctx, `SELECT indexrelname, idx_tup_read, $1::int FROM pg_stat_user_indexes WHERE relname IN ('users', 'enrollments')
		UNION ALL SELECT relname || ' (whole-table scans)', seq_tup_read, $2::int FROM pg_stat_user_tables WHERE relname IN ('users', 'enrollments')
		ORDER BY 1`, fileRows, 2*fileRows)
	pgtest.Must(t, err)
	defer rows.Close()
	for rows.Next() {
		var what string
		var read, bound int64
		pgtest.Must(t, rows.Scan(&what, &read, &bound))
		t.Logf("%s: %d read", what, read)
		if read > bound {
			t.Errorf("%s: %d read by imports of two files of %d rows (at most %d): a lookup walked the table instead of probing it",
				what, read, fileRows, bound)
		}
	}
	pgtest.Must(t, rows.Err())
}

func sisID(i int) string { return fmt.Sprintf("student-%05d-of-the-district-board-of-education", i) }

// waitFor polls cond until it holds, failing the test after 60 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 60s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
