package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
)

// courseRow is one row of a courses file (Canvas's courses.csv).
type courseRow struct {
	CourseID      string `validate:"required,max=255"`
	ShortName     string `validate:"required,max=255"`
	LongName      string `validate:"required,max=255"`
	AccountID     string `validate:"max=255"`
	TermID        string `validate:"max=255"`
	Status        string `validate:"required,oneof=active completed deleted"`
	StartDate     string `validate:"max=64"`
	EndDate       string `validate:"max=64"`
	IntegrationID string `validate:"max=255"`
}

var courseColumns = []string{"course_id", "short_name", "long_name", "account_id", "term_id", "status", "start_date", "end_date", "integration_id"}

var courseColumnOf = map[string]string{"CourseID": "course_id", "ShortName": "short_name", "LongName": "long_name", "AccountID": "account_id",
	"TermID": "term_id", "Status": "status", "StartDate": "start_date", "EndDate": "end_date", "IntegrationID": "integration_id"}

func (r *courseRow) fields() []*string {
	return []*string{&r.CourseID, &r.ShortName, &r.LongName, &r.AccountID, &r.TermID, &r.Status, &r.StartDate, &r.EndDate, &r.IntegrationID}
}

// storedCourse is a course as the files that name it read it.
type storedCourse struct {
	id, accountID int64
	termID        *int64
	shortName     string
	longName      string
	integrationID *string
	start, end    *time.Time
	state         string
	inScope       bool
	accountPath   []int64
	origin        string
}

// importCourses applies a courses file a row at a time: courses files hold
// thousands of rows, not millions.
func (ru *run) importCourses(ctx context.Context, file string, head csvread.Record, cols map[string]int, rd *csvread.Reader) error {
	if err := ru.checkColumns(file, "courses", head, cols, courseColumns, []string{"long_name", "status"}); err != nil {
		return err
	}
	idx := positions(courseColumns, cols)
	st := ru.stream(typeCourses, file)
	base, err := ru.diffBaseFor(ctx, typeCourses, file)
	if err != nil {
		return err
	}
	var d *digester
	if base != nil {
		d = newDigester(head.Fields, base.seed, diffKeys[typeCourses])
	}
	err = ru.eachRow(ctx, file, typeCourses, "course", len(head.Fields), rd, func(ctx context.Context, rec csvread.Record, res *Result) (*rowFailure, error) {
		var r courseRow
		fillRow(r.fields(), rec, idx)
		r.Status = strings.ToLower(r.Status)
		if r.Status == "published" {
			r.Status = "active" // Canvas's "published" is an active course
		}
		res.SISID = r.CourseID
		if f := st.duplicate("course_id", r.CourseID, rec.Line); f != nil {
			return f, nil
		}
		if base != nil && r.CourseID != "" {
			same, err := base.mark(r.CourseID, d.digest(rec.Fields))
			if err != nil {
				return nil, err
			}
			if same {
				res.Action = Unchanged // as in the diffing base
				return nil, nil
			}
		}
		if f := validateRow(&r, courseColumnOf); f != nil {
			return f, nil
		}
		return ru.applyCourse(ctx, &r, res)
	})
	if err != nil || base == nil {
		return err
	}
	return ru.dropCourses(ctx, base, file)
}

