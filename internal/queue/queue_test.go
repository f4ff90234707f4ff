package queue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/pgtest"
	"github.com/sisimport/sisimport/internal/queue"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// lease is long enough never to run out by itself during a test: a test
// that needs an expired lease expires it (expireLease).
const lease = 5 * time.Minute

func ptr[T any](v T) *T { return &v }

// fixture is a database with root account 1 (east and west under it,
// eastHigh under east) and another root account.
type fixture struct {
	t                          *testing.T
	db                         *pgxpool.Pool
	root, east, eastHigh, west directory.Account
	other                      directory.Account
	token                      auth.Token // an admin token of root account 1
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	f := &fixture{t: t, db: db}
	var err error
	f.root, err = directory.GetAccount(ctx, db, 1)
	pgtest.Must(t, err)
	mk := func(name string, parent *int64) directory.Account {
		a, err := directory.CreateAccount(ctx, db, name, parent, "")
		pgtest.Must(t, err)
		return a
	}
	f.east = mk("East", ptr(int64(1)))
	f.eastHigh = mk("East High", &f.east.ID)
	f.west = mk("West", ptr(int64(1)))
	f.other = mk("Other district", nil)
	f.token, _, err = auth.Create(ctx, db, 1, "test", auth.Admin, nil)
	pgtest.Must(t, err)
	return f
}

// enqueue stores a small users file as an upload of acct and queues it, as
// the API does.
func (f *fixture) enqueue(acct directory.Account) queue.Import {
	f.t.Helper()
	ctx := context.Background()
	u, err := queue.BeginUpload(ctx, f.db, queue.NewImport{AccountID: acct.ID, RootAccountID: acct.RootAccountID, TokenID: f.token.ID, TokenName: f.token.Name})
	pgtest.Must(f.t, err)
	defer u.Rollback(ctx)
	pgtest.Must(f.t, u.Write(ctx, strings.NewReader("user_id,login_id,status\nU1,u1,active\n")))
	i, err := u.Commit(ctx, queue.Stored{FileName: "users.csv", FileType: "csv", Encoding: "utf-8"})
	pgtest.Must(f.t, err)
	if i.WorkflowState != "created" {
		f.t.Fatalf("a committed upload is %s, want created", i.WorkflowState)
	}
	return i
}

// claim claims as worker and returns the job's import id, 0 for none.
func (f *fixture) claim(worker string) (*queue.Job, int64) {
	f.t.Helper()
	j, err := queue.Claim(context.Background(), f.db, worker, lease)
	pgtest.Must(f.t, err)
	if j == nil {
		return nil, 0
	}
	return j, j.ID
}

