package importer

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"
)

// storedUser is the part of a users row an import compares and writes.
type storedUser struct {
	ID            int64
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
	State         string
	HasPassword   bool
	InScope       bool
	Sticky        []string // fields changed through the API, which imports leave alone
	PasswordHash  string   // set only when this import sets the password
}

// userApplier matches and writes batches of users rows.
type userApplier struct {
	ru     *run
	file   string
	secret []int
	// claimed holds the login and integration ids this import gave to a
	// user, new or changed: the directory lookups run outside the import's
	// transaction and do not see them.
	claimed *keySet
	// empty is true when the root account had no users as the file began:
	// then there is nothing to look up, and a first load skips every lookup.
	empty bool
}

// userBatch is a batch of rows with what the directory holds for them.
type userBatch struct {
	items    []userItem
	existing map[string]*storedUser
	owners   map[string]int64 // "l:"+lower(login) or "i:"+integration id → user id
	ids      []int64          // fresh user ids, one for each row that may create a user
}

// userWrites is what a planned batch writes.
type userWrites struct {
	inserts, updates []*storedUser
}

const userStage = `CREATE TEMP TABLE IF NOT EXISTS users_stage (
	id bigint, integration_id text, login_id text, name text, first_name text, last_name text,
	sortable_name text, short_name text, email text, pronouns text, workflow_state text, password_hash text,
	sticky_fields text[]
) ON COMMIT DROP`

func (ru *run) newUserApplier(ctx context.Context, file string, secret []int) (*userApplier, error) {
	if _, err := ru.tx.Exec(ctx, userStage); err != nil {
		return nil, fmt.Errorf("create users stage: %w", err)
	}
	a := &userApplier{ru: ru, file: file, secret: secret, claimed: newKeySet()}
	err := ru.tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM users WHERE root_account_id = $1)`, ru.account.RootAccountID).Scan(&a.empty)
	if err != nil {
		return nil, fmt.Errorf("count users: %w", err)
	}
	return a, nil
}

// match looks up the stored users and the owners of the ids each batch
// needs. It reads committed data on a pooled connection: rows this import
// wrote earlier have other user ids (duplicates are failed while reading),
// and the ids it claimed are in a.claimed.
func (a *userApplier) match(ctx context.Context, in <-chan []userItem, out chan<- userBatch) error {
	for items := range in {
		b := userBatch{items: items}
		var err error
		if !a.empty {
			if b.existing, err = a.fetchExisting(ctx, items); err != nil {
				return err
			}
			if b.owners, err = a.fetchOwners(ctx, items, b.existing); err != nil {
				return err
			}
		}
		if b.ids, err = a.allocateIDs(ctx, items, b.existing); err != nil {
			return err
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// allocateIDs takes ids from the users sequence for the rows that may
// create a user, so that results can name new users before they are
// written. Ids of rows that fail after all are gaps, as sequences allow.
func (a *userApplier) allocateIDs(ctx context.Context, items []userItem, existing map[string]*storedUser) ([]int64, error) {
	n := 0
	for i := range items {
		if items[i].fail == nil && existing[items[i].row.UserID] == nil {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := a.ru.DB.Query(ctx, `SELECT nextval('users_id_seq') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("allocate user ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("allocate user ids: %w", err)
	}
	return ids, nil
}

