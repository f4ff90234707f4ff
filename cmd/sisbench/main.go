// Command sisbench is the import benchmark of docs/performance.md#targets, run by `make bench`.
//
// It builds the service, gets a PostgreSQL, migrates it, makes an admin token,
// starts `sisimport serve` as a child process and imports, through the HTTP
// API as an SIS feed would, files of -rows rows one after another:
//
//  1. new users, the same file again (unchanged), every 10th row changed,
//     and a batch-mode run with every 20th user dropped;
//  2. 1,000 courses, then -rows enrollments of the users in them;
//  3. 1,000 groups, then -rows group memberships;
//  4. a zip of the courses, the batch-mode users and the enrollments;
//  5. twice a dry run of as many new users then the same file for real,
//     the second time with VACUUM ANALYZE users run once its progress
//     passes 20 %, as autovacuum does after a large rollback.
//
// Each import is timed from the POST until GET …/sis_imports/:id reads
// progress 100 (end to end), and from started_at to ended_at (run). The
// yardstick is PostgreSQL itself, measured once before the imports on the same
// server: a plain COPY of the same users rows into a copy of the users table
// (same columns and indexes) plus a COPY of as many rows into a copy of the
// results table; their summed time is the baseline (and likewise for the
// enrollments). The server's peak RSS is sampled every 50 ms from /proc. The
// table printed at the end puts the figures next to the targets of docs/performance.md#targets.
//
// Database: with DATABASE_URL unset, sisbench starts a private cluster in its
// temporary directory (initdb and pg_ctl from the machine's PostgreSQL, as
// `make test` does) and stops it at the end, also on error or Ctrl-C. With
// DATABASE_URL set, that database is used and it must be empty (freshly
// created): sisbench migrates it, imports into account 1, and leaves the
// imported users behind; it refuses a database that already holds users or
// imports.
//
// Flags:
//
//	-rows N       rows per file (default 1,000,000; the targets are stated for 1,000,000)
//	-keep         keep the temporary directory (files, binary, private cluster's data)
//	-cpuprofile   print how to profile the server during the runs (the service
//	              exposes no pprof endpoint and sisbench adds none: it prints the
//	              server's pid and the perf commands to attach to it)
//
// Exit status: 1 when something could not be measured or an import did not
// give the expected results (a FAIL line says which); a missed target alone is
// reported as MISS and does not change the exit status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sisbench:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	rows       int
	keep       bool
	cpuprofile bool
	apiRate    int // requests/s of the -api latency probe; 0 runs the import benchmark
}

func parseFlags() (options, error) {
	var o options
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows in each users.csv")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.IntVar(&o.apiRate, "api", 0, "instead of the import runs: GET /sis_imports/:id at this many requests/s while a new-users import runs (make bench-api)")
	flag.BoolVar(&o.cpuprofile, "cpuprofile", false, "print how to profile the server while it imports (no pprof endpoint is used)")
	flag.Parse()
	if o.rows < 10 {
		return o, fmt.Errorf("-rows %d: at least 10", o.rows)
	}
	return o, nil
}