// finish ends the job as the importer does: Finish last, in the import's
// own transaction, which commits only when Finish succeeded.
func (f *fixture) finish(j *queue.Job, state string) error {
	ctx := context.Background()
	tx, err := f.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := j.Finish(ctx, tx, queue.Outcome{State: state, Data: map[string]any{"applied": state != "awaiting_approval"}}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// get reads import id of account.
func (f *fixture) get(account, id int64) queue.Import {
	f.t.Helper()
	i, err := queue.Get(context.Background(), f.db, account, id)
	pgtest.Must(f.t, err)
	return i
}

// ran queues an import of acct, claims it and finishes it in state, and
// returns it as it is then: no other import may be runnable.
func (f *fixture) ran(acct directory.Account, state string) queue.Import {
	f.t.Helper()
	imp := f.enqueue(acct)
	j, _ := f.claim("w1")
	pgtest.Must(f.t, f.finish(j, state))
	return f.get(acct.ID, imp.ID)
}

// row reads the import's whole row, to compare before and after.
func (f *fixture) row(id int64) string {
	f.t.Helper()
	var s string
	pgtest.Must(f.t, f.db.QueryRow(context.Background(), `SELECT row_to_json(i)::text FROM sis_imports i WHERE id = $1`, id).Scan(&s))
	return s
}

// state reads the import's workflow_state and attempt.
func (f *fixture) state(id int64) (string, int) {
	f.t.Helper()
	var s string
	var attempt int
	pgtest.Must(f.t, f.db.QueryRow(context.Background(), `SELECT workflow_state, attempt FROM sis_imports WHERE id = $1`, id).Scan(&s, &attempt))
	return s, attempt
}

// expireLease ends the lease of a running import now, as if its worker had
// stopped renewing it a lease ago.
func (f *fixture) expireLease(id int64) {
	f.t.Helper()
	pgtest.Exec(f.t, f.db, `UPDATE sis_imports SET lease_until = now() - interval '1 second' WHERE id = $1`, id)
}

func (f *fixture) blockedBy(id int64) int64 {
	f.t.Helper()
	i, err := queue.GetJob(context.Background(), f.db, id, 1)
	if errs.KindOf(err) == errs.NotFound {
		i, err = queue.GetJob(context.Background(), f.db, id, f.other.ID)
	}
	pgtest.Must(f.t, err)
	b, err := queue.BlockedBy(context.Background(), f.db, i)
	pgtest.Must(f.t, err)
	if b == nil {
		return 0
	}
	return *b
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClaimOrderAndOneAtATimePerRootAccount: a claim takes the oldest
// runnable import; a root account runs one import at a time, in the order
// of upload, while other root accounts go on.
func TestClaimOrderAndOneAtATimePerRootAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a1 := f.enqueue(f.root)
	b1 := f.enqueue(f.other)
	a2 := f.enqueue(f.eastHigh) // a sub-account: the same root account's queue
	b2 := f.enqueue(f.other)
	if got := f.blockedBy(a2.ID); got != a1.ID {
		t.Errorf("a2 is blocked by %d, want a1 (%d)", got, a1.ID)
	}
	if got := f.blockedBy(a1.ID); got != 0 {
		t.Errorf("a1, the oldest, is blocked by %d", got)
	}

	j1, id := f.claim("w1")
	if id != a1.ID || j1.WorkflowState != "importing" || j1.Attempt != 1 {
		t.Fatalf("first claim: import %d (%+v), want a1 = %d importing, attempt 1", id, j1, a1.ID)
	}
	jb1, id := f.claim("w2")
	if id != b1.ID {
		t.Fatalf("second claim: import %d, want b1 = %d (a2 waits for a1)", id, b1.ID)
	}
	if _, id := f.claim("w3"); id != 0 {
		t.Fatalf("third claim took import %d while a1 and b1 run", id)
	}
	if got := f.blockedBy(a2.ID); got != a1.ID {
		t.Errorf("a2 is blocked by %d, want the running a1 (%d)", got, a1.ID)
	}

	pgtest.Must(t, f.finish(j1, "imported"))
	ja2, id := f.claim("w1")
	if id != a2.ID {
		t.Fatalf("after a1 ended: import %d, want a2 = %d", id, a2.ID)
	}
	pgtest.Must(t, f.finish(jb1, "imported"))
	jb2, id := f.claim("w2")
	if id != b2.ID {
		t.Fatalf("after b1 ended: import %d, want b2 = %d", id, b2.ID)
	}
	pgtest.Must(t, f.finish(ja2, "imported"))
	pgtest.Must(t, f.finish(jb2, "imported_with_messages"))
	if _, id := f.claim("w1"); id != 0 {
		t.Fatalf("a claim took import %d after every import ended", id)
	}
	for _, i := range []queue.Import{a1, b1, a2} {
		if st, attempt := f.state(i.ID); st != "imported" || attempt != 1 {
			t.Errorf("import %d: %s after %d attempts, want imported after 1", i.ID, st, attempt)
		}
	}
}

// TestClaimSkipsALockedImport: a claim does not wait for an import another
// transaction holds (FOR UPDATE SKIP LOCKED); it takes the next runnable one.
func TestClaimSkipsALockedImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	a1 := f.enqueue(f.root)
	b1 := f.enqueue(f.other)
	hold, err := f.db.Begin(ctx)
	pgtest.Must(t, err)
	defer hold.Rollback(ctx)
	pgtest.Exec(t, hold, `SELECT 1 FROM sis_imports WHERE id = $1 FOR UPDATE`, a1.ID)

	type claimed struct {
		j   *queue.Job
		err error
	}
	got := make(chan claimed, 1)
	go func() {
		j, err := queue.Claim(ctx, f.db, "w1", lease)
		got <- claimed{j, err}
	}()
	select {
	case c := <-got:
		if c.err != nil || c.j == nil || c.j.ID != b1.ID {
			t.Fatalf("claim with a1 locked: %+v, want b1 = %d", c, b1.ID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the claim waited 30s for the locked import instead of skipping it")
	}
	pgtest.Must(t, hold.Rollback(ctx))
	if _, id := f.claim("w2"); id != a1.ID {
		t.Fatalf("once let go: import %d, want a1 = %d", id, a1.ID)
	}
}

// TestTwoClaimersNeverTakeTheSameImport: claimers racing for a queue of
// imports of several root accounts each take distinct imports, and together
// every runnable one.
func TestTwoClaimersNeverTakeTheSameImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	var want []int64
	for i := range 12 {
		root, err := directory.CreateAccount(ctx, f.db, fmt.Sprintf("District %d", i), nil, "")
		pgtest.Must(t, err)
		want = append(want, f.enqueue(root).ID)
		f.enqueue(root) // behind the first: not runnable while it runs
	}
	start := make(chan struct{})
	got := make([][]int64, 2)
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	for c := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				j, err := queue.Claim(ctx, f.db, fmt.Sprintf("w%d", c), lease)
				if err != nil {
					errc <- err
					return
				}
				if j == nil {
					return
				}
				got[c] = append(got[c], j.ID)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("claim: %v", err)
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(got[0]), got[1]...)))
	if !slices.Equal(all, want) {
		t.Errorf("the claimers took %v and %v; want each of %v exactly once", got[0], got[1], want)
	}
}

