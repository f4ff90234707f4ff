package directory_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func ptr[T any](v T) *T { return &v }

// code is the code of an *errs.Error, "" for any other error or none.
func code(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// tree is a directory of two root accounts:
//
//	1 Default Account ─┬─ east (sis east) ── eastHigh (sis east-high)
//	                   └─ west (sis west)
//	other (another root) ── otherEast (sis east, as in root 1)
type tree struct {
	db                   *pgxpool.Pool
	east, eastHigh, west directory.Account
	other, otherEast     directory.Account
}

func newTree(t *testing.T) tree {
	t.Helper()
	ctx := context.Background()
	db, _ := pgtest.New(t)
	tr := tree{db: db}
	mk := func(name string, parent *int64, sis string) directory.Account {
		t.Helper()
		a, err := directory.CreateAccount(ctx, db, name, parent, sis)
		if err != nil {
			t.Fatalf("create account %s: %v", name, err)
		}
		return a
	}
	tr.east = mk("East", ptr(int64(1)), "east")
	tr.eastHigh = mk("East High", &tr.east.ID, "east-high")
	tr.west = mk("West", ptr(int64(1)), "west")
	tr.other = mk("Other District", nil, "")
	tr.otherEast = mk("Other East", &tr.other.ID, "east")
	return tr
}

func TestCreateAndGetAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTree(t)

	// A sub-account hangs under its parent, in its parent's root account.
	if a := tr.eastHigh; a.Name != "East High" || a.ParentAccountID == nil || *a.ParentAccountID != tr.east.ID ||
		a.RootAccountID != 1 || a.SISAccountID == nil || *a.SISAccountID != "east-high" || a.WorkflowState != "active" ||
		!slices.Equal(a.Path, []int64{1, tr.east.ID, a.ID}) {
		t.Errorf("sub-account: %+v", a)
	}
	// A root account is its own root, with no parent and no SIS id unless given one.
	if a := tr.other; a.ParentAccountID != nil || a.RootAccountID != a.ID || a.SISAccountID != nil ||
		!slices.Equal(a.Path, []int64{a.ID}) {
		t.Errorf("root account: %+v", a)
	}
	// An SIS id is unique in a root account, not across them.
	if a := tr.otherEast; a.RootAccountID != tr.other.ID || *a.SISAccountID != "east" {
		t.Errorf("the other root's east: %+v", a)
	}

	for _, a := range []directory.Account{tr.east, tr.eastHigh, tr.west, tr.other, tr.otherEast} {
		got, err := directory.GetAccount(ctx, tr.db, a.ID)
		if err != nil {
			t.Fatalf("get account %d: %v", a.ID, err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("get account %d:\n got %+v\nwant %+v", a.ID, got, a)
		}
	}
	if _, err := directory.GetAccount(ctx, tr.db, 999); errs.KindOf(err) != errs.NotFound {
		t.Errorf("get account 999: %v, want not found", err)
	}

	list, err := directory.ListSubAccounts(ctx, tr.db, 1, 10, 0)
	pgtest.Must(t, err)
	var names []string
	for _, a := range list {
		names = append(names, a.Name)
	}
	if !slices.Equal(names, []string{"East", "West"}) {
		t.Errorf("sub-accounts of 1: %v, want the direct children East and West", names)
	}
}

func TestCreateAccountRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTree(t)
	var before int
	pgtest.Must(t, tr.db.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&before))
	cases := []struct {
		name, sis string
		parent    *int64
		kind      errs.Kind
		code      string
	}{
		{"", "", ptr(int64(1)), errs.Invalid, "missing_value"},
		{"  ", "", nil, errs.Invalid, "missing_value"},
		{"Nowhere", "", ptr(int64(999)), errs.NotFound, "not_found"},
		{"East again", "east", ptr(int64(1)), errs.Conflict, "sis_id_taken"},
		{"East again", "east", &tr.west.ID, errs.Conflict, "sis_id_taken"},
	}
	for _, c := range cases {
		_, err := directory.CreateAccount(ctx, tr.db, c.name, c.parent, c.sis)
		if errs.KindOf(err) != c.kind || code(err) != c.code {
			t.Errorf("create account %q (sis %q): %v, want %s", c.name, c.sis, err, c.code)
		}
	}
	var after int
	pgtest.Must(t, tr.db.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&after))
	if after != before {
		t.Errorf("refused creates stored %d accounts", after-before)
	}
}

