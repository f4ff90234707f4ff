package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// reportPageSize is how many rows a provisioning report reads at a time.
const reportPageSize = 5000

// ReportCourseColumns are the columns of the courses provisioning report, a
// courses.csv.
var ReportCourseColumns = []string{"course_id", "short_name", "long_name", "account_id", "term_id", "status", "start_date", "end_date",
	"integration_id", "course_format", "grade_passback_setting", "homeroom_course", "friendly_name", "blueprint_course_id"}

// ReportEnrollmentColumns are the columns of the enrollments provisioning
// report, an enrollments.csv.
var ReportEnrollmentColumns = []string{"course_id", "user_id", "role", "section_id", "status", "start_date", "end_date"}

// ReportCourses streams the courses of the subtree that have an SIS id, as
// a header and rows of a courses.csv that imports back unchanged into acct
// (docs/api.md#directory, provisioning report), in id order. account_id is the course's
// account's SIS id, empty for acct itself (an empty cell means the account
// the import is posted to) or when the account has none; blueprint_course_id
// is the blueprint's SIS id, empty when it has none (an empty cell keeps
// the association).
func ReportCourses(ctx context.Context, db *pgxpool.Pool, acct Account, each func(row []string) error) error {
	if err := each(ReportCourseColumns); err != nil {
		return err
	}
	err := keysetReport(ctx, db, `SELECT c.id, c.sis_course_id, c.short_name, c.long_name,
			CASE WHEN c.account_id = $1 THEN '' ELSE COALESCE(a.sis_account_id, '') END, COALESCE(t.sis_term_id, ''),
			CASE WHEN c.workflow_state IN ('completed', 'deleted') THEN c.workflow_state ELSE 'active' END,
			c.start_at, c.end_at, COALESCE(c.integration_id, ''), COALESCE(c.course_format, ''), COALESCE(c.grade_passback_setting, ''),
			c.homeroom_course::text, COALESCE(c.friendly_name, ''), COALESCE(bp.sis_course_id, '')
		FROM courses c JOIN accounts a ON a.id = c.account_id LEFT JOIN terms t ON t.id = c.term_id
			LEFT JOIN courses bp ON bp.id = c.blueprint_course_id
		WHERE $1 = ANY(a.path) AND c.sis_course_id IS NOT NULL AND c.id > $2
		ORDER BY c.id LIMIT $3`, acct.ID, func(rows pgx.Rows) (int64, []string, error) {
		var id int64
		var start, end *time.Time
		row := make([]string, len(ReportCourseColumns))
		err := rows.Scan(&id, &row[0], &row[1], &row[2], &row[3], &row[4], &row[5], &start, &end,
			&row[8], &row[9], &row[10], &row[11], &row[12], &row[13])
		row[6], row[7] = isoCell(start), isoCell(end)
		return id, row, err
	}, each)
	if err != nil {
		return fmt.Errorf("report courses: %w", err)
	}
	return nil
}

// ReportEnrollments streams the enrollments of the courses of the subtree,
// as a header and rows of an enrollments.csv that imports back unchanged
// (docs/api.md#directory, provisioning report), in id order. Only enrollments that a
// file can name are listed: their course and user have SIS ids, and so has
// their section, if they have one.
func ReportEnrollments(ctx context.Context, db *pgxpool.Pool, acct Account, each func(row []string) error) error {
	if err := each(ReportEnrollmentColumns); err != nil {
		return err
	}
	err := keysetReport(ctx, db, `SELECT e.id, c.sis_course_id, u.sis_user_id, e.role, COALESCE(s.sis_section_id, ''),
			e.workflow_state, e.start_at, e.end_at
		FROM enrollments e JOIN courses c ON c.id = e.course_id JOIN accounts a ON a.id = c.account_id
			JOIN users u ON u.id = e.user_id LEFT JOIN sections s ON s.id = e.section_id
		WHERE $1 = ANY(a.path) AND c.sis_course_id IS NOT NULL AND u.sis_user_id IS NOT NULL
		  AND (e.section_id = 0 OR s.sis_section_id IS NOT NULL) AND e.id > $2
		ORDER BY e.id LIMIT $3`, acct.ID, func(rows pgx.Rows) (int64, []string, error) {
		var id int64
		var start, end *time.Time
		row := make([]string, len(ReportEnrollmentColumns))
		err := rows.Scan(&id, &row[0], &row[1], &row[2], &row[3], &row[4], &start, &end)
		row[5], row[6] = isoCell(start), isoCell(end)
		return id, row, err
	}, each)
	if err != nil {
		return fmt.Errorf("report enrollments: %w", err)
	}
	return nil
}

// keysetReport runs query a page at a time: $1 is the account, $2 the last
// id read (the first value scan returns), $3 the page size. Each scanned
// row goes to each while the page is still being read, so a report of any
// size streams.
func keysetReport(ctx context.Context, db *pgxpool.Pool, query string, accountID int64,
	scan func(pgx.Rows) (int64, []string, error), each func(row []string) error) error {
	after := int64(0)
	for {
		rows, err := db.Query(ctx, query, accountID, after, reportPageSize)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			id, row, err := scan(rows)
			if err == nil {
				err = each(row)
			}
			if err != nil {
				rows.Close()
				return err
			}
			after = id
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n < reportPageSize {
			return nil
		}
	}
}

// isoCell writes a time as a CSV cell: ISO 8601 in UTC, empty for none.
func isoCell(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