// plan decides every row of the batch against what the directory holds,
// records the results and returns the writes.
func (a *userApplier) plan(b userBatch) (userWrites, error) {
	batch, existing := b.items, b.existing
	results := make([]Result, len(batch))
	var w userWrites
	var hashFor []*storedUser
	var passwords []string
	for i := range batch {
		it := &batch[i]
		res := &results[i]
		*res = Result{File: a.file, Row: it.line, Entity: "user", SISID: it.row.UserID}
		if it.fail != nil {
			a.fail(res, it, it.fail)
			continue
		}
		old := existing[it.row.UserID]
		next, action, changes, f := a.decide(it, old)
		if f == nil {
			f = a.checkUnique(next, old, b.owners, it.line)
		}
		if f != nil {
			a.fail(res, it, f)
			continue
		}
		res.Action, res.Changes = action, changes
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
	if err := hashPasswords(hashFor, passwords); err != nil {
		return w, err
	}
	a.ru.record(typeUsers, results)
	return w, nil
}

// write applies a planned batch in the import's transaction: new users by
// COPY, changed ones by COPY into a stage and one UPDATE.
func (a *userApplier) write(ctx context.Context, w userWrites) error {
	if err := a.insert(ctx, a.ru.tx, w.inserts); err != nil {
		return err
	}
	return a.update(ctx, a.ru.tx, w.updates)
}

func (a *userApplier) fail(res *Result, it *userItem, f *rowFailure) {
	res.Action, res.Code, res.Message = Failed, f.code, f.message
	if f.skip {
		res.Action = Skipped
		return
	}
	if it.fields != nil {
		res.RowInfo = rowInfo(it.fields, a.secret)
	}
}

// decide applies the row to the stored user (nil: none) by the status
// transitions of SPEC §4.2 and returns the user as it should be stored.
func (a *userApplier) decide(it *userItem, old *storedUser) (*storedUser, string, map[string][2]any, *rowFailure) {
	r := &it.row
	if old != nil && !old.InScope {
		return nil, "", nil, &rowFailure{code: "out_of_scope", message: fmt.Sprintf("user %q belongs to an account outside the one this import was posted to", r.UserID)}
	}
	if r.LoginID == deleteMarker {
		return nil, "", nil, &rowFailure{code: "invalid_value", message: "column login_id: a login id cannot be cleared"}
	}
	if r.Status == "deleted" && a.ru.opts.SkipDeletes {
		return nil, "", nil, &rowFailure{code: "skip_deletes", message: "skip_deletes is set: the row's deletion was not applied", skip: true}
	}
	if old == nil {
		if r.Status == "deleted" {
			return nil, "", nil, &rowFailure{code: "not_found", message: fmt.Sprintf("user %q does not exist, so it cannot be deleted", r.UserID), skip: true}
		}
		u := &storedUser{SISUserID: r.UserID, State: r.Status}
		applyUserFields(u, r, true)
		return u, Created, nil, nil
	}
	u := *old
	applyUserFields(&u, r, false)
	u.State = r.Status
	stuck := a.applyStickiness(old, &u)
	changes := diffUsers(old, &u)
	if len(changes) == 0 && len(stuck) > 0 && !setsPassword(old, r) {
		return nil, "", nil, &rowFailure{code: "sticky", skip: true,
			message: fmt.Sprintf("fields changed through the API stick and were left alone: %s (override_sis_stickiness writes them)", strings.Join(stuck, ", "))}
	}
	action := Updated
	switch {
	case old.State == u.State && len(changes) == 0:
		action = Unchanged
	case u.State == "deleted" && old.State != "deleted":
		action = Deleted
	case u.State == "active" && old.State != "active":
		action = Reactivated
	case u.State == "suspended" && old.State == "active":
		action = Deactivated
	}
	if action == Unchanged && setsPassword(old, r) {
		action = Updated
	}
	return &u, action, changes, nil
}

// applyStickiness puts back the row's changes to fields that stick (SPEC
// §4.8) and returns their names; with override_sis_stickiness it writes
// them, and marks or clears them with add_ or clear_sis_stickiness.
func (a *userApplier) applyStickiness(old, u *storedUser) (stuck []string) {
	o := a.ru.opts
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

// setsPassword: a password is set on creation, or when the user has none
// yet (SPEC §4.1 "Passwords").
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
	set(&u.FirstName, r.FirstName)
	set(&u.LastName, r.LastName)
	namesGiven := r.FirstName != "" || r.LastName != ""
	switch {
	case r.FullName != "":
		set(&u.Name, r.FullName)
	case namesGiven:
		u.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	case isNew:
		u.Name = u.LoginID
	}
	switch {
	case r.SortableName != "":
		set(&u.SortableName, r.SortableName)
	case namesGiven && u.FirstName != "" && u.LastName != "":
		u.SortableName = u.LastName + ", " + u.FirstName
	case namesGiven || isNew || r.FullName != "":
		u.SortableName = sortableFrom(u.Name)
	}
	switch {
	case r.ShortName != "":
		set(&u.ShortName, r.ShortName)
	case isNew:
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
		ch[name] = [2]any{nullString(o), nullString(n)}
	}
	add("login_id", old.LoginID, u.LoginID)
	add("integration_id", old.IntegrationID, u.IntegrationID)
	add("name", old.Name, u.Name)
	add("first_name", old.FirstName, u.FirstName)
	add("last_name", old.LastName, u.LastName)
	add("sortable_name", old.SortableName, u.SortableName)
	add("short_name", old.ShortName, u.ShortName)
	add("email", old.Email, u.Email)
	add("pronouns", old.Pronouns, u.Pronouns)
	add("workflow_state", old.State, u.State)
	if !slices.Equal(old.Sticky, u.Sticky) {
		if ch == nil {
			ch = map[string][2]any{}
		}
		ch["sticky_fields"] = [2]any{old.Sticky, u.Sticky}
	}
	return ch
}

// checkUnique fails a row whose login id or integration id belongs to
// another user, in the directory or earlier in this import, and otherwise
// claims them for the row's user.
func (a *userApplier) checkUnique(u, old *storedUser, owners map[string]int64, line int) *rowFailure {
	if u == nil {
		return nil
	}
	self := int64(-1)
	if old != nil {
		self = old.ID
	}
	login := "l:" + strings.ToLower(u.LoginID)
	newLogin := old == nil || !strings.EqualFold(old.LoginID, u.LoginID)
	if newLogin {
		if id, ok := owners[login]; ok && id != self {
			return &rowFailure{code: "login_taken", message: fmt.Sprintf("column login_id: %q is already the login of another user", u.LoginID)}
		}
		if first, ok := a.claimed.lookup(login); ok {
			return &rowFailure{code: "login_taken", message: fmt.Sprintf("column login_id: %q is already the login of the user on line %d", u.LoginID, first)}
		}
	}
	integ := "i:" + u.IntegrationID
	newInteg := u.IntegrationID != "" && (old == nil || old.IntegrationID != u.IntegrationID)
	if newInteg {
		if id, ok := owners[integ]; ok && id != self {
			return &rowFailure{code: "integration_id_taken", message: fmt.Sprintf("column integration_id: %q belongs to another user", u.IntegrationID)}
		}
		if first, ok := a.claimed.lookup(integ); ok {
			return &rowFailure{code: "integration_id_taken", message: fmt.Sprintf("column integration_id: %q belongs to the user on line %d", u.IntegrationID, first)}
		}
	}
	if newLogin {
		a.claimed.add(login, line)
	}
	if newInteg {
		a.claimed.add(integ, line)
	}
	return nil
}

const userSelect = `SELECT u.id, u.sis_user_id, COALESCE(u.integration_id, ''), u.login_id, u.name, u.first_name,
	u.last_name, u.sortable_name, u.short_name, u.email, u.pronouns, u.workflow_state, u.password_hash IS NOT NULL,
	$2 = ANY(a.path), u.sticky_fields
	FROM users u JOIN accounts a ON a.id = u.account_id
	WHERE u.root_account_id = $1 AND u.sis_user_id = ANY($3)`

// fetchExisting reads the stored users the batch names, in one query.
func (a *userApplier) fetchExisting(ctx context.Context, batch []userItem) (map[string]*storedUser, error) {
	ids := make([]string, 0, len(batch))
	for i := range batch {
		if batch[i].fail == nil {
			ids = append(ids, batch[i].row.UserID)
		}
	}
	rows, err := a.ru.DB.Query(ctx, userSelect, a.ru.account.RootAccountID, a.ru.account.ID, ids)
	if err != nil {
		return nil, fmt.Errorf("fetch users: %w", err)
	}
	defer rows.Close()
	out := make(map[string]*storedUser, len(ids))
	for rows.Next() {
		u := &storedUser{}
		if err := rows.Scan(&u.ID, &u.SISUserID, &u.IntegrationID, &u.LoginID, &u.Name, &u.FirstName, &u.LastName,
			&u.SortableName, &u.ShortName, &u.Email, &u.Pronouns, &u.State, &u.HasPassword, &u.InScope, &u.Sticky); err != nil {
			return nil, fmt.Errorf("fetch users: %w", err)
		}
		out[u.SISUserID] = u
	}
	return out, rows.Err()
}

// fetchOwners finds who holds the login ids and integration ids that rows
// would give to a new user or change to, in one query.
func (a *userApplier) fetchOwners(ctx context.Context, batch []userItem, existing map[string]*storedUser) (map[string]int64, error) {
	var logins, integs []string
	for i := range batch {
		it := &batch[i]
		if it.fail != nil {
			continue
		}
		old := existing[it.row.UserID]
		if l := it.row.LoginID; l != "" && l != deleteMarker && (old == nil || !strings.EqualFold(old.LoginID, l)) {
			logins = append(logins, strings.ToLower(l))
		}
		if v := it.row.IntegrationID; v != "" && v != deleteMarker && (old == nil || old.IntegrationID != v) {
			integs = append(integs, v)
		}
	}
	owners := map[string]int64{}
	if len(logins) == 0 && len(integs) == 0 {
		return owners, nil
	}
	rows, err := a.ru.DB.Query(ctx, `
		SELECT 'l:' || lower(login_id), id FROM users WHERE root_account_id = $1 AND lower(login_id) = ANY($2)
		UNION ALL
		SELECT 'i:' || integration_id, id FROM users WHERE root_account_id = $1 AND integration_id = ANY($3)`,
		a.ru.account.RootAccountID, logins, integs)
	if err != nil {
		return nil, fmt.Errorf("fetch login owners: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			return nil, fmt.Errorf("fetch login owners: %w", err)
		}
		owners[k] = id
	}
	return owners, rows.Err()
}

// insert writes new users with COPY; their ids were allocated beforehand.
func (a *userApplier) insert(ctx context.Context, tx pgx.Tx, users []*storedUser) error {
	if len(users) == 0 {
		return nil
	}
	root, acct, imp := a.ru.account.RootAccountID, a.ru.account.ID, a.ru.job.ID
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"users"},
		[]string{"id", "root_account_id", "account_id", "sis_user_id", "integration_id", "login_id", "name", "first_name",
			"last_name", "sortable_name", "short_name", "email", "pronouns", "workflow_state", "origin", "password_hash", "last_import_id"},
		pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
			u := users[i]
			return []any{u.ID, root, acct, u.SISUserID, nullString(u.IntegrationID), u.LoginID, u.Name, u.FirstName,
				u.LastName, u.SortableName, u.ShortName, u.Email, u.Pronouns, u.State, "sis", nullString(u.PasswordHash), imp}, nil
		}))
	if err != nil {
		return fmt.Errorf("insert users: %w", err)
	}
	return nil
}

