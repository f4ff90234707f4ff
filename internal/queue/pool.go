package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Handler runs one claimed job. It must finish the job itself (Job.Finish
// inside its transaction) or return an error, in which case the job is
// handed back to the queue.
type Handler func(ctx context.Context, job *Job) error

// Pool is a process's set of workers.
type Pool struct {
	DB      *pgxpool.Pool
	Log     *slog.Logger
	Workers int
	Lease   time.Duration
	Poll    time.Duration
	Handle  Handler
	// Busy is told +1 and -1 as workers start and end a job (a metrics gauge).
	Busy func(delta float64)

	name string
	wake []chan struct{}
}

// Run runs the workers until claimCtx ends (then no new job is claimed);
// jobs already running go on until they end or workCtx ends, which cancels
// them and hands them back to the queue.
func (p *Pool) Run(claimCtx, workCtx context.Context) {
	host, _ := os.Hostname()
	p.name = fmt.Sprintf("%s/%d", host, os.Getpid())
	p.wake = make([]chan struct{}, p.Workers)
	for i := range p.wake {
		p.wake[i] = make(chan struct{}, 1)
	}
	go p.listen(claimCtx)
	var wg sync.WaitGroup
	for i := 0; i < p.Workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p.work(claimCtx, workCtx, fmt.Sprintf("%s#%d", p.name, i), p.wake[i])
		}(i)
	}
	wg.Wait()
}

func (p *Pool) work(claimCtx, workCtx context.Context, name string, wake <-chan struct{}) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-claimCtx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
		for claimCtx.Err() == nil {
			job, err := Claim(claimCtx, p.DB, name, p.Lease)
			if err != nil {
				if claimCtx.Err() == nil {
					p.Log.Warn("claim failed", slog.Any("err", err))
				}
				break
			}
			if job == nil {
				break
			}
			p.run(workCtx, job)
		}
		timer.Reset(p.Poll)
	}
}

// run executes one job with a heartbeat that renews its lease; losing the
// lease (or an abort) cancels the job.
func (p *Pool) run(workCtx context.Context, job *Job) {
	log := p.Log.With(slog.Int64("import_id", job.ID), slog.Int("attempt", job.Attempt))
	log.Info("import claimed")
	if p.Busy != nil {
		p.Busy(1)
		defer p.Busy(-1)
	}
	ctx, cancel := context.WithCancelCause(workCtx)
	defer cancel(nil)
	go func() {
		t := time.NewTicker(p.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// A renewal later than a lease is worthless: bound it, so that
				// a database that hangs cannot stop the heartbeats for good.
				hctx, hcancel := context.WithTimeout(ctx, p.Lease)
				err := job.Heartbeat(hctx)
				hcancel()
				if errors.Is(err, ErrLost) {
					cancel(ErrLost)
					return
				} else if err != nil && ctx.Err() == nil {
					log.Warn("heartbeat failed", slog.Any("err", err))
				}
			}
		}
	}()
	err := p.handle(ctx, job)
	switch {
	case err == nil:
		log.Info("import finished")
	case errors.Is(err, ErrLost) || errors.Is(context.Cause(ctx), ErrLost):
		log.Info("import stopped: aborted or taken over")
	case workCtx.Err() != nil:
		log.Info("shutting down: handing the import back to the queue")
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if herr := job.HandBack(hctx); herr != nil {
			log.Warn("hand back failed; the lease will expire", slog.Any("err", herr))
		}
		hcancel()
	default:
		// Back off longer after each failed attempt; the claim fails the
		// import once MaxAttempts attempts have failed.
		delay := time.Duration(job.Attempt) * 2 * time.Second
		log.Warn("import attempt failed; it will be retried", slog.Any("err", err), slog.Duration("after", delay))
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if herr := job.RetryLater(hctx, delay); herr != nil {
			log.Warn("retry failed; the lease will expire", slog.Any("err", herr))
		}
		hcancel()
	}
}

// handle runs the handler, turning a panic into an error so that one bad
// import cannot take the process and its other imports down.
func (p *Pool) handle(ctx context.Context, job *Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return p.Handle(ctx, job)
}

// listen wakes every worker when an import is queued or ends.
func (p *Pool) listen(ctx context.Context) {
	for ctx.Err() == nil {
		if err := p.listenOnce(ctx); err != nil && ctx.Err() == nil {
			p.Log.Debug("listen failed; polling until it reconnects", slog.Any("err", err))
			select {
			case <-ctx.Done():
			case <-time.After(p.Poll):
			}
		}
	}
}

func (p *Pool) listenOnce(ctx context.Context) error {
	conn, err := p.DB.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN sis_imports"); err != nil {
		return err
	}
	defer func() {
		// A connection that listened must not go back to the pool listening.
		conn.Conn().Close(context.Background())
	}()
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		for _, w := range p.wake {
			select {
			case w <- struct{}{}:
			default:
			}
		}
	}
}
