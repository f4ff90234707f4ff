package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// courseRow is one row of a courses file (Canvas's courses.csv).
type courseRow struct {
	CourseID      string `csv:"course_id" validate:"required,max=255"`
	ShortName     string `csv:"short_name" validate:"required,max=255"`
	LongName      string `csv:"long_name" validate:"required,max=255"`
	AccountID     string `csv:"account_id" validate:"max=255"`
	TermID        string `csv:"term_id" validate:"max=255"`
	Status        string `csv:"status,lower" validate:"required,oneof=active unpublished published completed deleted"`
	StartDate     string `csv:"start_date" validate:"max=64"`
	EndDate       string `csv:"end_date" validate:"max=64"`
	IntegrationID string `csv:"integration_id" validate:"max=255"`
	// FallbackAccountID is the account of a course whose account_id is
	// empty, when it exists (Canvas's).
	FallbackAccountID string `csv:"fallback_account_id" validate:"max=255"`
	CourseFormat      string `csv:"course_format,lower" validate:"omitempty,oneof=on_campus online blended not_set"`
	GradePassback     string `csv:"grade_passback_setting,lower" validate:"omitempty,oneof=nightly_sync disabled not_set"`
	Homeroom          string `csv:"homeroom_course,lower" validate:"omitempty,oneof=true t 1 yes y on false f 0 no n off"`
	FriendlyName      string `csv:"friendly_name" validate:"max=255"`
	// BlueprintCourseID is the SIS id of the blueprint course the course
	// is associated with, or dissociate.
	BlueprintCourseID string `csv:"blueprint_course_id" validate:"max=255"`
}

// courseStates are what a courses file's statuses store: sisimport keeps
// no unpublished courses, so Canvas's unpublished and published are active
// (docs/import-rules.md#courses).
var courseStates = map[string]string{"active": "active", "unpublished": "active", "published": "active", "completed": "completed", "deleted": "deleted"}

// typeCourses is the type's name.
const typeCourses = "courses"