// TestFencing: once a lease expired and another worker took the import over,
// the first worker's Finish, Heartbeat, HandBack and RetryLater change
// nothing, and Finish and Heartbeat say the job is lost.
func TestFencing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	imp := f.enqueue(f.root)
	stale, _ := f.claim("w1")
	if err := stale.Heartbeat(ctx); err != nil {
		t.Fatalf("heartbeat of a live job: %v", err)
	}
	f.expireLease(imp.ID)
	fresh, id := f.claim("w2")
	if id != imp.ID || fresh.Attempt != 2 {
		t.Fatalf("after the lease expired: import %d attempt %v, want %d taken over in attempt 2", id, fresh, imp.ID)
	}
	before := f.row(imp.ID)

	if err := f.finish(stale, "imported"); !errors.Is(err, queue.ErrLost) {
		t.Errorf("Finish of attempt 1: %v, want ErrLost", err)
	}
	if err := stale.Heartbeat(ctx); !errors.Is(err, queue.ErrLost) {
		t.Errorf("Heartbeat of attempt 1: %v, want ErrLost", err)
	}
	pgtest.Must(t, stale.HandBack(ctx))
	pgtest.Must(t, stale.RetryLater(ctx, 0))
	if after := f.row(imp.ID); after != before {
		t.Errorf("attempt 1 changed the import attempt 2 holds:\nbefore %s\nafter  %s", before, after)
	}

	pgtest.Must(t, fresh.Heartbeat(ctx))
	if err := f.finish(fresh, "imported"); err != nil {
		t.Fatalf("Finish of attempt 2: %v", err)
	}
	i := f.get(1, imp.ID)
	if i.WorkflowState != "imported" || i.Progress != 100 || i.EndedAt == nil || i.ResultsAttempt == nil || *i.ResultsAttempt != 2 {
		t.Errorf("finished by attempt 2: %s, progress %d, ended %v, results of attempt %v", i.WorkflowState, i.Progress, i.EndedAt, i.ResultsAttempt)
	}
	// And once finished, the import is no longer the stale worker's either.
	if err := stale.Heartbeat(ctx); !errors.Is(err, queue.ErrLost) {
		t.Errorf("Heartbeat of attempt 1 after the end: %v, want ErrLost", err)
	}
}

