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
	// GroupCategoryID names the group's category by its SIS id
	// (group_categories.go); empty keeps the stored one.
	GroupCategoryID string `csv:"group_category_id" validate:"max=255"`
}

// typeGroups is the type's name.
const typeGroups = "groups"

func init() {
	register(&fileType{name: typeGroups, batch: "group", entity: "group",
		detect: func(h header) bool { return h.has("group_id") && h.has("name") }, detectRank: 110,
		applyRank: 90, layout: layoutOf(&groupRow{}), required: []string{"status"}, apply: importGroups,
		restore: restoring("groups", "sis_group_id", "name", "account_id", "course_id", "group_category_id", "sticky_fields"),
		ids:     &idTarget{"groups", "sis_group_id", "", "t.account_id"},
		diffKey: []string{"group_id"}, drop: &dropRule{find: `SELECT g.id, g.sis_group_id, g.workflow_state FROM groups g
			JOIN accounts a ON a.id = g.account_id
			WHERE g.root_account_id = $1 AND $2 = ANY(a.path) AND g.sis_group_id = ANY($4) AND g.origin = 'sis'
			  AND g.workflow_state NOT IN ($3, 'deleted') ORDER BY g.id`,
			update: `UPDATE groups SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
	})
}

type storedGroup struct {
	id, accountID int64
	courseID      *int64
	categoryID    *int64
	name, state   string
	origin        string
	inScope       bool
	sticky        []string // read by lockGroup
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
		if f.same {
			res.Action = result.Unchanged // as in the diffing base
			return nil, nil
		}
		return at.applyGroup(ctx, &r, res)
	})
}

func (at *attempt) applyGroup(ctx context.Context, r *groupRow, res *result.Result) (*rowFailure, error) {
	if r.AccountID != "" && r.CourseID != "" {
		return &rowFailure{code: "invalid_value", message: fmt.Sprintf("columns account_id and course_id: group %q may belong to an account or to a course, not both (as on Canvas)", r.GroupID)}, nil
	}
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
	categoryID, fail, err := at.groupCategoryOf(ctx, r, old, &accountID, &courseID)
	if fail != nil || err != nil {
		return fail, err
	}
	if old == nil {
		if r.Status == "deleted" {
			return notFound("group", r.GroupID), nil
		}
		err := at.tx.QueryRow(ctx, `INSERT INTO groups (root_account_id, account_id, course_id, group_category_id, sis_group_id, name,
			workflow_state, last_import_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			at.account.RootAccountID, accountID, courseID, categoryID, r.GroupID, r.Name, r.Status, at.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create group: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	}
	res.ObjectID = old.id
	if err := at.lockGroup(ctx, old); err != nil {
		return nil, err
	}
	changes := map[string][2]any{}
	diff(changes, "name", old.name, r.Name)
	diff(changes, "account_id", old.accountID, accountID)
	diffPtr(changes, "course_id", old.courseID, courseID)
	diffPtr(changes, "group_category_id", old.categoryID, categoryID)
	diff(changes, "workflow_state", old.state, r.Status)
	st := at.stickiness(old.sticky)
	st.hold(changes, sticks("name", &r.Name, old.name))
	if fail := st.settle(changes); fail != nil {
		return fail, nil
	}
	if len(changes) == 0 {
		res.Action = result.Unchanged
		return nil, nil
	}
	if f := at.skipDelete("group", old.state, r.Status); f != nil {
		return f, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE groups SET account_id = $2, course_id = $3, group_category_id = $4, name = $5, workflow_state = $6,
		last_import_id = $7, sticky_fields = $8, updated_at = now() WHERE id = $1`,
		old.id, accountID, courseID, categoryID, r.Name, r.Status, at.job.ID, nonNil(st.after)); err != nil {
		return nil, fmt.Errorf("update group: %w", err)
	}
	res.Changes = changes
	res.Action = result.Transition(old.state, r.Status, true)
	return nil, nil
}

// groupCategoryOf resolves a row's group_category_id: the group then
// belongs to the category and takes its context, as on Canvas, which must
// be the row's account_id or course_id when it gives one. An empty cell
// keeps the stored category, unless the row moves the group out of the
// category's context: then the group leaves it.
func (at *attempt) groupCategoryOf(ctx context.Context, r *groupRow, old *storedGroup, accountID *int64, courseID **int64) (*int64, *rowFailure, error) {
	if r.GroupCategoryID == "" {
		if old != nil && old.accountID == *accountID && sameID(old.courseID, *courseID) {
			return old.categoryID, nil, nil
		}
		return nil, nil, nil
	}
	cat, err := at.groupCategoryBySIS(ctx, r.GroupCategoryID)
	switch {
	case err != nil:
		return nil, nil, err
	case cat == nil:
		return nil, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column group_category_id: no group category %q exists", r.GroupCategoryID)}, nil
	case cat.state == "deleted":
		return nil, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column group_category_id: group category %q is deleted", r.GroupCategoryID)}, nil
	case !cat.inScope:
		return nil, &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column group_category_id: group category %q is outside the account this import was posted to", r.GroupCategoryID)}, nil
	}
	inContext := sameID(cat.courseID, *courseID) && (*courseID != nil || *cat.accountID == *accountID)
	if !inContext && (r.CourseID != "" || r.AccountID != "") {
		col := "account_id"
		if r.CourseID != "" {
			col = "course_id"
		}
		return nil, &rowFailure{code: "invalid_value", message: fmt.Sprintf("column group_category_id: group category %q does not belong to the row's %s", r.GroupCategoryID, col)}, nil
	}
	*accountID, *courseID = cat.ctxAccountID, cat.courseID
	return &cat.id, nil, nil
}

// lockGroup locks a group the row writes (forUpdate) and reads again what
// an edit through the API changes: its name and sticky fields.
func (at *attempt) lockGroup(ctx context.Context, g *storedGroup) error {
	if err := at.tx.QueryRow(ctx, `SELECT name, sticky_fields FROM groups WHERE id = $1`+forUpdate(true, ""), g.id).Scan(&g.name, &g.sticky); err != nil {
		return fmt.Errorf("lock group: %w", err)
	}
	return nil
}

// groupBySIS is the root account's group with the SIS id, or nil.
func (at *attempt) groupBySIS(ctx context.Context, sis string) (*storedGroup, error) {
	groups, err := at.groupsBySIS(ctx, []string{sis})
	return groups[sis], err
}