func init() {
	register(&fileType{name: typeCourses, batch: "course", entity: "course",
		detect: func(h header) bool { return h.has("course_id") && h.has("short_name") }, detectRank: 90,
		applyRank: 60, layout: layoutOf(&courseRow{}), required: []string{"long_name", "status"}, apply: importCourses,
		diffKey: []string{"course_id"}, drop: &dropRule{find: `SELECT c.id, c.sis_course_id, c.workflow_state FROM courses c
			JOIN accounts a ON a.id = c.account_id
			WHERE c.root_account_id = $1 AND $2 = ANY(a.path) AND c.sis_course_id = ANY($4) AND c.origin = 'sis'
			  AND c.workflow_state NOT IN ($3, 'deleted') AND ($5 OR NOT 'workflow_state' = ANY(c.sticky_fields)) ORDER BY c.id`,
			override: true, update: `UPDATE courses SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
		restore: restoring("courses", "sis_course_id", "short_name", "long_name", "account_id", "term_id", "integration_id", "start_at", "end_at",
			"course_format", "grade_passback_setting", "homeroom_course", "friendly_name", "blueprint_course_id", "sticky_fields"),
		ids: &idTarget{"courses", "sis_course_id", "integration_id", "t.account_id"},
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
	settings      courseSettings
	// isBlueprint: a course that is not deleted has it as its blueprint.
	isBlueprint bool
	sticky      []string
}

// courseSettings are a course's fields from Canvas's newer columns.
type courseSettings struct {
	format, passback, friendlyName *string
	homeroom                       bool
	blueprintID                    *int64
}

// importCourses applies a courses file a row at a time: courses files hold
// thousands of rows, not millions.
func importCourses(ctx context.Context, at *attempt, f *typedFile) error {
	err := at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r courseRow
		f.fill(&r, rec)
		res.SISID = r.CourseID
		if fail := f.check(&r, rec.Line, r.CourseID, fmt.Sprintf("course_id %q", r.CourseID)); fail != nil {
			return fail, nil
		}
		r.Status = courseStates[r.Status]
		if f.same {
			res.Action = result.Unchanged // as in the diffing base
			return nil, nil
		}
		dates, fail := f.dates(r.StartDate, r.EndDate)
		if fail != nil {
			return fail, nil
		}
		return at.applyCourse(ctx, f, &r, dates, res)
	})
	return err
}

func (at *attempt) applyCourse(ctx context.Context, f *typedFile, r *courseRow, dates dateRange, res *result.Result) (*rowFailure, error) {
	old, err := at.readCourse(ctx, r.CourseID, true)
	if err != nil {
		return nil, err
	}
	if old != nil && !old.inScope {
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("course %q belongs to an account outside the one this import was posted to", r.CourseID)}, nil
	}
	accountID, accountPath := at.account.ID, at.account.Path
	if old != nil {
		accountID, accountPath = old.accountID, old.accountPath
	}
	switch {
	case r.AccountID != "":
		a, fail, err := at.accountInScope(ctx, "account_id", r.AccountID)
		if fail != nil || err != nil {
			return fail, err
		}
		accountID, accountPath = a.id, a.path
	case r.FallbackAccountID != "":
		// As on Canvas, a fallback account that does not exist is no account.
		a, fail, err := at.accountInScope(ctx, "fallback_account_id", r.FallbackAccountID)
		switch {
		case err != nil || (fail != nil && fail.code != "unknown_reference"):
			return fail, err
		case a != nil:
			accountID, accountPath = a.id, a.path
		}
	}
	var termID *int64
	switch {
	case r.TermID == deleteMarker:
	case r.TermID != "":
		t, fail, err := at.termBySIS(ctx, r.TermID)
		if fail != nil || err != nil {
			return fail, err
		}
		termID = &t
	case old != nil:
		termID = old.termID
	}
	var oldIntegration *string
	var oldID int64
	if old != nil {
		oldIntegration, oldID = old.integrationID, old.id
	}
	integrationID := assigned(r.IntegrationID, f.has("integration_id")).over(oldIntegration)
	set, fail, err := at.courseSettingsOf(ctx, f, r, old, accountPath)
	if fail != nil || err != nil {
		return fail, err
	}
	if old == nil && r.Status == "deleted" {
		return notFound("course", r.CourseID), nil
	}
	if old == nil || !samePtr(old.integrationID, integrationID) {
		if fail, err := at.integrationTaken(ctx, "course", oldID, integrationID); fail != nil || err != nil {
			return fail, err
		}
	}
	if old == nil {
		err := at.tx.QueryRow(ctx, `INSERT INTO courses (root_account_id, account_id, term_id, sis_course_id, integration_id, short_name, long_name,
			start_at, end_at, workflow_state, last_import_id, course_format, grade_passback_setting, homeroom_course, friendly_name, blueprint_course_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			at.account.RootAccountID, accountID, termID, r.CourseID, integrationID, r.ShortName, r.LongName, dates.start, dates.end, r.Status, at.job.ID,
			set.format, set.passback, set.homeroom, set.friendlyName, set.blueprintID).Scan(&res.ObjectID)
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
	diffPtr(changes, "course_format", old.settings.format, set.format)
	diffPtr(changes, "grade_passback_setting", old.settings.passback, set.passback)
	diff(changes, "homeroom_course", old.settings.homeroom, set.homeroom)
	diffPtr(changes, "friendly_name", old.settings.friendlyName, set.friendlyName)
	diffPtr(changes, "blueprint_course_id", old.settings.blueprintID, set.blueprintID)
	st := at.stickiness(old.sticky)
	st.hold(changes, courseSticks(old, &r.ShortName, &r.LongName, &accountID, &termID, &r.Status, &dates, &set)...)
	if fail := st.settle(changes); fail != nil {
		return fail, nil
	}
	if len(changes) == 0 {
		res.Action = result.Unchanged
		return nil, nil
	}
	if f := at.skipDelete("course", old.state, r.Status); f != nil {
		return f, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE courses SET account_id = $2, term_id = $3, integration_id = $4, short_name = $5, long_name = $6,
		start_at = $7, end_at = $8, workflow_state = $9, last_import_id = $10, course_format = $11, grade_passback_setting = $12,
		homeroom_course = $13, friendly_name = $14, blueprint_course_id = $15, sticky_fields = $16, updated_at = now() WHERE id = $1`,
		old.id, accountID, termID, integrationID, r.ShortName, r.LongName, dates.start, dates.end, r.Status, at.job.ID,
		set.format, set.passback, set.homeroom, set.friendlyName, set.blueprintID, nonNil(st.after)); err != nil {
		return nil, fmt.Errorf("update course: %w", err)
	}
	res.Changes = changes
	res.Action = result.Transition(old.state, r.Status, true)
	return nil, nil
}

// courseSticks are the sticky fields of a course as Canvas's
// (docs/import-rules.md#stickiness-and-manual-objects), over the row's
// values: a stuck name or course code over a blank one is written anyway,
// as on Canvas.
func courseSticks(old *storedCourse, shortName, longName *string, accountID *int64, termID **int64, state *string,
	dates *dateRange, set *courseSettings) []stickyField {
	code, name := sticks("course_code", shortName, old.shortName, "short_name"), sticks("name", longName, old.longName, "long_name")
	code.loose, name.loose = old.shortName == "", old.longName == ""
	return append(datesStick(&dates.start, old.start, &dates.end, old.end), code, name,
		sticks("account_id", accountID, old.accountID), sticks("enrollment_term_id", termID, old.termID, "term_id"),
		sticks("workflow_state", state, old.state), sticks("grade_passback_setting", &set.passback, old.settings.passback))
}

// courseSettingsOf reads the row's newer Canvas columns over the stored
// course (nil for a new one), whose account will have the path
// accountPath (docs/import-rules.md#courses):
//   - course_format: an empty cell or not_set clears it, when the file has
//     the column;
//   - grade_passback_setting: not_set clears it, an empty cell keeps it;
//   - homeroom_course, friendly_name: an empty cell keeps them (<delete>
//     clears a friendly name);
//   - blueprint_course_id: the SIS id of the course's blueprint, or
//     dissociate; an empty cell keeps it, and so does a row that leaves the
//     course deleted, as on Canvas.
func (at *attempt) courseSettingsOf(ctx context.Context, f *typedFile, r *courseRow, old *storedCourse, accountPath []int64) (courseSettings, *rowFailure, error) {
	var set courseSettings
	if old != nil {
		set = old.settings
	}
	format := r.CourseFormat
	if format == "not_set" {
		format = ""
	}
	set.format = assigned(format, f.has("course_format")).over(set.format)
	switch r.GradePassback {
	case "":
	case "not_set":
		set.passback = nil
	default:
		v := r.GradePassback
		set.passback = &v
	}
	if r.Homeroom != "" {
		set.homeroom = slices.Contains([]string{"true", "t", "1", "yes", "y", "on"}, r.Homeroom)
	}
	set.friendlyName = optional(r.FriendlyName, old, func(c *storedCourse) *string { return c.settings.friendlyName })
	switch {
	case r.BlueprintCourseID == "" || r.Status == "deleted":
	case r.BlueprintCourseID == "dissociate":
		set.blueprintID = nil
	default:
		id, fail, err := at.blueprintOf(ctx, r, old, accountPath)
		if fail != nil || err != nil {
			return set, fail, err
		}
		set.blueprintID = &id
	}
	return set, nil, nil
}

// blueprintOf resolves the row's blueprint_course_id, with Canvas's rules:
// a blueprint course is not associated with one itself, a course that is a
// blueprint is not associated with another, a course associated with one
// blueprint must be dissociated before another, and the course's account
// must be the blueprint's or below it. The blueprint may be any course of
// the root account, since it is only named.
func (at *attempt) blueprintOf(ctx context.Context, r *courseRow, old *storedCourse, accountPath []int64) (int64, *rowFailure, error) {
	fail := func(code, format string, args ...any) (int64, *rowFailure, error) {
		return 0, &rowFailure{code: code, message: "column blueprint_course_id: " + fmt.Sprintf(format, args...)}, nil
	}
	if r.BlueprintCourseID == r.CourseID {
		return fail("invalid_value", "a course cannot be its own blueprint")
	}
	bp, err := at.courseBySIS(ctx, r.BlueprintCourseID)
	switch {
	case err != nil:
		return 0, nil, err
	case bp == nil:
		return fail("unknown_reference", "no course %q exists or comes earlier in the file", r.BlueprintCourseID)
	case bp.settings.blueprintID != nil:
		return fail("invalid_value", "course %q is associated with a blueprint course itself, so it cannot be one", r.BlueprintCourseID)
	case old != nil && old.isBlueprint:
		return fail("invalid_value", "course %q is a blueprint course, which cannot be associated with another", r.CourseID)
	case old != nil && old.settings.blueprintID != nil && *old.settings.blueprintID != bp.id:
		return fail("invalid_value", "course %q is associated with another blueprint course; dissociate it first", r.CourseID)
	case !slices.Contains(accountPath, bp.accountID):
		return fail("invalid_value", "course %q is not in the blueprint course's account or below it", r.CourseID)
	}
	return bp.id, nil, nil
}

// courseBySIS reads a course of the root account by SIS id, in the
// import's transaction.
func (at *attempt) courseBySIS(ctx context.Context, sis string) (*storedCourse, error) {
	return at.readCourse(ctx, sis, false)
}

// readCourse is courseBySIS, locking the course when lock says so
// (forUpdate).
func (at *attempt) readCourse(ctx context.Context, sis string, lock bool) (*storedCourse, error) {
	c := &storedCourse{}
	s := &c.settings
	err := at.tx.QueryRow(ctx, `SELECT c.id, c.account_id, c.term_id, c.short_name, c.long_name, c.integration_id, c.start_at, c.end_at,
			c.workflow_state, $3 = ANY(a.path), a.path, c.origin, c.course_format, c.grade_passback_setting, c.homeroom_course,
			c.friendly_name, c.blueprint_course_id,
			EXISTS (SELECT 1 FROM courses ch WHERE ch.blueprint_course_id = c.id AND ch.workflow_state <> 'deleted'), c.sticky_fields
		FROM courses c JOIN accounts a ON a.id = c.account_id WHERE c.root_account_id = $1 AND c.sis_course_id = $2`+forUpdate(lock, "c"),
		at.account.RootAccountID, sis, at.account.ID).Scan(&c.id, &c.accountID, &c.termID, &c.shortName, &c.longName, &c.integrationID,
		&c.start, &c.end, &c.state, &c.inScope, &c.accountPath, &c.origin, &s.format, &s.passback, &s.homeroom,
		&s.friendlyName, &s.blueprintID, &c.isBlueprint, &c.sticky)
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
