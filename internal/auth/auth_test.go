package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRolesIncludeTheOnesBefore: admin includes sis_import, which includes
// read_only (docs/api.md#authentication-and-roles).
func TestRolesIncludeTheOnesBefore(t *testing.T) {
	t.Parallel()
	roles := []auth.Role{auth.ReadOnly, auth.SISImport, auth.Admin}
	for i, have := range roles {
		for j, need := range roles {
			if got, want := have.Allows(need), i >= j; got != want {
				t.Errorf("%s.Allows(%s) = %v, want %v", have, need, got, want)
			}
		}
	}
	cases := []struct {
		role  auth.Role
		valid bool
	}{
		{"read_only", true}, {"sis_import", true}, {"admin", true},
		{"", false}, {"Admin", false}, {"owner", false}, {"read-only", false},
	}
	for _, c := range cases {
		if got := c.role.Valid(); got != c.valid {
			t.Errorf("Role(%q).Valid() = %v, want %v", c.role, got, c.valid)
		}
	}
	// A role that is not one of the three allows nothing.
	if auth.Role("owner").Allows(auth.ReadOnly) {
		t.Error("an unknown role allows read_only")
	}
}

func TestCreateAndAuthenticate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	root := int64(1)
	school, err := directory.CreateAccount(ctx, db, "School", &root, "S")
	pgtest.Must(t, err)

	for _, role := range []auth.Role{auth.ReadOnly, auth.SISImport, auth.Admin} {
		tok, secret, err := auth.Create(ctx, db, school.ID, "nightly "+string(role), role, nil)
		if err != nil {
			t.Fatalf("create %s token: %v", role, err)
		}
		want := auth.Token{ID: tok.ID, AccountID: school.ID, RootAccountID: 1, Name: "nightly " + string(role), Role: role}
		if tok != want || tok.ID == 0 {
			t.Errorf("created %+v, want %+v", tok, want)
		}
		got, err := auth.Authenticate(ctx, db, secret)
		if err != nil {
			t.Fatalf("authenticate the %s token: %v", role, err)
		}
		if got != want {
			t.Errorf("authenticated as %+v, want %+v", got, want)
		}
		// Only a hash is stored: no column holds the secret, as text or as bytes.
		var clear int
		pgtest.Must(t, db.QueryRow(ctx, `SELECT count(*) FROM tokens t
			WHERE strpos(t::text, $1) > 0 OR strpos(t::text, encode(convert_to($1, 'UTF8'), 'hex')) > 0`, secret).Scan(&clear))
		if clear != 0 {
			t.Errorf("the secret of the %s token is stored in clear", role)
		}
	}

	// Two tokens never share a secret.
	_, s1, err := auth.Create(ctx, db, 1, "a", auth.Admin, nil)
	pgtest.Must(t, err)
	_, s2, err := auth.Create(ctx, db, 1, "a", auth.Admin, nil)
	pgtest.Must(t, err)
	if s1 == s2 {
		t.Error("two tokens got the same secret")
	}

	for _, secret := range []string{"", "sis_nonsense", s1 + "x", strings.ToUpper(s1)} {
		if _, err := auth.Authenticate(ctx, db, secret); !errors.Is(err, auth.ErrBadToken) || errs.KindOf(err) != errs.Unauthorized {
			t.Errorf("authenticate %q: %v, want ErrBadToken (unauthorized)", secret, err)
		}
	}
}

func TestCreateRefusesABadRoleOrAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	if _, _, err := auth.Create(ctx, db, 1, "x", "owner", nil); errs.KindOf(err) != errs.Invalid {
		t.Errorf("role owner: %v, want an invalid error", err)
	}
	if _, _, err := auth.Create(ctx, db, 999, "x", auth.Admin, nil); errs.KindOf(err) != errs.NotFound {
		t.Errorf("account 999: %v, want not found", err)
	}
	var n int
	pgtest.Must(t, db.QueryRow(ctx, `SELECT count(*) FROM tokens`).Scan(&n))
	if n != 0 {
		t.Errorf("%d tokens stored by refused creates", n)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	tok, secret, err := auth.Create(ctx, db, 1, "old", auth.Admin, nil)
	pgtest.Must(t, err)
	_, other, err := auth.Create(ctx, db, 1, "other", auth.Admin, nil)
	pgtest.Must(t, err)
	if err := auth.Revoke(ctx, db, tok.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := auth.Authenticate(ctx, db, secret); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("a revoked token authenticates: %v", err)
	}
	if _, err := auth.Authenticate(ctx, db, other); err != nil {
		t.Errorf("revoking one token revoked another: %v", err)
	}
	if err := auth.Revoke(ctx, db, tok.ID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("second revoke: %v, want not found", err)
	}
	if err := auth.Revoke(ctx, db, 999); errs.KindOf(err) != errs.NotFound {
		t.Errorf("revoke of token 999: %v, want not found", err)
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	past := time.Now().Add(-time.Minute)
	future := time.Now().Add(time.Hour)
	_, expired, err := auth.Create(ctx, db, 1, "expired", auth.Admin, &past)
	pgtest.Must(t, err)
	_, live, err := auth.Create(ctx, db, 1, "live", auth.Admin, &future)
	pgtest.Must(t, err)
	if _, err := auth.Authenticate(ctx, db, expired); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("an expired token authenticates: %v", err)
	}
	if _, err := auth.Authenticate(ctx, db, live); err != nil {
		t.Errorf("a token that expires in an hour does not authenticate: %v", err)
	}
	// The live token expires: from then on it is refused.
	pgtest.Exec(t, db, `UPDATE tokens SET expires_at = now() - interval '1 second' WHERE name = 'live'`)
	if _, err := auth.Authenticate(ctx, db, live); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("a token past its expiry authenticates: %v", err)
	}
}

// TestTokenOfADeletedAccount: a token is live only while its account is.
func TestTokenOfADeletedAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	root := int64(1)
	school, err := directory.CreateAccount(ctx, db, "School", &root, "")
	pgtest.Must(t, err)
	_, secret, err := auth.Create(ctx, db, school.ID, "school", auth.Admin, nil)
	pgtest.Must(t, err)
	pgtest.Exec(t, db, `UPDATE accounts SET workflow_state = 'deleted' WHERE id = $1`, school.ID)
	if _, err := auth.Authenticate(ctx, db, secret); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("the token of a deleted account authenticates: %v", err)
	}
}