// run is the whole benchmark; every resource it starts is released on return.
func run(ctx context.Context) error {
	opts, err := parseFlags()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "sisbench-")
	if err != nil {
		return err
	}
	// As root the private cluster runs as another user, who must reach tmp/pg.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	defer func() {
		if opts.keep {
			fmt.Printf("kept %s\n", tmp)
			return
		}
		os.RemoveAll(tmp)
	}()

	step("building the service")
	bin, err := buildService(ctx, tmp)
	if err != nil {
		return err
	}

	db, err := openDatabase(ctx, tmp)
	if err != nil {
		return err
	}
	defer db.close()

	step("migrating and creating a token")
	if err := migrate(ctx, bin, db.url); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := checkEmpty(ctx, conn); err != nil {
		return err
	}
	token, err := createToken(ctx, bin, db.url)
	if err != nil {
		return err
	}
	mach, err := machineInfo(ctx, conn)
	if err != nil {
		return err
	}

	step("starting the server")
	srv, err := startServer(ctx, bin, db.url)
	if err != nil {
		return err
	}
	defer srv.stop()
	if opts.cpuprofile {
		printProfilingHelp(srv.pid(), db.pgPid())
	}

	step(fmt.Sprintf("writing users files of %d rows", opts.rows))
	newFile, changedFile := filepath.Join(tmp, "users.csv"), filepath.Join(tmp, "users_changed.csv")
	if err := writeUsersFile(newFile, opts.rows, false); err != nil {
		return err
	}
	if err := writeUsersFile(changedFile, opts.rows, true); err != nil {
		return err
	}

	client := &apiClient{base: "http://" + srv.addr, token: token}
	if opts.apiRate > 0 {
		step(fmt.Sprintf("importing %d new users while sending GET /sis_imports/:id at %d/s", opts.rows, opts.apiRate))
		lat, err := probeLatency(ctx, client, db.url, newFile, opts.apiRate)
		if err != nil {
			return err
		}
		fmt.Printf("\nsisbench -api: %d rows; %d CPUs, %s, PostgreSQL %s\n", opts.rows, mach.cpus, mach.goVersion, mach.pgVersion)
		lat.print()
		return nil
	}

	step("measuring the baseline (COPY into copies of users and sis_import_results)")
	base, err := measureBaseline(ctx, conn, opts.rows)
	if err != nil {
		return err
	}

	coursesFile, enrollmentsFile := filepath.Join(tmp, "courses.csv"), filepath.Join(tmp, "enrollments.csv")
	if err := writeCoursesFile(coursesFile); err != nil {
		return err
	}
	if err := writeEnrollmentsFile(enrollmentsFile, opts.rows); err != nil {
		return err
	}
	groupsFile, membershipsFile := filepath.Join(tmp, "groups.csv"), filepath.Join(tmp, "group_memberships.csv")
	if err := writeGroupsFile(groupsFile); err != nil {
		return err
	}
	if err := writeMembershipsFile(membershipsFile, opts.rows); err != nil {
		return err
	}

	batchFile, zipFile := filepath.Join(tmp, "users_batch.csv"), filepath.Join(tmp, "mixed.zip")
	if err := writeUsersFileDropping(batchFile, opts.rows); err != nil {
		return err
	}
	if err := writeZip(zipFile, coursesFile, batchFile, enrollmentsFile); err != nil {
		return err
	}

	later, latest := filepath.Join(tmp, "users_later.csv"), filepath.Join(tmp, "users_latest.csv")
	if err := writeLaterUsersFile(later, 1, opts.rows); err != nil {
		return err
	}
	if err := writeLaterUsersFile(latest, 2, opts.rows); err != nil {
		return err
	}
	// Autovacuum analyzes users about a minute after a large rollback (a dry
	// run, a failed attempt): the import after it must not slow down.
	vacuum := func(ctx context.Context) error {
		step("VACUUM ANALYZE users")
		_, err := conn.Exec(ctx, "VACUUM ANALYZE users")
		return err
	}

	changed, dropped := opts.rows/10, 0
	for i := 1; i <= opts.rows; i++ {
		if isDropped(i) {
			dropped++
		}
	}
	plans := []runPlan{
		{name: "new", file: newFile, want: map[string]int{"created": opts.rows}, base: base.total()},
		{name: "unchanged", file: newFile, want: map[string]int{"unchanged": opts.rows}, base: base.total()},
		{name: "10% changed", file: changedFile, want: map[string]int{"updated": changed, "unchanged": opts.rows - changed}, base: base.total()},
		// The same two files again, the second diffed against the first: its
		// diffing base of opts.rows keys goes to PostgreSQL.
		{name: "diffing base", file: newFile, params: "diffing_data_set_identifier=bench&diffing_remaster_data_set=true",
			want: map[string]int{"updated": changed, "unchanged": opts.rows - changed}, base: base.total()},
		{name: "diffed, 10% changed", file: changedFile, params: "diffing_data_set_identifier=bench",
			want: map[string]int{"updated": changed, "unchanged": opts.rows - changed}, base: base.total()},
		{name: "batch, 5% dropped", file: batchFile, params: "remove_unlisted_users=true&change_threshold=10",
			want: map[string]int{"unchanged": opts.rows - dropped, "deactivated": dropped}, base: base.total()},
		{name: "courses (setup)", file: coursesFile, want: map[string]int{"created": benchCourses}},
		{name: "enrollments", file: enrollmentsFile, want: map[string]int{"created": opts.rows}, base: base.enrollmentsTotal()},
		{name: "groups (setup)", file: groupsFile, want: map[string]int{"created": benchCourses}},
		{name: "memberships", file: membershipsFile, want: map[string]int{"created": opts.rows}},
		{name: "mixed zip", file: zipFile, want: map[string]int{"unchanged": benchCourses + opts.rows - dropped + opts.rows},
			base: base.total() + base.enrollmentsTotal()},
		// New users after a dry run of them, without and with a VACUUM
		// ANALYZE in the middle.
		{name: "new 2, dry run", file: later, params: "dry_run=true", want: map[string]int{"created": opts.rows}, base: base.total()},
		{name: "new 2", file: later, want: map[string]int{"created": opts.rows}, base: base.total()},
		{name: "new 3, dry run", file: latest, params: "dry_run=true", want: map[string]int{"created": opts.rows}, base: base.total()},
		{name: "new 3, VACUUM at 20%", file: latest, midway: vacuum, want: map[string]int{"created": opts.rows}, base: base.total()},
	}
	var results []runResult
	for _, p := range plans {
		// Each run starts with what came before flushed, so that PostgreSQL
		// does not write the last run's (or the baseline's) pages during it.
		if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		step(fmt.Sprintf("import %q", p.name))
		r, err := importOnce(ctx, client, srv, db, p)
		if err != nil {
			return fmt.Errorf("import %s: %w", p.name, err)
		}
		if r.fail != "" {
			fmt.Printf("\n*** FAIL: import %s: %s ***\n\n", p.name, r.fail)
		}
		results = append(results, r)
	}

	printReport(os.Stdout, opts.rows, mach, base, results)
	if err := printStorage(ctx, conn, os.Stdout); err != nil {
		return err
	}
	if opts.cpuprofile {
		fmt.Println("\n(-cpuprofile: nothing was fetched from the server; see the profiling notes printed at the start)")
	}
	for _, r := range results {
		if r.fail != "" {
			return errors.New("an import did not give the expected results (see FAIL above)")
		}
	}
	return nil
}

