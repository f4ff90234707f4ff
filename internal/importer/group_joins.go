package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// joinRow is a user's joining of groups by their names, as files of other
// shapes say it: a users file's group column (several names, ; between
// them), Moodle's cohortN (a group of the import's account) and groupN (a
// group of the course courseN names). No Canvas file has this type: it
// is only ever a view of another file (docs/import-rules.md#group-columns).
type joinRow struct {
	UserID   string `csv:"user_id" validate:"max=255"`
	LoginID  string `csv:"login_id,lower" validate:"max=255"`
	Groups   string `csv:"group" validate:"max=4096"`
	CourseID string `csv:"course_id" validate:"max=255"` // the groups are the course's; empty: the import's account's
}

// typeGroupJoins is the type's name; its rows count as group memberships.
const typeGroupJoins = "group_joins"

func init() {
	register(&fileType{name: typeGroupJoins, counts: "group_memberships", batch: "group_membership", entity: "group_membership",
		detect:     func(header) bool { return false }, // a view of a users file, never a file of its own
		detectRank: 1000, applyRank: 95, layout: layoutOf(&joinRow{}), apply: importGroupJoins,
	})
}

// groupJoinView reads a file's column group (or the file's column of it)
// as joins of the user the row names by user and login.
func groupJoinView(user, login, group, course string) view {
	return view{typ: byName[typeGroupJoins], only: group,
		columns: map[string]string{"user_id": user, "login_id": login, "group": group, "course_id": course}}
}

// joinItem is a row on its way through a batch: its user, the group of
// each name it gives, and a result for each: a join is a membership, with
// its id, so that a restore takes it back like any other.
type joinItem struct {
	batchRow
	row    joinRow
	names  []string
	user   int64
	groups []int64
	joins  []result.Result
}

// importGroupJoins applies a file's group cells a batch at a time: the
// user joins each named group of the import's account (or of the row's
// course), which the import makes, origin sis, when it has none of that
// name. A group made through the API is never joined, even of the same
// name: the import makes its own (docs/import-rules.md#group-columns).
// A row with an empty group cell is no join (view.only): it has no result.
func importGroupJoins(ctx context.Context, at *attempt, f *typedFile) error {
	j := &joiner{at: at, f: f, groups: map[string]int64{}, courses: map[string]*joinCourse{}}
	parse := func(rec csvread.Record, fail *rowFailure) joinItem {
		it := joinItem{batchRow: newBatchRow(f, rec)}
		if fail != nil {
			it.fail(fail)
			return it
		}
		r := &it.row
		f.fill(r, rec)
		it.res.SISID = cmp.Or(r.UserID, r.LoginID) // the id the file sent
		if fail := f.validate(r); fail != nil {
			it.fail(fail)
			return it
		}
		if it.names = splitGroups(r.Groups); len(it.names) == 0 {
			it.fail(&rowFailure{code: "missing_value", message: fmt.Sprintf("column %s: no group name", f.view.column("group"))})
		} else if r.UserID+r.LoginID == "" {
			it.fail(&rowFailure{code: "missing_value", message: fmt.Sprintf("column %s: a value is required to join groups", f.view.column("login_id"))})
		}
		return it
	}
	return readBatches(f, parse, func(batch []joinItem) error { return j.apply(ctx, batch) })
}

