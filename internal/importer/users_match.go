package importer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// match looks up, for each batch, the stored users its rows match and the
// owners of the ids they would take. It reads committed data in a
// transaction of its own, while the import's transaction writes the batch
// before: rows this import wrote earlier have other keys (duplicates fail
// while reading), and the ids it claimed are in a.claimed. When a
// change_sis_id file of the import renamed users, it reads in the
// transaction instead, taking turns with the writes (a.inTx).
func (a *userApplier) match(ctx context.Context, in <-chan []userItem, out chan<- userBatch) error {
	for items := range in {
		b := userBatch{items: items, old: make([]*storedUser, len(items)), fails: make([]*rowFailure, len(items))}
		var err error
		if a.inTx != nil {
			a.inTx.Lock()
			err = a.matchBatch(ctx, a.at.tx, &b)
			a.inTx.Unlock()
		} else {
			err = pinned(ctx, a.at.DB, func(tx pgx.Tx) error { return a.matchBatch(ctx, tx, &b) })
		}
		if err != nil {
			return err
		}
		if err := handOn(ctx, out, b); err != nil {
			return err
		}
	}
	return nil
}

func (a *userApplier) matchBatch(ctx context.Context, q querier, b *userBatch) error {
	if !a.stream.empty {
		if err := a.matchUsers(ctx, q, b); err != nil {
			return err
		}
		if err := a.fetchOwners(ctx, q, b); err != nil {
			return err
		}
		if err := a.adoptLoginHolders(ctx, q, b); err != nil {
			return err
		}
	}
	b.homes = a.stream.homes
	var err error
	b.ids, err = a.allocateIDs(ctx, q, b)
	return err
}

// keyColumns are the SQL conditions that find a user by the key k.key
// user_match_on names, each as its index has it (users_email leaves out
// empty emails, and keys are never empty).
var keyColumns = map[string]string{"user_id": "u.sis_user_id = k.key", "login_id": "lower(u.login_id) = k.key",
	"email": "u.email <> '' AND lower(u.email) = k.key", "integration_id": "u.integration_id = k.key", "id": "u.id = k.key::bigint"}

// adoptLoginHolders gives a row that matched no user by user_id the user
// who holds its login id, as Canvas does: always when that user has no
// SIS id, and with update_sis_id_if_login_claimed when it has another one,
// which the row's user_id replaces (docs/import-rules.md#users-files). Only
// when matching on user_id; otherwise the row fails login_taken.
func (a *userApplier) adoptLoginHolders(ctx context.Context, q querier, b *userBatch) error {
	if a.at.opts.UserMatchOn != "user_id" {
		return nil
	}
	holders := map[*userItem]string{} // a row → the id of its login's holder
	for i := range b.items {
		it := &b.items[i]
		if it.settled() || b.fails[i] != nil || b.old[i] != nil || it.row.UserID == "" {
			continue
		}
		if id, ok := b.owners["l:"+strings.ToLower(it.row.LoginID)]; ok {
			holders[it] = strconv.FormatInt(id, 10)
		}
	}
	if len(holders) == 0 {
		return nil
	}
	byID, err := a.fetchBy(ctx, q, "id", b.items, func(it *userItem) string { return holders[it] })
	if err != nil {
		return err
	}
	adopted := map[int64]bool{}
	for i := range b.items {
		it := &b.items[i]
		found := byID[holders[it]]
		if len(found) != 1 || adopted[found[0].ID] {
			continue
		}
		if u := found[0]; u.SISUserID == "" || a.at.opts.UpdateSISIDIfLoginClaimed {
			b.old[i], adopted[u.ID] = u, true
		}
	}
	return nil
}

