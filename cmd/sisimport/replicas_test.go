package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/config"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/pgtest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds sisimport once per test run, for tests that kill processes.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sisimport-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "sisimport")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// replica is a `sisimport serve` process; exited is closed when it ends,
// with its exit status in err.
type replica struct {
	cmd    *exec.Cmd
	base   string
	exited chan struct{}
	err    error
}

func (s *service) startProcess(t *testing.T, env ...string) *replica {
	t.Helper()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + s.url, "SISIMPORT_ADDR=" + addr,
		"SISIMPORT_LEASE_SECONDS=2", "SISIMPORT_POLL_SECONDS=0.2", "SISIMPORT_LOG_LEVEL=warn"}, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, base: "http://" + addr, exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"level":"ERROR"`) {
				t.Logf("replica %d: %s", cmd.Process.Pid, sc.Text())
			}
		}
		r.err = cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // it may have exited already
		<-r.exited
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(r.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// bigUsers is a users file of n rows.
func bigUsers(n int) string {
	var b strings.Builder
	b.WriteString("user_id,login_id,first_name,last_name,email,status\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "U%07d,user%07d,First%d,Last%d,user%07d@example.edu,active\n", i, i, i%97, i%89, i)
	}
	return b.String()
}

// runningOn waits until the import is claimed and returns the pid of the
// process that holds it.
func (s *service) runningOn(t *testing.T, id int64) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var worker *string
		var state string
		pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT workflow_state, worker FROM sis_imports WHERE id = $1`, id).Scan(&state, &worker))
		if state == "importing" && worker != nil {
			pidPart := (*worker)[strings.Index(*worker, "/")+1 : strings.Index(*worker, "#")]
			pid, _ := strconv.Atoi(pidPart)
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("import %d was never claimed", id)
	return 0
}

// checkComplete asserts every row has exactly one result and the directory
// holds exactly the file's users.
func (s *service) checkComplete(t *testing.T, id int64, rows int) {
	t.Helper()
	ctx := context.Background()
	var results, distinct, users int
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT count(*), count(DISTINCT r.row) FROM sis_import_results r JOIN sis_imports i
		ON i.id = r.import_id AND r.attempt = i.results_attempt WHERE i.id = $1`, id).Scan(&results, &distinct))
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users))
	if results != rows || distinct != rows || users != rows {
		t.Errorf("after takeover: %d results (%d distinct rows), %d users; want %d of each", results, distinct, users, rows)
	}
}

func TestKilledReplicaImportIsFinishedByAnother(t *testing.T) {
	t.Parallel()
	s := startService(t, func(c *config.Config) { c.Role = "api" })
	a := s.startProcess(t)
	b := s.startProcess(t)
	const rows = 150000
	imp := s.upload("1", "", bigUsers(rows))
	pid := s.runningOn(t, imp.ID)
	s.waitProgress(t, imp.ID) // it has written part of the file
	victim := a
	if b.cmd.Process.Pid == pid {
		victim = b
	}
	if victim.cmd.Process.Pid != pid {
		t.Fatalf("import runs on pid %d, not on a replica of this test", pid)
	}
	pgtest.Must(t, victim.cmd.Process.Signal(syscall.SIGKILL))
	<-victim.exited
	done := s.wait("1", imp.ID)
	if done.WorkflowState != "imported" || done.Data.Actions["users"]["created"] != rows {
		t.Fatalf("after kill -9: %s %v %v", done.WorkflowState, done.Data.Actions, done.ProcessingErrors)
	}
	var attempt int
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT attempt FROM sis_imports WHERE id = $1`, imp.ID).Scan(&attempt))
	if attempt < 2 {
		t.Errorf("attempt %d: the import was not taken over", attempt)
	}
	s.checkComplete(t, imp.ID, rows)
	// The directory equals a clean single run's: nothing of the killed
	// attempt is left half-applied.
	s.checkUsers(t, bigUsers(rows), imp.ID)
}

