package importer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// loginRow is one row of a logins file (Canvas's logins.csv): another
// login for a user who exists (docs/import-rules.md#logins-files).
type loginRow struct {
	UserID                   string `csv:"user_id" validate:"required,max=255"` // the new login's SIS id
	LoginID                  string `csv:"login_id" validate:"required,max=255"`
	ExistingUserID           string `csv:"existing_user_id" validate:"max=255"`
	ExistingIntegrationID    string `csv:"existing_integration_id" validate:"max=255"`
	ExistingCanvasUserID     string `csv:"existing_canvas_user_id" validate:"max=255"`
	RootAccount              string `csv:"root_account" validate:"max=255"`
	Password                 string `csv:"password" validate:"max=1024"`
	SSHAPassword             string `csv:"ssha_password" validate:"max=1024"`
	IntegrationID            string `csv:"integration_id" validate:"max=255"`
	Email                    string `csv:"email" validate:"omitempty,max=255,eq=<delete>|sis_email"`
	AuthenticationProviderID string `csv:"authentication_provider_id" validate:"max=255"`
}

// typeLogins is the type's name.
const typeLogins = "logins"

func init() {
	// A restore sets back what results name login_id in unique_id.
	restore := restoring("logins", "sis_user_id", "integration_id", "authentication_provider_id", "email")
	restore.columns["login_id"] = "unique_id"
	register(&fileType{name: typeLogins, batch: "login", entity: "login",
		detect: func(h header) bool {
			return h.has("existing_user_id") || h.has("existing_integration_id") || h.has("existing_canvas_user_id")
		},
		detectRank: 35, applyRank: 45, layout: layoutOf(&loginRow{}), required: []string{"user_id", "login_id"},
		apply: importLogins, diffKey: []string{"user_id"}, restore: restore,
	})
}

// existingColumns are the columns that name the user a login is for, in
// the order their problems are reported.
var existingColumns = []string{"existing_user_id", "existing_integration_id", "existing_canvas_user_id"}

// storedLogin is an extra login as a logins row compares it.
type storedLogin struct {
	id, userID    int64
	loginID       string
	integrationID *string
	provider      *string
	email         *string
	state         string
	hasPassword   bool
}

// loginOwner is the user a row's existing_* columns name.
type loginOwner struct {
	id      int64
	state   string
	inScope bool
}

// importLogins applies a logins file a row at a time: such files add a
// login to some users, they do not list every user.
func importLogins(ctx context.Context, at *attempt, f *typedFile) error {
	providerGiven := f.has("authentication_provider_id")
	return at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r loginRow
		f.fill(&r, rec)
		res.SISID = r.UserID
		if fail := f.check(&r, rec.Line, r.UserID, fmt.Sprintf("user_id %q", r.UserID)); fail != nil {
			return fail, nil
		}
		if fail := checkLoginRow(&r, f); fail != nil {
			return fail, nil
		}
		if f.same {
			res.Action = result.Unchanged // as in the diffing base
			return nil, nil
		}
		return at.applyLogin(ctx, &r, providerGiven, res)
	})
}

// checkLoginRow checks what the row's tags cannot say.
func checkLoginRow(r *loginRow, f *typedFile) *rowFailure {
	switch {
	case r.RootAccount != "":
		// Canvas's open-source code finds no other root account for such a
		// row and skips it; so does this service, which has one directory
		// per root account.
		return &rowFailure{code: "other_root_account", skip: true, message: fmt.Sprintf("column %s: %q names another root account; "+
			"logins are added only to users of the root account the import was posted to", f.view.column("root_account"), r.RootAccount)}
	case r.ExistingUserID == "" && r.ExistingIntegrationID == "" && r.ExistingCanvasUserID == "":
		return &rowFailure{code: "missing_value", message: fmt.Sprintf("columns %s: one of them needs a value, to name the user the login is for",
			strings.Join(f.view.columnsOf(existingColumns), ", "))}
	case r.LoginID == deleteMarker:
		return &rowFailure{code: "invalid_value", message: "column login_id: a login id cannot be cleared"}
	case len(r.Password) > 72:
		// bcrypt reads 72 bytes at most: a longer password would be cut short.
		return &rowFailure{code: "invalid_value", message: "column password: longer than 72 bytes"}
	}
	return nil
}

