package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/sisimport/sisimport/internal/result"
)

// rosterTable is what a restore needs to know of a type other than users:
// its table, and the fields an import may change (as results name them)
// with their columns. A type declares it as its restore.
type rosterTable struct {
	table   string
	columns map[string]string
	// part, when set, puts back the fields named with its prefix, which
	// live in a table of their own (a term's date overrides); a result that
	// changed one of them changed nothing else.
	part *rosterPart
}

// rosterPart restores the fields of an object named with prefix: restore
// sets them back to their values before import target, and reports false
// when it left them alone, changed since.
type rosterPart struct {
	prefix  string
	restore func(ctx context.Context, at *attempt, target, id int64, changes map[string][2]any) (bool, error)
}

// restoringWith is rt with a part: the fields named with prefix, which
// restore puts back.
func restoringWith(rt *rosterTable, prefix string, restore func(ctx context.Context, at *attempt, target, id int64, changes map[string][2]any) (bool, error)) *rosterTable {
	rt.part = &rosterPart{prefix: prefix, restore: restore}
	return rt
}

// restoreParts puts back the results of batch that changed the fields of
// t's part, records them, and returns the other results.
func (at *attempt) restoreParts(ctx context.Context, t *fileType, target int64, batch []restoreItem) ([]restoreItem, error) {
	p := t.restore.part
	var rest []restoreItem
	var results []result.Result
	for _, it := range batch {
		ours := false
		for field := range it.changes {
			ours = ours || strings.HasPrefix(field, p.prefix)
		}
		if !ours {
			rest = append(rest, it)
			continue
		}
		res := result.Result{File: it.file, Entity: t.entity, SISID: it.sisID, ObjectID: it.userID, Action: result.Updated, Changes: map[string][2]any{}}
		done, err := p.restore(ctx, at, target, it.userID, it.changes)
		if err != nil {
			return nil, err
		}
		for field, ch := range it.changes {
			res.Changes[field] = [2]any{ch[1], ch[0]}
		}
		if !done {
			res.Action, res.Code, res.Changes = result.Skipped, "changed_since", nil
			res.Message = "changed since the import (by a later import or through the API): left as it is"
		}
		results = append(results, res)
	}
	at.record(t.name, results)
	return rest, nil
}

// restoring is a type's rosterTable: its SIS id column, and the fields an
// import may change besides its state.
func restoring(table, sis string, fields ...string) *rosterTable {
	m := map[string]string{"sis_id": sis, "workflow_state": "workflow_state"}
	for _, f := range fields {
		m[f] = f
	}
	return &rosterTable{table: table, columns: m}
}

// restoreOrder are the types a roster restore puts back, members before
// what they belong to: the apply order backwards.
func restoreOrder() []*fileType {
	var ts []*fileType
	for _, t := range slices.Backward(typesApplied()) {
		if t.restore != nil {
			ts = append(ts, t)
		}
	}
	return ts
}

