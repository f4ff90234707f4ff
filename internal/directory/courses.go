package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// StickyFields are the fields edited through the API, which imports
	// leave alone (docs/import-rules.md#stickiness-and-manual-objects).
	StickyFields []string `json:"sticky_fields"`
}

// courseStates are Canvas's words for the states courses are stored in.
var courseStates = map[string]string{"active": "available", "completed": "completed", "deleted": "deleted"}

const courseColumns = `c.id, c.long_name, c.short_name, c.sis_course_id, c.last_import_id, c.integration_id, c.account_id, c.root_account_id,
	c.term_id, c.workflow_state, c.start_at, c.end_at, c.course_format, c.grade_passback_setting, c.homeroom_course, c.friendly_name,
	EXISTS (SELECT 1 FROM courses ch WHERE ch.blueprint_course_id = c.id AND ch.workflow_state <> 'deleted'), c.blueprint_course_id, c.created_at,
	c.sticky_fields`

func scanCourse(row pgx.Row) (Course, error) {
	var c Course
	err := row.Scan(&c.ID, &c.Name, &c.CourseCode, &c.SISCourseID, &c.SISImportID, &c.IntegrationID, &c.AccountID, &c.RootAccountID,
		&c.EnrollmentTermID, &c.WorkflowState, &c.StartAt, &c.EndAt, &c.CourseFormat, &c.GradePassbackSetting, &c.HomeroomCourse,
		&c.FriendlyName, &c.Blueprint, &c.BlueprintCourseID, &c.CreatedAt, &c.StickyFields)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.ErrNotFound
	}
	if s, ok := courseStates[c.WorkflowState]; ok {
		c.WorkflowState = s
	}
	return c, err
}

// GetCourse reads the course ref names among the courses whose account is
// in the subtree of reach, whatever its state. Anything outside that
// subtree is not found.
func GetCourse(ctx context.Context, db *pgxpool.Pool, ref string, reach, root int64) (Course, error) {
	cond, args, err := refMatch("c", "sis_course_id", ref, reach, root, 1)
	if err != nil {
		return Course{}, err
	}
	c, err := scanCourse(db.QueryRow(ctx, `SELECT `+courseColumns+` FROM courses c JOIN accounts a ON a.id = c.account_id WHERE `+cond, args...))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return c, fmt.Errorf("get course: %w", err)
	}
	return c, err
}

// CourseEvents are the states Canvas's course[event] of an edit sets,
// in this service's words (docs/api.md#directory).
var CourseEvents = map[string]string{"offer": "active", "claim": "unpublished", "conclude": "completed", "delete": "deleted", "undelete": "unpublished"}

// CourseEdit is a manual edit of a course; nil fields are left alone.
type CourseEdit struct {
	Name, CourseCode, SISCourseID, IntegrationID *string
	StartAt, EndAt                               *DateEdit
	// TermID names the term: an id or sis_term_id:X; empty for none.
	TermID *string
	// AccountID names the account: an id or sis_account_id:X.
	AccountID *string
	// GradePassbackSetting: nightly_sync, disabled, or not_set (or empty)
	// for none.
	GradePassbackSetting *string
	// Event is Canvas's course[event]: a key of CourseEvents.
	Event *string
}

