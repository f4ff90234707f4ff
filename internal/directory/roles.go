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
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Role is a role an enrollment or an account admin holds, as Canvas's Role
// object (docs/api.md#roles): one of Canvas's built-in roles, whose ids are
// the same in every account, or a custom role an account made, based on
// one of them.
type Role struct {
	ID            int64     `json:"id"`
	Role          string    `json:"role"` // its name, as enrollments and admins show it
	Label         string    `json:"label"`
	BaseRoleType  string    `json:"base_role_type"`
	WorkflowState string    `json:"workflow_state"`
	IsAccountRole bool      `json:"is_account_role"`
	AccountID     *int64    `json:"account_id"`
	CreatedAt     time.Time `json:"created_at"`
}

// AccountMembership is the base type of account roles; the others are
// enrollment types.
const AccountMembership = "AccountMembership"

// BaseRoleTypes are the types a role may be based on.
var BaseRoleTypes = []string{"StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "DesignerEnrollment",
	"ObserverEnrollment", AccountMembership}

// builtInNames are the names the files give the built-in enrollment roles
// (enrollments.csv's role column): the role's id by name.
var builtInNames = map[string]int64{"student": 1, "teacher": 2, "ta": 3, "designer": 4, "observer": 5}

const roleColumns = `r.id, r.name, r.label, r.base_role_type, r.workflow_state, r.account_id, r.created_at`

func scanRole(row pgx.Row) (Role, error) {
	var r Role
	err := row.Scan(&r.ID, &r.Role, &r.Label, &r.BaseRoleType, &r.WorkflowState, &r.AccountID, &r.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, errs.ErrNotFound
	}
	r.IsAccountRole = r.BaseRoleType == AccountMembership
	return r, err
}

// ListRoles lists the built-in roles, then the active custom roles of the
// account and, with inherited, of the accounts above it, in id order.
func ListRoles(ctx context.Context, db *pgxpool.Pool, acct Account, inherited bool, limit, offset int) ([]Role, error) {
	rows, err := db.Query(ctx, `SELECT `+roleColumns+` FROM roles r
		WHERE r.root_account_id IS NULL
		   OR (r.workflow_state = 'active' AND r.root_account_id = $1 AND (r.account_id = $2 OR ($3 AND r.account_id = ANY($4))))
		ORDER BY r.id LIMIT $5 OFFSET $6`, acct.RootAccountID, acct.ID, inherited, acct.Path, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Role, error) { return scanRole(r) })
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return out, nil
}

// CreateRole makes a custom role of the account, named by its label, based
// on baseType (AccountMembership when empty, as on Canvas). Its name may not
// be another role's of the root account, nor a name files give a built-in
// role.
func CreateRole(ctx context.Context, db *pgxpool.Pool, acct Account, label, baseType string) (Role, error) {
	label, baseType = strings.TrimSpace(label), strings.TrimSpace(baseType)
	if baseType == "" {
		baseType = AccountMembership
	}
	switch {
	case label == "":
		return Role{}, errs.New(errs.Invalid, "missing_value", "label is required")
	case len(label) > 255:
		return Role{}, errs.New(errs.Invalid, "invalid_value", "label: longer than 255 characters")
	case !slices.Contains(BaseRoleTypes, baseType):
		return Role{}, errs.New(errs.Invalid, "invalid_value", "base_role_type: %q is not one of %s", baseType, strings.Join(BaseRoleTypes, ", "))
	}
	if _, builtIn := builtInNames[strings.ToLower(label)]; builtIn {
		return Role{}, errs.New(errs.Conflict, "name_taken", "label %q is the name of a built-in role", label)
	}
	r, err := scanRole(db.QueryRow(ctx, `WITH n AS (
		INSERT INTO roles (root_account_id, account_id, name, label, base_role_type)
		SELECT $1, $2, $3, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM roles WHERE root_account_id IS NULL AND lower(name) = lower($3))
		RETURNING *)
		SELECT `+roleColumns+` FROM n r`, acct.RootAccountID, acct.ID, label, baseType))
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, errs.ErrNotFound), errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "roles_name":
		return Role{}, errs.New(errs.Conflict, "name_taken", "a role named %q already exists in this root account", label)
	case err != nil:
		return Role{}, fmt.Errorf("create role: %w", err)
	}
	return r, nil
}

// Roles are the roles a root account's files may name: the built-in ones
// and its active custom ones, read once per import.
type Roles struct {
	byID   map[int64]Role
	byName map[string]Role // lower-cased; the names files give built-in roles too
}

// LoadRoles reads the roles of a root account.
func LoadRoles(ctx context.Context, db *pgxpool.Pool, rootAccountID int64) (*Roles, error) {
	rows, err := db.Query(ctx, `SELECT `+roleColumns+` FROM roles r
		WHERE r.root_account_id IS NULL OR (r.root_account_id = $1 AND r.workflow_state = 'active')`, rootAccountID)
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Role, error) { return scanRole(r) })
	if err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	rs := &Roles{byID: map[int64]Role{}, byName: map[string]Role{}}
	for _, r := range list {
		rs.byID[r.ID], rs.byName[strings.ToLower(r.Role)] = r, r
	}
	for name, id := range builtInNames {
		rs.byName[name] = rs.byID[id]
	}
	return rs, nil
}

// Find is the role a row names by role_id (which wins, as on Canvas) or by
// name, and whether it is an account role as account says it must be. The
// error is what to tell the administrator, naming the column.
func (rs *Roles) Find(name, id string, account bool) (Role, error) {
	var r Role
	var ok bool
	column, value := "role", name
	if id != "" {
		column, value = "role_id", id
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			r, ok = rs.byID[n]
		}
	} else {
		r, ok = rs.byName[strings.ToLower(name)]
	}
	kind := "an enrollment role (student, teacher, ta, observer, designer, or a custom role of the account)"
	if account {
		kind = "an account role (AccountAdmin, or a custom account role)"
	}
	switch {
	case !ok:
		return r, fmt.Errorf("column %s: no role %q exists; give %s", column, value, kind)
	case r.IsAccountRole != account:
		return r, fmt.Errorf("column %s: role %q is not %s", column, value, kind)
	}
	return r, nil
}

// EnrollmentRoleOf is the role column enrollments keep (student, teacher,
// …) for a role of base type t.
func EnrollmentRoleOf(t string) string {
	for role, typ := range enrollmentTypes {
		if typ == t {
			return role
		}
	}
	return ""
}