// restoreRoster restores the objects other than users that import target
// changed: an object goes back to its earlier values where target is still
// the import that last wrote it (or this restore, for an object that two
// of its rows changed), a batch of objects per UPDATE for each set
// of changed fields; others are skipped/changed_since.
func (at *attempt) restoreRoster(ctx context.Context, target int64, attempt int) error {
	for _, t := range restoreOrder() {
		// Newest first: an object changed by two rows (a change_sis_id and
		// then its own file) goes back through both, to the oldest values.
		after := int64(1<<63 - 1)
		for {
			rows, err := at.DB.Query(ctx, `SELECT id, object_id, file, COALESCE(sis_id, ''), action, COALESCE(changes, '{}') FROM sis_import_results
				WHERE import_id = $1 AND attempt = $2 AND id < $3 AND entity = $4 AND object_id IS NOT NULL
				  AND action IN ('created', 'updated', 'deactivated', 'reactivated', 'deleted')
				ORDER BY id DESC LIMIT $5`, target, attempt, after, t.entity, batchSize)
			if err != nil {
				return fmt.Errorf("read results to restore: %w", err)
			}
			var batch []restoreItem
			var it restoreItem
			var changes []byte
			_, err = pgx.ForEachRow(rows, []any{&after, &it.userID, &it.file, &it.sisID, &it.action, &changes}, func() error {
				it.changes = nil
				if err := json.Unmarshal(changes, &it.changes); err != nil {
					return err
				}
				batch = append(batch, it)
				return nil
			})
			if err != nil {
				return fmt.Errorf("read results to restore: %w", err)
			}
			if len(batch) == 0 {
				break
			}
			if !slices.Contains(at.types, t) {
				at.types = append(at.types, t)
			}
			if err := at.restoreRosterBatch(ctx, t, target, batch); err != nil {
				return err
			}
			if err := at.progress(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (at *attempt) restoreRosterBatch(ctx context.Context, t *fileType, target int64, batch []restoreItem) error {
	if t.restore.part != nil {
		var err error
		if batch, err = at.restoreParts(ctx, t, target, batch); err != nil || len(batch) == 0 {
			return err
		}
	}
	results := make([]result.Result, len(batch))
	// An object that two results changed (a change_sis_id row, then its own
	// file) is written once, with the oldest value of each field: results
	// come newest first, so older ones overwrite.
	befores := map[int64]map[string]any{}
	resultsOf := map[int64][]int{}
	for i, it := range batch {
		res := &results[i]
		*res = result.Result{File: it.file, Entity: t.entity, SISID: it.sisID, ObjectID: it.userID}
		before := befores[it.userID]
		if before == nil {
			before = map[string]any{"id": it.userID}
		}
		res.Changes = map[string][2]any{}
		if it.action == result.Created {
			before["workflow_state"] = "deleted"
			res.Changes["workflow_state"] = [2]any{nil, "deleted"}
		}
		unrestorable := ""
		for field, ch := range it.changes {
			col, ok := t.restore.columns[field]
			if !ok || col == "" {
				unrestorable = field
				continue
			}
			before[col] = ch[0]
			res.Changes[field] = [2]any{ch[1], ch[0]}
		}
		if unrestorable != "" {
			res.Action, res.Code, res.Changes = result.Skipped, "changed_since", nil
			res.Message = fmt.Sprintf("the import changed %s, which a restore cannot set back: left as it is", unrestorable)
			continue
		}
		befores[it.userID] = before
		resultsOf[it.userID] = append(resultsOf[it.userID], i)
	}
	// Objects with the same changed columns are written together.
	groups := map[string][]int64{}
	for id, before := range befores {
		cols := make([]string, 0, len(before))
		for c := range before {
			if c != "id" {
				cols = append(cols, c)
			}
		}
		sort.Strings(cols)
		key := strings.Join(cols, ",")
		groups[key] = append(groups[key], id)
	}
	for key, objects := range groups {
		cols := strings.Split(key, ",")
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = fmt.Sprintf("%s = r.%s", c, c)
		}
		rows := make([]map[string]any, len(objects))
		for i, id := range objects {
			rows[i] = befores[id]
		}
		doc, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		q, err := at.tx.Query(ctx, `UPDATE `+t.restore.table+` t SET `+strings.Join(set, ", ")+`, last_import_id = $2, updated_at = now()
			FROM jsonb_populate_recordset(NULL::`+t.restore.table+`, $1) r WHERE t.id = r.id AND t.last_import_id IN ($2, $3) RETURNING t.id`,
			doc, at.job.ID, target)
		if err != nil {
			return fmt.Errorf("restore %s: %w", t.restore.table, err)
		}
		ids, err := pgx.CollectRows(q, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("restore %s: %w", t.restore.table, err)
		}
		done := make(map[int64]bool, len(ids))
		for _, id := range ids {
			done[id] = true
		}
		for _, id := range objects {
			for _, j := range resultsOf[id] {
				res := &results[j]
				if !done[id] {
					res.Action, res.Code, res.Changes = result.Skipped, "changed_since", nil
					res.Message = "changed since the import (by a later import or through the API): left as it is"
					continue
				}
				from, to := "", ""
				if ch, ok := res.Changes["workflow_state"]; ok {
					from, _ = ch[0].(string)
					to, _ = ch[1].(string)
				}
				res.Action = result.Transition(from, to, true)
			}
		}
	}
	at.record(t.name, results)
	return nil
}
