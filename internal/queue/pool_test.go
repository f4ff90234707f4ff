package queue_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/pgtest"
	"github.com/sisimport/sisimport/internal/queue"
)

// runPool runs p until the test ends (or stop is called) and returns stop,
// which ends claims and running jobs and waits for Run to return.
func (f *fixture) runPool(p *queue.Pool) (stop func()) {
	f.t.Helper()
	p.DB = f.db
	p.Log = slog.New(slog.DiscardHandler)
	claimCtx, stopClaims := context.WithCancel(context.Background())
	workCtx, stopWork := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(claimCtx, workCtx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stopClaims()
			stopWork()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				f.t.Error("the pool's Run did not return within 30s of its contexts ending")
			}
		})
	}
	f.t.Cleanup(stop)
	return stop
}

// listening waits until a pool listens for notifications.
func (f *fixture) listening() {
	f.t.Helper()
	waitFor(f.t, "the pool to LISTEN", func() bool {
		var n int
		pgtest.Must(f.t, f.db.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN sis_imports'`).Scan(&n))
		return n > 0
	})
}

// TestPoolRunsImportsAsTheyAreQueued: with no polling to speak of, a new
// import, and the end of one that holds its root account's queue, wake the
// workers; each import runs once; Busy counts the running jobs.
func TestPoolRunsImportsAsTheyAreQueued(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var busy, maxBusy atomic.Int64
	var mu sync.Mutex
	runs := map[int64]int{}
	stop := f.runPool(&queue.Pool{Workers: 2, Lease: time.Minute, Poll: time.Hour,
		Busy: func(d float64) {
			n := busy.Add(int64(d))
			for m := maxBusy.Load(); n > m && !maxBusy.CompareAndSwap(m, n); m = maxBusy.Load() {
			}
		},
		Handle: func(ctx context.Context, j *queue.Job) error {
			mu.Lock()
			runs[j.ID]++
			mu.Unlock()
			return f.finish(j, "imported")
		}})
	f.listening()
	ids := []int64{f.enqueue(f.root).ID, f.enqueue(f.east).ID, f.enqueue(f.other).ID}
	waitFor(t, "the three imports to be imported", func() bool {
		for _, id := range ids {
			if st, _ := f.state(id); st != "imported" {
				return false
			}
		}
		return true
	})
	// A worker counts a job done just after the job's end commits: stop
	// the pool, so that every count is in.
	stop()
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if runs[id] != 1 {
			t.Errorf("import %d ran %d times, want once", id, runs[id])
		}
	}
	if n := busy.Load(); n != 0 {
		t.Errorf("Busy adds up to %d with no job running", n)
	}
	if m := maxBusy.Load(); m < 1 || m > 2 {
		t.Errorf("at most %d jobs ran at once, want 1 or 2 (two workers)", m)
	}
}

// TestPoolSurvivesAPanickingImport: a handler's panic is that attempt's
// failure; the import is retried (after a back-off of 2 s, which the Pool
// does not let a test shorten) and the process goes on.
func TestPoolSurvivesAPanickingImport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	imp := f.enqueue(f.root)
	var attempts atomic.Int64
	f.runPool(&queue.Pool{Workers: 1, Lease: time.Minute, Poll: 50 * time.Millisecond,
		Handle: func(ctx context.Context, j *queue.Job) error {
			attempts.Add(1)
			if j.Attempt == 1 {
				panic("a bad row")
			}
			return f.finish(j, "imported")
		}})
	waitFor(t, "the import to be retried and imported", func() bool {
		st, _ := f.state(imp.ID)
		return st == "imported"
	})
	if _, attempt := f.state(imp.ID); attempt != 2 || attempts.Load() != 2 {
		t.Errorf("imported in attempt %d after %d runs, want the second", attempt, attempts.Load())
	}
}

// TestPoolHandsBackOnShutdown: a job still running when the pool stops goes
// back to the queue for another worker.
func TestPoolHandsBackOnShutdown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	imp := f.enqueue(f.root)
	started := make(chan struct{})
	stop := f.runPool(&queue.Pool{Workers: 1, Lease: time.Minute, Poll: 50 * time.Millisecond,
		Handle: func(ctx context.Context, j *queue.Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}})
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the import was not claimed in 30s")
	}
	stop()
	i, err := queue.Get(context.Background(), f.db, 1, imp.ID)
	pgtest.Must(t, err)
	if i.WorkflowState != "created" || i.Attempt != 1 {
		t.Errorf("after shutdown: %s after %d attempts, want created (handed back) after 1", i.WorkflowState, i.Attempt)
	}
	if j, id := f.claim("next"); id != imp.ID {
		t.Errorf("the next claim took import %d (%v), want the handed-back %d", id, j, imp.ID)
	}
}

// TestPoolCancelsAnAbortedImport: the heartbeat finds the running import
// aborted and cancels the job's context with ErrLost.
func TestPoolCancelsAnAbortedImport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	imp := f.enqueue(f.root)
	started := make(chan struct{})
	cause := make(chan error, 1)
	f.runPool(&queue.Pool{Workers: 1, Lease: 300 * time.Millisecond, Poll: 50 * time.Millisecond,
		Handle: func(ctx context.Context, j *queue.Job) error {
			close(started)
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return ctx.Err()
		}})
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the import was not claimed in 30s")
	}
	if _, err := queue.Abort(context.Background(), f.db, 1, imp.ID); err != nil {
		t.Fatalf("abort: %v", err)
	}
	select {
	case err := <-cause:
		if !errors.Is(err, queue.ErrLost) {
			t.Errorf("the job's context ended with %v, want ErrLost", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the running job was not cancelled within 30s of its abort")
	}
	if st, _ := f.state(imp.ID); st != "aborted" {
		t.Errorf("after the worker stopped: %s, want aborted", st)
	}
}
