package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// The targets of docs/performance.md#targets.
const (
	maxRunRatio     = 2.0   // new users: run ≤ 2× baseline
	maxE2ERatio     = 2.5   // new users: end to end ≤ 2.5× baseline
	goalNewRate     = 100e3 // new users, end to end, the goal
	floorNewRate    = 50e3  // new users, end to end, the floor of the current issue (at 1,000,000 rows)
	goalSameRate    = 200e3 // unchanged, end to end
	goalChangedRate = 150e3 // 10 % changed, end to end
	maxPeakRSSMB    = 150.0
	targetRows      = 1_000_000
)

// printReport prints the measurements and the targets they are held to.
func printReport(w io.Writer, rows int, m machine, b baseline, rs []runResult) {
	fmt.Fprintf(w, "\nsisbench: %d rows per file; %d CPUs, %s, PostgreSQL %s\n", rows, m.cpus, m.goVersion, m.pgVersion)
	fmt.Fprintf(w, "baseline: COPY users %.2f s + COPY results %.2f s = %.2f s (%s rows/s)\n",
		b.users.Seconds(), b.results.Seconds(), b.total().Seconds(), rate(rows, b.total()))
	fmt.Fprintf(w, "enrollments baseline: COPY enrollments %.2f s + COPY results %.2f s = %.2f s (%s rows/s)\n\n",
		b.enrollments.Seconds(), b.results.Seconds(), b.enrollmentsTotal().Seconds(), rate(rows, b.enrollmentsTotal()))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\trows\tupload s\te2e s\trun s\trows/s e2e\te2e/base\trun/base\tpeak RSS MB\tVmHWM MB\tserver CPU s\tpg CPU s\tcheck\t")
	for _, r := range rs {
		hwm := fmt.Sprintf("%.1f", mb(r.hwmKB))
		if !r.hwmReset {
			hwm += "*"
		}
		pg := "-"
		if r.pgCPU >= 0 {
			pg = fmt.Sprintf("%.1f", r.pgCPU)
		}
		ok := "ok"
		if r.fail != "" {
			ok = "FAIL"
		}
		e2eRatio, runRatio := "-", "-"
		if r.base > 0 {
			e2eRatio, runRatio = fmt.Sprintf("%.2f×", ratio(r.e2e, r.base)), fmt.Sprintf("%.2f×", ratio(r.runDur, r.base))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%.1f\t%s\t%.1f\t%s\t%s\t\n",
			r.name, r.rows, r.upload.Seconds(), r.e2e.Seconds(), r.runDur.Seconds(), rate(r.rows, r.e2e),
			e2eRatio, runRatio, mb(r.peakRSSKB), hwm, r.serverCPU, pg, ok)
	}
	fmt.Fprintf(tw, "baseline\t%d\t\t%.2f\t%.2f\t%s\t1.00×\t1.00×\t\t\t\t\t\t\n", rows, b.total().Seconds(), b.total().Seconds(), rate(rows, b.total()))
	tw.Flush()
	if len(rs) > 0 && !rs[0].hwmReset {
		fmt.Fprintln(w, "* VmHWM could not be reset between runs: it is the peak since the server started")
	}
	fmt.Fprintln(w, "upload: POST until its response; e2e: POST until progress 100 is seen (polled every 50 ms); run: ended_at − started_at;")
	fmt.Fprintln(w, "peak RSS: max VmRSS sampled every 50 ms; CPU: user+system seconds of the server and of all PostgreSQL processes during the run")

	note := ""
	if rows != targetRows {
		note = fmt.Sprintf(" (stated for %s rows; measured here at %s)", thousands(targetRows), thousands(int64(rows)))
	}
	fmt.Fprintf(w, "\ntargets (docs/performance.md#targets)%s:\n", note)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	byName := map[string]runResult{}
	for _, r := range rs {
		byName[r.name] = r
	}
	if r, ok := byName["new"]; ok {
		target(tw, "new: run ≤ 2× baseline", fmt.Sprintf("%.2f×", ratio(r.runDur, b.total())), ratio(r.runDur, b.total()) <= maxRunRatio)
		target(tw, "new: end to end ≤ 2.5× baseline", fmt.Sprintf("%.2f×", ratio(r.e2e, b.total())), ratio(r.e2e, b.total()) <= maxE2ERatio)
		target(tw, "new: ≥ 100,000 rows/s end to end (goal)", rate(r.rows, r.e2e)+" rows/s", perSec(r.rows, r.e2e) >= goalNewRate)
		target(tw, "floor of the issue: 1,000,000 new users ≥ 50,000 rows/s end to end", rate(r.rows, r.e2e)+" rows/s", perSec(r.rows, r.e2e) >= floorNewRate)
	}
	if r, ok := byName["unchanged"]; ok {
		target(tw, "unchanged: ≥ 200,000 rows/s end to end", rate(r.rows, r.e2e)+" rows/s", perSec(r.rows, r.e2e) >= goalSameRate)
	}
	if r, ok := byName["10% changed"]; ok {
		target(tw, "10% changed: ≥ 150,000 rows/s end to end", rate(r.rows, r.e2e)+" rows/s", perSec(r.rows, r.e2e) >= goalChangedRate)
	}
	if r, ok := byName["enrollments"]; ok {
		target(tw, "enrollments: end to end ≤ 2.5× their baseline", fmt.Sprintf("%.2f×", ratio(r.e2e, r.base)), ratio(r.e2e, r.base) <= maxE2ERatio)
	}
	var peak float64
	for _, r := range rs {
		peak = max(peak, mb(r.peakRSSKB), mb(r.hwmKB))
	}
	target(tw, "server peak memory < 150 MB", fmt.Sprintf("%.1f MB", peak), peak < maxPeakRSSMB)
	tw.Flush()
	fmt.Fprintln(w, "(not measured here: GET /sis_imports/:id p99 < 10 ms at 500 requests/s during an import)")
}

func target(w io.Writer, what, got string, ok bool) {
	verdict := "PASS"
	if !ok {
		verdict = "MISS"
	}
	fmt.Fprintf(w, "  %s\t%s\t%s\n", what, got, verdict)
}

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// rate formats rows per second with thousands separators.
func rate(n int, d time.Duration) string {
	return thousands(int64(perSec(n, d) + 0.5))
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ratio(d, base time.Duration) float64 {
	if base <= 0 {
		return 0
	}
	return d.Seconds() / base.Seconds()
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

// printStorage prints what the runs left in PostgreSQL, table by table with
// their indexes, for the capacity note.
func printStorage(ctx context.Context, conn *pgx.Conn, w io.Writer) error {
	fmt.Fprintln(w, "\nstorage after the runs (table with its indexes and TOAST):")
	for _, table := range []string{"users", "enrollments", "sis_import_results", "sis_import_chunks"} {
		var rows, bytes int64
		err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+table+`), pg_total_relation_size($1::regclass)`, table).Scan(&rows, &bytes)
		if err != nil {
			return fmt.Errorf("storage of %s: %w", table, err)
		}
		per := 0.0
		if rows > 0 {
			per = float64(bytes) / float64(rows)
		}
		fmt.Fprintf(w, "  %-20s %12s rows %9.1f MB  %6.0f bytes/row\n", table, thousands(rows), float64(bytes)/(1<<20), per)
	}
	return nil
}
