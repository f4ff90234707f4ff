package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// MaxAttempts is how many times an import is claimed before it is failed.
const MaxAttempts = 5

// claimLock serialises claims across replicas: a claim is rare and short,
// and one lock makes "one running import per root account" race-free.
const claimLock = 7140001

// heldBack is an SQL condition: an earlier import held for approval
// overlaps the scope of import x (same account, inside it, or above it), so
// x waits (docs/import-rules.md#safety-thresholds). Imports of disjoint subtrees go on.
func heldBack(x string) string {
	return `EXISTS (SELECT 1 FROM sis_imports h JOIN accounts ha ON ha.id = h.account_id, accounts xa
		WHERE xa.id = ` + x + `.account_id AND h.root_account_id = ` + x + `.root_account_id
		  AND h.workflow_state = 'awaiting_approval' AND (h.created_at, h.id) < (` + x + `.created_at, ` + x + `.id)
		  AND (ha.id = ANY(xa.path) OR xa.id = ANY(ha.path)))`
}

// ErrLost means the job is no longer this worker's: it was aborted, or its
// lease expired and another worker took it.
var ErrLost = errors.New("job lost: aborted or taken over")

// Job is a claimed import, fenced by its attempt number.
type Job struct {
	Import
	db       *pgxpool.Pool
	lease    time.Duration
	mu       sync.Mutex
	lastBeat time.Time
}

