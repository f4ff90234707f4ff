package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiClient talks to the service's API with an admin token.
type apiClient struct {
	base  string
	token string
}

// importJSON is the part of the SisImport object (docs/api.md#the-sisimport-object) sisbench reads.
type importJSON struct {
	ID            int64      `json:"id"`
	WorkflowState string     `json:"workflow_state"`
	Progress      int        `json:"progress"`
	StartedAt     *time.Time `json:"started_at"`
	EndedAt       *time.Time `json:"ended_at"`
	Data          struct {
		Actions map[string]map[string]int `json:"actions"`
	} `json:"data"`
	ProcessingErrors   json.RawMessage `json:"processing_errors"`
	ProcessingWarnings json.RawMessage `json:"processing_warnings"`
}

// upload POSTs the file as the raw body, streamed from disk, with the
// import parameters params.
func (c *apiClient) upload(ctx context.Context, path, params string) (importJSON, error) {
	var imp importJSON
	f, err := os.Open(path)
	if err != nil {
		return imp, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return imp, err
	}
	ext, ctype := "csv", "text/csv"
	if strings.HasSuffix(path, ".zip") {
		ext, ctype = "zip", "application/zip"
	}
	url := c.base + "/api/v1/accounts/1/sis_imports?extension=" + ext
	if params != "" {
		url += "&" + params
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, f)
	if err != nil {
		return imp, err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", ctype)
	return imp, c.do(req, &imp)
}

// get reads one import.
func (c *apiClient) get(ctx context.Context, id int64) (importJSON, error) {
	var imp importJSON
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/v1/accounts/1/sis_imports/%d", c.base, id), nil)
	if err != nil {
		return imp, err
	}
	return imp, c.do(req, &imp)
}

func (c *apiClient) do(req *http.Request, v any) error {
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %.500s", req.Method, req.URL.Path, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

// runPlan is one import to measure: a file and the results it must give
// (data.actions.total).
type runPlan struct {
	name   string
	file   string
	params string
	want   map[string]int
	base   time.Duration // the baseline the run is held to
	// midway, when set, runs once the import's progress passes 20 %.
	midway func(context.Context) error
}

// runResult is what one import measured.
type runResult struct {
	name                string
	base                time.Duration
	rows                int
	upload, e2e, runDur time.Duration
	peakRSSKB, hwmKB    int64 // hwmKB covers earlier runs too when hwmReset is false
	hwmReset            bool
	serverCPU, pgCPU    float64 // seconds; pgCPU < 0 when unknown
	fail                string  // why the import is not what it should be
}

// importOnce uploads p.file, polls the import every 50 ms until progress is
// 100, samples the server's RSS meanwhile, and checks the outcome.
func importOnce(ctx context.Context, c *apiClient, srv *server, db *database, p runPlan) (runResult, error) {
	r := runResult{name: p.name, base: p.base, pgCPU: -1}
	for _, n := range p.want {
		r.rows += n
	}
	pid, pgPid := srv.pid(), db.pgPid()
	r.hwmReset = resetHWM(pid)
	cpu0 := procCPU(pid, false)
	pg0 := procCPU(pgPid, true)
	rss := sampleRSS(pid, 50*time.Millisecond)

	start := time.Now()
	imp, err := c.upload(ctx, p.file, p.params)
	r.upload = time.Since(start)
	if err != nil {
		rss.stop()
		return r, err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for imp.Progress < 100 {
		select {
		case <-ctx.Done():
			rss.stop()
			return r, ctx.Err()
		case <-srv.exited:
			rss.stop()
			return r, fmt.Errorf("the server exited during the import: %v", srv.err)
		case <-tick.C:
		}
		if imp, err = c.get(ctx, imp.ID); err != nil {
			rss.stop()
			return r, err
		}
		if p.midway != nil && imp.Progress > 20 && imp.Progress < 100 {
			err, p.midway = p.midway(ctx), nil
			if err != nil {
				rss.stop()
				return r, err
			}
		}
	}
	r.e2e = time.Since(start)
	r.peakRSSKB = rss.stop()
	r.hwmKB = procStatusKB(pid, "VmHWM")
	if cpu1 := procCPU(pid, false); cpu0 >= 0 && cpu1 >= 0 {
		r.serverCPU = cpu1 - cpu0
	}
	if pg1 := procCPU(pgPid, true); pg0 >= 0 && pg1 >= 0 {
		r.pgCPU = pg1 - pg0
	}
	if imp.StartedAt != nil && imp.EndedAt != nil {
		r.runDur = imp.EndedAt.Sub(*imp.StartedAt)
	}
	r.fail = check(imp, p.want)
	return r, nil
}

// check compares the finished import with what it must be; "" when it is.
func check(imp importJSON, want map[string]int) string {
	var problems []string
	if imp.WorkflowState != "imported" {
		problems = append(problems, fmt.Sprintf("workflow_state %q, want \"imported\" (errors %s, warnings %.300s)",
			imp.WorkflowState, imp.ProcessingErrors, imp.ProcessingWarnings))
	}
	if imp.StartedAt == nil || imp.EndedAt == nil {
		problems = append(problems, "started_at or ended_at missing")
	}
	got := map[string]int{}
	for a, n := range imp.Data.Actions["total"] {
		if n != 0 {
			got[a] = n
		}
	}
	if !maps.Equal(got, want) {
		problems = append(problems, fmt.Sprintf("data.actions.total %s, want %s", fmtActions(got), fmtActions(want)))
	}
	return strings.Join(problems, "; ")
}

func fmtActions(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// rssSampler keeps the largest VmRSS seen.
type rssSampler struct {
	done chan struct{}
	max  chan int64
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{done: make(chan struct{}), max: make(chan int64, 1)}
	go func() {
		var peak int64
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			peak = max(peak, procStatusKB(pid, "VmRSS"))
			select {
			case <-s.done:
				s.max <- max(peak, procStatusKB(pid, "VmRSS"))
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak in kB.
func (s *rssSampler) stop() int64 {
	close(s.done)
	return <-s.max
}

// procStatusKB reads a "Vm…: N kB" line of /proc/<pid>/status; 0 if absent.
func procStatusKB(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

// resetHWM resets the process's VmHWM to its current RSS (Linux clear_refs
// "5"), so that each run's VmHWM is its own.
func resetHWM(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// clockTicks is USER_HZ, 100 on every Linux platform Go supports.
const clockTicks = 100

// procCPU is the CPU seconds (user + system) used by pid, including its
// reaped children; with tree, also those of its live children (PostgreSQL's
// backends). -1 when unknown.
func procCPU(pid int, tree bool) float64 {
	if pid <= 0 {
		return -1
	}
	own, _, err := statCPU(pid)
	if err != nil {
		return -1
	}
	total := own
	if tree {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			var child int
			if _, err := fmt.Sscan(e.Name(), &child); err != nil || child == pid {
				continue
			}
			if cpu, ppid, err := statCPU(child); err == nil && ppid == pid {
				total += cpu
			}
		}
	}
	return total
}

// statCPU reads utime+stime+cutime+cstime (seconds) and the parent pid of a process.
func statCPU(pid int) (float64, int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("bad stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return 0, 0, errors.New("bad stat")
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, fmt.Errorf("bad stat: %w", err)
	}
	var sum int64
	for _, k := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		ticks, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bad stat: %w", err)
		}
		sum += ticks
	}
	return float64(sum) / clockTicks, ppid, nil
}
