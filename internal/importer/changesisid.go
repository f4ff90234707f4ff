package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
)

// changeRow is one row of a change_sis_id file.
type changeRow struct {
	OldID            string `validate:"required_without=OldIntegrationID,max=255"`
	NewID            string `validate:"required_with=OldID,max=255"`
	OldIntegrationID string `validate:"max=255"`
	NewIntegrationID string `validate:"required_with=OldIntegrationID,max=255"`
	Type             string `validate:"required,oneof=account term course section group user"`
}

var changeColumns = []string{"old_id", "new_id", "old_integration_id", "new_integration_id", "type"}

var changeColumnOf = map[string]string{"OldID": "old_id", "NewID": "new_id", "OldIntegrationID": "old_integration_id",
	"NewIntegrationID": "new_integration_id", "Type": "type"}

func (r *changeRow) fields() []*string {
	return []*string{&r.OldID, &r.NewID, &r.OldIntegrationID, &r.NewIntegrationID, &r.Type}
}

// idTarget is where change_sis_id finds a type's ids, and the account that
// puts an object inside or outside the import's scope ("" for terms, which
// belong to the root account).
type idTarget struct {
	table, sisColumn, integrationColumn, account string
}

var idTargets = map[string]idTarget{
	"account": {"accounts", "sis_account_id", "", "t.id"},
	"term":    {"terms", "sis_term_id", "", ""},
	"course":  {"courses", "sis_course_id", "integration_id", "t.account_id"},
	"section": {"sections", "sis_section_id", "integration_id", "(SELECT c.account_id FROM courses c WHERE c.id = t.course_id)"},
	"group":   {"groups", "sis_group_id", "", "t.account_id"},
	"user":    {"users", "sis_user_id", "integration_id", "t.account_id"},
}

// importChangeSISID applies a change_sis_id file in file order (SPEC §4.1).
func (ru *run) importChangeSISID(ctx context.Context, file string, head csvread.Record, cols map[string]int, rd *csvread.Reader) error {
	if err := ru.checkColumns(file, "change_sis_id", head, cols, changeColumns, []string{"type"}); err != nil {
		return err
	}
	idx := positions(changeColumns, cols)
	return ru.eachRow(ctx, file, typeChangeSISID, "change_sis_id", len(head.Fields), rd, func(ctx context.Context, rec csvread.Record, res *Result) (*rowFailure, error) {
		var r changeRow
		fillRow(r.fields(), rec, idx)
		r.Type = strings.ToLower(r.Type)
		res.SISID = r.NewID
		if f := validateRow(&r, changeColumnOf); f != nil {
			return f, nil
		}
		res.Entity = r.Type
		// A row changes both its ids or neither.
		if _, err := ru.tx.Exec(ctx, "SAVEPOINT change_row"); err != nil {
			return nil, fmt.Errorf("savepoint: %w", err)
		}
		f, err := ru.applyChange(ctx, &r, res)
		if err != nil {
			return nil, err
		}
		end := "RELEASE SAVEPOINT change_row"
		if f != nil {
			end, res.Changes, res.ObjectID = "ROLLBACK TO SAVEPOINT change_row", nil, 0
		}
		if _, err := ru.tx.Exec(ctx, end); err != nil {
			return nil, fmt.Errorf("savepoint: %w", err)
		}
		return f, nil
	})
}

func (ru *run) applyChange(ctx context.Context, r *changeRow, res *Result) (*rowFailure, error) {
	t := idTargets[r.Type]
	res.Changes = map[string][2]any{}
	if r.OldID != "" {
		if f, err := ru.changeID(ctx, t, t.sisColumn, "sis_id", r.Type, r.OldID, r.NewID, res); f != nil || err != nil {
			return f, err
		}
	}
	if r.OldIntegrationID != "" {
		if t.integrationColumn == "" {
			return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column old_integration_id: a %s has no integration id", r.Type)}, nil
		}
		if f, err := ru.changeID(ctx, t, t.integrationColumn, "integration_id", r.Type, r.OldIntegrationID, r.NewIntegrationID, res); f != nil || err != nil {
			return f, err
		}
	}
	res.Action = Updated
	if len(res.Changes) == 0 {
		res.Action = Unchanged
	}
	return nil, nil
}

// changeID moves one id of an object from old to new, inside the import's
// scope; the new id must be unused by any object of the type, deleted ones
// included.
func (ru *run) changeID(ctx context.Context, t idTarget, column, field, typ, old, new string, res *Result) (*rowFailure, error) {
	inScope := "$3::bigint = $3"
	if t.account != "" {
		inScope = "COALESCE((SELECT $3::bigint = ANY(a.path) FROM accounts a WHERE a.id = " + t.account + "), false)"
	} else if ru.account.ID != ru.account.RootAccountID {
		inScope = "false"
	}
	var id int64
	var ok bool
	err := ru.tx.QueryRow(ctx, `SELECT t.id, `+inScope+` FROM `+t.table+` t WHERE t.root_account_id = $1 AND t.`+column+` = $2`,
		ru.account.RootAccountID, old, ru.account.ID).Scan(&id, &ok)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return &rowFailure{code: "not_found", skip: true, message: fmt.Sprintf("no %s has the %s %q", typ, field, old)}, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", typ, err)
	case !ok || (typ == "account" && id == ru.account.ID):
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("%s %q is outside the account this import was posted to", typ, old)}, nil
	}
	if res.ObjectID != 0 && res.ObjectID != id {
		return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column old_integration_id: %q belongs to another %s than old_id", old, typ)}, nil
	}
	res.ObjectID = id
	if old == new {
		return nil, nil
	}
	var taken bool
	if err := ru.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.table+` WHERE root_account_id = $1 AND `+column+` = $2)`,
		ru.account.RootAccountID, new).Scan(&taken); err != nil {
		return nil, fmt.Errorf("read %s: %w", typ, err)
	}
	if taken {
		return &rowFailure{code: "exists", message: fmt.Sprintf("the %s %q already belongs to another %s", field, new, typ)}, nil
	}
	if _, err := ru.tx.Exec(ctx, `UPDATE `+t.table+` SET `+column+` = $2, updated_at = now(), last_import_id = $3 WHERE id = $1`,
		id, new, ru.job.ID); err != nil {
		return nil, fmt.Errorf("change %s id: %w", typ, err)
	}
	res.Changes[field] = [2]any{old, new}
	ru.usersRenamed = ru.usersRenamed || typ == "user"
	return nil, nil
}
