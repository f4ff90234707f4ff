package importer

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// groupCategoryRow is one row of a group categories file (Canvas's
// group_categories.csv).
type groupCategoryRow struct {
	GroupCategoryID string `csv:"group_category_id" validate:"required,max=255"`
	CategoryName    string `csv:"category_name" validate:"required,max=255"`
	Status          string `csv:"status,lower" validate:"required,oneof=active deleted"`
	AccountID       string `csv:"account_id" validate:"max=255"`
	CourseID        string `csv:"course_id" validate:"max=255"`
}

// typeGroupCategories is the type's name.
const typeGroupCategories = "group_categories"

// entityGroupCategory is what the type's rows are, and change_sis_id's
// name of the type.
const entityGroupCategory = "group_category"

func init() {
	register(&fileType{name: typeGroupCategories, batch: "group_category", entity: entityGroupCategory,
		detect:     func(h header) bool { return h.has("group_category_id") && h.has("category_name") },
		detectRank: 105, applyRank: 85, layout: layoutOf(&groupCategoryRow{}), required: []string{"status"}, apply: importGroupCategories,
		restore: restoring("group_categories", "sis_group_category_id", "name", "account_id", "course_id"),
		ids: &idTarget{"group_categories", "sis_group_category_id", "",
			"COALESCE(t.account_id, (SELECT c.account_id FROM courses c WHERE c.id = t.course_id))"},
	})
}

// storedGroupCategory is a category as an import reads it: its context is
// an account (accountID) or a course (courseID), and ctxAccountID is the
// account of that context (the course's account for a course's category).
type storedGroupCategory struct {
	id                  int64
	accountID, courseID *int64
	ctxAccountID        int64
	name, state         string
	inScope             bool
}

// importGroupCategories applies a group categories file a row at a time, so
// that a groups file of the same upload finds them (categories apply
// before groups).
func importGroupCategories(ctx context.Context, at *attempt, f *typedFile) error {
	return at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r groupCategoryRow
		f.fill(&r, rec)
		res.SISID = r.GroupCategoryID
		if fail := f.check(&r, rec.Line, r.GroupCategoryID, fmt.Sprintf("group_category_id %q", r.GroupCategoryID)); fail != nil {
			return fail, nil
		}
		return at.applyGroupCategory(ctx, &r, res)
	})
}

func (at *attempt) applyGroupCategory(ctx context.Context, r *groupCategoryRow, res *result.Result) (*rowFailure, error) {
	if r.AccountID != "" && r.CourseID != "" {
		return &rowFailure{code: "invalid_value", message: fmt.Sprintf("columns account_id and course_id: group category %q may belong to an account or to a course, not both", r.GroupCategoryID)}, nil
	}
	old, err := at.groupCategoryBySIS(ctx, r.GroupCategoryID)
	switch {
	case err != nil:
		return nil, err
	case old != nil:
		res.ObjectID = old.id
		if !old.inScope {
			return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("group category %q belongs to an account outside the one this import was posted to", r.GroupCategoryID)}, nil
		}
	}
	accountID, courseID, fail, err := at.categoryContext(ctx, r, old)
	if fail != nil || err != nil {
		return fail, err
	}
	if old == nil {
		if r.Status == "deleted" {
			return notFound("group category", r.GroupCategoryID), nil
		}
		err := at.tx.QueryRow(ctx, `INSERT INTO group_categories (root_account_id, account_id, course_id, sis_group_category_id, name,
			workflow_state, last_import_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			at.account.RootAccountID, accountID, courseID, r.GroupCategoryID, r.CategoryName, r.Status, at.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create group category: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	}
	changes := map[string][2]any{}
	diff(changes, "name", old.name, r.CategoryName)
	diffPtr(changes, "account_id", old.accountID, accountID)
	diffPtr(changes, "course_id", old.courseID, courseID)
	diff(changes, "workflow_state", old.state, r.Status)
	if len(changes) == 0 {
		res.Action = result.Unchanged
		return nil, nil
	}
	if f := at.skipDelete("group category", old.state, r.Status); f != nil {
		return f, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE group_categories SET account_id = $2, course_id = $3, name = $4, workflow_state = $5,
		last_import_id = $6, updated_at = now() WHERE id = $1`, old.id, accountID, courseID, r.CategoryName, r.Status, at.job.ID); err != nil {
		return nil, fmt.Errorf("update group category: %w", err)
	}
	res.Changes = changes
	res.Action = result.Transition(old.state, r.Status, true)
	return nil, nil
}