// machine describes where the benchmark ran.
type machine struct {
	cpus      int
	goVersion string
	pgVersion string
}

func machineInfo(ctx context.Context, conn *pgx.Conn) (machine, error) {
	m := machine{cpus: runtime.NumCPU(), goVersion: runtime.Version()}
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&m.pgVersion); err != nil {
		return m, fmt.Errorf("server_version: %w", err)
	}
	return m, nil
}

// checkEmpty refuses a database that already holds users or imports: the
// expected results assume a fresh directory.
func checkEmpty(ctx context.Context, conn *pgx.Conn) error {
	var users, imports int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sis_imports)`).Scan(&users, &imports); err != nil {
		return fmt.Errorf("check the database is empty: %w", err)
	}
	if users > 0 || imports > 0 {
		return fmt.Errorf("the database holds %d users and %d imports: sisbench needs an empty, freshly created database (unset DATABASE_URL to use a private cluster)", users, imports)
	}
	return nil
}

var t0 = time.Now()

// step prints a progress line on stderr, with the time since the start.
func step(msg string) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(t0).Seconds(), msg)
}

func printProfilingHelp(serverPid, pgPid int) {
	fmt.Printf(`
Profiling (-cpuprofile): the service exposes no pprof endpoint, so profile it from outside
while the imports run, from another terminal:

  perf record -F 999 -g -p %d -o /tmp/sisimport.perf.data -- sleep 30   # the Go server
  perf report -i /tmp/sisimport.perf.data --no-children --sort symbol | head -60
  perf top -p %d                                                          # live view
  pidstat -u -p %d 1                                                      # the server's CPU, each second

Go symbols resolve in perf because the binary is not stripped. PostgreSQL's own time shows in
pg_stat_activity (wait_event) and in EXPLAIN (ANALYZE, BUFFERS) of the importer's statements.
`, serverPid, serverPid, serverPid)
	if pgPid > 0 {
		fmt.Printf("The private PostgreSQL's postmaster is pid %d: top -b -d 1 -p %d,$(pgrep -d, -P %d)\n", pgPid, serverPid, pgPid)
	}
	fmt.Println()
}