func TestSIGTERMHandsTheImportBackAndExitsZero(t *testing.T) {
	t.Parallel()
	s := startService(t, func(c *config.Config) { c.Role = "api" })
	a := s.startProcess(t, "SISIMPORT_SHUTDOWN_GRACE_SECONDS=0.2")
	const rows = 150000
	imp := s.upload("1", "", bigUsers(rows))
	s.runningOn(t, imp.ID)
	pgtest.Must(t, a.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-a.exited:
		if a.err != nil {
			t.Fatalf("replica exited with %v after SIGTERM", a.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("replica did not exit within 20s of SIGTERM")
	}
	var state string
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT workflow_state FROM sis_imports WHERE id = $1`, imp.ID).Scan(&state))
	if state != "created" && state != "imported" {
		t.Fatalf("after SIGTERM the import is %s, want it back in the queue (or finished)", state)
	}
	s.startProcess(t)
	if done := s.wait("1", imp.ID); done.WorkflowState != "imported" {
		t.Fatalf("handed-back import ended %s", done.WorkflowState)
	}
	s.checkComplete(t, imp.ID, rows)
}

func TestImportsOfOneRootAccountRunOneAtATimeInOrder(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	// Two more replicas, real processes, on the same database.
	s.startProcess(t)
	s.startProcess(t)
	roots := []int64{1}
	tokens := map[int64]string{1: s.token}
	for _, name := range []string{"Second district", "Third district"} {
		a, err := directory.CreateAccount(context.Background(), s.db, name, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, a.ID)
		tokens[a.ID] = s.newToken(a.ID, "admin")
	}
	// Three imports for each root account, all uploaded at once; within a
	// root account, one after the other, so their order is known.
	var wg sync.WaitGroup
	for _, root := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				csv := bigUsers(2000 + i)
				code, b, _ := s.do("POST", fmt.Sprintf("/api/v1/accounts/%d/sis_imports?extension=csv", root), strings.NewReader(csv),
					map[string]string{"Authorization": "Bearer " + tokens[root]})
				if code != 200 {
					t.Errorf("upload to account %d: %d %s", root, code, b)
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var running int
		pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT count(*) FROM sis_imports WHERE workflow_state IN ('created', 'importing')`).Scan(&running))
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d imports still queued or running after 90 s", running)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rows, err := s.db.Query(context.Background(), `SELECT root_account_id, id, workflow_state, started_at, ended_at
		FROM sis_imports ORDER BY root_account_id, created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type run struct {
		root, id   int64
		state      string
		start, end *time.Time
	}
	var prev *run
	n := 0
	for rows.Next() {
		var r run
		pgtest.Must(t, rows.Scan(&r.root, &r.id, &r.state, &r.start, &r.end))
		n++
		if r.state != "imported" {
			t.Errorf("import %d of account %d ended %s", r.id, r.root, r.state)
		}
		if prev != nil && prev.root == r.root && r.start != nil && prev.end != nil && r.start.Before(*prev.end) {
			t.Errorf("import %d started at %v, before import %d (uploaded earlier) ended at %v", r.id, r.start, prev.id, prev.end)
		}
		prev = &r
	}
	pgtest.Must(t, rows.Err())
	if n != 3*len(roots) {
		t.Errorf("%d imports, want %d", n, 3*len(roots))
	}
	var workers int
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT count(DISTINCT worker) FROM sis_imports`).Scan(&workers))
	t.Logf("the imports ran on %d workers", workers)
}

func TestAbortOfARunningImportAppliesNothing(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.upload("1", "", bigUsers(150000))
	s.runningOn(t, imp.ID)
	code, b, _ := s.do("PUT", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/abort", imp.ID), nil, nil)
	if code != 200 {
		t.Fatalf("abort: %d %s", code, b)
	}
	// The next import of the account starts once the aborted one let go.
	next := s.importCSV("", "user_id,login_id,status\nN1,n1,active\n")
	if next.WorkflowState != "imported" {
		t.Fatalf("import after the abort: %s", next.WorkflowState)
	}
	var users int
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&users))
	if users != 1 {
		t.Errorf("%d users after an aborted import and a one-row import; want 1", users)
	}
	done := s.wait("1", imp.ID)
	if done.WorkflowState != "aborted" || done.Data.Applied || len(s.results(imp.ID, "")) != 0 {
		t.Errorf("aborted import: %s applied=%v", done.WorkflowState, done.Data.Applied)
	}
}

func TestManualEditDuringAnImportIsNeverLost(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	const rows = 100000
	first := s.importCSV("", bigUsers(rows))
	if first.WorkflowState != "imported" {
		t.Fatalf("first import: %s", first.WorkflowState)
	}
	changed := strings.ReplaceAll(bigUsers(rows), ",Last", ",Renamed")
	imp := s.upload("1", "", changed)
	s.runningOn(t, imp.ID)
	// Edit users at the start, middle and end of the file while the import runs.
	for _, n := range []int{1, rows / 2, rows - 1} {
		code, b, _ := s.do("PUT", fmt.Sprintf("/api/v1/users/sis_user_id:U%07d", n), strings.NewReader(`{"user":{"last_name":"Manual"}}`),
			map[string]string{"Content-Type": "application/json"})
		if code != 200 {
			t.Fatalf("manual edit: %d %s", code, b)
		}
	}
	done := s.wait("1", imp.ID)
	if done.WorkflowState != "imported" && done.WorkflowState != "imported_with_messages" {
		t.Fatalf("import ended %s %v", done.WorkflowState, done.ProcessingErrors)
	}
	var manual, renamed int
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE last_name = 'Manual'), count(*) FILTER (WHERE last_name LIKE 'Renamed%') FROM users`).Scan(&manual, &renamed))
	if manual != 3 || renamed != rows-3 {
		t.Errorf("after the import: %d manual edits kept (want 3), %d renamed (want %d)", manual, renamed, rows-3)
	}
}
