package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sisimport/sisimport/internal/keyset"
	"github.com/sisimport/sisimport/internal/result"
	"golang.org/x/crypto/bcrypt"
)

// storedUser is the part of a users row an import compares and writes.
type storedUser struct {
	ID            int64
	AccountID     int64
	UpdatedAt     time.Time // as read: the write checks nobody changed the user since
	SISUserID     string
	IntegrationID string
	LoginID       string
	Name          string
	FirstName     string
	LastName      string
	SortableName  string
	ShortName     string
	Email         string
	Pronouns      string
	DeclaredType  string
	AuthProvider  string
	State         string
	HasPassword   bool
	InScope       bool
	Sticky        []string       // fields changed through the API, which imports leave alone
	Properties    map[string]any // property name → text, option, or options
	emailTemplate string         // default[email], when it gave the email: redone if the login id changes
	PasswordHash  string         // set only when this import sets the password
}

// userApplier matches and writes batches of users rows.
type userApplier struct {
	at     *attempt
	file   string
	secret []int // the columns whose cells never leave the importer (passwords)
	width  int   // the header's field count
	// claimed holds the login and integration ids this import gave to a
	// user, new or changed: the directory lookups run outside the import's
	// transaction and do not see them.
	claimed *keyset.Set
	// stream is shared by the import's users files: its matched ids (when
	// matching on another column than user_id) count as listed, and when
	// the root account had no users as the first file began (empty), a
	// first load skips every lookup.
	stream *usersStream
	// view is how the file names the users columns, for the messages.
	view view
	// inTx, when set, makes matching read in the import's transaction,
	// taking turns with the writes: a change_sis_id file renamed users.
	inTx *sync.Mutex
}

// userBatch is a batch of rows with what the directory holds for them.
type userBatch struct {
	items  []userItem
	old    []*storedUser    // the matched user of each item, nil for none
	fails  []*rowFailure    // why an item cannot be matched (ambiguous_match, identity_mismatch)
	owners map[string]int64 // "l:"+lower(login), "i:"+integration id, "e:"+lower(email) → user id
	extra  map[string]int64 // "l:"+lower(login), "i:"+integration id, "s:"+SIS id → the user whose extra login holds it
	taken  map[string]bool  // logins of the form <login><n> that append_counter must avoid
	homes  map[string]home  // the accounts the account_id cells name
	ids    []int64          // fresh user ids, one for each row that may create a user
}

// userWrites is what a planned batch writes.
type userWrites struct {
	inserts, updates []*storedUser
}

const userStage = `CREATE TEMP TABLE IF NOT EXISTS users_stage (
	id bigint, account_id bigint, sis_user_id text, integration_id text, login_id text, name text, first_name text, last_name text,
	sortable_name text, short_name text, email text, pronouns text, declared_user_type text, authentication_provider_id text,
	workflow_state text, password_hash text,
	sticky_fields text[], read_updated_at timestamptz, properties jsonb
) ON COMMIT DROP`

func (at *attempt) newUserApplier(ctx context.Context, file string, secret []int, width int) (*userApplier, error) {
	if _, err := at.tx.Exec(ctx, userStage); err != nil {
		return nil, fmt.Errorf("create users stage: %w", err)
	}
	st := at.users
	a := &userApplier{at: at, file: file, secret: secret, width: width, claimed: st.claimed, stream: st}
	if at.usersRenamed {
		a.inTx = &sync.Mutex{}
	}
	return a, nil
}

