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

// Course is a course as the API shows it: Canvas's Course, the fields this
// service keeps (docs/api.md#directory).
type Course struct {
	ID               int64   `json:"id"`
	Name             string  `json:"name"`
	CourseCode       string  `json:"course_code"`
	SISCourseID      *string `json:"sis_course_id"`
	SISImportID      *int64  `json:"sis_import_id"`
	IntegrationID    *string `json:"integration_id"`
	AccountID        int64   `json:"account_id"`
	RootAccountID    int64   `json:"root_account_id"`
	EnrollmentTermID *int64  `json:"enrollment_term_id"`
	// WorkflowState is in Canvas's words: available (stored as active),
	// completed or deleted.
	WorkflowState        string     `json:"workflow_state"`
	StartAt              *time.Time `json:"start_at"`
	EndAt                *time.Time `json:"end_at"`
	CourseFormat         *string    `json:"course_format"`
	GradePassbackSetting *string    `json:"grade_passback_setting"`
	HomeroomCourse       bool       `json:"homeroom_course"`
	FriendlyName         *string    `json:"friendly_name"`
	// Blueprint says whether a course that is not deleted is associated
	// with this one; BlueprintCourseID is the blueprint this one is
	// associated with.
	Blueprint         bool      `json:"blueprint"`
	BlueprintCourseID *int64    `json:"blueprint_course_id"`
	CreatedAt         time.Time `json:"created_at"`
}

// courseStates are Canvas's words for the states courses are stored in.
var courseStates = map[string]string{"active": "available", "completed": "completed", "deleted": "deleted"}

const courseColumns = `c.id, c.long_name, c.short_name, c.sis_course_id, c.last_import_id, c.integration_id, c.account_id, c.root_account_id,
	c.term_id, c.workflow_state, c.start_at, c.end_at, c.course_format, c.grade_passback_setting, c.homeroom_course, c.friendly_name,
	EXISTS (SELECT 1 FROM courses ch WHERE ch.blueprint_course_id = c.id AND ch.workflow_state <> 'deleted'), c.blueprint_course_id, c.created_at`

func scanCourse(row pgx.Row) (Course, error) {
	var c Course
	err := row.Scan(&c.ID, &c.Name, &c.CourseCode, &c.SISCourseID, &c.SISImportID, &c.IntegrationID, &c.AccountID, &c.RootAccountID,
		&c.EnrollmentTermID, &c.WorkflowState, &c.StartAt, &c.EndAt, &c.CourseFormat, &c.GradePassbackSetting, &c.HomeroomCourse,
		&c.FriendlyName, &c.Blueprint, &c.BlueprintCourseID, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.ErrNotFound
	}
	if s, ok := courseStates[c.WorkflowState]; ok {
		c.WorkflowState = s
	}
	return c, err
}

// CourseMatch is the condition on "courses c JOIN accounts a ON a.id =
// c.account_id" that finds the course ref names — an id or
// "sis_course_id:X" — among the courses whose account is in the subtree
// of reach, and its arguments, numbered from $first.
func CourseMatch(ref string, reach, root int64, first int) (string, []any, error) {
	if sis, ok := strings.CutPrefix(ref, "sis_course_id:"); ok {
		return fmt.Sprintf("c.root_account_id = $%d AND c.sis_course_id = $%d AND $%d = ANY(a.path)", first, first+1, first+2),
			[]any{root, sis, reach}, nil
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return "", nil, errs.ErrNotFound
	}
	return fmt.Sprintf("c.id = $%d AND $%d = ANY(a.path)", first, first+1), []any{id, reach}, nil
}

// GetCourse reads the course ref names among the courses whose account is
// in the subtree of reach, whatever its state. Anything outside that
// subtree is not found.
func GetCourse(ctx context.Context, db *pgxpool.Pool, ref string, reach, root int64) (Course, error) {
	cond, args, err := CourseMatch(ref, reach, root, 1)
	if err != nil {
		return Course{}, err
	}
	c, err := scanCourse(db.QueryRow(ctx, `SELECT `+courseColumns+` FROM courses c JOIN accounts a ON a.id = c.account_id WHERE `+cond, args...))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return c, fmt.Errorf("get course: %w", err)
	}
	return c, err
}
