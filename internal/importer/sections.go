package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
)

// sectionRow is one row of a sections file (Canvas's sections.csv).
type sectionRow struct {
	SectionID     string `validate:"required,max=255"`
	CourseID      string `validate:"required,max=255"`
	Name          string `validate:"required,max=255"`
	Status        string `validate:"required,oneof=active deleted"`
	StartDate     string `validate:"max=64"`
	EndDate       string `validate:"max=64"`
	IntegrationID string `validate:"max=255"`
}

var sectionColumns = []string{"section_id", "course_id", "name", "status", "start_date", "end_date", "integration_id"}

var sectionColumnOf = map[string]string{"SectionID": "section_id", "CourseID": "course_id", "Name": "name", "Status": "status",
	"StartDate": "start_date", "EndDate": "end_date", "IntegrationID": "integration_id"}

func (r *sectionRow) fields() []*string {
	return []*string{&r.SectionID, &r.CourseID, &r.Name, &r.Status, &r.StartDate, &r.EndDate, &r.IntegrationID}
}

type storedSection struct {
	id, courseID  int64
	name          string
	integrationID *string
	start, end    *time.Time
	state         string
	inScope       bool
}

// importSections applies a sections file a row at a time. A section is
// written under its course, so the course must be inside the import's scope.
func (ru *run) importSections(ctx context.Context, file string, head csvread.Record, cols map[string]int, rd *csvread.Reader) error {
	if err := ru.checkColumns(file, "sections", head, cols, sectionColumns, []string{"course_id", "status"}); err != nil {
		return err
	}
	idx := positions(sectionColumns, cols)
	st := ru.stream(typeSections, file)
	return ru.eachRow(ctx, file, typeSections, "section", len(head.Fields), rd, func(ctx context.Context, rec csvread.Record, res *Result) (*rowFailure, error) {
		var r sectionRow
		fillRow(r.fields(), rec, idx)
		r.Status = strings.ToLower(r.Status)
		res.SISID = r.SectionID
		if f := st.duplicate("section_id", r.SectionID, rec.Line); f != nil {
			return f, nil
		}
		if f := validateRow(&r, sectionColumnOf); f != nil {
			return f, nil
		}
		return ru.applySection(ctx, &r, res)
	})
}

func (ru *run) applySection(ctx context.Context, r *sectionRow, res *Result) (*rowFailure, error) {
	dates, f := parseDates(r.StartDate, r.EndDate)
	if f != nil {
		return f, nil
	}
	old, err := ru.sectionBySIS(ctx, r.SectionID)
	if err != nil {
		return nil, err
	}
	if old != nil && !old.inScope {
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("section %q belongs to a course outside the account this import was posted to", r.SectionID)}, nil
	}
	course, err := ru.courseBySIS(ctx, r.CourseID)
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
		err := ru.tx.QueryRow(ctx, `INSERT INTO sections (root_account_id, course_id, sis_section_id, integration_id, name, start_at, end_at,
			workflow_state, last_import_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			ru.account.RootAccountID, course.id, r.SectionID, integrationID, r.Name, dates.start, dates.end, r.Status, ru.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create section: %w", err)
		}
		res.Action = Created
		return nil, nil
	}
	res.ObjectID = old.id
	changes := map[string][2]any{}
	dates.over(old.start, old.end, changes)
	diff(changes, "course_id", old.courseID, course.id)
	diff(changes, "name", old.name, r.Name)
	diffPtr(changes, "integration_id", old.integrationID, integrationID)
	diff(changes, "workflow_state", old.state, r.Status)
	if len(changes) == 0 {
		res.Action = Unchanged
		return nil, nil
	}
	if f := ru.skipDelete("section", old.state, r.Status); f != nil {
		return f, nil
	}
	if _, err := ru.tx.Exec(ctx, `UPDATE sections SET course_id = $2, integration_id = $3, name = $4, start_at = $5, end_at = $6,
		workflow_state = $7, last_import_id = $8, updated_at = now() WHERE id = $1`,
		old.id, course.id, integrationID, r.Name, dates.start, dates.end, r.Status, ru.job.ID); err != nil {
		return nil, fmt.Errorf("update section: %w", err)
	}
	if old.courseID != course.id {
		// The section's enrollments follow it to its new course, each a
		// result of its own (row null), so that a restore moves them back.
		rows, err := ru.tx.Query(ctx, `UPDATE enrollments e SET course_id = $2, last_import_id = $3, updated_at = now() FROM users u
			WHERE e.section_id = $1 AND u.id = e.user_id RETURNING e.id, u.sis_user_id`, old.id, course.id, ru.job.ID)
		if err != nil {
			return nil, fmt.Errorf("move section enrollments: %w", err)
		}
		var moved []Result
		var id int64
		var sis *string
		_, err = pgx.ForEachRow(rows, []any{&id, &sis}, func() error {
			r := Result{File: res.File, Entity: "enrollment", ObjectID: id, Action: Updated, Message: "moved with its section",
				Changes: map[string][2]any{"course_id": {old.courseID, course.id}}}
			if sis != nil {
				r.SISID = *sis
			}
			moved = append(moved, r)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("move section enrollments: %w", err)
		}
		recordEach(ru, typeEnrollments, moved, func(r *Result) Result { return *r })
	}
	res.Changes = changes
	res.Action = transitionAction(old.state, r.Status, true)
	return nil, nil
}

func (ru *run) sectionBySIS(ctx context.Context, sis string) (*storedSection, error) {
	s := &storedSection{}
	err := ru.tx.QueryRow(ctx, `SELECT s.id, s.course_id, s.name, s.integration_id, s.start_at, s.end_at, s.workflow_state, $3 = ANY(a.path)
		FROM sections s JOIN courses c ON c.id = s.course_id JOIN accounts a ON a.id = c.account_id
		WHERE s.root_account_id = $1 AND s.sis_section_id = $2`,
		ru.account.RootAccountID, sis, ru.account.ID).Scan(&s.id, &s.courseID, &s.name, &s.integrationID, &s.start, &s.end, &s.state, &s.inScope)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read section: %w", err)
	}
	return s, nil
}