// update writes changed users: COPY into the stage, one UPDATE from it.
func (a *userApplier) update(ctx context.Context, tx pgx.Tx, users []*storedUser) error {
	if len(users) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"users_stage"},
		[]string{"id", "integration_id", "login_id", "name", "first_name", "last_name", "sortable_name", "short_name",
			"email", "pronouns", "workflow_state", "password_hash", "sticky_fields"},
		pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
			u := users[i]
			return []any{u.ID, nullString(u.IntegrationID), u.LoginID, u.Name, u.FirstName, u.LastName, u.SortableName,
				u.ShortName, u.Email, u.Pronouns, u.State, nullString(u.PasswordHash), nonNil(u.Sticky)}, nil
		}))
	if err != nil {
		return fmt.Errorf("stage user updates: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE users u SET integration_id = s.integration_id, login_id = s.login_id, name = s.name,
			first_name = s.first_name, last_name = s.last_name, sortable_name = s.sortable_name,
			short_name = s.short_name, email = s.email, pronouns = s.pronouns, workflow_state = s.workflow_state,
			password_hash = COALESCE(u.password_hash, s.password_hash), sticky_fields = s.sticky_fields,
			updated_at = now(), last_import_id = $1
		FROM users_stage s WHERE u.id = s.id`, a.ru.job.ID)
	if err != nil {
		return fmt.Errorf("update users: %w", err)
	}
	if _, err := tx.Exec(ctx, `TRUNCATE users_stage`); err != nil {
		return fmt.Errorf("clear users stage: %w", err)
	}
	return nil
}

// hashPasswords sets the users' password hashes (bcrypt), computed on every
// core at once.
func hashPasswords(users []*storedUser, passwords []string) error {
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
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}