// TestResolveAccount: a path's account — an id, self or an SIS id — is
// found only inside the subtree a token reaches, and an SIS id only in the
// token's root account.
func TestResolveAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTree(t)
	id := func(a directory.Account) string { return fmt.Sprint(a.ID) }
	cases := []struct {
		name        string
		ref         string
		reach, root int64
		want        int64 // 0: not found
	}{
		{"self", "self", tr.east.ID, 1, tr.east.ID},
		{"own id", id(tr.east), tr.east.ID, 1, tr.east.ID},
		{"a child by id", id(tr.eastHigh), tr.east.ID, 1, tr.eastHigh.ID},
		{"the parent by id", "1", tr.east.ID, 1, 0},
		{"a sibling by id", id(tr.west), tr.east.ID, 1, 0},
		{"another root's account by id", id(tr.otherEast), 1, 1, 0},
		{"a child by SIS id", "sis_account_id:east-high", tr.east.ID, 1, tr.eastHigh.ID},
		{"own SIS id", "sis_account_id:east", tr.east.ID, 1, tr.east.ID},
		{"a sibling by SIS id", "sis_account_id:west", tr.east.ID, 1, 0},
		{"the parent's subtree by SIS id", "sis_account_id:west", 1, 1, tr.west.ID},
		{"an SIS id both roots use, from root 1", "sis_account_id:east", 1, 1, tr.east.ID},
		{"an SIS id both roots use, from the other root", "sis_account_id:east", tr.other.ID, tr.other.ID, tr.otherEast.ID},
		{"an SIS id only the other root uses", "sis_account_id:east-high", tr.other.ID, tr.other.ID, 0},
		{"no such SIS id", "sis_account_id:north", 1, 1, 0},
		{"an empty SIS id", "sis_account_id:", 1, 1, 0},
		{"no such id", "999", 1, 1, 0},
		{"not an id", "east", 1, 1, 0},
		{"empty", "", 1, 1, 0},
	}
	for _, c := range cases {
		a, err := directory.ResolveAccount(ctx, tr.db, c.ref, c.reach, c.root)
		switch {
		case c.want == 0 && errs.KindOf(err) != errs.NotFound:
			t.Errorf("%s: ResolveAccount(%q) from account %d = %d, %v; want not found", c.name, c.ref, c.reach, a.ID, err)
		case c.want != 0 && (err != nil || a.ID != c.want):
			t.Errorf("%s: ResolveAccount(%q) from account %d = %d, %v; want %d", c.name, c.ref, c.reach, a.ID, err, c.want)
		}
	}
}

// TestAccountMatch: the condition numbers its arguments from first, so a
// query can put its own before them.
func TestAccountMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ref   string
		first int
		cond  string
		args  []any
	}{
		{"self", 1, "a.id = $1", []any{int64(7)}},
		{"42", 2, "a.id = $2 AND $3 = ANY(a.path)", []any{int64(42), int64(7)}},
		{"sis_account_id:east", 3, "a.root_account_id = $3 AND a.sis_account_id = $4 AND $5 = ANY(a.path)", []any{int64(1), "east", int64(7)}},
	}
	for _, c := range cases {
		cond, args, err := directory.AccountMatch(c.ref, 7, 1, c.first)
		if err != nil || cond != c.cond || fmt.Sprint(args) != fmt.Sprint(c.args) {
			t.Errorf("AccountMatch(%q, from $%d) = %q %v %v; want %q %v", c.ref, c.first, cond, args, err, c.cond, c.args)
		}
	}
	for _, ref := range []string{"", "east", "1.5", "sis_user_id:x"} {
		if _, _, err := directory.AccountMatch(ref, 7, 1, 1); errs.KindOf(err) != errs.NotFound {
			t.Errorf("AccountMatch(%q): %v, want not found", ref, err)
		}
	}
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTree(t)
	u, err := directory.CreateUser(ctx, tr.db, tr.eastHigh, directory.UserInput{
		LoginID: ptr(" jdoe "), FirstName: ptr("Jane"), LastName: ptr("Doe"), SISUserID: ptr("S1"),
		IntegrationID: ptr("I1"), Email: ptr("jdoe@example.edu"), Pronouns: ptr("she/her"),
	})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	want := directory.User{ID: u.ID, Name: "Jane Doe", FirstName: "Jane", LastName: "Doe", SortableName: "Doe, Jane",
		ShortName: "Jane Doe", SISUserID: ptr("S1"), IntegrationID: ptr("I1"), LoginID: "jdoe", Email: "jdoe@example.edu",
		Pronouns: "she/her", WorkflowState: "active", AccountID: tr.eastHigh.ID, Origin: "manual",
		StickyFields: []string{}, Properties: map[string]any{}, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("created\n %+v\nwant\n %+v", u, want)
	}
	// It reads back the same by id and by SIS id.
	for _, ref := range []string{fmt.Sprint(u.ID), "sis_user_id:S1"} {
		got, err := directory.GetUser(ctx, tr.db, ref, 1, 1)
		if err != nil {
			t.Fatalf("get user %s: %v", ref, err)
		}
		if !reflect.DeepEqual(got, u) {
			t.Errorf("get user %s:\n got %+v\nwant %+v", ref, got, u)
		}
	}

	// A login alone names the user; a state may be given; empty ids are none.
	u2, err := directory.CreateUser(ctx, tr.db, tr.west, directory.UserInput{LoginID: ptr("solo"), SISUserID: ptr(""),
		WorkflowState: ptr("suspended")})
	pgtest.Must(t, err)
	if u2.Name != "solo" || u2.SortableName != "solo" || u2.ShortName != "solo" || u2.SISUserID != nil ||
		u2.IntegrationID != nil || u2.WorkflowState != "suspended" || u2.AccountID != tr.west.ID {
		t.Errorf("a user from a login alone: %+v", u2)
	}
	// The same login and SIS id in another root account are another user's.
	if _, err := directory.CreateUser(ctx, tr.db, tr.otherEast, directory.UserInput{LoginID: ptr("jdoe"), SISUserID: ptr("S1")}); err != nil {
		t.Errorf("jdoe/S1 in another root account: %v", err)
	}
}

func TestCreateUserRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTree(t)
	_, err := directory.CreateUser(ctx, tr.db, tr.east, directory.UserInput{LoginID: ptr("jdoe"), SISUserID: ptr("S1"), IntegrationID: ptr("I1")})
	pgtest.Must(t, err)
	long := strings.Repeat("x", 256)
	cases := []struct {
		name string
		in   directory.UserInput
		kind errs.Kind
		code string
	}{
		{"no login", directory.UserInput{FirstName: ptr("Ann")}, errs.Invalid, "missing_value"},
		{"a blank login", directory.UserInput{LoginID: ptr("  ")}, errs.Invalid, "missing_value"},
		{"an unknown state", directory.UserInput{LoginID: ptr("x1"), WorkflowState: ptr("gone")}, errs.Invalid, "invalid_status"},
		{"a name over 255 characters", directory.UserInput{LoginID: ptr("x2"), Name: &long}, errs.Invalid, "invalid_value"},
		{"an undefined property", directory.UserInput{LoginID: ptr("x3"), Properties: map[string]string{"house": "red"}}, errs.Invalid, "unknown_column"},
		{"a login taken, in another case", directory.UserInput{LoginID: ptr("JDoe")}, errs.Conflict, "login_taken"},
		{"an SIS id taken, in a sibling account", directory.UserInput{LoginID: ptr("x4"), SISUserID: ptr("S1")}, errs.Conflict, "sis_id_taken"},
		{"an integration id taken", directory.UserInput{LoginID: ptr("x5"), IntegrationID: ptr("I1")}, errs.Conflict, "integration_id_taken"},
	}
	for _, c := range cases {
		acct := tr.east
		if strings.Contains(c.name, "sibling") {
			acct = tr.west
		}
		_, err := directory.CreateUser(ctx, tr.db, acct, c.in)
		if errs.KindOf(err) != c.kind || code(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	var n int
	pgtest.Must(t, tr.db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n))
	if n != 1 {
		t.Errorf("%d users after refused creates, want 1", n)
	}
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTree(t)
	u, err := directory.CreateUser(ctx, tr.db, tr.east, directory.UserInput{LoginID: ptr("jdoe"), FirstName: ptr("Jane"),
		LastName: ptr("Doe"), SISUserID: ptr("S1"), Email: ptr("old@example.edu")})
	pgtest.Must(t, err)
	other, err := directory.CreateUser(ctx, tr.db, tr.east, directory.UserInput{LoginID: ptr("taken")})
	pgtest.Must(t, err)
	// As if an import had written the user last: a manual edit ends that.
	pgtest.Exec(t, tr.db, `UPDATE users SET last_import_id = 1 WHERE id = $1`, u.ID)

	// A field set to its own value is set all the same: it sticks. Email
	// and ids never stick; nil fields are left alone.
	u, err = directory.UpdateUser(ctx, tr.db, 1, u, directory.UserInput{LastName: ptr("Smith"), FirstName: ptr("Jane"),
		Email: ptr("new@example.edu")})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if u.LastName != "Smith" || u.FirstName != "Jane" || u.Email != "new@example.edu" || u.LoginID != "jdoe" ||
		u.SISUserID == nil || *u.SISUserID != "S1" || !slices.Equal(u.StickyFields, []string{"first_name", "last_name"}) {
		t.Errorf("after the first edit: %+v", u)
	}
	var lastImport *int64
	pgtest.Must(t, tr.db.QueryRow(ctx, `SELECT last_import_id FROM users WHERE id = $1`, u.ID).Scan(&lastImport))
	if lastImport != nil {
		t.Errorf("last_import_id %d after a manual edit, want none", *lastImport)
	}
	// Sticky fields add up, once each, in order; an empty SIS id removes it.
	u, err = directory.UpdateUser(ctx, tr.db, 1, u, directory.UserInput{WorkflowState: ptr("suspended"), LastName: ptr("Smyth"),
		SISUserID: ptr("")})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if u.WorkflowState != "suspended" || u.LastName != "Smyth" || u.SISUserID != nil ||
		!slices.Equal(u.StickyFields, []string{"first_name", "last_name", "workflow_state"}) {
		t.Errorf("after the second edit: %+v", u)
	}
	got, err := directory.GetUser(ctx, tr.db, fmt.Sprint(u.ID), 1, 1)
	pgtest.Must(t, err)
	if !reflect.DeepEqual(got, u) {
		t.Errorf("read back:\n got %+v\nwant %+v", got, u)
	}

	// Refused edits change nothing.
	for _, c := range []struct {
		name string
		in   directory.UserInput
		code string
	}{
		{"another user's login", directory.UserInput{LoginID: ptr("TAKEN"), LastName: ptr("Lost")}, "login_taken"},
		{"an unknown state", directory.UserInput{WorkflowState: ptr("gone"), LastName: ptr("Lost")}, "invalid_status"},
	} {
		if _, err := directory.UpdateUser(ctx, tr.db, 1, u, c.in); code(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	after, err := directory.GetUser(ctx, tr.db, fmt.Sprint(u.ID), 1, 1)
	pgtest.Must(t, err)
	if !reflect.DeepEqual(after, u) {
		t.Errorf("a refused edit changed the user:\n got %+v\nwant %+v", after, u)
	}
	if o, err := directory.GetUser(ctx, tr.db, fmt.Sprint(other.ID), 1, 1); err != nil || o.LoginID != "taken" {
		t.Errorf("the other user: %+v %v", o, err)
	}
}

// TestGetUserWithinReach: a user is found by id or SIS id only from an
// account whose subtree holds the user's home account, and by SIS id only
// in the token's root account.
func TestGetUserWithinReach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTree(t)
	mk := func(acct directory.Account, login, sis string) directory.User {
		t.Helper()
		u, err := directory.CreateUser(ctx, tr.db, acct, directory.UserInput{LoginID: &login, SISUserID: &sis})
		if err != nil {
			t.Fatalf("create user %s: %v", login, err)
		}
		return u
	}
	high := mk(tr.eastHigh, "high", "S1")
	west := mk(tr.west, "west", "S2")
	elsewhere := mk(tr.otherEast, "elsewhere", "S1") // the same SIS id in the other root
	cases := []struct {
		name        string
		ref         string
		reach, root int64
		want        int64 // 0: not found
	}{
		{"by SIS id from its home account", "sis_user_id:S1", tr.eastHigh.ID, 1, high.ID},
		{"by SIS id from an account above", "sis_user_id:S1", tr.east.ID, 1, high.ID},
		{"by SIS id from the root account", "sis_user_id:S1", 1, 1, high.ID},
		{"by SIS id from a sibling account", "sis_user_id:S2", tr.east.ID, 1, 0},
		{"by SIS id from an account below", "sis_user_id:S2", tr.eastHigh.ID, 1, 0},
		{"by SIS id from the other root", "sis_user_id:S1", tr.other.ID, tr.other.ID, elsewhere.ID},
		{"by an SIS id only the other root has", "sis_user_id:S2", tr.other.ID, tr.other.ID, 0},
		{"by no such SIS id", "sis_user_id:S9", 1, 1, 0},
		{"by id from an account above", fmt.Sprint(high.ID), tr.east.ID, 1, high.ID},
		{"by id from a sibling account", fmt.Sprint(west.ID), tr.east.ID, 1, 0},
		{"by id from the other root", fmt.Sprint(high.ID), tr.other.ID, tr.other.ID, 0},
		{"by id of the other root's user from root 1", fmt.Sprint(elsewhere.ID), 1, 1, 0},
		{"by no such id", "999", 1, 1, 0},
		{"by something not an id", "high", 1, 1, 0},
		{"by a login", "sis_login_id:high", 1, 1, 0},
	}
	for _, c := range cases {
		u, err := directory.GetUser(ctx, tr.db, c.ref, c.reach, c.root)
		switch {
		case c.want == 0 && errs.KindOf(err) != errs.NotFound:
			t.Errorf("%s: GetUser(%q) from account %d = %d, %v; want not found", c.name, c.ref, c.reach, u.ID, err)
		case c.want != 0 && (err != nil || u.ID != c.want):
			t.Errorf("%s: GetUser(%q) from account %d = %d, %v; want %d", c.name, c.ref, c.reach, u.ID, err, c.want)
		}
	}
}

// TestGetGroupWithinReach: groups are found by SIS id as users are.
func TestGetGroupWithinReach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTree(t)
	g, err := directory.CreateGroup(ctx, tr.db, tr.eastHigh, " Chess ", " G1 ")
	pgtest.Must(t, err)
	if g.Name != "Chess" || g.SISGroupID == nil || *g.SISGroupID != "G1" || g.AccountID != tr.eastHigh.ID || g.Origin != "manual" {
		t.Errorf("created group %+v", g)
	}
	if _, err := directory.CreateGroup(ctx, tr.db, tr.west, "Chess too", "G1"); errs.KindOf(err) != errs.Conflict {
		t.Errorf("a second G1 in root 1: %v, want a conflict", err)
	}
	cases := []struct {
		ref         string
		reach, root int64
		found       bool
	}{
		{"sis_group_id:G1", tr.east.ID, 1, true},
		{"sis_group_id:G1", tr.west.ID, 1, false},
		{"sis_group_id:G1", tr.other.ID, tr.other.ID, false},
		{fmt.Sprint(g.ID), 1, 1, true},
		{fmt.Sprint(g.ID), tr.west.ID, 1, false},
	}
	for _, c := range cases {
		got, err := directory.GetGroup(ctx, tr.db, c.ref, c.reach, c.root)
		if c.found && (err != nil || got.ID != g.ID) || !c.found && errs.KindOf(err) != errs.NotFound {
			t.Errorf("GetGroup(%q) from account %d: %+v %v; want found=%v", c.ref, c.reach, got, err, c.found)
		}
	}
}

