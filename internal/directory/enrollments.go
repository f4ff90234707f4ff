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

// CourseRef is what the enrollments API needs of a course: which one it is
// and where it lives.
type CourseRef struct {
	ID            int64
	RootAccountID int64
	AccountID     int64
	SISCourseID   *string
}

// ResolveCourse finds the course a path names — an id or
// "sis_course_id:X" — among the courses whose account is in the subtree of
// reach. Anything outside that subtree is not found.
func ResolveCourse(ctx context.Context, db *pgxpool.Pool, ref string, reach, root int64) (CourseRef, error) {
	const cols = `SELECT c.id, c.root_account_id, c.account_id, c.sis_course_id FROM courses c JOIN accounts a ON a.id = c.account_id`
	cond, args, err := refMatch("c", "sis_course_id", ref, reach, root, 1)
	if err != nil {
		return CourseRef{}, err
	}
	var c CourseRef
	err = db.QueryRow(ctx, cols+` WHERE `+cond, args...).Scan(&c.ID, &c.RootAccountID, &c.AccountID, &c.SISCourseID)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("resolve course: %w", err)
	}
	return c, nil
}

// Enrollment is a user's role in a course, or in one of its sections, as
// the API shows it: Canvas's Enrollment, the fields this service keeps.
type Enrollment struct {
	ID              int64   `json:"id"`
	CourseID        int64   `json:"course_id"`
	SISCourseID     *string `json:"sis_course_id"`
	CourseSectionID *int64  `json:"course_section_id"`
	SISSectionID    *string `json:"sis_section_id"`
	UserID          int64   `json:"user_id"`
	SISUserID       *string `json:"sis_user_id"`
	Role            string  `json:"role"`
	RoleID          int64   `json:"role_id"`
	Type            string  `json:"type"`
	// AssociatedUserID is the student an observer enrollment observes.
	AssociatedUserID     *int64     `json:"associated_user_id"`
	LimitToCourseSection bool       `json:"limit_privileges_to_course_section"`
	EnrollmentState      string     `json:"enrollment_state"`
	StartAt              *time.Time `json:"start_at"`
	EndAt                *time.Time `json:"end_at"`
	Origin               string     `json:"origin"`
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

// EnrollmentStates are the states an enrollment may be in.
var EnrollmentStates = []string{"active", "inactive", "completed", "deleted"}

// enrollmentTypes are Canvas's enrollment types, by role.
var enrollmentTypes = map[string]string{"student": "StudentEnrollment", "teacher": "TeacherEnrollment",
	"ta": "TaEnrollment", "observer": "ObserverEnrollment", "designer": "DesignerEnrollment"}

// EnrollmentRole reads a role as enrollments.csv names it (student) or as
// Canvas's API does (StudentEnrollment), case-insensitively.
func EnrollmentRole(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if _, ok := enrollmentTypes[s]; ok {
		return s, true
	}
	for role, typ := range enrollmentTypes {
		if s == strings.ToLower(typ) {
			return role, true
		}
	}
	return "", false
}

// enrollmentColumns and enrollmentJoins read enrollments (alias e) with the
// SIS ids of their course, section and user.
const (
	enrollmentColumns = `SELECT e.id, e.course_id, c.sis_course_id, NULLIF(e.section_id, 0), s.sis_section_id,
	e.user_id, u.sis_user_id, e.role, r.name, e.role_id, NULLIF(e.associated_user_id, 0), e.limit_privileges_to_course_section,
	e.workflow_state, e.start_at, e.end_at, e.origin, e.created_at, e.updated_at`
	enrollmentJoins = ` JOIN courses c ON c.id = e.course_id JOIN users u ON u.id = e.user_id
	JOIN roles r ON r.id = e.role_id LEFT JOIN sections s ON s.id = e.section_id`
	enrollmentSelect = enrollmentColumns + ` FROM enrollments e` + enrollmentJoins
)

func scanEnrollment(row pgx.Row) (Enrollment, error) {
	var e Enrollment
	var base string
	err := row.Scan(&e.ID, &e.CourseID, &e.SISCourseID, &e.CourseSectionID, &e.SISSectionID, &e.UserID, &e.SISUserID,
		&base, &e.Role, &e.RoleID, &e.AssociatedUserID, &e.LimitToCourseSection, &e.EnrollmentState, &e.StartAt, &e.EndAt,
		&e.Origin, &e.CreatedAt, &e.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, errs.ErrNotFound
	}
	e.Type = enrollmentTypes[base]
	return e, err
}

func collectEnrollments(rows pgx.Rows) ([]Enrollment, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Enrollment, error) { return scanEnrollment(r) })
}

// EnrollmentFilter selects enrollments of one course.
type EnrollmentFilter struct {
	CourseID int64
	// States are the states to list; none lists none.
	States []string
	// UserRef, when set, keeps one user's enrollments: an id or
	// "sis_user_id:X".
	UserRef       string
	Limit, Offset int
}