// TestHandBackAndRetryLater: a job handed back is at the head of its root
// account's queue at once; a job retried later is claimable only after its
// delay.
func TestHandBackAndRetryLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	a1 := f.enqueue(f.root)
	a2 := f.enqueue(f.root)
	j, _ := f.claim("w1")
	pgtest.Must(t, j.HandBack(ctx))
	if st, _ := f.state(a1.ID); st != "created" {
		t.Errorf("handed back: %s, want created", st)
	}
	j, id := f.claim("w2")
	if id != a1.ID || j.Attempt != 2 {
		t.Fatalf("after the hand-back: import %d, want a1 = %d again (attempt 2), before a2", id, a1.ID)
	}
	pgtest.Must(t, j.RetryLater(ctx, time.Hour))
	if _, id := f.claim("w3"); id != 0 {
		t.Fatalf("a claim took import %d while a1 waits an hour to be retried", id)
	}
	f.expireLease(a1.ID) // the hour is over
	j, id = f.claim("w3")
	if id != a1.ID || j.Attempt != 3 {
		t.Fatalf("after the delay: import %d, want a1 = %d (attempt 3)", id, a1.ID)
	}
	pgtest.Must(t, f.finish(j, "imported"))
	if _, id := f.claim("w1"); id != a2.ID {
		t.Fatalf("then: import %d, want a2 = %d", id, a2.ID)
	}
}

// TestImportFailsAfterMaxAttempts: an import whose workers keep dying is
// failed, not retried forever.
func TestImportFailsAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	imp := f.enqueue(f.root)
	for attempt := 1; attempt <= queue.MaxAttempts; attempt++ {
		j, id := f.claim("w")
		if id != imp.ID || j.Attempt != attempt {
			t.Fatalf("claim %d: import %d, attempt %v", attempt, id, j)
		}
		f.expireLease(imp.ID)
	}
	if _, id := f.claim("w"); id != 0 {
		t.Fatalf("claimed import %d a %dth time", id, queue.MaxAttempts+1)
	}
	i := f.get(1, imp.ID)
	if i.WorkflowState != "failed" || i.Progress != 100 || !strings.Contains(string(i.ProcessingErrors), fmt.Sprintf("attempted %d times", queue.MaxAttempts)) {
		t.Errorf("after %d dead attempts: %s, progress %d, errors %s", queue.MaxAttempts, i.WorkflowState, i.Progress, i.ProcessingErrors)
	}
}

func TestAbortOfAQueuedImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	a1 := f.enqueue(f.east)
	a2 := f.enqueue(f.root)
	i, err := queue.Abort(ctx, f.db, f.east.ID, a1.ID)
	if err != nil {
		t.Fatalf("abort: %v", err)
	}
	if i.WorkflowState != "aborted" || i.Progress != 100 || i.EndedAt == nil || !strings.Contains(string(i.Data), `"applied": false`) {
		t.Errorf("aborted import: %s, progress %d, ended %v, data %s", i.WorkflowState, i.Progress, i.EndedAt, i.Data)
	}
	// It never runs, and no longer holds the queue up.
	if _, id := f.claim("w1"); id != a2.ID {
		t.Fatalf("claim after the abort: import %d, want a2 = %d", id, a2.ID)
	}
	if _, err := queue.Abort(ctx, f.db, f.east.ID, a1.ID); !errors.Is(err, queue.ErrStateChanged) || errs.KindOf(err) != errs.Conflict {
		t.Errorf("second abort: %v, want ErrStateChanged (a conflict)", err)
	}
	// An import is aborted through its own account only.
	if _, err := queue.Abort(ctx, f.db, f.west.ID, a2.ID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("abort through another account: %v, want not found", err)
	}
	if _, err := queue.Abort(ctx, f.db, 1, 999); errs.KindOf(err) != errs.NotFound {
		t.Errorf("abort of import 999: %v, want not found", err)
	}
}

func TestAbortAllPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	running := f.enqueue(f.root)
	j, _ := f.claim("w1")
	inEast := f.enqueue(f.east)
	inHigh := f.enqueue(f.eastHigh)
	inWest := f.enqueue(f.west)
	elsewhere := f.enqueue(f.other)
	n, err := queue.AbortAllPending(ctx, f.db, f.east.ID)
	if err != nil || n != 2 {
		t.Fatalf("abort all pending of east: %d, %v; want its 2 queued imports", n, err)
	}
	want := map[int64]string{running.ID: "importing", inEast.ID: "aborted", inHigh.ID: "aborted", inWest.ID: "created", elsewhere.ID: "created"}
	for id, w := range want {
		if st, _ := f.state(id); st != w {
			t.Errorf("import %d: %s, want %s", id, st, w)
		}
	}
	pgtest.Must(t, f.finish(j, "imported"))
}

// TestAbortOfARunningImport: the worker notices (its heartbeat and its
// Finish say the job is lost) and the import stays aborted.
func TestAbortOfARunningImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	imp := f.enqueue(f.root)
	j, _ := f.claim("w1")
	if _, err := queue.Abort(ctx, f.db, 1, imp.ID); err != nil {
		t.Fatalf("abort: %v", err)
	}
	if err := j.Heartbeat(ctx); !errors.Is(err, queue.ErrLost) {
		t.Errorf("heartbeat of an aborted job: %v, want ErrLost", err)
	}
	if err := f.finish(j, "imported"); !errors.Is(err, queue.ErrLost) {
		t.Errorf("Finish of an aborted job: %v, want ErrLost", err)
	}
	if st, _ := f.state(imp.ID); st != "aborted" {
		t.Errorf("after the worker's Finish: %s, want aborted", st)
	}
}

// TestApprovalHoldsOverlappingImports: an import held for approval holds
// back the later imports of its account, of accounts inside it and above
// it; imports of disjoint subtrees go on. Approved, it runs first.
func TestApprovalHoldsOverlappingImports(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	held := f.ran(f.east, "awaiting_approval")
	inside := f.enqueue(f.eastHigh)
	above := f.enqueue(f.root)
	disjoint := f.enqueue(f.west)
	if got := f.blockedBy(inside.ID); got != held.ID {
		t.Errorf("the import inside east is blocked by %d, want the held import %d", got, held.ID)
	}
	j, id := f.claim("w1")
	if id != disjoint.ID {
		t.Fatalf("claim: import %d, want the disjoint one (%d)", id, disjoint.ID)
	}
	pgtest.Must(t, f.finish(j, "imported"))
	if _, id := f.claim("w1"); id != 0 {
		t.Fatalf("a claim took import %d, which the held import overlaps", id)
	}
	if _, err := queue.Approve(ctx, f.db, f.east.ID, held.ID); err != nil {
		t.Fatalf("approve: %v", err)
	}
	for _, want := range []int64{held.ID, inside.ID, above.ID} {
		j, id := f.claim("w1")
		if id != want {
			t.Fatalf("after approval: import %d, want %d", id, want)
		}
		pgtest.Must(t, f.finish(j, "imported"))
	}
}

// race runs a and b at once against the import's row: the test holds the
// row until both wait for it, so neither goes first by luck of timing.
func race(t *testing.T, db *pgxpool.Pool, id int64, a, b func() error) [2]error {
	t.Helper()
	ctx := context.Background()
	hold, err := db.Begin(ctx)
	pgtest.Must(t, err)
	defer hold.Rollback(ctx)
	pgtest.Exec(t, hold, `SELECT 1 FROM sis_imports WHERE id = $1 FOR UPDATE`, id)
	var out [2]error
	var wg sync.WaitGroup
	for i, f := range []func() error{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = f()
		}()
	}
	waitFor(t, "both racers to wait for the import", func() bool {
		var n int
		pgtest.Must(t, db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n))
		return n == 2
	})
	pgtest.Must(t, hold.Rollback(ctx))
	wg.Wait()
	return out
}

// oneWins checks that exactly one of two racers succeeded and the other
// lost with loses, and returns which one won.
func oneWins(t *testing.T, ended [2]error, loses ...error) int {
	t.Helper()
	for winner, loser := range []int{1, 0} {
		if ended[winner] == nil && ended[loser] != nil {
			if !slices.ContainsFunc(loses, func(l error) bool { return errors.Is(ended[loser], l) }) {
				t.Errorf("the loser failed with %v, want one of %v", ended[loser], loses)
			}
			return winner
		}
	}
	t.Fatalf("racers ended with %v and %v: want exactly one to win", ended[0], ended[1])
	return -1
}