// matchUsers finds each row's user by the user_match_on column (docs/import-rules.md#user-options):
// two users with the value fail the row with ambiguous_match; with
// user_match_fallback_login_id a row that matched nobody tries its login
// id. Matching on another column checks the row's user_id against the
// user found (docs/import-rules.md#matching-on-another-key).
func (a *userApplier) matchUsers(ctx context.Context, q querier, b *userBatch) error {
	on := a.at.opts.UserMatchOn
	byKey, err := a.fetchBy(ctx, q, on, b.items, func(it *userItem) string { return it.key })
	if err != nil {
		return err
	}
	for i := range b.items {
		it := &b.items[i]
		if it.settled() {
			continue
		}
		switch found := byKey[it.key]; {
		case len(found) > 1:
			b.fails[i] = &rowFailure{code: "ambiguous_match", message: fmt.Sprintf("%d users have %s %q; matching needs exactly one", len(found), on, it.key)}
		case len(found) == 1:
			b.old[i] = found[0]
		}
	}
	if a.at.opts.MatchFallbackLoginID && on != "login_id" {
		byLogin, err := a.fetchBy(ctx, q, "login_id", b.items, func(it *userItem) string { return strings.ToLower(it.row.LoginID) })
		if err != nil {
			return err
		}
		for i := range b.items {
			if b.old[i] == nil && b.fails[i] == nil && !b.items[i].settled() {
				if found := byLogin[strings.ToLower(b.items[i].row.LoginID)]; len(found) == 1 {
					b.old[i] = found[0]
				}
			}
		}
	}
	if on == "user_id" && !a.at.opts.MatchFallbackLoginID {
		return nil
	}
	bySIS, err := a.fetchBy(ctx, q, "user_id", b.items, func(it *userItem) string { return it.row.UserID })
	if err != nil {
		return err
	}
	for i := range b.items {
		it, old := &b.items[i], b.old[i]
		if it.settled() || b.fails[i] != nil || it.row.UserID == "" {
			continue
		}
		owner := bySIS[it.row.UserID]
		switch {
		case old != nil && old.SISUserID != "" && old.SISUserID != it.row.UserID:
			b.fails[i] = &rowFailure{code: "identity_mismatch", message: fmt.Sprintf("the user matched by %s has user_id %q, not %q", on, old.SISUserID, it.row.UserID)}
		case len(owner) == 1 && (old == nil || owner[0].ID != old.ID):
			b.fails[i] = &rowFailure{code: "identity_mismatch", message: fmt.Sprintf("user_id %q belongs to another user than the one matched by %s", it.row.UserID, on)}
		}
	}
	return nil
}

// userSelect reads the users of root account $1 that cond, a condition on
// k.key, finds for one of the keys $3, with $2's scope, and the key.
// It looks the keys up one at a time: with "= ANY($3)" PostgreSQL read
// every user of the root account for a batch's 5,000 keys when its
// statistics were missing (right after a big import), and a parallel scan
// of them when they were fresh. At 300,000 users that took 55-122 ms a
// batch against 18-23 ms this way (EXPLAIN ANALYZE). The OFFSET 0 fences
// keep the planner from flattening the LATERAL subquery into a join; the
// user's scope is a subquery, not a join, so that no statistics of
// accounts (one row, right after an index was built on it) make the
// planner probe every key once per account.
func userSelect(cond string) string {
	return userSelectFrom + usersByKey("$3", cond)
}

// usersByKey is the users of root account $1 that cond, a condition on
// k.key, finds for one of the keys of parameter keys, each as u with its
// key, one index probe a key (see userSelect).
func usersByKey(keys, cond string) string {
	return `(SELECT u.*, k.key FROM unnest(` + keys + `::text[]) AS k(key)
	CROSS JOIN LATERAL (SELECT * FROM users u WHERE u.root_account_id = $1 AND ` + cond + ` OFFSET 0) u OFFSET 0) u`
}

// userSelectUnindexed is userSelect for a key no index serves, %[1]s (a
// user property): one scan of the root account's users for the batch.
const userSelectUnindexed = userSelectFrom + `(SELECT u.*, %[1]s AS key FROM users u
	WHERE u.root_account_id = $1 AND %[1]s = ANY($3)) u`

// userSelectFrom is the columns of a storedUser and the key, up to FROM.
const userSelectFrom = `SELECT u.id, u.account_id, COALESCE(u.sis_user_id, ''), COALESCE(u.integration_id, ''), u.login_id, u.name,
	u.first_name, u.last_name, u.sortable_name, u.short_name, u.email, u.pronouns, u.declared_user_type, u.authentication_provider_id,
	u.workflow_state, u.password_hash IS NOT NULL,
	(SELECT $2 = ANY(a.path) FROM accounts a WHERE a.id = u.account_id), u.sticky_fields, u.updated_at, NULLIF(u.properties, '{}'), u.key
	FROM `