// ListEnrollments lists a course's enrollments in id order.
func ListEnrollments(ctx context.Context, db *pgxpool.Pool, f EnrollmentFilter) ([]Enrollment, error) {
	var userID *int64
	var sisUserID *string
	if sis, ok := strings.CutPrefix(f.UserRef, "sis_user_id:"); ok {
		sisUserID = &sis
	} else if f.UserRef != "" {
		id, err := strconv.ParseInt(f.UserRef, 10, 64)
		if err != nil {
			return nil, errs.New(errs.Invalid, "invalid_value", "parameter user_id: %q is neither a user id nor sis_user_id:<id>", f.UserRef)
		}
		userID = &id
	}
	rows, err := db.Query(ctx, enrollmentSelect+`
		WHERE e.course_id = $1 AND e.workflow_state = ANY($2)
		  AND ($3::bigint IS NULL OR e.user_id = $3) AND ($4::text IS NULL OR u.sis_user_id = $4)
		ORDER BY e.id LIMIT $5 OFFSET $6`, f.CourseID, f.States, userID, sisUserID, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("list enrollments: %w", err)
	}
	out, err := collectEnrollments(rows)
	if err != nil {
		return nil, fmt.Errorf("list enrollments: %w", err)
	}
	return out, nil
}

// FindEnrollment finds the enrollment of course that a path names: an
// enrollment id, or "sis_user_id:X" with an optional role (already read by
// EnrollmentRole) for a user who has several enrollments in the course.
// When that still leaves several, it is a conflict that names them, so the
// caller can narrow it down.
func FindEnrollment(ctx context.Context, db *pgxpool.Pool, course CourseRef, ref, role string) (Enrollment, error) {
	sis, bySIS := strings.CutPrefix(ref, "sis_user_id:")
	if !bySIS {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil {
			return Enrollment{}, errs.ErrNotFound
		}
		e, err := scanEnrollment(db.QueryRow(ctx, enrollmentSelect+` WHERE e.id = $1 AND e.course_id = $2`, id, course.ID))
		if err != nil && errs.KindOf(err) != errs.NotFound {
			return e, fmt.Errorf("find enrollment: %w", err)
		}
		return e, err
	}
	rows, err := db.Query(ctx, enrollmentSelect+`
		WHERE e.course_id = $1 AND u.root_account_id = $2 AND u.sis_user_id = $3 AND ($4 = '' OR e.role = $4)
		ORDER BY e.id LIMIT 100`, course.ID, course.RootAccountID, sis, role)
	if err != nil {
		return Enrollment{}, fmt.Errorf("find enrollment: %w", err)
	}
	list, err := collectEnrollments(rows)
	if err != nil {
		return Enrollment{}, fmt.Errorf("find enrollment: %w", err)
	}
	switch {
	case len(list) == 1:
		return list[0], nil
	case len(list) == 0 && role != "":
		return Enrollment{}, errs.New(errs.NotFound, "not_found", "user %s has no %s enrollment in this course", sis, role)
	case len(list) == 0:
		return Enrollment{}, errs.New(errs.NotFound, "not_found", "user %s has no enrollment in this course", sis)
	}
	return Enrollment{}, ambiguousEnrollment(sis, role, list)
}

// ambiguousEnrollment says which enrollments a user has in the course, and
// what would tell them apart: role, else the enrollment id.
func ambiguousEnrollment(sis, role string, list []Enrollment) error {
	var parts []string
	for _, e := range list {
		where := "the course"
		if e.SISSectionID != nil {
			where = "section " + *e.SISSectionID
		} else if e.CourseSectionID != nil {
			where = fmt.Sprintf("section %d", *e.CourseSectionID)
		}
		parts = append(parts, fmt.Sprintf("%s in %s (id %d, %s)", e.Role, where, e.ID, e.EnrollmentState))
	}
	hint := "give role= (student, teacher, ta, observer or designer) or use the enrollment id"
	if role != "" {
		hint = "use the enrollment id"
	}
	return errs.New(errs.Conflict, "ambiguous_match", "user %s has %d enrollments in this course: %s; %s",
		sis, len(list), strings.Join(parts, ", "), hint)
}

// SetEnrollmentState is a manual change of an enrollment's state. It is not
// sticky (docs/import-rules.md#stickiness-and-manual-objects): the feed may change it back. last_import_id goes, so
// that restoring the import that last wrote it leaves it alone. An
// enrollment already in that state is not written.
func SetEnrollmentState(ctx context.Context, db *pgxpool.Pool, e Enrollment, state string) (Enrollment, error) {
	row := db.QueryRow(ctx, `WITH n AS (
			UPDATE enrollments SET workflow_state = $2, updated_at = now(), last_import_id = NULL
			WHERE id = $1 AND workflow_state <> $2 RETURNING *),
		e AS (SELECT * FROM n UNION ALL SELECT * FROM enrollments WHERE id = $1 AND NOT EXISTS (SELECT FROM n))
		`+enrollmentColumns+` FROM e`+enrollmentJoins, e.ID, state)
	out, err := scanEnrollment(row)
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return out, fmt.Errorf("set enrollment state: %w", err)
	}
	return out, err
}