// UpdateCourse edits course c, for a token of account reach: the fields
// imports write stick (docs/import-rules.md#stickiness-and-manual-objects).
func UpdateCourse(ctx context.Context, db *pgxpool.Pool, c Course, reach int64, in CourseEdit) (Course, error) {
	if err := in.validate(c); err != nil {
		return Course{}, err
	}
	err := inTx(ctx, db, func(tx pgx.Tx) error {
		var e edit
		if in.Name != nil {
			e.col("long_name", strings.TrimSpace(*in.Name), "name")
		}
		if in.CourseCode != nil {
			e.col("short_name", strings.TrimSpace(*in.CourseCode), "course_code")
		}
		if in.SISCourseID != nil {
			e.col("sis_course_id", orNull(in.SISCourseID), "")
		}
		if in.IntegrationID != nil {
			e.col("integration_id", orNull(in.IntegrationID), "")
		}
		e.date("start_at", in.StartAt)
		e.date("end_at", in.EndAt)
		if in.GradePassbackSetting != nil {
			v := orNull(in.GradePassbackSetting)
			if v != nil && *v == "not_set" {
				v = nil
			}
			e.col("grade_passback_setting", v, "grade_passback_setting")
		}
		if in.Event != nil {
			state := CourseEvents[*in.Event]
			if *in.Event != "undelete" || c.WorkflowState == "deleted" {
				e.col("workflow_state", state, "workflow_state")
			}
		}
		if in.TermID != nil {
			term, err := editedTerm(ctx, tx, c.RootAccountID, *in.TermID)
			if err != nil {
				return err
			}
			e.col("term_id", term, "enrollment_term_id")
		}
		if in.AccountID != nil {
			cond, args, err := AccountMatch(strings.TrimSpace(*in.AccountID), reach, c.RootAccountID, 1)
			var id int64
			if err == nil {
				err = tx.QueryRow(ctx, `SELECT a.id FROM accounts a WHERE `+cond+` AND a.workflow_state <> 'deleted'`, args...).Scan(&id)
			}
			switch {
			case errors.Is(err, pgx.ErrNoRows) || errs.KindOf(err) == errs.NotFound:
				return errs.New(errs.Invalid, "invalid_value", "course[account_id]: no account %q within reach of the token that is not deleted", *in.AccountID)
			case err != nil:
				return err
			}
			e.col("account_id", id, "account_id")
		}
		return e.apply(ctx, tx, "courses", c.ID)
	})
	if err := editError("update course", err, map[string]string{
		"courses_sis_id":         "course[sis_course_id]: already used by another course of this root account",
		"courses_integration_id": "course[integration_id]: already used by another course of this root account",
	}); err != nil {
		return Course{}, err
	}
	return GetCourse(ctx, db, strconv.FormatInt(c.ID, 10), c.RootAccountID, c.RootAccountID)
}

func (in CourseEdit) validate(c Course) error {
	for _, f := range []struct {
		param    string
		v        *string
		required bool
	}{{"course[name]", in.Name, true}, {"course[course_code]", in.CourseCode, true}, {"course[sis_course_id]", in.SISCourseID, false},
		{"course[integration_id]", in.IntegrationID, false}} {
		if err := text(f.param, f.v, f.required); err != nil {
			return err
		}
	}
	if v := in.GradePassbackSetting; v != nil && !slices.Contains([]string{"", "nightly_sync", "disabled", "not_set"}, strings.TrimSpace(*v)) {
		return errs.New(errs.Invalid, "invalid_value", "course[grade_passback_setting]: %q is not nightly_sync, disabled or not_set", *v)
	}
	if v := in.Event; v != nil {
		if _, ok := CourseEvents[*v]; !ok {
			return errs.New(errs.Invalid, "invalid_value", "course[event]: %q is not offer, claim, conclude, delete or undelete", *v)
		}
	}
	return datesInOrder("course[end_at]", after(in.StartAt, c.StartAt), after(in.EndAt, c.EndAt))
}

// editedTerm resolves course[term_id] among the terms of the root account
// that are not deleted: nil for an empty one, which leaves the course
// without a term.
func editedTerm(ctx context.Context, tx pgx.Tx, root int64, ref string) (*int64, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, nil
	}
	var id int64
	var err error
	if sis, ok := strings.CutPrefix(ref, "sis_term_id:"); ok {
		err = tx.QueryRow(ctx, `SELECT id FROM terms WHERE root_account_id = $1 AND sis_term_id = $2 AND workflow_state <> 'deleted'`, root, sis).Scan(&id)
	} else if n, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		err = tx.QueryRow(ctx, `SELECT id FROM terms WHERE root_account_id = $1 AND id = $2 AND workflow_state <> 'deleted'`, root, n).Scan(&id)
	} else {
		err = pgx.ErrNoRows
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.New(errs.Invalid, "invalid_value", "course[term_id]: no term %q of this root account that is not deleted", ref)
	}
	return &id, err
}
