package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/queue"
	"github.com/sisimport/sisimport/internal/result"
)

// restoreImport undoes what import target changed (docs/import-rules.md#restore): every user,
// and then every other object, it created, changed or removed goes back to its state and field values
// from before — where the import's write is still the last one (no later
// import wrote it, no manual edit touched it). Others are left alone and
// reported skipped/changed_since.
func (at *attempt) restoreImport(ctx context.Context, target int64) error {
	var attempt *int
	if err := at.tx.QueryRow(ctx, `SELECT results_attempt FROM sis_imports WHERE id = $1`, target).Scan(&attempt); err != nil {
		return fmt.Errorf("read restored import: %w", err)
	}
	if _, err := at.tx.Exec(ctx, userStage); err != nil {
		return fmt.Errorf("create users stage: %w", err)
	}
	a := &userApplier{at: at}
	at.types = append(at.types, byName[typeUsers])
	after := int64(0)
	for attempt != nil {
		rows, err := at.DB.Query(ctx, `SELECT id, object_id, file, COALESCE(sis_id, ''), action, COALESCE(changes, '{}') FROM sis_import_results
			WHERE import_id = $1 AND attempt = $2 AND id > $3 AND entity = 'user' AND object_id IS NOT NULL
			  AND action IN ('created', 'updated', 'deactivated', 'reactivated', 'deleted')
			ORDER BY id LIMIT $4`, target, *attempt, after, batchSize)
		if err != nil {
			return fmt.Errorf("read results to restore: %w", err)
		}
		var batch []restoreItem
		for rows.Next() {
			var it restoreItem
			var changes []byte
			if err := rows.Scan(&after, &it.userID, &it.file, &it.sisID, &it.action, &changes); err != nil {
				rows.Close()
				return fmt.Errorf("read results to restore: %w", err)
			}
			if err := json.Unmarshal(changes, &it.changes); err != nil {
				rows.Close()
				return fmt.Errorf("read results to restore: %w", err)
			}
			batch = append(batch, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read results to restore: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		if err := a.restoreBatch(ctx, target, batch); err != nil {
			return err
		}
		if err := at.progress(ctx); err != nil {
			return err
		}
	}
	if attempt == nil {
		return nil
	}
	return at.restoreRoster(ctx, target, *attempt)
}

type restoreItem struct {
	userID      int64
	file, sisID string
	action      string
	changes     map[string][2]any
}

func (a *userApplier) restoreBatch(ctx context.Context, target int64, batch []restoreItem) error {
	ids := make([]int64, len(batch))
	for i, it := range batch {
		ids[i] = it.userID
	}
	current, err := a.lockUsers(ctx, ids)
	if err != nil {
		return err
	}
	results := make([]result.Result, len(batch))
	var writes []*storedUser
	var planned []*result.Result // the result of each write, in order
	// A user that two results changed (a change_sis_id row, then the users
	// file) is written once: results come oldest first, so a field keeps
	// the value the first result that changed it had before.
	nexts := map[int64]*storedUser{}
	restored := map[int64]map[string]bool{}
	for i, it := range batch {
		res := &results[i]
		*res = result.Result{File: it.file, Entity: "user", SISID: it.sisID, ObjectID: it.userID}
		cur, ok := current[it.userID]
		if !ok || (cur.lastImport != target && cur.lastImport != a.at.job.ID) {
			res.Action, res.Code = result.Skipped, "changed_since"
			res.Message = "changed since the import (by a later import or through the API): left as it is"
			continue
		}
		next, again := nexts[it.userID]
		if !again {
			copied := cur.storedUser
			next, restored[it.userID] = &copied, map[string]bool{}
		}
		before := *next
		if it.action == result.Created {
			next.State = "deleted"
		} else {
			for field, ch := range it.changes {
				if !restored[it.userID][field] {
					setUserField(next, field, ch[0])
					restored[it.userID][field] = true
				}
			}
		}
		res.Changes = diffUsers(&before, next)
		res.Action = result.Transition(before.State, next.State, len(res.Changes) > 0)
		if len(res.Changes) > 0 && !again {
			nexts[it.userID] = next
			writes = append(writes, next)
			planned = append(planned, res)
		}
	}
	// An earlier login, integration or SIS id that another user holds now
	// cannot come back: that user is left as is.
	taken, err := a.takenByOthers(ctx, writes)
	if err != nil {
		return err
	}
	kept := writes[:0]
	for i, u := range writes {
		if msg, ok := taken[u.ID]; ok {
			*planned[i] = result.Result{File: planned[i].File, Entity: "user", SISID: planned[i].SISID, ObjectID: u.ID,
				Action: result.Skipped, Code: "changed_since", Message: msg}
			continue
		}
		kept = append(kept, u)
	}
	writes = kept
	if err := a.update(ctx, a.at.tx, writes); err != nil {
		return err
	}
	a.at.record(typeUsers, results)
	return nil
}

// takenByOthers finds the users whose restored login, integration or SIS
// id belongs to another user or an extra login now, with why.
func (a *userApplier) takenByOthers(ctx context.Context, users []*storedUser) (map[int64]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(users))
	logins, integs, sis := make([]string, len(users)), make([]string, len(users)), make([]string, len(users))
	for i, u := range users {
		ids[i], logins[i], integs[i], sis[i] = u.ID, strings.ToLower(u.LoginID), u.IntegrationID, u.SISUserID
	}
	// Extra logins (logins.csv) hold ids too, whoever's they are.
	rows, err := a.at.tx.Query(ctx, `SELECT w.id, CASE WHEN lower(o.login_id) = w.login THEN 'login id' WHEN o.integration_id = w.integ THEN 'integration id' ELSE 'SIS id' END,
			'another user'
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS w(id, login, integ, sis)
		JOIN users o ON o.root_account_id = $1 AND o.id <> w.id
		  AND (lower(o.login_id) = w.login OR (w.integ <> '' AND o.integration_id = w.integ) OR (w.sis <> '' AND o.sis_user_id = w.sis))
		UNION ALL
		SELECT w.id, CASE WHEN lower(l.unique_id) = w.login THEN 'login id' WHEN l.integration_id = w.integ THEN 'integration id' ELSE 'SIS id' END,
			'an extra login'
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS w(id, login, integ, sis)
		JOIN logins l ON l.root_account_id = $1
		  AND (lower(l.unique_id) = w.login OR (w.integ <> '' AND l.integration_id = w.integ) OR (w.sis <> '' AND l.sis_user_id = w.sis))`,
		a.at.account.RootAccountID, ids, logins, integs, sis)
	if err != nil {
		return nil, fmt.Errorf("check restored ids: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var what, holder string
		if err := rows.Scan(&id, &what, &holder); err != nil {
			return nil, fmt.Errorf("check restored ids: %w", err)
		}
		out[id] = "its earlier " + what + " belongs to " + holder + " now: left as it is"
	}
	return out, rows.Err()
}

// setUserField sets a field named as in changes to a value from changes.
func setUserField(u *storedUser, field string, v any) {
	s, _ := v.(string)
	switch field {
	case "login_id":
		u.LoginID = s
	case "integration_id":
		u.IntegrationID = s
	case "sis_user_id", "sis_id": // sis_id: a change_sis_id row
		u.SISUserID = s
	case "name":
		u.Name = s
	case "first_name":
		u.FirstName = s
	case "last_name":
		u.LastName = s
	case "sortable_name":
		u.SortableName = s
	case "short_name":
		u.ShortName = s
	case "email":
		u.Email = s
	case "pronouns":
		u.Pronouns = s
	case "declared_user_type":
		u.DeclaredType = s
	case "authentication_provider_id":
		u.AuthProvider = s
	case "workflow_state":
		u.State = s
	case "account_id":
		if f, ok := v.(float64); ok {
			u.AccountID = int64(f)
		}
	case "sticky_fields":
		u.Sticky = nil
		if list, ok := v.([]any); ok {
			for _, x := range list {
				u.Sticky = append(u.Sticky, fmt.Sprint(x))
			}
		}
	default:
		if name, ok := strings.CutPrefix(field, "property."); ok {
			u.Properties = maps.Clone(u.Properties)
			if u.Properties == nil {
				u.Properties = map[string]any{}
			}
			if v == nil {
				delete(u.Properties, name)
			} else {
				u.Properties[name] = v
			}
		}
	}
}

type lockedUser struct {
	storedUser
	lastImport int64
}

// lockUsers reads users by id in the transaction, locking them.
func (a *userApplier) lockUsers(ctx context.Context, ids []int64) (map[int64]*lockedUser, error) {
	rows, err := a.at.tx.Query(ctx, `SELECT id, account_id, COALESCE(sis_user_id, ''), COALESCE(integration_id, ''), login_id,
			name, first_name, last_name, sortable_name, short_name, email, pronouns, declared_user_type, authentication_provider_id,
			workflow_state, sticky_fields,
			properties, updated_at, COALESCE(last_import_id, 0)
		FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, fmt.Errorf("lock users to restore: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lockedUser, error) {
		u := &lockedUser{}
		err := r.Scan(&u.ID, &u.AccountID, &u.SISUserID, &u.IntegrationID, &u.LoginID, &u.Name, &u.FirstName, &u.LastName,
			&u.SortableName, &u.ShortName, &u.Email, &u.Pronouns, &u.DeclaredType, &u.AuthProvider, &u.State, &u.Sticky, &u.Properties, &u.UpdatedAt, &u.lastImport)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("lock users to restore: %w", err)
	}
	m := make(map[int64]*lockedUser, len(out))
	for _, u := range out {
		m[u.ID] = u
	}
	return m, nil
}

// finishRestore ends the restore job and its import: restored, or
// partially_restored when anything was left alone.
func (at *attempt) finishRestore(ctx context.Context, target int64) error {
	state := "restored"
	if at.total.actions["total"][result.Skipped] > 0 {
		state = "partially_restored"
	}
	if err := queue.FinishRestored(ctx, at.tx, target, state); err != nil {
		return err
	}
	o := queue.Outcome{State: state, Data: at.data(true)}
	if err := at.job.Finish(ctx, at.tx, o); err != nil {
		return err
	}
	if err := at.tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit restore: %w", err)
	}
	at.log.Info("restore done", slog.Int64("restored_import_id", target), slog.String("state", state),
		slog.Bool("partial", slices.Contains([]string{"partially_restored"}, state)))
	return nil
}
