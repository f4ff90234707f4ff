package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Section is a section of a course as the API shows it: Canvas's Section,
// the fields this service keeps (docs/api.md#directory).
type Section struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	SISSectionID  *string    `json:"sis_section_id"`
	IntegrationID *string    `json:"integration_id"`
	SISImportID   *int64     `json:"sis_import_id"`
	CourseID      int64      `json:"course_id"`
	SISCourseID   *string    `json:"sis_course_id"`
	StartAt       *time.Time `json:"start_at"`
	EndAt         *time.Time `json:"end_at"`
	// RestrictEnrollmentsToSectionDates is, as Canvas sets it on import,
	// whether the section has a date, unless an edit through the API set it.
	RestrictEnrollmentsToSectionDates bool `json:"restrict_enrollments_to_section_dates"`
	// NonxlistCourseID is the course a cross-listed section was made in;
	// null when it is not cross-listed.
	NonxlistCourseID *int64    `json:"nonxlist_course_id"`
	CreatedAt        time.Time `json:"created_at"`
	// StickyFields are the fields edited through the API, which imports
	// leave alone (docs/import-rules.md#stickiness-and-manual-objects).
	StickyFields []string `json:"sticky_fields"`
}

// sectionSelect reads sections (alias s) that are not deleted, with their
// course (c) and its account (a), which says whose reach they are in.
const sectionSelect = `SELECT s.id, s.name, s.sis_section_id, s.integration_id, s.last_import_id, s.course_id, c.sis_course_id,
	s.start_at, s.end_at, s.restrict_enrollments_to_section_dates, s.nonxlist_course_id, s.created_at, s.sticky_fields
	FROM sections s JOIN courses c ON c.id = s.course_id JOIN accounts a ON a.id = c.account_id`

func scanSection(row pgx.Row) (Section, error) {
	var s Section
	err := row.Scan(&s.ID, &s.Name, &s.SISSectionID, &s.IntegrationID, &s.SISImportID, &s.CourseID, &s.SISCourseID,
		&s.StartAt, &s.EndAt, &s.RestrictEnrollmentsToSectionDates, &s.NonxlistCourseID, &s.CreatedAt, &s.StickyFields)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, errs.ErrNotFound
	}
	return s, err
}

// GetSection finds the section a path names — an id or
// "sis_section_id:X" — among the sections whose course's account is in the
// subtree of reach. A deleted section, or one whose course is deleted, is
// not found, as on Canvas.
func GetSection(ctx context.Context, db *pgxpool.Pool, ref string, reach, root int64) (Section, error) {
	cond, args, err := refMatch("s", "sis_section_id", ref, reach, root, 1)
	if err != nil {
		return Section{}, err
	}
	s, err := scanSection(db.QueryRow(ctx, sectionSelect+` WHERE `+cond+` AND s.workflow_state <> 'deleted' AND c.workflow_state <> 'deleted'`,
		args...))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return s, fmt.Errorf("get section: %w", err)
	}
	return s, err
}

// ListSections lists the sections of a course that are not deleted, the
// ones cross-listed into it included, by name as Canvas lists them.
func ListSections(ctx context.Context, db *pgxpool.Pool, courseID int64, limit, offset int) ([]Section, error) {
	rows, err := db.Query(ctx, sectionSelect+` WHERE s.course_id = $1 AND s.workflow_state <> 'deleted' ORDER BY s.name, s.id LIMIT $2 OFFSET $3`,
		courseID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list sections: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Section, error) { return scanSection(r) })
	if err != nil {
		return nil, fmt.Errorf("list sections: %w", err)
	}
	return out, nil
}

// SectionEdit is a manual edit of a section; nil fields are left alone.
type SectionEdit struct {
	Name, SISSectionID, IntegrationID *string
	StartAt, EndAt                    *DateEdit
	RestrictEnrollmentsToSectionDates *bool
}

// UpdateSection edits section sec of root account root: its name, dates
// and restrict_enrollments_to_section_dates stick
// (docs/import-rules.md#stickiness-and-manual-objects).
func UpdateSection(ctx context.Context, db *pgxpool.Pool, root int64, sec Section, in SectionEdit) (Section, error) {
	for _, f := range []struct {
		param    string
		v        *string
		required bool
	}{{"course_section[name]", in.Name, true}, {"course_section[sis_section_id]", in.SISSectionID, false},
		{"course_section[integration_id]", in.IntegrationID, false}} {
		if err := text(f.param, f.v, f.required); err != nil {
			return Section{}, err
		}
	}
	if err := datesInOrder("course_section[end_at]", after(in.StartAt, sec.StartAt), after(in.EndAt, sec.EndAt)); err != nil {
		return Section{}, err
	}
	err := inTx(ctx, db, func(tx pgx.Tx) error {
		var e edit
		if in.Name != nil {
			e.col("name", strings.TrimSpace(*in.Name), "name")
		}
		if in.SISSectionID != nil {
			e.col("sis_section_id", orNull(in.SISSectionID), "")
		}
		if in.IntegrationID != nil {
			integration := orNull(in.IntegrationID)
			if err := sectionIntegrationFree(ctx, tx, root, sec.ID, integration); err != nil {
				return err
			}
			e.col("integration_id", integration, "")
		}
		e.date("start_at", in.StartAt)
		e.date("end_at", in.EndAt)
		if in.RestrictEnrollmentsToSectionDates != nil {
			e.col("restrict_enrollments_to_section_dates", *in.RestrictEnrollmentsToSectionDates, "restrict_enrollments_to_section_dates")
		}
		return e.apply(ctx, tx, "sections", sec.ID)
	})
	if err := editError("update section", err, map[string]string{
		"sections_sis_id": "course_section[sis_section_id]: already used by another section of this root account",
	}); err != nil {
		return Section{}, err
	}
	return GetSection(ctx, db, strconv.FormatInt(sec.ID, 10), root, root)
}

// sectionIntegrationFree refuses an integration id another section of the
// root account holds, deleted ones included.
func sectionIntegrationFree(ctx context.Context, tx pgx.Tx, root, id int64, integration *string) error {
	if integration == nil {
		return nil
	}
	var taken bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sections WHERE root_account_id = $1 AND integration_id = $2 AND id <> $3)`,
		root, *integration, id).Scan(&taken); err != nil {
		return err
	}
	if taken {
		return errs.New(errs.Conflict, "integration_id_taken", "course_section[integration_id]: already used by another section of this root account")
	}
	return nil
}
