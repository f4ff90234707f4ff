package importer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/keyset"
	"github.com/sisimport/sisimport/internal/result"
)

// membershipRow is one row of a group memberships file (Canvas's
// group_memberships.csv).
type membershipRow struct {
	GroupID string `csv:"group_id" validate:"required,max=255"`
	UserID  string `csv:"user_id" validate:"required,max=255"`
	Status  string `csv:"status,lower" validate:"required,oneof=accepted deleted"`
}

// typeGroupMemberships is the type's name.
const typeGroupMemberships = "group_memberships"

func init() {
	register(&fileType{name: typeGroupMemberships, batch: "group_membership", entity: "group_membership",
		detect: func(h header) bool { return h.has("group_id") && h.has("user_id") }, detectRank: 70,
		applyRank: 100, layout: layoutOf(&membershipRow{}), required: []string{"status"}, apply: importMemberships,
		restore: restoring("group_memberships", ""),
		diffKey: []string{"group_id", "user_id"}, diffRowKey: membershipKey,
		drop: &dropRule{find: `SELECT m.id, u.sis_user_id, m.workflow_state FROM unnest($4::text[], $5::text[]) AS k(grp, usr)
			JOIN groups g ON g.root_account_id = $1 AND g.sis_group_id = k.grp
			JOIN users u ON u.root_account_id = $1 AND u.sis_user_id = k.usr
			JOIN group_memberships m ON m.group_id = g.id AND m.user_id = u.id
			JOIN accounts a ON a.id = g.account_id
			WHERE $2 = ANY(a.path) AND g.origin = 'sis' AND m.workflow_state NOT IN ($3, 'deleted') ORDER BY m.id`,
			update: `UPDATE group_memberships SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
	})
}

// membershipKey is what identifies a membership in a file: its group and
// user; "" when either is missing.
func membershipKey(cells []string) string {
	if cells[0] == "" || cells[1] == "" {
		return ""
	}
	return cells[0] + "\x00" + cells[1]
}

// membershipItem is one row of a batch and what it resolved to.
type membershipItem struct {
	batchRow
	row         membershipRow
	group, user int64
	id          int64 // the stored membership, 0 if none
	state       string
	digest      uint64 // of the row, for its diffing base
}

// importMemberships applies a group memberships file a batch at a time: a
// batch's groups, users and stored memberships are read with one query
// each, new memberships written with one INSERT and changed ones with one
// UPDATE. (Rows a row at a time made three or four round trips each.)
func importMemberships(ctx context.Context, at *attempt, f *typedFile) error {
	parse := func(rec csvread.Record, fail *rowFailure) membershipItem {
		it := membershipItem{batchRow: newBatchRow(f, rec)}
		if fail != nil {
			it.fail(fail)
			return it
		}
		r := &it.row
		f.fill(r, rec)
		it.res.SISID = r.UserID
		key := membershipKey([]string{r.GroupID, r.UserID})
		if f.stream.base != nil {
			it.digest = f.digester.Digest(rec.Fields)
		}
		if fail := f.check(r, rec.Line, key, fmt.Sprintf("user %q in group %q", r.UserID, r.GroupID)); fail != nil {
			it.fail(fail)
		}
		return it
	}
	err := readBatches(f, parse, func(batch []membershipItem) error {
		if base := f.stream.base; base != nil {
			// Every row with a key lists it, even one that fails now.
			same := 0
			err := keyset.MarkBase(base, batch, func(it *membershipItem) (string, uint64) {
				return membershipKey([]string{it.row.GroupID, it.row.UserID}), it.digest
			}, func(it *membershipItem) {
				if !it.settled {
					it.settled, it.res.Action = true, result.Unchanged // as in the diffing base
					same++
				}
			})
			if err != nil {
				return err
			}
			f.stream.changed += len(batch) - same
		}
		return at.applyMemberships(ctx, batch)
	})
	if err != nil {
		return err
	}
	return at.dropGone(ctx, f)
}

// applyMemberships resolves, decides and writes a batch, then records its
// results in file order.
func (at *attempt) applyMemberships(ctx context.Context, batch []membershipItem) error {
	var groupIDs, userIDs []string
	for i := range batch {
		if it := &batch[i]; !it.settled {
			groupIDs, userIDs = append(groupIDs, it.row.GroupID), append(userIDs, it.row.UserID)
		}
	}
	groups, err := at.groupsBySIS(ctx, groupIDs)
	if err != nil {
		return err
	}
	users, err := at.usersBySIS(ctx, at.tx, userIDs)
	if err != nil {
		return err
	}
	var open []*membershipItem
	for i := range batch {
		it := &batch[i]
		if it.settled {
			continue
		}
		if f := resolveMembership(it, groups, users); f != nil {
			it.fail(f)
			continue
		}
		open = append(open, it)
	}
	if err := at.readMemberships(ctx, open); err != nil {
		return err
	}
	var inserts, updates []*membershipItem
	for _, it := range open {
		r := &it.row
		switch {
		case it.id == 0 && r.Status == "deleted":
			it.fail(notFound("membership of user", r.UserID))
		case it.id == 0:
			it.res.Action = result.Created
			inserts = append(inserts, it)
		case it.state == r.Status:
			it.res.ObjectID, it.res.Action = it.id, result.Unchanged
		default:
			it.res.ObjectID = it.id
			if f := at.skipDelete("membership", it.state, r.Status); f != nil {
				it.fail(f)
				continue
			}
			it.res.Changes = map[string][2]any{"workflow_state": {it.state, r.Status}}
			it.res.Action = result.Transition(it.state, r.Status, true)
			updates = append(updates, it)
		}
	}
	if err := at.writeMemberships(ctx, inserts, updates); err != nil {
		return err
	}
	recordEach(at, typeGroupMemberships, batch, func(it *membershipItem) result.Result { return it.res })
	return at.progress(ctx)
}

// resolveMembership finds the row's group and user, or says why not.
func resolveMembership(it *membershipItem, groups map[string]*storedGroup, users map[string]int64) *rowFailure {
	r := &it.row
	g := groups[r.GroupID]
	switch {
	case g == nil:
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column group_id: no group %q exists", r.GroupID)}
	case g.origin == "manual":
		return &rowFailure{code: "manual_object", skip: true, message: fmt.Sprintf("group %q was created through the API: imports never change its members", r.GroupID)}
	case !g.inScope:
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column group_id: group %q is outside the account this import was posted to", r.GroupID)}
	}
	user, ok := users[r.UserID]
	if !ok {
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column user_id: no user %q exists", r.UserID)}
	}
	it.group, it.user = g.id, user
	return nil
}

// readMemberships reads the stored membership of each resolved row.
func (at *attempt) readMemberships(ctx context.Context, items []*membershipItem) error {
	if len(items) == 0 {
		return nil
	}
	groups, users := make([]int64, len(items)), make([]int64, len(items))
	byKey := make(map[[2]int64]*membershipItem, len(items))
	for i, it := range items {
		groups[i], users[i] = it.group, it.user
		byKey[[2]int64{it.group, it.user}] = it
	}
	rows, err := at.tx.Query(ctx, `SELECT m.group_id, m.user_id, m.id, m.workflow_state
		FROM unnest($1::bigint[], $2::bigint[]) AS k(grp, usr)
		CROSS JOIN LATERAL (SELECT * FROM group_memberships m WHERE m.group_id = k.grp AND m.user_id = k.usr OFFSET 0) m`, groups, users)
	if err != nil {
		return fmt.Errorf("read memberships: %w", err)
	}
	var k [2]int64
	var id int64
	var state string
	_, err = pgx.ForEachRow(rows, []any{&k[0], &k[1], &id, &state}, func() error {
		if it := byKey[k]; it != nil {
			it.id, it.state = id, state
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read memberships: %w", err)
	}
	return nil
}

// writeMemberships inserts the new memberships and updates the changed ones.
func (at *attempt) writeMemberships(ctx context.Context, inserts, updates []*membershipItem) error {
	if len(inserts) > 0 {
		groups, users, states := make([]int64, len(inserts)), make([]int64, len(inserts)), make([]string, len(inserts))
		byKey := make(map[[2]int64]*membershipItem, len(inserts))
		for i, it := range inserts {
			groups[i], users[i], states[i] = it.group, it.user, it.row.Status
			byKey[[2]int64{it.group, it.user}] = it
		}
		rows, err := at.tx.Query(ctx, `INSERT INTO group_memberships (group_id, user_id, workflow_state, last_import_id)
			SELECT grp, usr, state, $4 FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS t(grp, usr, state)
			RETURNING group_id, user_id, id`, groups, users, states, at.job.ID)
		if err != nil {
			return fmt.Errorf("create memberships: %w", err)
		}
		var k [2]int64
		var id int64
		if _, err := pgx.ForEachRow(rows, []any{&k[0], &k[1], &id}, func() error {
			byKey[k].res.ObjectID = id
			return nil
		}); err != nil {
			return fmt.Errorf("create memberships: %w", err)
		}
	}
	if len(updates) > 0 {
		ids, states := make([]int64, len(updates)), make([]string, len(updates))
		for i, it := range updates {
			ids[i], states[i] = it.id, it.row.Status
		}
		if _, err := at.tx.Exec(ctx, `UPDATE group_memberships m SET workflow_state = t.state, last_import_id = $3, updated_at = now()
			FROM unnest($1::bigint[], $2::text[]) AS t(id, state) WHERE m.id = t.id AND m.id = ANY($1)`, ids, states, at.job.ID); err != nil {
			return fmt.Errorf("update memberships: %w", err)
		}
	}
	return nil
}
