package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/postgres"
)

// privateCluster starts a PostgreSQL server of the test's own, which the
// test may stop and start without disturbing the other tests, migrates its
// "postgres" database and returns the cluster and a service record on it
// (no replica started yet).
func privateCluster(t *testing.T) (*postgres.Cluster, *service) {
	t.Helper()
	c, err := postgres.StartCluster(filepath.Join(t.TempDir(), "pg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Kill() })
	s := &service{t: t, url: c.URL("postgres")}
	s.reconnect()
	if _, err := postgres.Migrate(context.Background(), s.db, "up"); err != nil {
		t.Fatal(err)
	}
	s.token = s.newToken(1, auth.Admin)
	return c, s
}

// reconnect opens the test's own pool on the service's database afresh: a
// server restart leaves the old pool's connections dead.
func (s *service) reconnect() {
	s.t.Helper()
	if s.db != nil {
		s.db.Close()
	}
	db, err := postgres.Open(context.Background(), s.url, 4)
	if err != nil {
		s.t.Fatal(err)
	}
	s.db = db
	s.t.Cleanup(db.Close)
}

// probe GETs path on a replica with the admin token, within a bound: a
// request that hangs is a failure, not a slow test.
func (s *service) probe(base, path string) (code int, retryAfter string, took time.Duration) {
	s.t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	start := time.Now()
	resp, err := client.Do(req)
	took = time.Since(start)
	if err != nil {
		s.t.Fatalf("GET %s: %v (after %v)", path, err, took.Round(time.Millisecond))
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), took
}

// checkUsers asserts that the directory holds exactly the users of the
// users file csv as imported by import id — what a clean single run of the
// file leaves — no more, no fewer, none half-written.
func (s *service) checkUsers(t *testing.T, file string, id int64) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(file)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 0, len(recs)-1)
	for _, r := range recs[1:] { // user_id,login_id,first_name,last_name,email,status
		want = append(want, strings.Join([]string{r[0], r[1], r[2], r[3], r[2] + " " + r[3], r[3] + ", " + r[2], r[4], r[5], "1", fmt.Sprint(id)}, "|"))
	}
	rows, err := s.db.Query(context.Background(), `SELECT concat_ws('|', sis_user_id, login_id, first_name, last_name,
			name, sortable_name, email, workflow_state, account_id, last_import_id)
		FROM users ORDER BY sis_user_id COLLATE "C", id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := 0; i < max(len(got), len(want)) && bad < 5; i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("users, row %d: got %q, want %q", i+1, g, w)
			bad++
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d users in the directory, want %d", len(got), len(want))
	}
}

// TestFaultPostgresRestartDuringAnImport restarts the database under a
// running import, cleanly (pg_ctl stop -m fast, as an operator or a
// failover does) and as a crash (-m immediate): the API answers 503 with
// Retry-After quickly while it is away, the process stays up, and once it
// is back the API and the queue's listener recover by themselves and the
// import is retried to the same result as a clean run.
func TestFaultPostgresRestartDuringAnImport(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"fast", "immediate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			restartDuringAnImport(t, mode)
		})
	}
}

func restartDuringAnImport(t *testing.T, mode string) {
	c, s := privateCluster(t)
	r := s.startProcess(t)
	s.base = r.base
	const rows = 150000
	file := bigUsers(rows)
	imp := s.upload("1", "", file)
	s.runningOn(t, imp.ID)
	s.waitProgress(t, imp.ID)

	stop := c.Stop
	if mode == "immediate" {
		stop = c.Kill
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	importPath := fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", imp.ID)
	// Longer than the lease (2 s), so that heartbeats, claims and the
	// listener all fail at least once while the database is away.
	for down := time.Now(); time.Since(down) < 3*time.Second; {
		for _, path := range []string{"/readyz", importPath, "/api/v1/accounts/1/sis_imports"} {
			code, retry, took := s.probe(r.base, path)
			if code != http.StatusServiceUnavailable || retry == "" {
				t.Errorf("GET %s with the database down: %d, Retry-After %q; want 503 with Retry-After", path, code, retry)
			}
			if took > 3*time.Second {
				t.Errorf("GET %s with the database down took %v", path, took)
			}
		}
		if code, _, _ := s.probe(r.base, "/healthz"); code != http.StatusOK {
			t.Errorf("GET /healthz with the database down: %d, want 200", code)
		}
		select {
		case <-r.exited:
			t.Fatalf("the replica exited while the database was down: %v", r.err)
		case <-time.After(100 * time.Millisecond):
		}
	}

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for {
		code, _, _ := s.probe(r.base, "/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Since(back) > 20*time.Second {
			t.Fatalf("/readyz still %d 20s after the database came back", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _, _ := s.probe(r.base, importPath); code != http.StatusOK {
		t.Fatalf("GET %s after the database came back: %d", importPath, code)
	}
	s.reconnect()
	s.waitListening(t)
	done := s.wait("1", imp.ID)
	if done.WorkflowState != "imported" || done.Data.Actions["users"]["created"] != rows {
		t.Fatalf("after the restart: %s %v %v", done.WorkflowState, done.Data.Actions, done.ProcessingErrors)
	}
	var attempt int
	if err := s.db.QueryRow(context.Background(), `SELECT attempt FROM sis_imports WHERE id = $1`, imp.ID).Scan(&attempt); err != nil {
		t.Fatal(err)
	}
	if attempt < 2 {
		t.Errorf("attempt %d: the import finished before the restart, which tested nothing", attempt)
	}
	s.checkComplete(t, imp.ID, rows)
	s.checkUsers(t, file, imp.ID)
	select {
	case <-r.exited:
		t.Fatalf("the replica exited: %v", r.err)
	default:
	}
}

// waitProgress waits until the running import has published progress: it
// has read and applied part of its file.
func (s *service) waitProgress(t *testing.T, id int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var progress int
		var state string
		if err := s.db.QueryRow(context.Background(), `SELECT workflow_state, progress FROM sis_imports WHERE id = $1`, id).Scan(&state, &progress); err != nil {
			t.Fatal(err)
		}
		if state != "importing" {
			t.Fatalf("import %d is %s before the fault", id, state)
		}
		if progress > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("import %d made no progress in 30s", id)
}

// waitListening waits until a replica listens for queued imports again
// (after a restart, every session is new): workers are woken by NOTIFY, not
// only by polling.
func (s *service) waitListening(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN sis_imports'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no replica listens on sis_imports 20s after the database came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