func (at *attempt) applyLogin(ctx context.Context, r *loginRow, providerGiven bool, res *result.Result) (*rowFailure, error) {
	owner, fail, err := at.loginOwner(ctx, r)
	if fail != nil || err != nil {
		return fail, err
	}
	old, err := at.loginBySIS(ctx, r.UserID)
	if err != nil {
		return nil, err
	}
	if old != nil && old.userID != owner.id {
		return &rowFailure{code: "sis_id_taken", message: fmt.Sprintf("column user_id: %q is a login of another user", r.UserID)}, nil
	}
	next := storedLogin{userID: owner.id, loginID: r.LoginID, state: "active",
		integrationID: optional(r.IntegrationID, old, func(l *storedLogin) *string { return l.integrationID }),
		email:         optional(r.Email, old, func(l *storedLogin) *string { return l.email }),
	}
	switch {
	case providerGiven && (r.AuthenticationProviderID == "" || r.AuthenticationProviderID == deleteMarker):
		// Canvas clears the provider on an empty cell.
	case providerGiven:
		next.provider = &r.AuthenticationProviderID
	case old != nil:
		next.provider = old.provider
	}
	if fail, err := at.loginClashes(ctx, r.UserID, &next, owner.id); fail != nil || err != nil {
		return fail, err
	}
	hash, err := loginPassword(r, old)
	if err != nil {
		return nil, err
	}
	if old == nil {
		err := at.tx.QueryRow(ctx, `INSERT INTO logins (root_account_id, user_id, unique_id, sis_user_id, integration_id,
			authentication_provider_id, password_hash, email, workflow_state, last_import_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9) RETURNING id`,
			at.account.RootAccountID, owner.id, next.loginID, r.UserID, next.integrationID, next.provider, hash, next.email,
			at.job.ID).Scan(&res.ObjectID)
		if err != nil {
			return nil, fmt.Errorf("create login: %w", err)
		}
		res.Action = result.Created
		return nil, nil
	}
	res.ObjectID = old.id
	changes := map[string][2]any{}
	diff(changes, "login_id", old.loginID, next.loginID)
	diffPtr(changes, "integration_id", old.integrationID, next.integrationID)
	diffPtr(changes, "authentication_provider_id", old.provider, next.provider)
	diffPtr(changes, "email", old.email, next.email)
	diff(changes, "workflow_state", old.state, next.state)
	if hash != nil {
		// Whether the login has a password, never the password: a restore
		// cannot take it back, and says so.
		changes["has_password"] = [2]any{false, true}
	}
	if len(changes) == 0 {
		res.Action = result.Unchanged
		return nil, nil
	}
	if _, err := at.tx.Exec(ctx, `UPDATE logins SET unique_id = $2, integration_id = $3, authentication_provider_id = $4, email = $5,
		workflow_state = 'active', password_hash = COALESCE(password_hash, $6), last_import_id = $7, updated_at = now() WHERE id = $1`,
		old.id, next.loginID, next.integrationID, next.provider, next.email, hash, at.job.ID); err != nil {
		return nil, fmt.Errorf("update login: %w", err)
	}
	res.Changes = changes
	res.Action = result.Transition(old.state, next.state, true)
	return nil, nil
}

// loginPassword is the hash a row sets, nil for none: as for users, a
// password is set on a new login or one that has none yet
// (docs/import-rules.md#passwords), ssha_password as given, password
// hashed with bcrypt.
func loginPassword(r *loginRow, old *storedLogin) (*string, error) {
	if (r.Password == "" && r.SSHAPassword == "") || (old != nil && old.hasPassword) {
		return nil, nil
	}
	if r.SSHAPassword != "" {
		return &r.SSHAPassword, nil
	}
	h, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	s := string(h)
	return &s, nil
}

