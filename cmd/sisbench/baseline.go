package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// baseline is the yardstick of the targets (docs/performance.md#targets): plain COPYs of the same rows into tables
// shaped like the service's.
type baseline struct {
	users, enrollments, results time.Duration
}

// total is the users baseline: users and their results.
func (b baseline) total() time.Duration { return b.users + b.results }

// enrollmentsTotal is the enrollments baseline: enrollments and their results.
func (b baseline) enrollmentsTotal() time.Duration { return b.enrollments + b.results }

// scratchSchema holds the baseline's tables while they are measured.
const scratchSchema = "sisbench_baseline"

// measureBaseline COPYs n users rows into a copy of users (LIKE … INCLUDING
// ALL: same columns, defaults and indexes, the unique ones included) and n
// result rows into a copy of sis_import_results, and times each COPY. The
// copies get sequences of their own, so the service's sequences stay as
// they were. The scratch schema is dropped afterwards.
func measureBaseline(ctx context.Context, conn *pgx.Conn, n int) (baseline, error) {
	var b baseline
	setup := []string{
		`DROP SCHEMA IF EXISTS ` + scratchSchema + ` CASCADE`,
		`CREATE SCHEMA ` + scratchSchema,
		`CREATE TABLE ` + scratchSchema + `.bench_users (LIKE users INCLUDING ALL)`,
		`CREATE SEQUENCE ` + scratchSchema + `.bench_users_id_seq`,
		`ALTER TABLE ` + scratchSchema + `.bench_users ALTER id SET DEFAULT nextval('` + scratchSchema + `.bench_users_id_seq')`,
		`CREATE TABLE ` + scratchSchema + `.bench_enrollments (LIKE enrollments INCLUDING ALL)`,
		`CREATE SEQUENCE ` + scratchSchema + `.bench_enrollments_id_seq`,
		`ALTER TABLE ` + scratchSchema + `.bench_enrollments ALTER id SET DEFAULT nextval('` + scratchSchema + `.bench_enrollments_id_seq')`,
		`CREATE TABLE ` + scratchSchema + `.bench_results (LIKE sis_import_results INCLUDING ALL)`,
		`CREATE SEQUENCE ` + scratchSchema + `.bench_results_id_seq`,
		`ALTER TABLE ` + scratchSchema + `.bench_results ALTER id SET DEFAULT nextval('` + scratchSchema + `.bench_results_id_seq')`,
	}
	for _, q := range setup {
		if _, err := conn.Exec(ctx, q); err != nil {
			return b, fmt.Errorf("baseline: %s: %w", q, err)
		}
	}
	defer func() {
		ctx := context.WithoutCancel(ctx)
		for _, q := range []string{
			`TRUNCATE ` + scratchSchema + `.bench_users, ` + scratchSchema + `.bench_enrollments, ` + scratchSchema + `.bench_results`,
			`DROP SCHEMA ` + scratchSchema + ` CASCADE`,
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				fmt.Fprintf(os.Stderr, "sisbench: baseline cleanup: %s: %v\n", q, err)
			}
		}
	}()
	if err := sameIndexes(ctx, conn, "users", scratchSchema+".bench_users"); err != nil {
		return b, err
	}
	if err := sameIndexes(ctx, conn, "sis_import_results", scratchSchema+".bench_results"); err != nil {
		return b, err
	}
	if err := sameIndexes(ctx, conn, "enrollments", scratchSchema+".bench_enrollments"); err != nil {
		return b, err
	}

	// The same columns and values the importer writes for a new user.
	userCols := []string{"id", "root_account_id", "account_id", "sis_user_id", "integration_id", "login_id", "name",
		"first_name", "last_name", "sortable_name", "short_name", "email", "pronouns", "workflow_state", "origin",
		"password_hash", "last_import_id"}
	var err error
	if b.users, err = timedCopy(ctx, conn, "bench_users", userCols, n, func(i int) []any {
		u := userAt(i, false)
		name := u.first + " " + u.last
		return []any{int64(i), int64(1), int64(1), u.userID, nil, u.login, name, u.first, u.last,
			u.last + ", " + u.first, name, u.email, "", "active", "sis", nil, int64(1)}
	}); err != nil {
		return b, err
	}
	// The same columns the importer writes for a new enrollment; user i in
	// course i mod 1000, as the enrollments file has it.
	enrollmentCols := []string{"id", "root_account_id", "course_id", "section_id", "user_id", "role", "role_id", "associated_user_id",
		"limit_privileges_to_course_section", "start_at", "end_at", "workflow_state", "last_import_id"}
	if b.enrollments, err = timedCopy(ctx, conn, "bench_enrollments", enrollmentCols, n, func(i int) []any {
		return []any{int64(i), int64(1), int64(i%benchCourses + 1), int64(0), int64(i), "student", int64(1), int64(0), false, nil, nil, "active", int64(1)}
	}); err != nil {
		return b, err
	}
	// A result per row, as the importer writes for a created user.
	resultCols := []string{"import_id", "attempt", "file", "row", "entity", "sis_id", "object_id", "action"}
	if b.results, err = timedCopy(ctx, conn, "bench_results", resultCols, n, func(i int) []any {
		return []any{int64(1), int32(1), "users.csv", int32(i + 1), "user", fmt.Sprintf("U%07d", i), int64(i), "created"}
	}); err != nil {
		return b, err
	}
	return b, nil
}

// timedCopy COPYs rows 1…n, made by row, into the scratch table and says
// how long PostgreSQL took.
func timedCopy(ctx context.Context, conn *pgx.Conn, table string, cols []string, n int, row func(i int) []any) (time.Duration, error) {
	i := 0
	start := time.Now()
	got, err := conn.CopyFrom(ctx, pgx.Identifier{scratchSchema, table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		return row(i), nil
	}))
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("baseline COPY %s: %w", table, err)
	}
	if got != int64(n) {
		return took, fmt.Errorf("baseline COPY %s: %d rows, want %d", table, got, n)
	}
	return took, nil
}

// sameIndexes checks that the copy has the indexes of the original (LIKE
// … INCLUDING ALL copies them, the unique and partial ones too).
func sameIndexes(ctx context.Context, conn *pgx.Conn, orig, cp string) error {
	var want, got, wantUnique, gotUnique int
	q := `SELECT count(*), count(*) FILTER (WHERE indisunique) FROM pg_index WHERE indrelid = $1::regclass`
	if err := conn.QueryRow(ctx, q, orig).Scan(&want, &wantUnique); err != nil {
		return fmt.Errorf("baseline: indexes of %s: %w", orig, err)
	}
	if err := conn.QueryRow(ctx, q, cp).Scan(&got, &gotUnique); err != nil {
		return fmt.Errorf("baseline: indexes of %s: %w", cp, err)
	}
	if got != want || gotUnique != wantUnique {
		return fmt.Errorf("baseline: %s has %d indexes (%d unique), %s has %d (%d unique)", cp, got, gotUnique, orig, want, wantUnique)
	}
	step(fmt.Sprintf("baseline table %s: %d indexes (%d unique), as %s", cp, got, gotUnique, orig))
	return nil
}