// plan decides every row of the batch against what the directory holds,
// records the results and returns the writes.
func (a *userApplier) plan(ctx context.Context, b userBatch) (userWrites, error) {
	batch := b.items
	results := make([]result.Result, len(batch))
	var w userWrites
	var hashFor []*storedUser
	var passwords []string
	for i := range batch {
		it := &batch[i]
		res := &results[i]
		*res = result.Result{File: a.file, Row: it.line, Entity: "user", SISID: it.row.UserID}
		if it.fail == nil {
			it.fail = b.fails[i]
		}
		if it.fail != nil {
			failResult(res, it.fail, it.fields, a.secret, a.width)
			continue
		}
		if it.diffUnchanged {
			res.Action = result.Unchanged
			continue
		}
		old := b.old[i]
		if old != nil && res.SISID == "" {
			res.SISID = old.SISUserID
		}
		if res.SISID == "" {
			res.SISID = it.row.LoginID // a user without an SIS id is named by the login the file sent
		}
		if old != nil && a.stream.matched != nil {
			a.stream.matched[old.ID] = true
		}
		next, action, changes, f := a.decide(it, old, b.homes)
		var note string
		if f == nil {
			if next != nil && it.emailDefaulted {
				next.emailTemplate = a.at.opts.Defaults["email"]
			}
			note, f = a.checkUnique(next, old, &b, it.line)
		}
		if f != nil {
			failResult(res, f, it.fields, a.secret, a.width)
			continue
		}
		res.Action, res.Changes, res.Message = action, changes, note
		if setsPassword(old, &it.row) {
			if it.row.SSHAPassword != "" {
				next.PasswordHash = it.row.SSHAPassword
			} else {
				hashFor = append(hashFor, next)
				passwords = append(passwords, it.row.Password)
			}
		}
		switch {
		case old == nil:
			next.ID = b.ids[len(w.inserts)]
			w.inserts = append(w.inserts, next)
		case len(changes) > 0 || setsPassword(old, &it.row):
			w.updates = append(w.updates, next)
		}
		if old != nil {
			next.ID = old.ID
		}
		res.ObjectID = next.ID
		it.row.Password, it.row.SSHAPassword = "", ""
	}
	if err := hashPasswords(ctx, hashFor, passwords); err != nil {
		return w, err
	}
	a.at.record(typeUsers, results)
	return w, nil
}

// write applies a planned batch in the import's transaction: new users by
// COPY, changed ones by COPY into a stage and one UPDATE.
func (a *userApplier) write(ctx context.Context, w userWrites) error {
	if a.inTx != nil {
		a.inTx.Lock()
		defer a.inTx.Unlock()
	}
	if err := a.insert(ctx, a.at.tx, w.inserts); err != nil {
		return err
	}
	return a.update(ctx, a.at.tx, w.updates)
}

// decide applies the row to the stored user (nil: none) by the status
// transitions of docs/import-rules.md#row-outcomes and returns the user as it should be stored.
func (a *userApplier) decide(it *userItem, old *storedUser, homes map[string]home) (*storedUser, string, map[string][2]any, *rowFailure) {
	r := &it.row
	if old != nil && !old.InScope {
		return nil, "", nil, &rowFailure{code: "out_of_scope", message: fmt.Sprintf("user %q belongs to an account outside the one this import was posted to", r.UserID)}
	}
	if r.LoginID == deleteMarker {
		return nil, "", nil, &rowFailure{code: "invalid_value", message: "column login_id: a login id cannot be cleared"}
	}
	switch t := a.at.opts.UserUploadType; {
	case t == "create_only" && old != nil:
		return nil, "", nil, &rowFailure{code: "exists", skip: true, message: fmt.Sprintf("user_upload_type is create_only and user %q exists", r.UserID)}
	case t == "update_only" && old == nil:
		return nil, "", nil, &rowFailure{code: "not_found", skip: true, message: fmt.Sprintf("user_upload_type is update_only and no user matches %s %q", a.at.opts.UserMatchOn, it.key)}
	}
	if r.Status == "deleted" && a.at.opts.SkipDeletes {
		return nil, "", nil, &rowFailure{code: "skip_deletes", message: "skip_deletes is set: the row's deletion was not applied", skip: true}
	}
	if old == nil {
		if r.OldLoginID != "" && a.at.opts.UserMatchOn == "login_id" {
			return nil, "", nil, &rowFailure{code: "not_found", skip: true, message: fmt.Sprintf("no user has login id %q to rename", r.OldLoginID)}
		}
		if f := a.newUserNeeds(r); f != nil {
			return nil, "", nil, f
		}
		if r.Status == "deleted" {
			return nil, "", nil, &rowFailure{code: "not_found", message: fmt.Sprintf("user %q does not exist, so it cannot be deleted", r.UserID), skip: true}
		}
		u := &storedUser{SISUserID: r.UserID, State: r.Status, AccountID: a.at.account.ID}
		if f := a.setHome(u, r, homes); f != nil {
			return nil, "", nil, f
		}
		applyUserFields(u, r, true)
		u.Properties = withProperties(nil, it.props)
		return u, result.Created, nil, nil
	}
	if !a.detailsFor(it, old) {
		return old, result.Unchanged, nil, nil
	}
	u := *old
	if f := a.setHome(&u, r, homes); f != nil {
		return nil, "", nil, f
	}
	applyUserFields(&u, r, false)
	u.Properties = withProperties(old.Properties, it.props)
	if r.Status != "" {
		u.State = r.Status
	}
	if u.SISUserID == "" || (a.at.opts.UpdateSISIDIfLoginClaimed && a.at.opts.UserMatchOn == "user_id" && r.UserID != "") {
		// Matched on another column, or the holder of the row's login was
		// adopted (adoptLoginHolders): the row gives the user its SIS id.
		u.SISUserID = r.UserID
	}
	stuck := a.applyStickiness(old, &u)
	changes := diffUsers(old, &u)
	if len(changes) == 0 && len(stuck) > 0 && !setsPassword(old, r) {
		return nil, "", nil, stuckRow(stuck)
	}
	if old.State == "deleted" && u.State == "deleted" {
		// A deleted user listed as deleted stays as it is (docs/import-rules.md#row-outcomes).
		return old, result.Unchanged, nil, nil
	}
	action := result.Updated
	switch {
	case old.State == u.State && len(changes) == 0:
		action = result.Unchanged
	case u.State == "deleted" && old.State != "deleted":
		action = result.Deleted
	case u.State == "active" && old.State != "active":
		action = result.Reactivated
	case u.State == "suspended" && old.State == "active":
		action = result.Deactivated
	}
	if action == result.Unchanged && setsPassword(old, r) {
		action = result.Updated
	}
	return &u, action, changes, nil
}

