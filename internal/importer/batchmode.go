package importer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/sisimport/sisimport/internal/keyset"
)

// Canvas's batch mode (docs/import-rules.md#removing-what-the-feed-no-longer-lists): the SIS-managed courses, sections and
// enrollments of the batch's terms that the import did not list are
// removed. A type is removed from only when the upload held a file of it
// that had no file-level error, so that an enrollments-only feed never
// removes courses. Thresholds apply per type before anything commits.

const listedEnrollments = `CREATE TEMP TABLE IF NOT EXISTS listed_enrollments (id bigint) ON COMMIT DROP`

// listEnrollments remembers the stored enrollments a batch's rows named,
// for batch mode.
func (at *attempt) listEnrollments(ctx context.Context, items []*enrollmentItem) error {
	if !at.opts.BatchMode && (at.pack == nil || !at.pack.listEnrollments) {
		return nil
	}
	if _, err := at.tx.Exec(ctx, listedEnrollments); err != nil {
		return fmt.Errorf("create listed enrollments: %w", err)
	}
	var ids []int64
	for _, it := range items {
		if it.res.ObjectID != 0 {
			ids = append(ids, it.res.ObjectID)
		}
	}
	_, err := at.tx.CopyFrom(ctx, pgx.Identifier{"listed_enrollments"}, []string{"id"},
		pgx.CopyFromSlice(len(ids), func(i int) ([]any, error) { return []any{ids[i]}, nil }))
	if err != nil {
		return fmt.Errorf("list enrollments: %w", err)
	}
	return nil
}

// batchTerms resolves the terms batch mode works on.
func (at *attempt) batchTerms(ctx context.Context) ([]int64, string, error) {
	if at.opts.MultiTermBatchMode {
		if len(at.listedTerms) == 0 {
			return nil, "multi_term_batch_mode: the upload lists no terms, so nothing was removed", nil
		}
		return at.listedTerms, "", nil
	}
	ref := at.opts.BatchModeTermID
	query := `SELECT id FROM terms WHERE root_account_id = $1 AND id = $2`
	var arg any
	if sis, ok := strings.CutPrefix(ref, "sis_term_id:"); ok {
		query = `SELECT id FROM terms WHERE root_account_id = $1 AND sis_term_id = $2`
		arg = sis
	} else if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		arg = n
	} else {
		return nil, fmt.Sprintf("batch_mode_term_id: %q is neither a term id nor sis_term_id:<id>, so nothing was removed", ref), nil
	}
	var id int64
	err := at.tx.QueryRow(ctx, query, at.account.RootAccountID, arg).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Sprintf("batch_mode_term_id: no term %q exists, so nothing was removed", ref), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read batch term: %w", err)
	}
	return []int64{id}, "", nil
}

// finishBatchMode removes what the batch's terms hold and the import did
// not list: enrollments, then sections, then courses.
func (at *attempt) finishBatchMode(ctx context.Context) error {
	if !at.opts.BatchMode {
		return nil
	}
	at.file = newTally()
	defer func() { at.total.add(at.file) }()
	terms, problem, err := at.batchTerms(ctx)
	if err != nil || problem != "" {
		if problem != "" {
			at.addFileError("", &fileError{Code: "unknown_reference", Message: problem})
		}
		return err
	}
	root, scope := at.account.RootAccountID, at.account.ID
	if st := at.streams[typeEnrollments]; st != nil && !st.failed {
		if _, err := at.tx.Exec(ctx, listedEnrollments); err != nil {
			return fmt.Errorf("create listed enrollments: %w", err)
		}
		target := at.opts.BatchModeEnrollmentDropStatus
		err := at.batchRemove(ctx, typeEnrollments, "enrollment", st.files[0], target, nil, `
			SELECT e.id, u.sis_user_id, e.workflow_state, EXISTS (SELECT 1 FROM listed_enrollments l WHERE l.id = e.id)
			FROM enrollments e JOIN courses c ON c.id = e.course_id JOIN accounts a ON a.id = c.account_id JOIN users u ON u.id = e.user_id
			WHERE c.root_account_id = $1 AND c.term_id = ANY($2) AND $3 = ANY(a.path) AND e.origin = 'sis'
			  AND e.workflow_state <> 'deleted' ORDER BY e.id`,
			`UPDATE enrollments SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, root, terms, scope)
		if err != nil {
			return err
		}
	}
	// A section is in the term of the course it was made in, cross-listed
	// elsewhere or not, as on Canvas.
	if st := at.streams[typeSections]; st != nil && !st.failed {
		err := at.batchRemove(ctx, typeSections, "section", st.files[0], "deleted", st.seen, `
			SELECT s.id, s.sis_section_id, s.workflow_state, false
			FROM sections s JOIN courses c ON c.id = COALESCE(s.nonxlist_course_id, s.course_id) JOIN accounts a ON a.id = c.account_id
			WHERE c.root_account_id = $1 AND c.term_id = ANY($2) AND $3 = ANY(a.path) AND s.origin = 'sis'
			  AND s.sis_section_id IS NOT NULL AND s.workflow_state <> 'deleted' ORDER BY s.id`,
			`UPDATE sections SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, root, terms, scope)
		if err != nil {
			return err
		}
	}
	if st := at.streams[typeCourses]; st != nil && !st.failed {
		err := at.batchRemove(ctx, typeCourses, "course", st.files[0], "deleted", st.seen, `
			SELECT c.id, c.sis_course_id, c.workflow_state, false
			FROM courses c JOIN accounts a ON a.id = c.account_id
			WHERE c.root_account_id = $1 AND c.term_id = ANY($2) AND $3 = ANY(a.path) AND c.origin = 'sis'
			  AND c.sis_course_id IS NOT NULL AND c.workflow_state <> 'deleted' ORDER BY c.id`,
			`UPDATE courses SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, root, terms, scope)
		if err != nil {
			return err
		}
	}
	return nil
}

// batchRemove gives target to the eligible objects that find returns
// (id, SIS id, state, listed) and that were not listed — by the flag, or
// by their SIS id in seen.
func (at *attempt) batchRemove(ctx context.Context, typ, entity, file, target string, seen *keyset.Set, find, update string, args ...any) error {
	rm := removal{typ: typ, entity: entity, file: file, target: target, why: "not listed by the import (batch mode)", guarded: true, cleanup: true, update: update}
	if err := at.findUnlisted(ctx, &rm, seen, find, args...); err != nil {
		return err
	}
	removed, err := at.apply(ctx, rm)
	if removed { // skip_deletes does not stop the cleanup, as on Canvas
		at.file.counts["batch_"+typ+"_deleted"] += len(rm.objects) // Canvas's data.counts
	}
	return err
}

// findUnlisted counts in rm the eligible objects that find returns (id,
// SIS id, state, listed), and lists as its objects those that were not
// listed — by the flag, or by their SIS id in seen — and are not in its
// target state yet.
func (at *attempt) findUnlisted(ctx context.Context, rm *removal, seen *keyset.Set, find string, args ...any) error {
	rows, err := at.tx.Query(ctx, find, args...)
	if err != nil {
		return fmt.Errorf("find unlisted %ss: %w", rm.entity, err)
	}
	var o removed
	var listed bool
	candidates := keyset.NewUnlisted(seen, func(o removed) *string { return o.sis })
	_, err = pgx.ForEachRow(rows, []any{&o.id, &o.sis, &o.state, &listed}, func() error {
		rm.eligible++
		if !listed && o.state != rm.target {
			candidates.Add(o)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find unlisted %ss: %w", rm.entity, err)
	}
	rm.objects = candidates.Items()
	return nil
}