// categoryContext resolves a row's account_id or course_id into the
// category's context: a live account or course inside the import's scope;
// neither keeps a stored category's context and puts a new one in the
// account the import was posted to. A category that has available groups
// cannot move, as on Canvas: its groups would be in another context.
func (at *attempt) categoryContext(ctx context.Context, r *groupCategoryRow, old *storedGroupCategory) (accountID, courseID *int64, fail *rowFailure, err error) {
	col := "account_id"
	switch {
	case r.CourseID != "":
		col = "course_id"
		c, err := at.courseBySIS(ctx, r.CourseID)
		switch {
		case err != nil:
			return nil, nil, nil, err
		case c == nil:
			return nil, nil, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column course_id: no course %q exists", r.CourseID)}, nil
		case c.state == "deleted":
			return nil, nil, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column course_id: course %q is deleted", r.CourseID)}, nil
		case !c.inScope:
			return nil, nil, &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column course_id: course %q is outside the account this import was posted to", r.CourseID)}, nil
		}
		courseID = &c.id
	case r.AccountID != "":
		a, f, err := at.accountInScope(ctx, "account_id", r.AccountID)
		switch {
		case f != nil || err != nil:
			return nil, nil, f, err
		case a.state == "deleted":
			return nil, nil, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column account_id: account %q is deleted", r.AccountID)}, nil
		}
		accountID = &a.id
	case old != nil:
		return old.accountID, old.courseID, nil, nil
	default:
		id := at.account.ID
		return &id, nil, nil, nil
	}
	if old == nil || (sameID(old.accountID, accountID) && sameID(old.courseID, courseID)) {
		return accountID, courseID, nil, nil
	}
	var busy bool
	if err := at.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM groups WHERE group_category_id = $1 AND workflow_state = 'available')`,
		old.id).Scan(&busy); err != nil {
		return nil, nil, nil, fmt.Errorf("read group category's groups: %w", err)
	}
	if busy {
		return nil, nil, &rowFailure{code: "invalid_value", message: fmt.Sprintf("column %s: group category %q has available groups, so it cannot move to another account or course", col, r.GroupCategoryID)}, nil
	}
	return accountID, courseID, nil, nil
}

// sameID reports whether two optional ids are the same (both absent, or equal).
func sameID(a, b *int64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// groupCategoryBySIS is the root account's group category with the SIS id,
// or nil, read in the import's transaction (a file of the same upload may
// have made it).
func (at *attempt) groupCategoryBySIS(ctx context.Context, sis string) (*storedGroupCategory, error) {
	g := &storedGroupCategory{}
	err := at.tx.QueryRow(ctx, `SELECT g.id, g.account_id, g.course_id, a.id, g.name, g.workflow_state, $3 = ANY(a.path)
		FROM group_categories g LEFT JOIN courses c ON c.id = g.course_id
		JOIN accounts a ON a.id = COALESCE(g.account_id, c.account_id)
		WHERE g.root_account_id = $1 AND g.sis_group_category_id = $2`,
		at.account.RootAccountID, sis, at.account.ID).Scan(&g.id, &g.accountID, &g.courseID, &g.ctxAccountID, &g.name, &g.state, &g.inScope)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read group category: %w", err)
	}
	return g, nil
}
