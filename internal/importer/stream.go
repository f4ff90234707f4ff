package importer

import (
	"context"
	"fmt"
	"strconv"

	"github.com/sisimport/sisimport/internal/keyset"
)

// usersStream is what the users files of one import share beyond their
// fileStream: they are one stream (docs/import-rules.md#files), so a key
// repeated in a later file is a duplicate, and removals run once, after
// every users file was read.
type usersStream struct {
	*fileStream
	seenKeys, claimed *keyset.Set
	matched           map[int64]bool
	empty             bool
	homes             map[string]home // the root account's accounts by SIS id and id, read for the first file with account_id

	// extraLogins: the root account had extra logins (logins.csv) as the
	// first file began, whose ids a users row may not take; without any,
	// no batch looks.
	extraLogins bool
}

// fileStream is what the files of one type in an upload share: the keys
// seen so far, for duplicate_in_file across files, the diffing base, and
// whether any of them had a file-level error (then nothing of the type is
// removed).
type fileStream struct {
	seen *keyset.Set
	base *keyset.Base // nil when the type is not diffed
	// changed counts the rows of a diffed stream that differ from their
	// base row: new, changed or failing (docs/import-rules.md#diffing).
	changed int
	files   []string // the files read so far; a position's file index
	failed  bool
}

// stream returns the import's stream of files of the view's type, adding
// file; the first file makes it, with its diffing base.
func (at *attempt) stream(ctx context.Context, v view, file string) (*fileStream, error) {
	t := v.typ
	if at.streams == nil {
		at.streams = map[string]*fileStream{}
	}
	st := at.streams[t.name]
	if st == nil {
		st = &fileStream{seen: at.spill.NewSet()}
		if t.diffKey != nil {
			var err error
			if st.base, err = at.diffBaseFor(ctx, v, file); err != nil {
				return nil, err
			}
		}
		at.streams[t.name] = st
	}
	st.files = append(st.files, file)
	return st, nil
}

// usersStream returns the import's users stream, made on the first file.
func (at *attempt) usersStream(ctx context.Context, f *typedFile) (*usersStream, error) {
	if at.users == nil {
		st := &usersStream{fileStream: f.stream, seenKeys: at.spill.NewSet(), claimed: at.spill.NewSet()}
		if at.opts.RemoveUnlistedUsers && at.opts.UserMatchOn != "user_id" {
			st.matched = map[int64]bool{}
		}
		// login_id IS NOT NULL: users_login_id's predicate (plans.go).
		err := at.tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM users WHERE root_account_id = $1 AND login_id IS NOT NULL)`,
			at.account.RootAccountID).Scan(&st.empty)
		if err != nil {
			return nil, fmt.Errorf("count users: %w", err)
		}
		if !st.empty { // every extra login belongs to a user
			// unique_id IS NOT NULL: logins_login_id's predicate (plans.go).
			err := at.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM logins WHERE root_account_id = $1 AND unique_id IS NOT NULL)`,
				at.account.RootAccountID).Scan(&st.extraLogins)
			if err != nil {
				return nil, fmt.Errorf("look for extra logins: %w", err)
			}
		}
		at.users = st
	}
	return at.users, nil
}

// The positions kept in key sets pack the file's index with the line, so a
// duplicate can name the file and line of the first row.
const lineBits = 24

func (st *fileStream) pos(line int) int {
	return (len(st.files)-1)<<lineBits | line&(1<<lineBits-1)
}

// where says where a position is, as a message names it.
func (st *fileStream) where(pos int) string {
	file, line := pos>>lineBits, pos&(1<<lineBits-1)
	if file == len(st.files)-1 || file >= len(st.files) {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("line %d of %s", line, st.files[file])
}

// finishUsers runs what follows every users file of the import: drops
// against the diffing base and removal of unlisted users (unless a users
// file had a file-level error), then the deletion of what deleted users
// held.
func (at *attempt) finishUsers(ctx context.Context) error {
	st := at.users
	if st == nil {
		return nil
	}
	at.file = newTally()
	if !st.failed && (st.base != nil || at.opts.RemoveUnlistedUsers) {
		a := &userApplier{at: at, file: st.files[0], claimed: st.claimed, stream: st}
		if st.base != nil {
			if err := a.dropUnlisted(ctx, st.base); err != nil {
				return err
			}
		}
		if at.opts.RemoveUnlistedUsers && !at.breached {
			if err := a.removeUnlisted(ctx, st.seen); err != nil {
				return err
			}
		}
	}
	if err := at.cascadeDeletedUsers(ctx, at.appliedFile(st.fileStream)); err != nil {
		return err
	}
	at.total.add(at.file)
	return nil
}

// appliedFile is the stream's first file without a file-level error, under
// which the stream's own results (removals, cascades) are filed: results of
// a failed file are dropped.
func (at *attempt) appliedFile(st *fileStream) string {
	for _, f := range st.files {
		if !at.failedFiles[f] {
			return f
		}
	}
	return st.files[0]
}

// loadHomes reads the accounts a users file's account_id may name, in the
// import's transaction, so that accounts an accounts file of the same
// upload created are found; SIS ids win over ids.
func (at *attempt) loadHomes(ctx context.Context) (map[string]home, error) {
	rows, err := at.tx.Query(ctx, `SELECT id, COALESCE(sis_account_id, ''), $2 = ANY(path) FROM accounts WHERE root_account_id = $1`,
		at.account.RootAccountID, at.account.ID)
	if err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	defer rows.Close()
	homes := map[string]home{}
	for rows.Next() {
		var h home
		var sis string
		if err := rows.Scan(&h.id, &sis, &h.inScope); err != nil {
			return nil, fmt.Errorf("read accounts: %w", err)
		}
		if _, taken := homes[strconv.FormatInt(h.id, 10)]; !taken {
			homes[strconv.FormatInt(h.id, 10)] = h
		}
		if sis != "" {
			homes[sis] = h
		}
	}
	return homes, rows.Err()
}
