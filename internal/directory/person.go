package directory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A person's page in the console (docs/console.md#what-happened-to-this-student)
// shows every enrollment and group of one user at once.

// PersonEnrollment is an enrollment of one user with its course's name.
type PersonEnrollment struct {
	Enrollment
	CourseName string
}

// UserEnrollments lists the enrollments of a user that are not deleted,
// with their courses' names, at most limit of them, newest first. The index
// the pinned plans keep covers those; what removed the others is in the
// imports' results.
func UserEnrollments(ctx context.Context, db *pgxpool.Pool, userID int64, limit int) ([]PersonEnrollment, error) {
	rows, err := db.Query(ctx, enrollmentColumns+`, c.long_name FROM enrollments e`+enrollmentJoins+`
		WHERE e.user_id = $1 AND e.workflow_state <> 'deleted' ORDER BY e.updated_at DESC, e.id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list user's enrollments: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PersonEnrollment, error) {
		var p PersonEnrollment
		e := &p.Enrollment
		var base string
		err := r.Scan(&e.ID, &e.CourseID, &e.SISCourseID, &e.CourseSectionID, &e.SISSectionID, &e.UserID, &e.SISUserID,
			&base, &e.Role, &e.RoleID, &e.AssociatedUserID, &e.LimitToCourseSection, &e.EnrollmentState, &e.StartAt, &e.EndAt,
			&e.Origin, &e.CreatedAt, &e.UpdatedAt, &p.CourseName)
		e.Type = enrollmentTypes[base]
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list user's enrollments: %w", err)
	}
	return out, nil
}

// Membership is a user's place in a group.
type Membership struct {
	Group Group
	// State is the membership's: accepted, or deleted.
	State string
}

// UserGroups lists the groups a user is a member of, by name.
func UserGroups(ctx context.Context, db *pgxpool.Pool, userID int64, limit int) ([]Membership, error) {
	rows, err := db.Query(ctx, `SELECT `+groupColumns+`, m.workflow_state FROM group_memberships m JOIN groups g ON g.id = m.group_id
		WHERE m.user_id = $1 AND m.workflow_state = 'accepted' ORDER BY g.name, g.id LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list user's groups: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Membership, error) {
		var m Membership
		g := &m.Group
		err := r.Scan(&g.ID, &g.Name, &g.SISGroupID, &g.AccountID, &g.CourseID, &g.GroupCategoryID, &g.WorkflowState, &g.Origin, &g.StickyFields, &m.State)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("list user's groups: %w", err)
	}
	return out, nil
}