// dropCourses deletes the courses of the diffing base that the file no
// longer lists, each a result with row null.
func (ru *run) dropCourses(ctx context.Context, base *diffBase, file string) error {
	gone, err := base.gone(ctx)
	if err != nil || len(gone) == 0 {
		return err
	}
	ids := make([]string, len(gone))
	for i, k := range gone {
		ids[i] = k[0]
	}
	return ru.diffDrop(ctx, typeCourses, "course", file, "deleted", base.rows, `
		SELECT c.id, c.sis_course_id, c.workflow_state FROM courses c JOIN accounts a ON a.id = c.account_id
		WHERE c.root_account_id = $1 AND $2 = ANY(a.path) AND c.sis_course_id = ANY($4) AND c.origin = 'sis'
		  AND c.workflow_state NOT IN ($3, 'deleted') ORDER BY c.id`,
		`UPDATE courses SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, ids)
}

func (ru *run) applyCourse(ctx context.Context, r *courseRow, res *Result) (*rowFailure, error) {
	dates, f := parseDates(r.StartDate, r.EndDate)
	if f != nil {
		return f, nil
	}
	old, err := ru.courseBySIS(ctx, r.CourseID)
	if err != nil {
		return nil, err
	}
	if old != nil && !old.inScope {
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("course %q belongs to an account outside the one this import was posted to", r.CourseID)}, nil
	}
	accountID := ru.account.ID
	switch {
	case r.AccountID != "":
		a, f, err := ru.accountInScope(ctx, "account_id", r.AccountID)
		if f != nil || err != nil {
			return f, err
		}
		accountID = a.id
	case old != nil:
		accountID = old.accountID
	}
	var termID *int64
	switch {
	case r.TermID == deleteMarker:
	case r.TermID != "":
		t, f, err := ru.termBySIS(ctx, r.TermID)
		if f != nil || err != nil {
			return f, err
		}
		termID = &t
	case old != nil:
		termID = old.termID
	}
	integrationID := optional(r.IntegrationID, old, func(c *storedCourse) *string { return c.integrationID })
	if old == nil {
		if r.Status == "deleted" {
			return notFound("course", r.CourseID), nil
		}
		err := ru.tx.QueryRow(ctx, `INSERT INTO courses (root_account_id, account_id, term_id, sis_course_id, integration_id, short_name, long_name,
			start_at, end_at, workflow_state, last_import_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT DO NOTHING RETURNING id`,
			ru.account.RootAccountID, accountID, termID, r.CourseID, integrationID, r.ShortName, r.LongName, dates.start, dates.end, r.Status, ru.job.ID).Scan(&res.ObjectID)
		if errors.Is(err, pgx.ErrNoRows) && integrationID != nil {
			return &rowFailure{code: "exists", message: fmt.Sprintf("column integration_id: %q belongs to another course", *integrationID)}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("create course: %w", err)
		}
		res.Action = Created
		return nil, nil
	}
	res.ObjectID = old.id
	changes := map[string][2]any{}
	dates.over(old.start, old.end, changes)
	diff(changes, "short_name", old.shortName, r.ShortName)
	diff(changes, "long_name", old.longName, r.LongName)
	diff(changes, "account_id", old.accountID, accountID)
	diffPtr(changes, "term_id", old.termID, termID)
	diffPtr(changes, "integration_id", old.integrationID, integrationID)
	diff(changes, "workflow_state", old.state, r.Status)
	if len(changes) == 0 {
		res.Action = Unchanged
		return nil, nil
	}
	if f := ru.skipDelete("course", old.state, r.Status); f != nil {
		return f, nil
	}
	tag, err := ru.tx.Exec(ctx, `UPDATE courses SET account_id = $2, term_id = $3, integration_id = $4, short_name = $5, long_name = $6,
		start_at = $7, end_at = $8, workflow_state = $9, last_import_id = $10, updated_at = now()
		WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM courses c WHERE c.root_account_id = $11 AND c.integration_id = $4 AND c.id <> $1)`,
		old.id, accountID, termID, integrationID, r.ShortName, r.LongName, dates.start, dates.end, r.Status, ru.job.ID, ru.account.RootAccountID)
	if err != nil {
		return nil, fmt.Errorf("update course: %w", err)
	}
	if tag.RowsAffected() == 0 && integrationID != nil {
		return &rowFailure{code: "exists", message: fmt.Sprintf("column integration_id: %q belongs to another course", *integrationID)}, nil
	}
	res.Changes = changes
	res.Action = transitionAction(old.state, r.Status, true)
	return nil, nil
}

// courseBySIS reads a course of the root account by SIS id, in the
// import's transaction.
func (ru *run) courseBySIS(ctx context.Context, sis string) (*storedCourse, error) {
	c := &storedCourse{}
	err := ru.tx.QueryRow(ctx, `SELECT c.id, c.account_id, c.term_id, c.short_name, c.long_name, c.integration_id, c.start_at, c.end_at,
			c.workflow_state, $3 = ANY(a.path), a.path, c.origin
		FROM courses c JOIN accounts a ON a.id = c.account_id WHERE c.root_account_id = $1 AND c.sis_course_id = $2`,
		ru.account.RootAccountID, sis, ru.account.ID).Scan(&c.id, &c.accountID, &c.termID, &c.shortName, &c.longName, &c.integrationID,
		&c.start, &c.end, &c.state, &c.inScope, &c.accountPath, &c.origin)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read course: %w", err)
	}
	return c, nil
}

// accountInScope resolves an account column: an SIS id of an account inside
// the import's subtree (the import's own account included).
func (ru *run) accountInScope(ctx context.Context, col, sis string) (*storedAccount, *rowFailure, error) {
	a, err := ru.accountBySIS(ctx, sis)
	switch {
	case err != nil:
		return nil, nil, err
	case a == nil:
		return nil, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no account %q exists", col, sis)}, nil
	case !slices.Contains(a.path, ru.account.ID):
		return nil, &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column %s: account %q is outside the account this import was posted to", col, sis)}, nil
	}
	return a, nil, nil
}

// termBySIS resolves a term column: terms belong to the root account, so
// any import of it may name them.
func (ru *run) termBySIS(ctx context.Context, sis string) (int64, *rowFailure, error) {
	var id int64
	err := ru.tx.QueryRow(ctx, `SELECT id FROM terms WHERE root_account_id = $1 AND sis_term_id = $2`, ru.account.RootAccountID, sis).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column term_id: no term %q exists", sis)}, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read term: %w", err)
	}
	return id, nil, nil
}

// optional reads an optional text column: empty keeps the stored value
// (none for a new object), <delete> clears it.
func optional[T any](v string, old *T, stored func(*T) *string) *string {
	switch {
	case v == deleteMarker:
		return nil
	case v != "":
		return &v
	case old != nil:
		return stored(old)
	}
	return nil
}

// diff lists a changed field in changes.
func diff[T comparable](changes map[string][2]any, field string, from, to T) {
	if from != to {
		changes[field] = [2]any{from, to}
	}
}

// diffPtr lists a changed optional field in changes.
func diffPtr[T comparable](changes map[string][2]any, field string, from, to *T) {
	if (from == nil) != (to == nil) || (from != nil && *from != *to) {
		changes[field] = [2]any{from, to}
	}
}