// Claim takes the oldest runnable import: queued, or running under an expired
// lease, with no live or older unfinished import of the same root account.
// It returns nil when there is none.
//
// ctx only stops a claim from starting: a claim cut short (by SIGTERM) could
// commit on the server and still report failure, which would leave the
// import leased to a worker that never runs it. Once begun, a claim runs to
// its end, within a lease, and the caller runs (or hands back) what it got.
func Claim(ctx context.Context, db *pgxpool.Pool, worker string, lease time.Duration) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lease)
	defer cancel()
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, claimLock); err != nil {
		return nil, fmt.Errorf("claim lock: %w", err)
	}
	// Jobs whose workers keep dying are failed rather than retried forever;
	// an import whose restore failed so goes back to its state before.
	if _, err := tx.Exec(ctx, `UPDATE sis_imports o SET workflow_state = j.params->>'restore_from_state', updated_at = now()
		FROM sis_imports j WHERE j.kind = 'restore' AND j.restore_of = o.id AND o.workflow_state = 'restoring'
		  AND j.workflow_state = 'importing' AND j.lease_until < now() AND j.attempt >= $1`, MaxAttempts); err != nil {
		return nil, fmt.Errorf("give back restored imports: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE sis_imports SET workflow_state = 'failed', progress = 100, ended_at = now(),
		updated_at = now(), lease_until = NULL, data = data || '{"applied": false}',
		processing_errors = processing_errors || jsonb_build_array(jsonb_build_array('', 'The import was attempted '||attempt||' times without finishing; giving up.'))
		WHERE workflow_state = 'importing' AND lease_until < now() AND attempt >= $1`, MaxAttempts); err != nil {
		return nil, fmt.Errorf("fail exhausted jobs: %w", err)
	}
	i, err := scanImport(tx.QueryRow(ctx, `UPDATE sis_imports SET workflow_state = 'importing', attempt = attempt + 1,
			lease_until = now() + $2 * interval '1 second', worker = $1, progress = 0,
			started_at = clock_timestamp(), updated_at = clock_timestamp()
		WHERE id = (
			SELECT i.id FROM sis_imports i
			WHERE (i.workflow_state = 'created' OR (i.workflow_state = 'importing' AND i.lease_until < now()))
			  AND NOT `+heldBack("i")+`
			  AND NOT EXISTS (
				SELECT 1 FROM sis_imports o
				WHERE o.root_account_id = i.root_account_id AND o.id <> i.id
				  AND o.workflow_state IN ('created', 'importing')
				  AND ((o.workflow_state = 'importing' AND o.lease_until >= now())
				       OR ((o.created_at, o.id) < (i.created_at, i.id) AND NOT `+heldBack("o")+`)))
			ORDER BY i.created_at, i.id
			LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+importColumns, worker, lease.Seconds()))
	if errs.KindOf(err) == errs.NotFound {
		return nil, tx.Commit(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM sis_import_results WHERE import_id = $1 AND attempt < $2`, i.ID, i.Attempt); err != nil {
		return nil, fmt.Errorf("drop results of earlier attempts: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return &Job{Import: i, db: db, lease: lease, lastBeat: time.Now()}, nil
}

// Progress renews the lease and publishes progress (0–99) and the rate, at
// most twice a second; it returns ErrLost when the job is no longer ours.
func (j *Job) Progress(ctx context.Context, percent int, rowsPerSecond float64, etaSeconds float64) error {
	j.mu.Lock()
	if time.Since(j.lastBeat) < 500*time.Millisecond {
		j.mu.Unlock()
		return nil
	}
	j.lastBeat = time.Now()
	j.mu.Unlock()
	return j.beat(ctx, percent, map[string]any{"rows_per_second": int64(rowsPerSecond), "eta_seconds": int64(etaSeconds)})
}

// Heartbeat renews the lease without new progress.
func (j *Job) Heartbeat(ctx context.Context) error {
	j.mu.Lock()
	j.lastBeat = time.Now()
	j.mu.Unlock()
	return j.beat(ctx, -1, nil)
}

func (j *Job) beat(ctx context.Context, percent int, live map[string]any) error {
	var liveJSON []byte
	if live != nil {
		liveJSON, _ = json.Marshal(live)
	}
	tag, err := j.db.Exec(ctx, `UPDATE sis_imports SET lease_until = now() + $3 * interval '1 second',
			progress = CASE WHEN $4 >= 0 THEN LEAST($4, 99) ELSE progress END,
			data = CASE WHEN $5::jsonb IS NULL THEN data ELSE data || $5::jsonb END
		WHERE id = $1 AND attempt = $2 AND workflow_state = 'importing'`,
		j.ID, j.Attempt, j.lease.Seconds(), percent, liveJSON)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrLost
	}
	return nil
}

// Outcome is how an import run ends. Warnings and Errors are shown as
// given: the caller keeps them to Canvas's 24.
type Outcome struct {
	State    string
	Data     any
	Warnings [][2]string
	Errors   [][2]string
}

// Finish writes the final state inside the import's own transaction, last,
// fenced by the attempt: when the job is no longer ours it returns ErrLost
// and the caller must roll back.
func (j *Job) Finish(ctx context.Context, tx pgx.Tx, o Outcome) error {
	data, err := json.Marshal(o.Data)
	if err != nil {
		return fmt.Errorf("encode import data: %w", err)
	}
	w, _ := json.Marshal(nonNil(j.warningsWith(o.Warnings)))
	e, _ := json.Marshal(nonNil(o.Errors))
	tag, err := tx.Exec(ctx, `UPDATE sis_imports SET workflow_state = $3, data = $4, processing_warnings = $5,
			processing_errors = $6, progress = 100, ended_at = clock_timestamp(), updated_at = clock_timestamp(),
			lease_until = NULL, results_attempt = attempt
		WHERE id = $1 AND attempt = $2 AND workflow_state = 'importing'`, j.ID, j.Attempt, o.State, data, w, e)
	if err != nil {
		return fmt.Errorf("finish import: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrLost
	}
	return nil
}

// warningsWith keeps the warnings recorded at upload (unknown parameters).
func (j *Job) warningsWith(w [][2]string) [][2]string {
	var upload [][2]string
	_ = json.Unmarshal(j.ProcessingWarnings, &upload)
	return append(upload, w...)
}

// HandBack returns a job this worker is told to stop (shutdown) to the head
// of the queue, for any worker to take at once.
func (j *Job) HandBack(ctx context.Context) error {
	_, err := j.db.Exec(ctx, `UPDATE sis_imports SET workflow_state = 'created', lease_until = NULL, worker = NULL,
		progress = 0, updated_at = now()
		WHERE id = $1 AND attempt = $2 AND workflow_state = 'importing'`, j.ID, j.Attempt)
	if err != nil {
		return fmt.Errorf("hand back import: %w", err)
	}
	return nil
}

// RetryLater gives up this attempt after a failure: the lease is cut to
// delay, after which any worker may claim the import again, until
// MaxAttempts attempts have failed and the claim marks it failed.
func (j *Job) RetryLater(ctx context.Context, delay time.Duration) error {
	_, err := j.db.Exec(ctx, `UPDATE sis_imports SET lease_until = now() + $3 * interval '1 second', worker = NULL,
		progress = 0, updated_at = now()
		WHERE id = $1 AND attempt = $2 AND workflow_state = 'importing'`, j.ID, j.Attempt, delay.Seconds())
	if err != nil {
		return fmt.Errorf("retry import later: %w", err)
	}
	return nil
}

func nonNil(m [][2]string) [][2]string {
	if m == nil {
		return [][2]string{}
	}
	return m
}