func TestEnrollmentRole(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, role string }{
		{"student", "student"}, {" Teacher ", "teacher"}, {"TA", "ta"}, {"observer", "observer"}, {"designer", "designer"},
		{"StudentEnrollment", "student"}, {"taenrollment", "ta"}, {"TeacherEnrollment", "teacher"},
		{"", ""}, {"admin", ""}, {"Student Enrollment", ""},
	}
	for _, c := range cases {
		role, ok := directory.EnrollmentRole(c.in)
		if role != c.role || ok != (c.role != "") {
			t.Errorf("EnrollmentRole(%q) = %q, %v; want %q", c.in, role, ok, c.role)
		}
	}
}

func TestPropertyChoose(t *testing.T) {
	t.Parallel()
	text := directory.Property{Name: "nickname", Type: "text"}
	house := directory.Property{Name: "house", Type: "single_choice", Options: []string{"Red", "Blue"}}
	clubs := directory.Property{Name: "clubs", Type: "multiple_choice", Options: []string{"Chess", "Drama"}}
	cases := []struct {
		p    directory.Property
		cell string
		want string // fmt of the value; "error" for a refusal
	}{
		{text, " Jo ", " Jo "},
		{house, " red ", "Red"},
		{house, "BLUE", "Blue"},
		{house, "Green", "error"},
		{clubs, "drama; chess;;Drama", "[Drama Chess]"},
		{clubs, "", "[]"},
		{clubs, "Chess;Golf", "error"},
	}
	for _, c := range cases {
		v, err := c.p.Choose(c.cell)
		got := fmt.Sprint(v)
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("%s.Choose(%q) = %s (%v), want %s", c.p.Name, c.cell, got, err, c.want)
		}
	}
}
