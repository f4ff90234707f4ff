package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/keyset"
	"github.com/sisimport/sisimport/internal/result"
)

// courseRow is one row of a courses file (Canvas's courses.csv).
type courseRow struct {
	CourseID      string `csv:"course_id" validate:"required,max=255"`
	ShortName     string `csv:"short_name" validate:"required,max=255"`
	LongName      string `csv:"long_name" validate:"required,max=255"`
	AccountID     string `csv:"account_id" validate:"max=255"`
	TermID        string `csv:"term_id" validate:"max=255"`
	Status        string `csv:"status,lower" validate:"required,oneof=active completed deleted"`
	StartDate     string `csv:"start_date" validate:"max=64"`
	EndDate       string `csv:"end_date" validate:"max=64"`
	IntegrationID string `csv:"integration_id" validate:"max=255"`
}

// typeCourses is the type's name.
const typeCourses = "courses"

func init() {
	register(&fileType{name: typeCourses, batch: "course", entity: "course",
		detect: func(h header) bool { return h.has("course_id") && h.has("short_name") }, detectRank: 90,
		applyRank: 60, layout: layoutOf(&courseRow{}), required: []string{"long_name", "status"}, apply: importCourses,
		diffKey: []string{"course_id"},
		restore: restoring("courses", "sis_course_id", "short_name", "long_name", "account_id", "term_id", "integration_id", "start_at", "end_at"),
		ids:     &idTarget{"courses", "sis_course_id", "integration_id", "t.account_id"},
	})
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
func importCourses(ctx context.Context, at *attempt, f *typedFile) error {
	err := at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r courseRow
		f.fill(&r, rec)
		if r.Status == "published" {
			r.Status = "active" // Canvas's "published" is an active course
		}
		res.SISID = r.CourseID
		if fail := f.check(&r, rec.Line, r.CourseID, fmt.Sprintf("course_id %q", r.CourseID)); fail != nil {
			return fail, nil
		}
		same, err := f.sameAsBase(r.CourseID, rec)
		if err != nil {
			return nil, err
		}
		if !same && f.stream.base != nil {
			f.stream.changed++
		}
		if same {
			res.Action = result.Unchanged // as in the diffing base
			return nil, nil
		}
		dates, fail := f.dates(r.StartDate, r.EndDate)
		if fail != nil {
			return fail, nil
		}
		return at.applyCourse(ctx, &r, dates, res)
	})
	if err != nil || f.stream.base == nil {
		return err
	}
	return at.dropCourses(ctx, f.stream.base, f.name)
}

// dropCourses deletes the courses of the diffing base that the file no
// longer lists, each a result with row null.
func (at *attempt) dropCourses(ctx context.Context, base *keyset.Base, file string) error {
	gone, err := base.Gone(ctx)
	if err != nil || len(gone) == 0 || !at.diffUsed(at.streams[typeCourses], file, len(gone)) {
		return err
	}
	ids := make([]string, len(gone))
	for i, k := range gone {
		ids[i] = k[0]
	}
	return at.diffDrop(ctx, typeCourses, "course", file, "deleted", base.Rows(), `
		SELECT c.id, c.sis_course_id, c.workflow_state FROM courses c JOIN accounts a ON a.id = c.account_id
		WHERE c.root_account_id = $1 AND $2 = ANY(a.path) AND c.sis_course_id = ANY($4) AND c.origin = 'sis'
		  AND c.workflow_state NOT IN ($3, 'deleted') ORDER BY c.id`,
		`UPDATE courses SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, ids)
}

func (at *attempt) applyCourse(ctx context.Context, r *courseRow, dates dateRange, res *result.Result) (*rowFailure, error) {
	old, err := at.courseBySIS(ctx, r.CourseID)
	if err != nil {
		return nil, err
	}
	if old != nil && !old.inScope {
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("course %q belongs to an account outside the one this import was posted to", r.CourseID)}, nil
	}
	accountID := at.account.ID
	switch {
	case r.AccountID != "":
		a, f, err := at.accountInScope(ctx, "account_id", r.AccountID)
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
		t, f, err := at.termBySIS(ctx, r.TermID)
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
		err := at.tx.QueryRow(ctx, `INSERT INTO courses (root_account_id, account_id, term_id, sis_course_id, integration_id, short_name, long_name,
			start_at, end_at, workflow_state, last_import_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT DO NOTHING RETURNING id`,
			at.account.RootAccountID, accountID, termID, r.CourseID, integrationID, r.ShortName, r.LongName, dates.start, dates.end, r.Status, at.job.ID).Scan(&res.ObjectID)
		if errors.Is(err, pgx.ErrNoRows) && integrationID != nil {
			return &rowFailure{code: "exists", message: fmt.Sprintf("column integration_id: %q belongs to another course", *integrationID)}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("create course: %w", err)
		}
		res.Action = result.Created
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
		res.Action = result.Unchanged
		return nil, nil
	}
	if f := at.skipDelete("course", old.state, r.Status); f != nil {
		return f, nil
	}
	tag, err := at.tx.Exec(ctx, `UPDATE courses SET account_id = $2, term_id = $3, integration_id = $4, short_name = $5, long_name = $6,
		start_at = $7, end_at = $8, workflow_state = $9, last_import_id = $10, updated_at = now()
		WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM courses c WHERE c.root_account_id = $11 AND c.integration_id = $4 AND c.id <> $1)`,
		old.id, accountID, termID, integrationID, r.ShortName, r.LongName, dates.start, dates.end, r.Status, at.job.ID, at.account.RootAccountID)
	if err != nil {
		return nil, fmt.Errorf("update course: %w", err)
	}
	if tag.RowsAffected() == 0 && integrationID != nil {
		return &rowFailure{code: "exists", message: fmt.Sprintf("column integration_id: %q belongs to another course", *integrationID)}, nil
	}
	res.Changes = changes
	res.Action = result.Transition(old.state, r.Status, true)
	return nil, nil
}

// courseBySIS reads a course of the root account by SIS id, in the
// import's transaction.
func (at *attempt) courseBySIS(ctx context.Context, sis string) (*storedCourse, error) {
	c := &storedCourse{}
	err := at.tx.QueryRow(ctx, `SELECT c.id, c.account_id, c.term_id, c.short_name, c.long_name, c.integration_id, c.start_at, c.end_at,
			c.workflow_state, $3 = ANY(a.path), a.path, c.origin
		FROM courses c JOIN accounts a ON a.id = c.account_id WHERE c.root_account_id = $1 AND c.sis_course_id = $2`,
		at.account.RootAccountID, sis, at.account.ID).Scan(&c.id, &c.accountID, &c.termID, &c.shortName, &c.longName, &c.integrationID,
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
func (at *attempt) accountInScope(ctx context.Context, col, sis string) (*storedAccount, *rowFailure, error) {
	a, err := at.accountBySIS(ctx, sis)
	switch {
	case err != nil:
		return nil, nil, err
	case a == nil:
		return nil, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no account %q exists", col, sis)}, nil
	case !slices.Contains(a.path, at.account.ID):
		return nil, &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column %s: account %q is outside the account this import was posted to", col, sis)}, nil
	}
	return a, nil, nil
}

// termBySIS resolves a term column: terms belong to the root account, so
// any import of it may name them.
func (at *attempt) termBySIS(ctx context.Context, sis string) (int64, *rowFailure, error) {
	var id int64
	err := at.tx.QueryRow(ctx, `SELECT id FROM terms WHERE root_account_id = $1 AND sis_term_id = $2`, at.account.RootAccountID, sis).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column term_id: no term %q exists", sis)}, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read term: %w", err)
	}
	return id, nil, nil
}