// loginOwner finds the user the row's existing_* columns name: a user by
// the SIS id or integration id of their own login or of an active extra
// login, or by id. Every column given must name the same active user,
// inside the import's account.
func (at *attempt) loginOwner(ctx context.Context, r *loginRow) (loginOwner, *rowFailure, error) {
	var canvasID *int64
	if r.ExistingCanvasUserID != "" {
		if id, err := strconv.ParseInt(r.ExistingCanvasUserID, 10, 64); err == nil {
			canvasID = &id
		}
	}
	rows, err := at.tx.Query(ctx, `SELECT k.col, u.id, u.workflow_state, $5 = ANY(a.path) FROM (
			SELECT 'existing_user_id' AS col, id AS user_id FROM users WHERE root_account_id = $1 AND sis_user_id = $2
			UNION SELECT 'existing_user_id', user_id FROM logins WHERE root_account_id = $1 AND sis_user_id = $2 AND workflow_state = 'active'
			UNION SELECT 'existing_integration_id', id FROM users WHERE root_account_id = $1 AND integration_id = $3
			UNION SELECT 'existing_integration_id', user_id FROM logins WHERE root_account_id = $1 AND integration_id = $3 AND workflow_state = 'active'
			UNION SELECT 'existing_canvas_user_id', id FROM users WHERE root_account_id = $1 AND id = $4
		) k JOIN users u ON u.id = k.user_id JOIN accounts a ON a.id = u.account_id`,
		at.account.RootAccountID, result.NullString(r.ExistingUserID), result.NullString(r.ExistingIntegrationID), canvasID, at.account.ID)
	if err != nil {
		return loginOwner{}, nil, fmt.Errorf("find the login's user: %w", err)
	}
	found := map[string][]loginOwner{}
	var col string
	var o loginOwner
	if _, err := pgx.ForEachRow(rows, []any{&col, &o.id, &o.state, &o.inScope}, func() error {
		found[col] = append(found[col], o)
		return nil
	}); err != nil {
		return loginOwner{}, nil, fmt.Errorf("find the login's user: %w", err)
	}
	given := map[string]string{"existing_user_id": r.ExistingUserID, "existing_integration_id": r.ExistingIntegrationID,
		"existing_canvas_user_id": r.ExistingCanvasUserID}
	var owner loginOwner
	var by string // the column that found owner
	for _, c := range existingColumns {
		v := given[c]
		if v == "" {
			continue
		}
		users := found[c]
		switch {
		case len(users) == 0:
			return loginOwner{}, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no user has %q", c, v)}, nil
		case len(users) > 1:
			return loginOwner{}, &rowFailure{code: "ambiguous_match", message: fmt.Sprintf("column %s: %d users have %q", c, len(users), v)}, nil
		case users[0].state != "active":
			return loginOwner{}, &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: the user with %q is %s; a login is added only to an active user",
				c, v, users[0].state)}, nil
		case by != "" && users[0].id != owner.id:
			return loginOwner{}, &rowFailure{code: "identity_mismatch", message: fmt.Sprintf("columns %s and %s name different users (%q and %q)",
				by, c, given[by], v)}, nil
		case by == "":
			owner, by = users[0], c
		}
	}
	if !owner.inScope {
		return loginOwner{}, &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column %s: the user with %q belongs to an account outside the one this import was posted to",
			by, given[by])}, nil
	}
	return owner, nil, nil
}

// loginBySIS is the root account's extra login with the SIS id, in any
// state, or nil.
func (at *attempt) loginBySIS(ctx context.Context, sis string) (*storedLogin, error) {
	l := &storedLogin{}
	err := at.tx.QueryRow(ctx, `SELECT id, user_id, unique_id, integration_id, authentication_provider_id, email, workflow_state,
			password_hash IS NOT NULL FROM logins WHERE root_account_id = $1 AND sis_user_id = $2`, at.account.RootAccountID, sis).
		Scan(&l.id, &l.userID, &l.loginID, &l.integrationID, &l.provider, &l.email, &l.state, &l.hasPassword)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read login: %w", err)
	}
	return l, nil
}

// loginClashes fails a login whose SIS id, login id or integration id
// another login holds: a user's own login (users.csv) or an extra login
// other than the one keyed sis. Within a root account they are unique
// across all logins, whoever's (docs/import-rules.md#logins-files).
func (at *attempt) loginClashes(ctx context.Context, sis string, l *storedLogin, owner int64) (*rowFailure, error) {
	rows, err := at.tx.Query(ctx, `SELECT 'user_id', id, true FROM users WHERE root_account_id = $1 AND sis_user_id = $2
		UNION ALL SELECT 'login_id', id, true FROM users WHERE root_account_id = $1 AND lower(login_id) = lower($3)
		UNION ALL SELECT 'integration_id', id, true FROM users WHERE root_account_id = $1 AND integration_id = $4
		UNION ALL SELECT 'login_id', user_id, false FROM logins WHERE root_account_id = $1 AND lower(unique_id) = lower($3) AND sis_user_id IS DISTINCT FROM $2
		UNION ALL SELECT 'integration_id', user_id, false FROM logins WHERE root_account_id = $1 AND integration_id = $4 AND sis_user_id IS DISTINCT FROM $2`,
		at.account.RootAccountID, sis, l.loginID, l.integrationID)
	if err != nil {
		return nil, fmt.Errorf("check login ids: %w", err)
	}
	var col string
	var holder int64
	var own bool
	fails := map[string]*rowFailure{}
	_, err = pgx.ForEachRow(rows, []any{&col, &holder, &own}, func() error {
		whose := "another user"
		if holder == owner {
			whose = "this user"
		}
		what := "another login of " + whose
		if own {
			what = "the login of " + whose + " (users.csv)"
		}
		v, code := l.loginID, "login_taken"
		switch col {
		case "user_id":
			v, code = sis, "sis_id_taken"
		case "integration_id":
			v, code = *l.integrationID, "integration_id_taken"
		}
		fails[col] = &rowFailure{code: code, message: fmt.Sprintf("column %s: %q already belongs to %s", col, v, what)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check login ids: %w", err)
	}
	for _, c := range []string{"user_id", "login_id", "integration_id"} {
		if f := fails[c]; f != nil {
			return f, nil
		}
	}
	return nil, nil
}