// fetchBy reads the stored users whose column on equals the key of a row.
func (a *userApplier) fetchBy(ctx context.Context, q querier, on string, items []userItem, key func(*userItem) string) (map[string][]*storedUser, error) {
	keys := make([]string, 0, len(items))
	for i := range items {
		if k := key(&items[i]); !items[i].settled() && k != "" && k != deleteMarker {
			keys = append(keys, k)
		}
	}
	out := make(map[string][]*storedUser, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	keys = distinct(keys) // a key sent twice would find its user twice
	query, args := userSelect(keyColumns[on]), []any{a.at.account.RootAccountID, a.at.account.ID, keys}
	if name, ok := strings.CutPrefix(on, "property."); ok {
		query, args = fmt.Sprintf(userSelectUnindexed, "lower(u.properties->>$4)"), append(args, name)
	}
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("fetch users by %s: %w", on, err)
	}
	defer rows.Close()
	// One slice of users and one string of text per user: a batch of
	// 5,000 costs thousands of allocations, not the 100,000 of a pointer,
	// a slice and a string per column for each.
	users := make([]storedUser, 0, len(keys))
	found := make([]string, 0, len(keys))
	var text textRow
	for rows.Next() {
		users = append(users, storedUser{})
		u := &users[len(users)-1]
		var k string
		if err := rows.Scan(&u.ID, &u.AccountID, text.col(&u.SISUserID), text.col(&u.IntegrationID), text.col(&u.LoginID),
			text.col(&u.Name), text.col(&u.FirstName), text.col(&u.LastName), text.col(&u.SortableName), text.col(&u.ShortName),
			text.col(&u.Email), text.col(&u.Pronouns), text.col(&u.DeclaredType), text.col(&u.AuthProvider), text.col(&u.State), &u.HasPassword, &u.InScope, &u.Sticky, &u.UpdatedAt,
			&u.Properties, text.col(&k)); err != nil {
			return nil, fmt.Errorf("fetch users by %s: %w", on, err)
		}
		text.done()
		found = append(found, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fetch users by %s: %w", on, err)
	}
	ptrs := make([]*storedUser, len(users))
	for i, k := range found {
		ptrs[i] = &users[i]
		if prev, ok := out[k]; ok {
			out[k] = append(prev, ptrs[i])
		} else {
			out[k] = ptrs[i : i+1 : i+1]
		}
	}
	return out, nil
}

// textRow gathers the text columns of one row into one string, which each
// column's string is a slice of: one allocation a row instead of one a
// column. Pass text.col(&field) to Scan in place of &field, then call done.
type textRow struct {
	buf  []byte
	ends []int
	dst  []*string
}

// col is the scan target for the text column whose value goes to dst; a
// NULL reads as "".
func (t *textRow) col(dst *string) textColumn {
	t.dst = append(t.dst, dst)
	return textColumn{t}
}

// done sets the strings of the row scanned last and readies for the next.
func (t *textRow) done() {
	s, start := string(t.buf), 0
	for i, end := range t.ends {
		*t.dst[i] = s[start:end]
		start = end
	}
	t.buf, t.ends, t.dst = t.buf[:0], t.ends[:0], t.dst[:0]
}

type textColumn struct{ t *textRow }

// ScanBytes copies the column out of pgx's buffer, which the next row
// reuses (pgtype.BytesScanner).
func (c textColumn) ScanBytes(v []byte) error {
	c.t.buf = append(c.t.buf, v...)
	c.t.ends = append(c.t.ends, len(c.t.buf))
	return nil
}

// fetchOwners finds who holds the login ids, integration ids and (with
// prevent_email_duplicates) emails that rows would give to a new user or
// change to, and with append_counter the numbered logins already taken;
// when the root account has extra logins, who holds those ids and the SIS
// ids rows would give through one (docs/import-rules.md#logins-files).
func (a *userApplier) fetchOwners(ctx context.Context, q querier, b *userBatch) error {
	k := a.ownerKeys(b)
	b.owners = map[string]int64{}
	if len(k.logins)+len(k.integs)+len(k.emails) > 0 {
		if err := a.fetchUserOwners(ctx, q, b, k); err != nil {
			return err
		}
	}
	if a.stream.extraLogins && len(k.logins)+len(k.integs)+len(k.sis) > 0 {
		return a.fetchLoginHolders(ctx, q, b, k)
	}
	return nil
}

// ownerKeys are the ids a batch's rows would take, each list distinct.
type ownerKeys struct {
	logins, integs, emails, sis, prefixes []string
}

func (a *userApplier) ownerKeys(b *userBatch) ownerKeys {
	o := a.at.opts
	counters := o.DuplicateLoginIDs == "append_counter" || o.UserUploadType == "create_all_rename"
	var k ownerKeys
	for i := range b.items {
		it, old := &b.items[i], b.old[i]
		if it.settled() || b.fails[i] != nil {
			continue
		}
		if l := it.row.LoginID; l != "" && l != deleteMarker && (old == nil || !strings.EqualFold(old.LoginID, l)) {
			k.logins = append(k.logins, strings.ToLower(l))
			if counters && old == nil {
				k.prefixes = append(k.prefixes, likePrefix(strings.ToLower(l)))
			}
		}
		if v := it.row.IntegrationID; v != "" && v != deleteMarker && (old == nil || old.IntegrationID != v) {
			k.integs = append(k.integs, v)
		}
		if v := it.row.Email; o.PreventEmailDups && v != "" && v != deleteMarker && (old == nil || !strings.EqualFold(old.Email, v)) {
			k.emails = append(k.emails, strings.ToLower(v))
		}
		if v := it.row.UserID; a.stream.extraLogins && v != "" && (old == nil || old.SISUserID == "") {
			k.sis = append(k.sis, v)
		}
	}
	k.logins, k.integs, k.emails, k.sis = distinct(k.logins), distinct(k.integs), distinct(k.emails), distinct(k.sis)
	return k
}

// fetchUserOwners finds the users that hold the keys.
func (a *userApplier) fetchUserOwners(ctx context.Context, q querier, b *userBatch, k ownerKeys) error {
	// A key at a time, as userSelect explains. The numbered logins are
	// asked for only when a row needs them: LIKE cannot probe the index,
	// and read every login of the root account for each batch (the cost of
	// a new-users file grew with the directory).
	query := `SELECT 'l:' || u.key, u.id FROM ` + usersByKey("$2", keyColumns["login_id"]) + `
		UNION ALL
		SELECT 'i:' || u.key, u.id FROM ` + usersByKey("$3", keyColumns["integration_id"]) + `
		UNION ALL
		SELECT 'e:' || u.key, u.id FROM ` + usersByKey("$4", keyColumns["email"])
	args := []any{a.at.account.RootAccountID, k.logins, k.integs, k.emails}
	if len(k.prefixes) > 0 {
		query += `
		UNION ALL
		SELECT 'n:' || lower(login_id), id FROM users WHERE root_account_id = $1 AND lower(login_id) LIKE ANY($5)`
		args = append(args, k.prefixes)
	}
	return scanHolders(ctx, q, b, b.owners, "fetch id owners", query, args...)
}

// fetchLoginHolders finds the extra logins that hold the keys, one query
// a batch against the logins table alone, each key an index probe.
func (a *userApplier) fetchLoginHolders(ctx context.Context, q querier, b *userBatch, k ownerKeys) error {
	probe := func(keys, cond string) string {
		return `unnest(` + keys + `::text[]) AS k(key) CROSS JOIN LATERAL (SELECT l.user_id FROM logins l
			WHERE l.root_account_id = $1 AND ` + cond + ` OFFSET 0) l`
	}
	query := `SELECT 'l:' || k.key, l.user_id FROM ` + probe("$2", "lower(l.unique_id) = k.key") + `
		UNION ALL
		SELECT 'i:' || k.key, l.user_id FROM ` + probe("$3", "l.integration_id = k.key") + `
		UNION ALL
		SELECT 's:' || k.key, l.user_id FROM ` + probe("$4", "l.sis_user_id = k.key")
	args := []any{a.at.account.RootAccountID, k.logins, k.integs, k.sis}
	if len(k.prefixes) > 0 {
		query += `
		UNION ALL
		SELECT 'n:' || lower(unique_id), user_id FROM logins WHERE root_account_id = $1 AND lower(unique_id) LIKE ANY($5)`
		args = append(args, k.prefixes)
	}
	b.extra = map[string]int64{}
	return scanHolders(ctx, q, b, b.extra, "fetch extra logins", query, args...)
}

// scanHolders reads (key, user id) rows into into, and the numbered
// logins ("n:" keys) into b.taken.
func scanHolders(ctx context.Context, q querier, b *userBatch, into map[string]int64, what, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n, ok := strings.CutPrefix(k, "n:"); ok {
			if b.taken == nil {
				b.taken = map[string]bool{}
			}
			b.taken[n] = true
			continue
		}
		into[k] = id
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// likePrefix is a LIKE pattern for login ids that start with login.
func likePrefix(login string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(login) + "%"
}

// allocateIDs takes ids from the users sequence for the rows that may
// create a user, so that results can name new users before they are
// written. Ids of rows that fail after all are gaps, as sequences allow.
func (a *userApplier) allocateIDs(ctx context.Context, q querier, b *userBatch) ([]int64, error) {
	n := 0
	for i := range b.items {
		if !b.items[i].settled() && b.fails[i] == nil && b.old[i] == nil {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT nextval('users_id_seq') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("allocate user ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("allocate user ids: %w", err)
	}
	return ids, nil
}

// home is an account an account_id cell names.
type home struct {
	id      int64
	inScope bool
}
