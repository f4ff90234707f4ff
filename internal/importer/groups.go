package importer

import (
	"context"
	"fmt"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
)

// groupRow is one row of a groups file (Canvas's groups.csv).
type groupRow struct {
	GroupID   string `validate:"required,max=255"`
	Name      string `validate:"required,max=255"`
	Status    string `validate:"required,oneof=available deleted"`
	AccountID string `validate:"max=255"`
	CourseID  string `validate:"max=255"`
}

var groupColumns = []string{"group_id", "name", "status", "account_id", "course_id"}

var groupColumnOf = map[string]string{"GroupID": "group_id", "Name": "name", "Status": "status", "AccountID": "account_id", "CourseID": "course_id"}

func (r *groupRow) fields() []*string {
	return []*string{&r.GroupID, &r.Name, &r.Status, &r.AccountID, &r.CourseID}
}

type storedGroup struct {
	id, accountID int64
	courseID      *int64
	name, state   string
	origin        string
	inScope       bool
}

// importGroups applies a groups file a row at a time. A group created
// through the API is never changed by an import (SPEC §4.8, seed 003).
func (ru *run) importGroups(ctx context.Context, file string, head csvread.Record, cols map[string]int, rd *csvread.Reader) error {
	if err := ru.checkColumns(file, "groups", head, cols, groupColumns, []string{"status"}); err != nil {
		return err
	}
	idx := positions(groupColumns, cols)
	st := ru.stream(typeGroups, file)
	return ru.eachRow(ctx, file, typeGroups, "group", len(head.Fields), rd, func(ctx context.Context, rec csvread.Record, res *Result) (*rowFailure, error) {
		var r groupRow
		fillRow(r.fields(), rec, idx)
		r.Status = strings.ToLower(r.Status)
		res.SISID = r.GroupID
		if f := st.duplicate("group_id", r.GroupID, rec.Line); f != nil {
			return f, nil
		}
		if f := validateRow(&r, groupColumnOf); f != nil {
			return f, nil
		}
		return ru.applyGroup(ctx, &r, res)
	})
}

func (ru *run) applyGroup(ctx context.Context, r *groupRow, res *Result) (*rowFailure, error) {
	old, err := ru.groupBySIS(ctx, r.GroupID)
	switch {
	case err != nil:
		return nil, err
	case old != nil && old.origin == "manual":
		res.ObjectID = old.id
		return &rowFailure{code: "manual_object", skip: true, message: fmt.Sprintf("group %q was created through the API: imports never change it", r.GroupID)}, nil
	case old != nil && !old.inScope:
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("group %q belongs to an account outside the one this import was posted to", r.GroupID)}, nil
	}
	accountID := ru.account.ID
	var courseID *int64
	switch {
	case r.CourseID != "":
		c, err := ru.courseBySIS(ctx, r.CourseID)
		switch {
		case err != nil:
			return nil, err
		case c == nil:
			return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column course_id: no course %q exists", r.CourseID)}, nil
		case !c.inScope:
			return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column course_id: course %q is outside the account this import was posted to", r.CourseID)}, nil
		}
		accountID, courseID = c.accountID, &c.id
	case r.AccountID != "":
		a, f, err := ru.accountInScope(ctx, "account_id", r.AccountID)
		if f != nil || err != nil {
			return f, err
		}
		accountID = a.id
	case old != nil:
		accountID, courseID = old.accountID, old.courseID
	}
	if old == nil {
		if r.Status == "deleted" {
			return notFound("group", r.GroupID), nil
		}
		err := ru.tx.QueryRow(ctx, `INSERT INTO groups (root_account_id, account_id, course_id, sis_group_id, name, workflow_state, last_import_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			ru.account.RootAccountID, accountID, courseID, r.GroupID, r.Name, r.Status, ru.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create group: %w", err)
		}
		res.Action = Created
		return nil, nil
	}
	res.ObjectID = old.id
	changes := map[string][2]any{}
	diff(changes, "name", old.name, r.Name)
	diff(changes, "account_id", old.accountID, accountID)
	diffPtr(changes, "course_id", old.courseID, courseID)
	diff(changes, "workflow_state", old.state, r.Status)
	if len(changes) == 0 {
		res.Action = Unchanged
		return nil, nil
	}
	if f := ru.skipDelete("group", old.state, r.Status); f != nil {
		return f, nil
	}
	if _, err := ru.tx.Exec(ctx, `UPDATE groups SET account_id = $2, course_id = $3, name = $4, workflow_state = $5, last_import_id = $6,
		updated_at = now() WHERE id = $1`, old.id, accountID, courseID, r.Name, r.Status, ru.job.ID); err != nil {
		return nil, fmt.Errorf("update group: %w", err)
	}
	res.Changes = changes
	res.Action = transitionAction(old.state, r.Status, true)
	return nil, nil
}

// groupBySIS is the root account's group with the SIS id, or nil.
func (ru *run) groupBySIS(ctx context.Context, sis string) (*storedGroup, error) {
	groups, err := ru.groupsBySIS(ctx, []string{sis})
	return groups[sis], err
}