// splitGroups are the names of a group cell, ; between them.
func splitGroups(cell string) []string {
	var names []string
	for _, n := range strings.Split(cell, ";") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// joiner applies the batches of one file, keeping the groups and courses
// it found: a file names few of them, on many rows.
type joiner struct {
	at      *attempt
	f       *typedFile
	groups  map[string]int64       // course SIS id + "\x00" + name → group
	courses map[string]*joinCourse // by SIS id
	made    []result.Result        // the groups the batch made, each a result of the line that named it first
}

// joinCourse is the course a row's groups belong to, or why it cannot be.
type joinCourse struct {
	id, accountID int64
	fail          *rowFailure
}

// apply resolves a batch's users, courses and groups, reads the stored
// memberships with one query, writes the new ones with one INSERT and the
// rejoined ones with one UPDATE, and records the results in file order.
func (j *joiner) apply(ctx context.Context, batch []joinItem) error {
	at := j.at
	var sis, logins []string
	for i := range batch {
		if it := &batch[i]; !it.settled {
			if it.row.UserID != "" {
				sis = append(sis, it.row.UserID)
			} else {
				logins = append(logins, it.row.LoginID)
			}
		}
	}
	bySIS, err := at.userIDs(ctx, at.tx, "user_id", sis)
	if err != nil {
		return err
	}
	byLogin, err := at.userIDs(ctx, at.tx, "login_id", logins)
	if err != nil {
		return err
	}
	var open []*joinItem
	for i := range batch {
		it := &batch[i]
		if it.settled {
			continue
		}
		if fail, err := j.resolve(ctx, it, bySIS, byLogin); fail != nil || err != nil {
			if err != nil {
				return err
			}
			it.fail(fail)
			continue
		}
		open = append(open, it)
	}
	if err := j.write(ctx, open); err != nil {
		return err
	}
	if len(j.made) > 0 {
		at.record(typeGroups, j.made)
		j.made = nil
	}
	results := make([]result.Result, 0, len(batch))
	for i := range batch {
		if it := &batch[i]; it.settled {
			results = append(results, it.res)
		} else {
			results = append(results, it.joins...)
		}
	}
	at.record(typeGroupJoins, results)
	return at.progress(ctx)
}

// resolve finds the row's user, its course and each group it names,
// making the groups that are missing.
func (j *joiner) resolve(ctx context.Context, it *joinItem, bySIS, byLogin map[string]int64) (*rowFailure, error) {
	r, f := &it.row, j.f
	col, key, users := f.view.column("user_id"), r.UserID, bySIS
	if key == "" {
		col, key, users = f.view.column("login_id"), r.LoginID, byLogin
	}
	user, ok := users[key]
	if !ok {
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no user %q exists", col, key)}, nil
	}
	it.user = user
	accountID, courseID := j.at.account.ID, (*int64)(nil)
	if r.CourseID != "" {
		c, err := j.course(ctx, r.CourseID)
		if err != nil || c.fail != nil {
			return c.fail, err
		}
		accountID, courseID = c.accountID, &c.id
	}
	for _, name := range it.names {
		k := r.CourseID + "\x00" + name
		g, ok := j.groups[k]
		if !ok {
			var made bool
			var err error
			if g, made, err = j.at.groupByName(ctx, accountID, courseID, name); err != nil {
				return nil, err
			}
			j.groups[k] = g
			if made {
				j.made = append(j.made, result.Result{File: it.res.File, Row: it.res.Row, Entity: "group", ObjectID: g, Action: result.Created,
					Message: fmt.Sprintf("made for column %s: group %s", f.view.column("group"), groupWhere(name, r.CourseID))})
			}
		}
		it.groups = append(it.groups, g)
	}
	return nil, nil
}

// course is the course of a courseN cell, read once per file.
func (j *joiner) course(ctx context.Context, sis string) (*joinCourse, error) {
	if c, ok := j.courses[sis]; ok {
		return c, nil
	}
	c, err := j.at.courseBySIS(ctx, sis)
	if err != nil {
		return nil, err
	}
	col := j.f.view.column("course_id")
	jc := &joinCourse{}
	switch {
	case c == nil || c.state == "deleted":
		jc.fail = &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no course %q exists", col, sis)}
	case !c.inScope:
		jc.fail = &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column %s: course %q is outside the account this import was posted to", col, sis)}
	default:
		jc.id, jc.accountID = c.id, c.accountID
	}
	j.courses[sis] = jc
	return jc, nil
}

// write reads the stored memberships of the resolved rows, then makes the
// missing ones and accepts the deleted ones again, each join a result with
// its membership (created, reactivated or unchanged). A pair named twice
// in a batch is joined once: the later row finds it accepted.
func (j *joiner) write(ctx context.Context, items []*joinItem) error {
	at := j.at
	var groups, users []int64
	for _, it := range items {
		for _, g := range it.groups {
			groups, users = append(groups, g), append(users, it.user)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	rows, err := at.tx.Query(ctx, `SELECT DISTINCT ON (m.group_id, m.user_id) m.group_id, m.user_id, m.id, m.workflow_state
		FROM unnest($1::bigint[], $2::bigint[]) AS k(grp, usr)
		CROSS JOIN LATERAL (SELECT * FROM group_memberships m WHERE m.group_id = k.grp AND m.user_id = k.usr OFFSET 0) m
		ORDER BY m.group_id, m.user_id, m.id`, groups, users)
	if err != nil {
		return fmt.Errorf("read joins: %w", err)
	}
	type stored struct {
		id    int64
		state string
	}
	have := map[[2]int64]stored{}
	var k [2]int64
	var st stored
	if _, err := pgx.ForEachRow(rows, []any{&k[0], &k[1], &st.id, &st.state}, func() error { have[k] = st; return nil }); err != nil {
		return fmt.Errorf("read joins: %w", err)
	}
	made := map[[2]int64]*result.Result{} // each new membership's result, by group and user
	var newGroups, newUsers, rejoined []int64
	for _, it := range items {
		it.joins = make([]result.Result, len(it.groups))
		for i, g := range it.groups {
			res := &it.joins[i]
			*res = result.Result{File: it.res.File, Row: it.res.Row, Entity: it.res.Entity, SISID: it.res.SISID,
				Message: "group " + groupWhere(it.names[i], it.row.CourseID)}
			k := [2]int64{g, it.user}
			old, ok := have[k]
			res.ObjectID = old.id
			switch {
			case !ok:
				res.Action = result.Created
				newGroups, newUsers = append(newGroups, g), append(newUsers, it.user)
				made[k] = res
			case old.state != "accepted":
				res.Action = result.Transition(old.state, "accepted", true)
				res.Changes = map[string][2]any{"workflow_state": {old.state, "accepted"}}
				rejoined = append(rejoined, old.id)
			default:
				res.Action = result.Unchanged
				continue
			}
			have[k] = stored{id: old.id, state: "accepted"}
		}
	}
	if len(newGroups) > 0 {
		rows, err := at.tx.Query(ctx, `INSERT INTO group_memberships (group_id, user_id, workflow_state, last_import_id)
			SELECT grp, usr, 'accepted', $3 FROM unnest($1::bigint[], $2::bigint[]) AS t(grp, usr)
			RETURNING group_id, user_id, id`, newGroups, newUsers, at.job.ID)
		if err != nil {
			return fmt.Errorf("join groups: %w", err)
		}
		var id int64
		if _, err := pgx.ForEachRow(rows, []any{&k[0], &k[1], &id}, func() error { made[k].ObjectID = id; return nil }); err != nil {
			return fmt.Errorf("join groups: %w", err)
		}
	}
	if len(rejoined) > 0 {
		if _, err := at.tx.Exec(ctx, `UPDATE group_memberships SET workflow_state = 'accepted', last_import_id = $2, updated_at = now()
			WHERE id = ANY($1)`, rejoined, at.job.ID); err != nil {
			return fmt.Errorf("rejoin groups: %w", err)
		}
	}
	return nil
}

// groupByName is the oldest available group an import made with the
// name in the account (in the course, when courseID is set), made now
// when there is none.
func (at *attempt) groupByName(ctx context.Context, accountID int64, courseID *int64, name string) (int64, bool, error) {
	var id int64
	err := at.tx.QueryRow(ctx, `SELECT id FROM groups WHERE root_account_id = $1 AND account_id = $2 AND course_id IS NOT DISTINCT FROM $3
		AND name = $4 AND origin = 'sis' AND workflow_state = 'available' ORDER BY id LIMIT 1`,
		at.account.RootAccountID, accountID, courseID, name).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("find group by name: %w", err)
	}
	if err := at.tx.QueryRow(ctx, `INSERT INTO groups (root_account_id, account_id, course_id, name, origin, last_import_id)
		VALUES ($1, $2, $3, $4, 'sis', $5) RETURNING id`, at.account.RootAccountID, accountID, courseID, name, at.job.ID).Scan(&id); err != nil {
		return 0, false, fmt.Errorf("create group by name: %w", err)
	}
	return id, true, nil
}

// groupWhere names a group of a join for messages.
func groupWhere(name, course string) string {
	if course == "" {
		return fmt.Sprintf("%q", name)
	}
	return fmt.Sprintf("%q of course %q", name, course)
}
