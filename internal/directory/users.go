package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// User is a person of the directory as the API shows it (docs/api.md#directory).
type User struct {
	ID            int64          `json:"id"`
	Name          string         `json:"name"`
	FirstName     string         `json:"first_name"`
	LastName      string         `json:"last_name"`
	SortableName  string         `json:"sortable_name"`
	ShortName     string         `json:"short_name"`
	SISUserID     *string        `json:"sis_user_id"`
	IntegrationID *string        `json:"integration_id"`
	LoginID       string         `json:"login_id"`
	Email         string         `json:"email"`
	Pronouns      string         `json:"pronouns"`
	WorkflowState string         `json:"workflow_state"`
	AccountID     int64          `json:"account_id"`
	Origin        string         `json:"origin"`
	StickyFields  []string       `json:"sticky_fields"`
	Properties    map[string]any `json:"properties"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// StickyUserFields are the user fields an API edit makes sticky (docs/import-rules.md#stickiness-and-manual-objects).
var StickyUserFields = []string{"login_id", "name", "first_name", "last_name", "sortable_name", "short_name", "pronouns", "workflow_state"}

const userColumns = `u.id, u.name, u.first_name, u.last_name, u.sortable_name, u.short_name, u.sis_user_id,
	u.integration_id, u.login_id, u.email, u.pronouns, u.workflow_state, u.account_id, u.origin, u.sticky_fields,
	u.properties, u.created_at, u.updated_at`

func scanUser(row pgx.Row) (User, error) {
	u := User{Properties: map[string]any{}}
	err := row.Scan(u.targets()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, errs.ErrNotFound
	}
	return u, err
}

// targets are where a scan of userColumns puts them.
func (u *User) targets() []any {
	return []any{&u.ID, &u.Name, &u.FirstName, &u.LastName, &u.SortableName, &u.ShortName, &u.SISUserID,
		&u.IntegrationID, &u.LoginID, &u.Email, &u.Pronouns, &u.WorkflowState, &u.AccountID, &u.Origin, &u.StickyFields,
		&u.Properties, &u.CreatedAt, &u.UpdatedAt}
}

// UserFilter selects users of an account's subtree.
type UserFilter struct {
	AccountID     int64
	SearchTerm    string
	States        []string
	Limit, Offset int
}

// ListUsers lists the users whose home account is in the subtree, by name.
func ListUsers(ctx context.Context, db *pgxpool.Pool, f UserFilter) ([]User, error) {
	like := ""
	if f.SearchTerm != "" {
		like = "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(f.SearchTerm)) + "%"
	}
	if f.States == nil {
		f.States = []string{}
	}
	rows, err := db.Query(ctx, `SELECT `+userColumns+` FROM users u JOIN accounts a ON a.id = u.account_id
		WHERE $1 = ANY(a.path)
		  AND (cardinality($2::text[]) = 0 OR u.workflow_state = ANY($2))
		  AND ($3 = '' OR lower(u.name) LIKE $3 OR lower(u.login_id) LIKE $3 OR lower(u.sis_user_id) LIKE $3 OR lower(u.email) LIKE $3)
		ORDER BY u.sortable_name, u.id LIMIT $4 OFFSET $5`, f.AccountID, f.States, like, f.Limit, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// GetUser finds the user a path names — an id or "sis_user_id:X", the SIS
// id of the user's own login or of an extra one — among the users of the
// subtree of reach.
func GetUser(ctx context.Context, db *pgxpool.Pool, ref string, reach, root int64) (User, error) {
	cond, args, err := refMatch("u", "sis_user_id", ref, reach, root, 1)
	if err != nil {
		return User{}, err
	}
	u, err := scanUser(db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u JOIN accounts a ON a.id = u.account_id WHERE `+cond, args...))
	sis, bySIS := strings.CutPrefix(ref, "sis_user_id:")
	if bySIS && errs.KindOf(err) == errs.NotFound {
		var id int64
		if id, err = userOfLogin(ctx, db, root, sis); err == nil && id != 0 {
			u, err = scanUser(getUserByID(ctx, db, id, reach))
		} else if err == nil {
			err = errs.ErrNotFound
		}
	}
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return u, fmt.Errorf("get user: %w", err)
	}
	return u, err
}

