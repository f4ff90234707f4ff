package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// changeRow is one row of a change_sis_id file.
type changeRow struct {
	OldID            string `csv:"old_id" validate:"required_without=OldIntegrationID,max=255"`
	NewID            string `csv:"new_id" validate:"required_with=OldID,max=255"`
	OldIntegrationID string `csv:"old_integration_id" validate:"max=255"`
	NewIntegrationID string `csv:"new_integration_id" validate:"required_with=OldIntegrationID,max=255"`
	Type             string `csv:"type,lower" validate:"required,max=64"` // an entity whose type has ids (idTypes)
}

// typeChangeSISID is the type's name.
const typeChangeSISID = "change_sis_id"

func init() {
	register(&fileType{name: typeChangeSISID, counts: "change_sis_ids", batch: "change_sis_id", entity: "change_sis_id",
		detect:     func(h header) bool { return h.has("type") && (h.has("old_id") || h.has("old_integration_id")) },
		detectRank: 10, applyRank: 10, layout: layoutOf(&changeRow{}), required: []string{"type"}, apply: importChangeSISID,
	})
}

// idTarget is where change_sis_id finds a type's ids, and the account that
// puts an object inside or outside the import's scope ("" for terms, which
// belong to the root account).
type idTarget struct {
	table, sisColumn, integrationColumn, account string
}

// withIDs is the type whose rows are entity and whose ids change_sis_id
// changes, nil when there is none.
func withIDs(entity string) *fileType {
	for _, t := range typesApplied() {
		if t.entity == entity && t.ids != nil {
			return t
		}
	}
	return nil
}

// idTypes are the entities whose ids change_sis_id changes, in apply order.
func idTypes() []string {
	var names []string
	for _, t := range typesApplied() {
		if t.ids != nil {
			names = append(names, t.entity)
		}
	}
	return names
}

// importChangeSISID applies a change_sis_id file in file order
// (docs/import-rules.md#files).
func importChangeSISID(ctx context.Context, at *attempt, f *typedFile) error {
	return at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r changeRow
		f.fill(&r, rec)
		res.SISID = r.NewID
		if fail := f.check(&r, rec.Line, "", ""); fail != nil {
			return fail, nil
		}
		if withIDs(r.Type) == nil {
			return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column type: %q is not one of %s", r.Type, strings.Join(idTypes(), ", "))}, nil
		}
		res.Entity = r.Type
		// A row changes both its ids or neither.
		if _, err := at.tx.Exec(ctx, "SAVEPOINT change_row"); err != nil {
			return nil, fmt.Errorf("savepoint: %w", err)
		}
		fail, err := at.applyChange(ctx, &r, res)
		if err != nil {
			return nil, err
		}
		end := "RELEASE SAVEPOINT change_row"
		if fail != nil {
			end, res.Changes, res.ObjectID = "ROLLBACK TO SAVEPOINT change_row", nil, 0
		}
		if _, err := at.tx.Exec(ctx, end); err != nil {
			return nil, fmt.Errorf("savepoint: %w", err)
		}
		return fail, nil
	})
}

func (at *attempt) applyChange(ctx context.Context, r *changeRow, res *result.Result) (*rowFailure, error) {
	t := *withIDs(r.Type).ids
	if r.Type == entityGroupCategory && (r.OldIntegrationID != "" || r.NewIntegrationID != "") {
		// Canvas refuses any integration id on a group category's row.
		col := "old_integration_id"
		if r.OldIntegrationID == "" {
			col = "new_integration_id"
		}
		return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column %s: a group_category has no integration id", col)}, nil
	}
	res.Changes = map[string][2]any{}
	if r.OldID != "" {
		if f, err := at.changeID(ctx, t, t.sisColumn, "sis_id", r.Type, r.OldID, r.NewID, res); f != nil || err != nil {
			return f, err
		}
	}
	if r.OldIntegrationID != "" {
		if t.integrationColumn == "" {
			return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column old_integration_id: a %s has no integration id", r.Type)}, nil
		}
		if f, err := at.changeID(ctx, t, t.integrationColumn, "integration_id", r.Type, r.OldIntegrationID, r.NewIntegrationID, res); f != nil || err != nil {
			return f, err
		}
	}
	res.Action = result.Updated
	if len(res.Changes) == 0 {
		res.Action = result.Unchanged
	}
	return nil, nil
}

// changeID moves one id of an object from old to new, inside the import's
// scope; the new id must be unused by any object of the type, deleted ones
// included.
func (at *attempt) changeID(ctx context.Context, t idTarget, column, field, typ, old, new string, res *result.Result) (*rowFailure, error) {
	inScope := "$3::bigint = $3"
	if t.account != "" {
		inScope = "COALESCE((SELECT $3::bigint = ANY(a.path) FROM accounts a WHERE a.id = " + t.account + "), false)"
	} else if at.account.ID != at.account.RootAccountID {
		inScope = "false"
	}
	var id int64
	var ok bool
	err := at.tx.QueryRow(ctx, `SELECT t.id, `+inScope+` FROM `+t.table+` t WHERE t.root_account_id = $1 AND t.`+column+` = $2`,
		at.account.RootAccountID, old, at.account.ID).Scan(&id, &ok)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return &rowFailure{code: "not_found", skip: true, message: fmt.Sprintf("no %s has the %s %q", typ, field, old)}, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", typ, err)
	case !ok || (typ == "account" && id == at.account.ID):
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("%s %q is outside the account this import was posted to", typ, old)}, nil
	}
	if res.ObjectID != 0 && res.ObjectID != id {
		return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column old_integration_id: %q belongs to another %s than old_id", old, typ)}, nil
	}
	res.ObjectID = id
	if old == new {
		return nil, nil
	}
	holders := `SELECT 1 FROM ` + t.table + ` WHERE root_account_id = $1 AND ` + column + ` = $2`
	if t.table == "users" {
		// A user's ids are unique across every login, the extra ones too
		// (docs/import-rules.md#logins-files); their columns have the same names.
		holders += ` UNION ALL SELECT 1 FROM logins WHERE root_account_id = $1 AND ` + column + ` = $2`
	}
	var taken bool
	if err := at.tx.QueryRow(ctx, `SELECT EXISTS (`+holders+`)`, at.account.RootAccountID, new).Scan(&taken); err != nil {
		return nil, fmt.Errorf("read %s: %w", typ, err)
	}
	if taken {
		return &rowFailure{code: "exists", message: fmt.Sprintf("the %s %q already belongs to another %s", field, new, typ)}, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE `+t.table+` SET `+column+` = $2, updated_at = now(), last_import_id = $3 WHERE id = $1`,
		id, new, at.job.ID); err != nil {
		return nil, fmt.Errorf("change %s id: %w", typ, err)
	}
	res.Changes[field] = [2]any{old, new}
	at.usersRenamed = at.usersRenamed || typ == "user"
	return nil, nil
}
