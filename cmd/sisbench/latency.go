package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// latencyRun is what the -api probe measured: GET /sis_imports/:id at a
// fixed rate while an import of the file runs (docs/performance.md#targets), and, as its
// yardstick, a bare PostgreSQL round trip (SELECT 1) at a fifth of that
// rate at the same time (enough for a p99, little added load).
type latencyRun struct {
	rate      int
	sent      int
	errors    int64
	latencies []time.Duration
	dbErrors  int64
	roundTrip []time.Duration
	importDur time.Duration
}

// probeLatency uploads file and, until the import ends, sends GET requests
// for it at rate per second on an open loop (a slow answer does not slow
// the sending), recording each answer's latency. With every fifth GET it
// sends a SELECT 1 to the database at dbURL, on connections opened
// beforehand, so that only the round trip is timed.
func probeLatency(ctx context.Context, c *apiClient, dbURL, file string, rate int) (latencyRun, error) {
	r := latencyRun{rate: rate}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return r, err
	}
	cfg.MinConns, cfg.MaxConns = 16, 16
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	conns := make([]*pgxpool.Conn, cfg.MaxConns)
	for i := range conns {
		if conns[i], err = pool.Acquire(ctx); err != nil {
			return r, err
		}
	}
	for _, conn := range conns {
		conn.Release()
	}
	imp, err := c.upload(ctx, file, "")
	if err != nil {
		return r, err
	}
	start := time.Now()
	url := fmt.Sprintf("%s/api/v1/accounts/1/sis_imports/%d", c.base, imp.ID)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		done atomic.Bool
	)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for !done.Load() {
		select {
		case <-ctx.Done():
			wg.Wait()
			return r, ctx.Err()
		case <-tick.C:
		}
		r.sent++
		if r.sent%5 == 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var one int
				t0 := time.Now()
				err := pool.QueryRow(ctx, `SELECT 1`).Scan(&one)
				d := time.Since(t0)
				if err != nil {
					atomic.AddInt64(&r.dbErrors, 1)
					return
				}
				mu.Lock()
				r.roundTrip = append(r.roundTrip, d)
				mu.Unlock()
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+c.token)
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				atomic.AddInt64(&r.errors, 1)
				return
			}
			var got importJSON
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			d := time.Since(t0)
			if err != nil || resp.StatusCode != http.StatusOK {
				atomic.AddInt64(&r.errors, 1)
				return
			}
			mu.Lock()
			r.latencies = append(r.latencies, d)
			mu.Unlock()
			if got.Progress == 100 {
				done.Store(true)
			}
		}()
	}
	wg.Wait()
	r.importDur = time.Since(start)
	slices.Sort(r.latencies)
	slices.Sort(r.roundTrip)
	return r, nil
}

// quantile is the q-quantile of sorted latencies.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1))]
}

// summary is one distribution's line.
func summary(sorted []time.Duration) string {
	r := func(q float64) time.Duration { return quantile(sorted, q).Round(10 * time.Microsecond) }
	return fmt.Sprintf("p50 %v  p90 %v  p99 %v  max %v", r(0.5), r(0.9), r(0.99), r(1))
}

func (r latencyRun) print() {
	p99 := quantile(r.latencies, 0.99)
	verdict := "PASS"
	if p99 >= 10*time.Millisecond || r.errors > 0 {
		verdict = "MISS"
	}
	fmt.Printf("\nGET /api/v1/accounts/1/sis_imports/:id at %d requests/s while the import ran (%.1f s): %d sent, %d answered, %d errors\n",
		r.rate, r.importDur.Seconds(), r.sent, len(r.latencies), r.errors)
	fmt.Printf("latency %s\n", summary(r.latencies))
	fmt.Printf("target (docs/performance.md#targets): p99 < 10 ms at 500 requests/s during an import: %s\n", verdict)
	fmt.Printf("\nyardstick, at the same time, %d/s: one PostgreSQL round trip (SELECT 1 from sisbench), %d answered, %d errors\n",
		r.rate/5, len(r.roundTrip), r.dbErrors)
	fmt.Printf("latency %s\n", summary(r.roundTrip))
	fmt.Println("(a GET of a running import makes two round trips: the token, then the account and the import)")
}
