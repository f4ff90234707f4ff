package importer

import (
	"context"
	"fmt"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// groupRow is one row of a groups file (Canvas's groups.csv).
type groupRow struct {
	GroupID   string `csv:"group_id" validate:"required,max=255"`
	Name      string `csv:"name" validate:"required,max=255"`
	Status    string `csv:"status,lower" validate:"required,oneof=available deleted"`
	AccountID string `csv:"account_id" validate:"max=255"`
	CourseID  string `csv:"course_id" validate:"max=255"`
}

// typeGroups is the type's name.
const typeGroups = "groups"

func init() {
	register(&fileType{name: typeGroups, batch: "group", entity: "group",
		detect: func(h header) bool { return h.has("group_id") && h.has("name") }, detectRank: 110,
		applyRank: 90, layout: layoutOf(&groupRow{}), required: []string{"status"}, apply: importGroups,
		restore: restoring("groups", "sis_group_id", "name", "account_id", "course_id"),
		ids:     &idTarget{"groups", "sis_group_id", "", "t.account_id"},
	})
}

type storedGroup struct {
	id, accountID int64
	courseID      *int64
	name, state   string
	origin        string
	inScope       bool
}

// importGroups applies a groups file a row at a time. A group created
// through the API is never changed by an import
// (docs/import-rules.md#stickiness-and-manual-objects).
func importGroups(ctx context.Context, at *attempt, f *typedFile) error {
	return at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r groupRow
		f.fill(&r, rec)
		res.SISID = r.GroupID
		if fail := f.check(&r, rec.Line, r.GroupID, fmt.Sprintf("group_id %q", r.GroupID)); fail != nil {
			return fail, nil
		}
		return at.applyGroup(ctx, &r, res)
	})
}

func (at *attempt) applyGroup(ctx context.Context, r *groupRow, res *result.Result) (*rowFailure, error) {
	old, err := at.groupBySIS(ctx, r.GroupID)
	switch {
	case err != nil:
		return nil, err
	case old != nil && old.origin == "manual":
		res.ObjectID = old.id
		return &rowFailure{code: "manual_object", skip: true, message: fmt.Sprintf("group %q was created through the API: imports never change it", r.GroupID)}, nil
	case old != nil && !old.inScope:
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("group %q belongs to an account outside the one this import was posted to", r.GroupID)}, nil
	}
	accountID := at.account.ID
	var courseID *int64
	switch {
	case r.CourseID != "":
		c, err := at.courseBySIS(ctx, r.CourseID)
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
		a, f, err := at.accountInScope(ctx, "account_id", r.AccountID)
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
		err := at.tx.QueryRow(ctx, `INSERT INTO groups (root_account_id, account_id, course_id, sis_group_id, name, workflow_state, last_import_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			at.account.RootAccountID, accountID, courseID, r.GroupID, r.Name, r.Status, at.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create group: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	}
	res.ObjectID = old.id
	changes := map[string][2]any{}
	diff(changes, "name", old.name, r.Name)
	diff(changes, "account_id", old.accountID, accountID)
	diffPtr(changes, "course_id", old.courseID, courseID)
	diff(changes, "workflow_state", old.state, r.Status)
	if len(changes) == 0 {
		res.Action = result.Unchanged
		return nil, nil
	}
	if f := at.skipDelete("group", old.state, r.Status); f != nil {
		return f, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE groups SET account_id = $2, course_id = $3, name = $4, workflow_state = $5, last_import_id = $6,
		updated_at = now() WHERE id = $1`, old.id, accountID, courseID, r.Name, r.Status, at.job.ID); err != nil {
		return nil, fmt.Errorf("update group: %w", err)
	}
	res.Changes = changes
	res.Action = result.Transition(old.state, r.Status, true)
	return nil, nil
}

// groupBySIS is the root account's group with the SIS id, or nil.
func (at *attempt) groupBySIS(ctx context.Context, sis string) (*storedGroup, error) {
	groups, err := at.groupsBySIS(ctx, []string{sis})
	return groups[sis], err
}