func getUserByID(ctx context.Context, db *pgxpool.Pool, id, reach int64) pgx.Row {
	return db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u JOIN accounts a ON a.id = u.account_id
		WHERE u.id = $1 AND $2 = ANY(a.path)`, id, reach)
}

// UserInput is a manual create or edit; nil fields are left alone.
type UserInput struct {
	Name, ShortName, SortableName, FirstName, LastName, Pronouns *string
	LoginID, SISUserID, IntegrationID, Email                     *string
	WorkflowState                                                *string
	// Properties are user[properties][<name>] values, checked against the
	// root account's definitions.
	Properties map[string]string
}

// propertyValues checks the input's properties against the definitions of
// the root account and returns them as stored (JSON object), or nil.
func (in UserInput) propertyValues(ctx context.Context, db *pgxpool.Pool, root int64) (map[string]any, error) {
	if len(in.Properties) == 0 {
		return nil, nil
	}
	defs, err := ListProperties(ctx, db, root)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for name, v := range in.Properties {
		i := slices.IndexFunc(defs, func(p Property) bool { return p.Name == strings.ToLower(name) })
		if i < 0 {
			return nil, errs.New(errs.Invalid, "unknown_column", "user[properties][%s]: no such property is defined", name)
		}
		val, err := defs[i].Choose(v)
		if err != nil {
			return nil, errs.New(errs.Invalid, "invalid_option", "user[properties][%s]: %v", name, err)
		}
		out[defs[i].Name] = val
	}
	return out, nil
}

// fields lists the input's set fields as column → value.
func (in UserInput) fields() map[string]*string {
	all := map[string]*string{"name": in.Name, "short_name": in.ShortName, "sortable_name": in.SortableName,
		"first_name": in.FirstName, "last_name": in.LastName, "pronouns": in.Pronouns, "login_id": in.LoginID,
		"sis_user_id": in.SISUserID, "integration_id": in.IntegrationID, "email": in.Email, "workflow_state": in.WorkflowState}
	for k, v := range all {
		if v == nil {
			delete(all, k)
		}
	}
	return all
}

func (in UserInput) validate(create bool) error {
	if create && (in.LoginID == nil || strings.TrimSpace(*in.LoginID) == "") {
		return errs.New(errs.Invalid, "missing_value", "pseudonym[unique_id] (the login id) is required")
	}
	if in.WorkflowState != nil && !slices.Contains([]string{"active", "suspended", "deleted"}, *in.WorkflowState) {
		return errs.New(errs.Invalid, "invalid_status", "user[workflow_state]: %q is not active, suspended or deleted", *in.WorkflowState)
	}
	for k, v := range in.fields() {
		if len(*v) > 255 {
			return errs.New(errs.Invalid, "invalid_value", "%s: longer than 255 characters", k)
		}
	}
	return nil
}

// CreateUser makes a manual user in account: imports never remove it.
func CreateUser(ctx context.Context, db *pgxpool.Pool, acct Account, in UserInput) (User, error) {
	if err := in.validate(true); err != nil {
		return User{}, err
	}
	get := func(p *string) string {
		if p == nil {
			return ""
		}
		return strings.TrimSpace(*p)
	}
	first, last := get(in.FirstName), get(in.LastName)
	name := get(in.Name)
	if name == "" {
		name = strings.TrimSpace(first + " " + last)
	}
	if name == "" {
		name = get(in.LoginID)
	}
	sortable := get(in.SortableName)
	if sortable == "" && first != "" && last != "" {
		sortable = last + ", " + first
	} else if sortable == "" {
		sortable = name
	}
	short := get(in.ShortName)
	if short == "" {
		short = name
	}
	state := "active"
	if in.WorkflowState != nil {
		state = *in.WorkflowState
	}
	props, err := in.propertyValues(ctx, db, acct.RootAccountID)
	if err != nil {
		return User{}, err
	}
	if err := heldByLogin(ctx, db, acct.RootAccountID, in.LoginID, in.SISUserID, in.IntegrationID); err != nil {
		return User{}, err
	}
	if props == nil {
		props = map[string]any{}
	}
	row := db.QueryRow(ctx, `WITH n AS (
		INSERT INTO users (root_account_id, account_id, sis_user_id, integration_id, login_id, name, first_name, last_name,
			sortable_name, short_name, email, pronouns, workflow_state, origin, properties)
		VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), $5, $6, $7, $8, $9, $10, $11, $12, $13, 'manual', $14) RETURNING *)
		SELECT `+userColumns+` FROM n u`,
		acct.RootAccountID, acct.ID, get(in.SISUserID), get(in.IntegrationID), get(in.LoginID), name, first, last,
		sortable, short, get(in.Email), get(in.Pronouns), state, props)
	u, err := scanUser(row)
	return u, userWriteError(err)
}

// UpdateUser is a manual edit: the sticky fields it changes stick (docs/import-rules.md#stickiness-and-manual-objects).
func UpdateUser(ctx context.Context, db *pgxpool.Pool, root int64, u User, in UserInput) (User, error) {
	if err := in.validate(false); err != nil {
		return User{}, err
	}
	props, err := in.propertyValues(ctx, db, root)
	if err != nil {
		return User{}, err
	}
	if err := heldByLogin(ctx, db, root, in.LoginID, in.SISUserID, in.IntegrationID); err != nil {
		return User{}, err
	}
	// last_import_id goes: the user is no longer as an import left it, so
	// restoring that import leaves it alone.
	set := []string{"updated_at = now()", "last_import_id = NULL"}
	args := []any{u.ID}
	if props != nil {
		args = append(args, props)
		set = append(set, fmt.Sprintf("properties = properties || $%d", len(args)))
	}
	var sticky []string
	for col, v := range in.fields() {
		args = append(args, strings.TrimSpace(*v))
		expr := fmt.Sprintf("$%d", len(args))
		if col == "sis_user_id" || col == "integration_id" {
			expr = "NULLIF(" + expr + ", '')"
		}
		set = append(set, col+" = "+expr)
		if slices.Contains(StickyUserFields, col) {
			sticky = append(sticky, col)
		}
	}
	args = append(args, sticky)
	set = append(set, fmt.Sprintf("sticky_fields = ARRAY(SELECT DISTINCT f FROM unnest(sticky_fields || $%d::text[]) f ORDER BY f)", len(args)))
	row := db.QueryRow(ctx, `WITH n AS (UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = $1 RETURNING *)
		SELECT `+userColumns+` FROM n u`, args...)
	nu, err := scanUser(row)
	return nu, userWriteError(err)
}

// userWriteError translates unique violations into conflicts naming the id.
func userWriteError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		switch pgErr.ConstraintName {
		case "users_login_id":
			return errs.New(errs.Conflict, "login_taken", "that login id belongs to another user")
		case "users_sis_id":
			return errs.New(errs.Conflict, "sis_id_taken", "that sis_user_id belongs to another user")
		case "users_integration_id":
			return errs.New(errs.Conflict, "integration_id_taken", "that integration_id belongs to another user")
		}
	}
	if err != nil && errs.KindOf(err) == errs.Internal {
		return fmt.Errorf("write user: %w", err)
	}
	return err
}

// ListSubAccounts lists the direct children of an account.
func ListSubAccounts(ctx context.Context, db *pgxpool.Pool, parent int64, limit, offset int) ([]Account, error) {
	rows, err := db.Query(ctx, `SELECT `+accountColumns+` FROM accounts WHERE parent_account_id = $1 ORDER BY id LIMIT $2 OFFSET $3`, parent, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list sub-accounts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) { return scanAccount(r) })
	if err != nil {
		return nil, fmt.Errorf("list sub-accounts: %w", err)
	}
	return out, nil
}

// ReportUsers streams the users of the subtree that have an SIS id, as a
// header and rows of a users.csv that imports back unchanged (docs/api.md#directory,
// provisioning report), in id order, a page at a time. Each defined user
// property is a property.<name> column.
func ReportUsers(ctx context.Context, db *pgxpool.Pool, acct Account, each func(row []string) error) error {
	defs, err := ListProperties(ctx, db, acct.RootAccountID)
	if err != nil {
		return err
	}
	header := slices.Clone(reportUserColumns)
	for _, d := range defs {
		header = append(header, "property."+d.Name)
	}
	if err := each(header); err != nil {
		return err
	}
	after := int64(0)
	for {
		rows, err := db.Query(ctx, `SELECT u.id, u.sis_user_id, u.login_id, u.first_name, u.last_name, u.name, u.sortable_name,
				u.short_name, u.email, u.pronouns, COALESCE(u.integration_id, ''), u.workflow_state,
				COALESCE(a.sis_account_id, a.id::text), u.declared_user_type, u.authentication_provider_id, u.properties
			FROM users u JOIN accounts a ON a.id = u.account_id
			WHERE $1 = ANY(a.path) AND u.sis_user_id IS NOT NULL AND u.id > $2
			ORDER BY u.id LIMIT 5000`, acct.ID, after)
		if err != nil {
			return fmt.Errorf("report users: %w", err)
		}
		n := 0
		for rows.Next() {
			row := make([]string, len(header))
			var props map[string]any
			if err := rows.Scan(&after, &row[0], &row[1], &row[2], &row[3], &row[4], &row[5], &row[6], &row[7], &row[8],
				&row[9], &row[10], &row[11], &row[12], &row[13], &props); err != nil {
				rows.Close()
				return fmt.Errorf("report users: %w", err)
			}
			for i, d := range defs {
				row[len(reportUserColumns)+i] = propertyCell(props[d.Name])
			}
			n++
			if err := each(row); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("report users: %w", err)
		}
		if n < 5000 {
			return nil
		}
	}
}

// propertyCell writes a stored property value as a users.csv cell.
func propertyCell(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(t))
		for i, p := range t {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ";")
	}
	return fmt.Sprint(v)
}

// reportUserColumns are the fixed columns of the users provisioning report.
var reportUserColumns = []string{"user_id", "login_id", "first_name", "last_name", "full_name", "sortable_name",
	"short_name", "email", "pronouns", "integration_id", "status", "account_id", "declared_user_type", "authentication_provider_id"}
