package importer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// sectionRow is one row of a sections file (Canvas's sections.csv).
type sectionRow struct {
	SectionID     string `csv:"section_id" validate:"required,max=255"`
	CourseID      string `csv:"course_id" validate:"required,max=255"`
	Name          string `csv:"name" validate:"required,max=255"`
	Status        string `csv:"status,lower" validate:"required,oneof=active deleted"`
	StartDate     string `csv:"start_date" validate:"max=64"`
	EndDate       string `csv:"end_date" validate:"max=64"`
	IntegrationID string `csv:"integration_id" validate:"max=255"`
}

// typeSections is the type's name.
const typeSections = "sections"

func init() {
	register(&fileType{name: typeSections, batch: "section", entity: "section", emptyDateClears: true,
		detect: func(h header) bool { return h.has("section_id") && h.has("name") }, detectRank: 100,
		applyRank: 70, layout: layoutOf(&sectionRow{}), required: []string{"course_id", "status"}, apply: importSections,
		restore: restoring("sections", "sis_section_id", "course_id", "nonxlist_course_id", "name", "integration_id", "start_at", "end_at",
			"restrict_enrollments_to_section_dates", "sticky_fields"),
		diffKey: []string{"section_id"}, drop: &dropRule{find: `SELECT s.id, s.sis_section_id, s.workflow_state FROM sections s
			JOIN courses c ON c.id = s.course_id JOIN accounts a ON a.id = c.account_id
			WHERE s.root_account_id = $1 AND $2 = ANY(a.path) AND s.sis_section_id = ANY($4) AND s.origin = 'sis'
			  AND s.workflow_state NOT IN ($3, 'deleted') ORDER BY s.id`,
			update: `UPDATE sections SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
		ids: &idTarget{"sections", "sis_section_id", "integration_id", "(SELECT c.account_id FROM courses c WHERE c.id = t.course_id)"},
	})
}

type storedSection struct {
	id, courseID  int64
	nonxlist      *int64 // the course it was cross-listed from; nil: not cross-listed
	courseState   string // its course's
	name          string
	integrationID *string
	start, end    *time.Time
	restricted    bool // restrict_enrollments_to_section_dates
	state         string
	inScope       bool
	sticky        []string
}

// importSections applies a sections file a row at a time. A section is
// written under its course, so the course must be inside the import's scope.
func importSections(ctx context.Context, at *attempt, f *typedFile) error {
	err := at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r sectionRow
		f.fill(&r, rec)
		res.SISID = r.SectionID
		if fail := f.check(&r, rec.Line, r.SectionID, fmt.Sprintf("section_id %q", r.SectionID)); fail != nil {
			return fail, nil
		}
		if f.same {
			res.Action = result.Unchanged // as in the diffing base
			return nil, nil
		}
		dates, fail := f.dates(r.StartDate, r.EndDate)
		if fail != nil {
			return fail, nil
		}
		return at.applySection(ctx, &r, dates, res)
	})
	if err != nil {
		return err
	}
	return at.cascadeDeletedSections(ctx, f.name)
}

// cascadeDeletedSections deletes the live enrollments of the sections this
// file deleted (by a row, or as diffing drops), as Canvas deletes a deleted
// section's enrollments; each is a result of its own, with row null.
func (at *attempt) cascadeDeletedSections(ctx context.Context, file string) error {
	rows, err := at.tx.Query(ctx, `SELECT id FROM sections WHERE root_account_id = $1 AND last_import_id = $2 AND workflow_state = 'deleted'`,
		at.account.RootAccountID, at.job.ID)
	if err != nil {
		return fmt.Errorf("read deleted sections: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) == 0 {
		return err
	}
	return at.cascade(ctx, file, typeEnrollments, "enrollment", "deleted with its section", `
		SELECT e.id, u.sis_user_id, e.workflow_state FROM enrollments e JOIN users u ON u.id = e.user_id
		JOIN courses c ON c.id = e.course_id JOIN accounts a ON a.id = c.account_id
		WHERE e.section_id = ANY($1) AND $2 = ANY(a.path) AND e.workflow_state <> 'deleted' ORDER BY e.id FOR UPDATE OF e`, `
		SELECT count(*) FROM enrollments e JOIN courses c ON c.id = e.course_id JOIN accounts a ON a.id = c.account_id
		WHERE c.root_account_id = $1 AND $2 = ANY(a.path) AND e.origin = 'sis' AND e.workflow_state <> 'deleted'`,
		`UPDATE enrollments SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, ids)
}

func (at *attempt) applySection(ctx context.Context, r *sectionRow, dates dateRange, res *result.Result) (*rowFailure, error) {
	old, err := at.readSection(ctx, r.SectionID, true)
	if err != nil {
		return nil, err
	}
	if old != nil && !old.inScope {
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("section %q belongs to a course outside the account this import was posted to", r.SectionID)}, nil
	}
	course, err := at.courseBySIS(ctx, r.CourseID)
	switch {
	case err != nil:
		return nil, err
	case course == nil:
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column course_id: no course %q exists", r.CourseID)}, nil
	case !course.inScope:
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column course_id: course %q is outside the account this import was posted to", r.CourseID)}, nil
	}
	integrationID := optional(r.IntegrationID, old, func(s *storedSection) *string { return s.integrationID })
	if old == nil {
		if r.Status == "deleted" {
			return notFound("section", r.SectionID), nil
		}
		err := at.tx.QueryRow(ctx, `INSERT INTO sections (root_account_id, course_id, sis_section_id, integration_id, name, start_at, end_at,
			workflow_state, last_import_id, restrict_enrollments_to_section_dates) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			at.account.RootAccountID, course.id, r.SectionID, integrationID, r.Name, dates.start, dates.end, r.Status, at.job.ID,
			dates.start != nil || dates.end != nil).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create section: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	}
	res.ObjectID = old.id
	courseID, nonxlist := stayCrosslisted(old, course.id, r.Status)
	changes := map[string][2]any{}
	dates.over(old.start, old.end, changes)
	diff(changes, "course_id", old.courseID, courseID)
	diffPtr(changes, "nonxlist_course_id", old.nonxlist, nonxlist)
	diff(changes, "name", old.name, r.Name)
	diffPtr(changes, "integration_id", old.integrationID, integrationID)
	diff(changes, "workflow_state", old.state, r.Status)
	st := at.stickiness(old.sticky)
	// As on Canvas, a stuck course_id keeps the section where it is, unless
	// it is cross-listed into a deleted course and the row is active.
	moved := stickyField{name: "course_id", changes: []string{"course_id", "nonxlist_course_id"},
		keep:  func() { courseID, nonxlist = old.courseID, old.nonxlist },
		loose: old.nonxlist != nil && old.courseState == "deleted" && r.Status == "active"}
	st.hold(changes, append(datesStick(&dates.start, old.start, &dates.end, old.end), moved, sticks("name", &r.Name, old.name))...)
	// Whether enrollments keep to the section's dates follows its dates,
	// as they are after the row, unless that stuck on its own.
	restricted := dates.start != nil || dates.end != nil
	diff(changes, "restrict_enrollments_to_section_dates", old.restricted, restricted)
	st.hold(changes, sticks("restrict_enrollments_to_section_dates", &restricted, old.restricted))
	if fail := st.settle(changes); fail != nil {
		return fail, nil
	}
	if len(changes) == 0 {
		res.Action = result.Unchanged
		return nil, nil
	}
	if f := at.skipDelete("section", old.state, r.Status); f != nil {
		return f, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE sections SET course_id = $2, nonxlist_course_id = $3, integration_id = $4, name = $5, start_at = $6,
		end_at = $7, workflow_state = $8, last_import_id = $9, restrict_enrollments_to_section_dates = $10, sticky_fields = $11,
		updated_at = now() WHERE id = $1`,
		old.id, courseID, nonxlist, integrationID, r.Name, dates.start, dates.end, r.Status, at.job.ID, restricted, nonNil(st.after)); err != nil {
		return nil, fmt.Errorf("update section: %w", err)
	}
	if err := at.moveEnrollments(ctx, res.File, old.id, old.courseID, courseID); err != nil {
		return nil, err
	}
	res.Changes = changes
	res.Action = result.Transition(old.state, r.Status, true)
	return nil, nil
}

// stayCrosslisted is where a sections row that names course (and says
// status) leaves a section, and the course it is then cross-listed from
// (nil: none). As on Canvas, the course_id of a cross-listed section may
// name its original course: it stays where it was cross-listed to, unless
// that course is deleted and the row is active. Naming a third course
// un-cross-lists it and moves it there.
func stayCrosslisted(old *storedSection, course int64, status string) (int64, *int64) {
	switch {
	case old.nonxlist == nil:
		return course, nil
	case course == old.courseID:
		return course, old.nonxlist
	case course == *old.nonxlist && (old.courseState != "deleted" || status != "active"):
		return old.courseID, old.nonxlist
	}
	return course, nil
}

// moveEnrollments moves a section's enrollments, which are in its course
// from, to its course to, in one UPDATE; each is a result of its own (row
// null), so that a restore moves them back. Enrollments in the course as
// a whole (section_id 0) stay.
func (at *attempt) moveEnrollments(ctx context.Context, file string, section, from, to int64) error {
	if from == to {
		return nil
	}
	rows, err := at.tx.Query(ctx, `UPDATE enrollments e SET course_id = $3, last_import_id = $4, updated_at = now() FROM users u
		WHERE e.course_id = $2 AND e.section_id = $1 AND u.id = e.user_id RETURNING e.id, u.sis_user_id`, section, from, to, at.job.ID)
	if err != nil {
		return fmt.Errorf("move section enrollments: %w", err)
	}
	var moved []result.Result
	var id int64
	var sis *string
	_, err = pgx.ForEachRow(rows, []any{&id, &sis}, func() error {
		r := result.Result{File: file, Entity: "enrollment", ObjectID: id, Action: result.Updated, Message: "moved with its section",
			Changes: map[string][2]any{"course_id": {from, to}}}
		if sis != nil {
			r.SISID = *sis
		}
		moved = append(moved, r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("move section enrollments: %w", err)
	}
	recordEach(at, typeEnrollments, moved, func(r *result.Result) result.Result { return *r })
	return nil
}

// selectSection reads a storedSection, given $1 the root account and $3
// the import's account; the caller adds the condition on $2.
const selectSection = `SELECT s.sis_section_id, s.id, s.course_id, s.nonxlist_course_id, c.workflow_state, s.name, s.integration_id,
		s.start_at, s.end_at, s.restrict_enrollments_to_section_dates, s.workflow_state, $3 = ANY(a.path), s.sticky_fields
	FROM sections s JOIN courses c ON c.id = s.course_id JOIN accounts a ON a.id = c.account_id
	WHERE s.root_account_id = $1 AND `

// fields are where a row of selectSection is scanned to, after its
// SIS id.
func (s *storedSection) fields(sis *string) []any {
	return []any{sis, &s.id, &s.courseID, &s.nonxlist, &s.courseState, &s.name, &s.integrationID,
		&s.start, &s.end, &s.restricted, &s.state, &s.inScope, &s.sticky}
}

// readSection reads a section of the root account by SIS id, in the
// import's transaction, locking it when lock says so (forUpdate).
func (at *attempt) readSection(ctx context.Context, sis string, lock bool) (*storedSection, error) {
	s := &storedSection{}
	var key string
	err := at.tx.QueryRow(ctx, selectSection+`s.sis_section_id = $2`+forUpdate(lock, "s"),
		at.account.RootAccountID, sis, at.account.ID).Scan(s.fields(&key)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read section: %w", err)
	}
	return s, nil
}

// readSections reads, and locks, the sections of the root account with
// the SIS ids sis in one query, by SIS id; a section that does not exist
// is absent.
func (at *attempt) readSections(ctx context.Context, sis []string) (map[string]*storedSection, error) {
	rows, err := at.tx.Query(ctx, selectSection+`s.sis_section_id = ANY($2) ORDER BY s.id`+forUpdate(true, "s"),
		at.account.RootAccountID, sis, at.account.ID)
	if err != nil {
		return nil, fmt.Errorf("read sections: %w", err)
	}
	defer rows.Close()
	out := map[string]*storedSection{}
	for rows.Next() {
		var key string
		s := &storedSection{}
		if err := rows.Scan(s.fields(&key)...); err != nil {
			return nil, fmt.Errorf("read sections: %w", err)
		}
		out[key] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read sections: %w", err)
	}
	return out, nil
}