// applyStickiness puts back the row's changes to fields that stick
// (docs/import-rules.md#stickiness-and-manual-objects) and returns their names; with override_sis_stickiness it writes
// them, and marks or clears them with add_ or clear_sis_stickiness.
func (a *userApplier) applyStickiness(old, u *storedUser) (stuck []string) {
	o := a.at.opts
	fields := map[string][2]*string{
		"login_id": {&old.LoginID, &u.LoginID}, "name": {&old.Name, &u.Name}, "first_name": {&old.FirstName, &u.FirstName},
		"last_name": {&old.LastName, &u.LastName}, "sortable_name": {&old.SortableName, &u.SortableName},
		"short_name": {&old.ShortName, &u.ShortName}, "pronouns": {&old.Pronouns, &u.Pronouns},
		"workflow_state": {&old.State, &u.State},
	}
	if o.OverrideSISStickiness {
		var written []string
		for name, f := range fields {
			if *f[0] != *f[1] {
				written = append(written, name)
			}
		}
		switch {
		case o.AddSISStickiness:
			u.Sticky = union(old.Sticky, written)
		case o.ClearSISStickiness:
			u.Sticky = without(old.Sticky, written)
		}
		return nil
	}
	for _, name := range old.Sticky {
		if f, ok := fields[name]; ok && *f[0] != *f[1] {
			*f[1] = *f[0]
			stuck = append(stuck, name)
		}
	}
	sort.Strings(stuck)
	return stuck
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func without(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// withProperties is the stored properties with the row's cells applied: a
// nil cell (<delete>) removes the property.
func withProperties(stored, cells map[string]any) map[string]any {
	if len(cells) == 0 {
		return stored // most files carry no property columns: share, allocate nothing
	}
	out := make(map[string]any, len(stored)+len(cells))
	for k, v := range stored {
		out[k] = v
	}
	for k, v := range cells {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// propertiesJSON is the properties column's value; an empty set is written
// as a constant instead of being marshalled for every row.
func propertiesJSON(p map[string]any) any {
	if len(p) == 0 {
		return "{}"
	}
	return p
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// setHome gives the user the home account the row's account_id names:
// empty keeps it (a new user's is the import's account); it must be
// inside the import's account (docs/import-rules.md#files).
func (a *userApplier) setHome(u *storedUser, r *userRow, homes map[string]home) *rowFailure {
	if r.AccountID == "" {
		return nil
	}
	h, ok := homes[r.AccountID]
	switch {
	case !ok:
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column account_id: no account %q in this root account", r.AccountID)}
	case !h.inScope:
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column account_id: account %q is outside the account this import was posted to", r.AccountID)}
	}
	u.AccountID = h.id
	return nil
}

// setsPassword: a password is set on creation, or when the user has none
// yet (docs/import-rules.md#passwords).
func setsPassword(old *storedUser, r *userRow) bool {
	return (r.Password != "" || r.SSHAPassword != "") && (old == nil || !old.HasPassword)
}

// applyUserFields sets what the row gives: empty keeps, <delete> clears,
// and names are derived as Canvas derives them.
func applyUserFields(u *storedUser, r *userRow, isNew bool) {
	set := func(dst *string, v string) {
		switch v {
		case "":
		case deleteMarker:
			*dst = ""
		default:
			*dst = v
		}
	}
	set(&u.LoginID, r.LoginID)
	set(&u.IntegrationID, r.IntegrationID)
	set(&u.Email, r.Email)
	set(&u.Pronouns, r.Pronouns)
	set(&u.DeclaredType, r.DeclaredUserType)
	set(&u.AuthProvider, r.AuthProvider)
	set(&u.FirstName, r.FirstName)
	set(&u.LastName, r.LastName)
	// A derived name that is cleared is derived again.
	namesGiven := r.FirstName != "" || r.LastName != ""
	switch {
	case r.FullName != "" && r.FullName != deleteMarker:
		u.Name = r.FullName
	case namesGiven || r.FullName == deleteMarker || isNew:
		u.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	if u.Name == "" {
		u.Name = u.LoginID
	}
	switch {
	case r.SortableName != "" && r.SortableName != deleteMarker:
		u.SortableName = r.SortableName
	case namesGiven && u.FirstName != "" && u.LastName != "":
		u.SortableName = u.LastName + ", " + u.FirstName
	case namesGiven || isNew || r.FullName != "" || r.SortableName == deleteMarker:
		u.SortableName = sortableFrom(u.Name)
	}
	switch {
	case r.ShortName != "" && r.ShortName != deleteMarker:
		u.ShortName = r.ShortName
	case isNew || r.ShortName == deleteMarker:
		u.ShortName = u.Name
	}
}

// sortableFrom turns "First Last" into "Last, First" as Canvas does.
func sortableFrom(name string) string {
	i := strings.LastIndexByte(name, ' ')
	if i < 0 {
		return name
	}
	return name[i+1:] + ", " + name[:i]
}

// diffUsers lists the changed fields as [old, new]; cleared values are null.
func diffUsers(old, u *storedUser) map[string][2]any {
	var ch map[string][2]any
	add := func(name, o, n string) {
		if o == n {
			return
		}
		if ch == nil {
			ch = map[string][2]any{}
		}
		ch[name] = [2]any{result.NullString(o), result.NullString(n)}
	}
	if old.AccountID != u.AccountID {
		ch = map[string][2]any{"account_id": {old.AccountID, u.AccountID}}
	}
	add("sis_user_id", old.SISUserID, u.SISUserID)
	add("login_id", old.LoginID, u.LoginID)
	add("integration_id", old.IntegrationID, u.IntegrationID)
	add("name", old.Name, u.Name)
	add("first_name", old.FirstName, u.FirstName)
	add("last_name", old.LastName, u.LastName)
	add("sortable_name", old.SortableName, u.SortableName)
	add("short_name", old.ShortName, u.ShortName)
	add("email", old.Email, u.Email)
	add("pronouns", old.Pronouns, u.Pronouns)
	add("declared_user_type", old.DeclaredType, u.DeclaredType)
	add("authentication_provider_id", old.AuthProvider, u.AuthProvider)
	add("workflow_state", old.State, u.State)
	for name, v := range u.Properties {
		if o, had := old.Properties[name]; !had || !sameJSON(o, v) {
			if ch == nil {
				ch = map[string][2]any{}
			}
			ch["property."+name] = [2]any{o, v}
		}
	}
	for name, o := range old.Properties {
		if _, kept := u.Properties[name]; !kept {
			if ch == nil {
				ch = map[string][2]any{}
			}
			ch["property."+name] = [2]any{o, nil}
		}
	}
	if !slices.Equal(old.Sticky, u.Sticky) {
		if ch == nil {
			ch = map[string][2]any{}
		}
		ch["sticky_fields"] = [2]any{old.Sticky, u.Sticky}
	}
	return ch
}

// checkUnique fails a row whose login id, integration id or (with
// prevent_email_duplicates) email belongs to another user, in the directory
// or earlier in this import, and otherwise claims them for the row's user.
// With append_counter a new user whose login is taken gets the first free
// login with a counter (jdoe2, jdoe3, …); note says so.
func (a *userApplier) checkUnique(u, old *storedUser, b *userBatch, line int) (note string, f *rowFailure) {
	if u == nil {
		return "", nil
	}
	self := int64(-1)
	if old != nil {
		self = old.ID
	}
	// An extra login's ids are unique across every login, the user's own
	// included: one of this user's extra logins holds them as much as
	// another user's does.
	takenBy := func(key string) (owner string, taken bool) {
		if id, ok := b.owners[key]; ok && id != self {
			return "another user", true
		}
		if id, ok := b.extra[key]; ok {
			return extraHolder(id, self), true
		}
		if first, ok := a.claimed.Lookup(key); ok {
			return "the user on " + a.stream.where(first), true
		}
		return "", false
	}
	if u.SISUserID != "" && (old == nil || old.SISUserID != u.SISUserID) {
		if id, ok := b.extra["s:"+u.SISUserID]; ok {
			return "", &rowFailure{code: "sis_id_taken", message: fmt.Sprintf("column user_id: %q belongs to %s", u.SISUserID, extraHolder(id, self))}
		}
	}
	o := a.at.opts
	var claims []string
	if old == nil || !strings.EqualFold(old.LoginID, u.LoginID) {
		if owner, taken := takenBy("l:" + strings.ToLower(u.LoginID)); taken {
			if old != nil || (o.DuplicateLoginIDs != "append_counter" && o.UserUploadType != "create_all_rename") {
				return "", &rowFailure{code: "login_taken", message: fmt.Sprintf("column login_id: %q is already the login of %s", u.LoginID, owner)}
			}
			base := u.LoginID
			for n := 2; ; n++ {
				cand := fmt.Sprintf("%s%d", base, n)
				if _, t := takenBy("l:" + strings.ToLower(cand)); !t && !b.taken[strings.ToLower(cand)] {
					u.LoginID = cand
					note = fmt.Sprintf("login id %q was taken by %s; the user was created as %q", base, owner, cand)
					if u.emailTemplate != "" {
						u.Email, _ = expand(u.emailTemplate, u.FirstName, u.LastName, cand)
					}
					break
				}
			}
		}
		claims = append(claims, "l:"+strings.ToLower(u.LoginID))
	}
	if u.IntegrationID != "" && (old == nil || old.IntegrationID != u.IntegrationID) {
		if owner, taken := takenBy("i:" + u.IntegrationID); taken {
			return "", &rowFailure{code: "integration_id_taken", message: fmt.Sprintf("column integration_id: %q belongs to %s", u.IntegrationID, owner)}
		}
		claims = append(claims, "i:"+u.IntegrationID)
	}
	if o.PreventEmailDups && u.Email != "" && (old == nil || !strings.EqualFold(old.Email, u.Email)) {
		if owner, taken := takenBy("e:" + strings.ToLower(u.Email)); taken {
			return "", &rowFailure{code: "email_taken", message: fmt.Sprintf("column email: %q is already the email of %s (prevent_email_duplicates)", u.Email, owner)}
		}
		claims = append(claims, "e:"+strings.ToLower(u.Email))
	}
	for _, k := range claims {
		a.claimed.Add(k, a.stream.pos(line))
	}
	return note, nil
}

// extraHolder names the holder of an id an extra login holds, as a
// message says it; self is the row's user (-1 for a new one).
func extraHolder(user, self int64) string {
	if user == self {
		return "this user (an extra login, logins.csv)"
	}
	return "another user (an extra login, logins.csv)"
}

// insert writes new users with COPY; their ids were allocated beforehand.
func (a *userApplier) insert(ctx context.Context, tx pgx.Tx, users []*storedUser) error {
	if len(users) == 0 {
		return nil
	}
	root, imp := a.at.account.RootAccountID, a.at.job.ID
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"users"},
		[]string{"id", "root_account_id", "account_id", "sis_user_id", "integration_id", "login_id", "name", "first_name",
			"last_name", "sortable_name", "short_name", "email", "pronouns", "declared_user_type", "authentication_provider_id",
			"workflow_state", "origin", "password_hash", "last_import_id", "properties"},
		pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
			u := users[i]
			return []any{u.ID, root, u.AccountID, result.NullString(u.SISUserID), result.NullString(u.IntegrationID), u.LoginID, u.Name, u.FirstName,
				u.LastName, u.SortableName, u.ShortName, u.Email, u.Pronouns, u.DeclaredType, u.AuthProvider,
				u.State, "sis", result.NullString(u.PasswordHash), imp, propertiesJSON(u.Properties)}, nil
		}))
	if err != nil {
		return fmt.Errorf("insert users: %w", err)
	}
	return nil
}

// update writes changed users: COPY into the stage, one UPDATE from it,
// which reaches users by the batch's ids (plans.go).
func (a *userApplier) update(ctx context.Context, tx pgx.Tx, users []*storedUser) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"users_stage"},
		[]string{"id", "account_id", "sis_user_id", "integration_id", "login_id", "name", "first_name", "last_name", "sortable_name", "short_name",
			"email", "pronouns", "declared_user_type", "authentication_provider_id", "workflow_state", "password_hash", "sticky_fields",
			"read_updated_at", "properties"},
		pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
			u := users[i]
			return []any{u.ID, u.AccountID, result.NullString(u.SISUserID), result.NullString(u.IntegrationID), u.LoginID, u.Name, u.FirstName, u.LastName, u.SortableName,
				u.ShortName, u.Email, u.Pronouns, u.DeclaredType, u.AuthProvider, u.State, result.NullString(u.PasswordHash), nonNil(u.Sticky), u.UpdatedAt, propertiesJSON(u.Properties)}, nil
		}))
	if err != nil {
		return fmt.Errorf("stage user updates: %w", err)
	}
	tag, err := tx.Exec(ctx, `UPDATE users u SET account_id = s.account_id, sis_user_id = s.sis_user_id, integration_id = s.integration_id, login_id = s.login_id, name = s.name,
			first_name = s.first_name, last_name = s.last_name, sortable_name = s.sortable_name,
			short_name = s.short_name, email = s.email, pronouns = s.pronouns, declared_user_type = s.declared_user_type,
			authentication_provider_id = s.authentication_provider_id, workflow_state = s.workflow_state,
			password_hash = COALESCE(u.password_hash, s.password_hash), sticky_fields = s.sticky_fields, properties = s.properties,
			updated_at = now(), last_import_id = $1
		FROM users_stage s WHERE u.id = s.id AND u.updated_at = s.read_updated_at AND u.id = ANY($2)`, a.at.job.ID, ids)
	if err != nil {
		return fmt.Errorf("update users: %w", err)
	}
	if n := tag.RowsAffected(); n != int64(len(users)) {
		// Someone changed a user between this import's read and its write.
		// Starting over reads the change instead of overwriting it.
		return fmt.Errorf("update users: %d of %d users changed since they were read: %w", int64(len(users))-n, len(users), ErrChangedMeanwhile)
	}
	if _, err := tx.Exec(ctx, `TRUNCATE users_stage`); err != nil {
		return fmt.Errorf("clear users stage: %w", err)
	}
	return nil
}

// ErrChangedMeanwhile stops an attempt that would overwrite a concurrent
// change; the queue runs the import again, which then sees the change.
var ErrChangedMeanwhile = errors.New("changed by someone else while the import ran")

// hashPasswords sets the users' password hashes (bcrypt), computed on every
// core at once.
func hashPasswords(ctx context.Context, users []*storedUser, passwords []string) error {
	var wg sync.WaitGroup
	work := make(chan int)
	errc := make(chan error, 1)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				h, err := bcrypt.GenerateFromPassword([]byte(passwords[i]), bcrypt.DefaultCost)
				if err != nil {
					select {
					case errc <- fmt.Errorf("hash password: %w", err):
					default:
					}
					continue
				}
				users[i].PasswordHash = string(h)
			}
		}()
	}
	for i := range passwords {
		if ctx.Err() != nil {
			break // aborted or shutting down: the batch is not written anyway
		}
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return ctx.Err()
	}
}
