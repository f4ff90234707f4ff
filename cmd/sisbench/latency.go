package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// latencyRun is what the -api probe measured: GET /sis_imports/:id at a
// fixed rate while an import of the file runs (SPEC §7).
type latencyRun struct {
	rate      int
	sent      int
	errors    int64
	latencies []time.Duration
	importDur time.Duration
}

// probeLatency uploads file and, until the import ends, sends GET requests
// for it at rate per second on an open loop (a slow answer does not slow
// the sending), recording each answer's latency.
func probeLatency(ctx context.Context, c *apiClient, file string, rate int) (latencyRun, error) {
	r := latencyRun{rate: rate}
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
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	return r, nil
}

func (r latencyRun) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(q*float64(len(r.latencies)-1))]
}

func (r latencyRun) print() {
	p99 := r.quantile(0.99)
	verdict := "PASS"
	if p99 >= 10*time.Millisecond || r.errors > 0 {
		verdict = "MISS"
	}
	fmt.Printf("\nGET /api/v1/accounts/1/sis_imports/:id at %d requests/s while the import ran (%.1f s): %d sent, %d answered, %d errors\n",
		r.rate, r.importDur.Seconds(), r.sent, len(r.latencies), r.errors)
	fmt.Printf("latency p50 %v  p90 %v  p99 %v  max %v\n", r.quantile(0.5).Round(10*time.Microsecond),
		r.quantile(0.9).Round(10*time.Microsecond), p99.Round(10*time.Microsecond), r.quantile(1).Round(10*time.Microsecond))
	fmt.Printf("SPEC §7: p99 < 10 ms at 500 requests/s during an import: %s\n", verdict)
}