// TestRacingStateChangesHaveOneWinner: every state change is one conditional
// UPDATE, so of two racing requests exactly one wins.
func TestRacingStateChangesHaveOneWinner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("abort and abort", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		imp := f.enqueue(f.root)
		abort := func() error { _, err := queue.Abort(ctx, f.db, 1, imp.ID); return err }
		oneWins(t, race(t, f.db, imp.ID, abort, abort), queue.ErrStateChanged)
		if st, _ := f.state(imp.ID); st != "aborted" {
			t.Errorf("after the race: %s, want aborted", st)
		}
	})

	t.Run("abort and finish", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		imp := f.enqueue(f.root)
		j, _ := f.claim("w1")
		abort := func() error { _, err := queue.Abort(ctx, f.db, 1, imp.ID); return err }
		finish := func() error { return f.finish(j, "imported") }
		winner := oneWins(t, race(t, f.db, imp.ID, abort, finish), queue.ErrStateChanged, queue.ErrLost)
		want := []string{"aborted", "imported"}[winner]
		if st, _ := f.state(imp.ID); st != want {
			t.Errorf("after the race that %s won: %s", want, st)
		}
	})

	t.Run("approve and approve", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		imp := f.ran(f.root, "awaiting_approval")
		approve := func() error { _, err := queue.Approve(ctx, f.db, 1, imp.ID); return err }
		oneWins(t, race(t, f.db, imp.ID, approve, approve), queue.ErrStateChanged)
		if st, _ := f.state(imp.ID); st != "created" {
			t.Errorf("after the race: %s, want created", st)
		}
	})

	t.Run("restore and restore", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		imp := f.ran(f.root, "imported")
		conflict := errors.New("conflict")
		restore := func() error {
			_, err := queue.QueueRestore(ctx, f.db, imp, f.token.ID, f.token.Name)
			if errs.KindOf(err) == errs.Conflict {
				return fmt.Errorf("%w: %v", conflict, err)
			}
			return err
		}
		oneWins(t, race(t, f.db, imp.ID, restore, restore), conflict)
		var jobs int
		pgtest.Must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM sis_imports WHERE restore_of = $1`, imp.ID).Scan(&jobs))
		if st, _ := f.state(imp.ID); st != "restoring" || jobs != 1 {
			t.Errorf("after the race: %s with %d restore jobs, want restoring with 1", st, jobs)
		}
	})
}

// TestQueueRestore: only an import that applied can be restored, once; the
// restore is a job of the import's root account's queue.
func TestQueueRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	imp := f.ran(f.root, "imported")
	job, err := queue.QueueRestore(ctx, f.db, imp, f.token.ID, f.token.Name)
	if err != nil {
		t.Fatalf("queue restore: %v", err)
	}
	if job.Kind != "restore" || job.RestoreOf == nil || *job.RestoreOf != imp.ID || job.WorkflowState != "created" {
		t.Errorf("restore job %+v", job)
	}
	if got, err := queue.RestoreJobOf(ctx, f.db, imp.ID); err != nil || got.ID != job.ID {
		t.Errorf("RestoreJobOf: %d %v, want %d", got.ID, err, job.ID)
	}
	if _, err := queue.QueueRestore(ctx, f.db, imp, f.token.ID, f.token.Name); errs.KindOf(err) != errs.Conflict {
		t.Errorf("a second restore: %v, want a conflict", err)
	}
	rj, id := f.claim("w1")
	if id != job.ID || rj.Kind != "restore" {
		t.Fatalf("claim: %d, want the restore job %d", id, job.ID)
	}

	// A dry run (not applied) cannot be restored.
	dry := f.enqueue(f.other)
	j, _ := f.claim("w2")
	ctxTx, err := f.db.Begin(ctx)
	pgtest.Must(t, err)
	pgtest.Must(t, j.Finish(ctx, ctxTx, queue.Outcome{State: "imported", Data: map[string]any{"applied": false}}))
	pgtest.Must(t, ctxTx.Commit(ctx))
	d := f.get(f.other.ID, dry.ID)
	if _, err := queue.QueueRestore(ctx, f.db, d, f.token.ID, f.token.Name); errs.KindOf(err) != errs.Conflict {
		t.Errorf("restore of a dry run: %v, want a conflict", err)
	}
}

// TestUploads: a file is stored whole, in chunks; a failed upload leaves
// nothing; an Idempotency-Key names one import.
func TestUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)

	var body strings.Builder
	body.WriteString("user_id,login_id,status\n")
	for i := 0; body.Len() < 2*queue.ChunkSize+queue.ChunkSize/2; i++ {
		fmt.Fprintf(&body, "U%07d,user%07d,active\n", i, i)
	}
	u, err := queue.BeginUpload(ctx, f.db, queue.NewImport{AccountID: 1, RootAccountID: 1, TokenID: f.token.ID, IdempotencyKey: "nightly"})
	pgtest.Must(t, err)
	pgtest.Must(t, u.Write(ctx, strings.NewReader(body.String())))
	i, err := u.Commit(ctx, queue.Stored{FileName: "users.csv", FileType: "csv", Encoding: "utf-8"})
	pgtest.Must(t, err)
	u.Rollback(ctx) // safe after Commit
	if i.FileBytes != int64(body.Len()) || u.Bytes != int64(body.Len()) || i.FileName != "users.csv" {
		t.Errorf("stored %d bytes (upload says %d) as %q, want %d as users.csv", i.FileBytes, u.Bytes, i.FileName, body.Len())
	}
	var chunks int
	pgtest.Must(t, f.db.QueryRow(ctx, `SELECT count(*) FROM sis_import_chunks WHERE import_id = $1`, i.ID).Scan(&chunks))
	if chunks != 3 {
		t.Errorf("%d chunks for 2.5 chunk sizes, want 3", chunks)
	}
	r := queue.OpenFile(ctx, f.db, i.ID)
	got, err := io.ReadAll(r)
	pgtest.Must(t, err)
	pgtest.Must(t, r.Close())
	if string(got) != body.String() {
		t.Errorf("read back %d bytes that differ from the %d stored", len(got), body.Len())
	}

	// The same key again: the first import, found, and nothing new stored.
	if _, err := queue.BeginUpload(ctx, f.db, queue.NewImport{AccountID: 1, RootAccountID: 1, TokenID: f.token.ID, IdempotencyKey: "nightly"}); !errors.Is(err, queue.ErrDuplicateKey) {
		t.Errorf("a second upload with the key: %v, want ErrDuplicateKey", err)
	}
	if prior, err := queue.FindIdempotent(ctx, f.db, 1, "nightly"); err != nil || prior.ID != i.ID {
		t.Errorf("FindIdempotent: %d %v, want %d", prior.ID, err, i.ID)
	}
	if _, err := queue.FindIdempotent(ctx, f.db, f.west.ID, "nightly"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("the key in another account: %v, want not found", err)
	}

	// A client that hangs up mid-file: a ReadError, and once rolled back
	// nothing of the upload is left.
	u, err = queue.BeginUpload(ctx, f.db, queue.NewImport{AccountID: 1, RootAccountID: 1, TokenID: f.token.ID})
	pgtest.Must(t, err)
	cut := errors.New("connection reset")
	err = u.Write(ctx, &failingReader{data: body.String()[:queue.ChunkSize+100], err: cut})
	var readErr *queue.ReadError
	if !errors.As(err, &readErr) || !errors.Is(err, cut) {
		t.Errorf("a cut-off upload: %v, want a ReadError wrapping the client's", err)
	}
	u.Rollback(ctx)
	var imports, orphans int
	pgtest.Must(t, f.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM sis_imports), (SELECT count(*) FROM sis_import_chunks WHERE import_id <> $1)`, i.ID).Scan(&imports, &orphans))
	if imports != 1 || orphans != 0 {
		t.Errorf("after a failed upload: %d imports (want 1), %d chunks of other imports (want 0)", imports, orphans)
	}
}

// failingReader gives data, then err.
type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}
