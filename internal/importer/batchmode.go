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
	for _, typ := range []string{typeEnrollments, typeSections, typeCourses} {
		n, err := at.removeUnlisted(ctx, typ, "not listed by the import (batch mode)", true, terms)
		if err != nil {
			return err
		}
		if n > 0 {
			at.file.counts["batch_"+typ+"_deleted"] += n // Canvas's data.counts
		}
	}
	return nil
}

// unlistedRoster is how removeUnlisted finds and removes the enrollments,
// sections and courses inside an account: find reads (id, SIS id, state,
// listed) given $1 the root account and $2 the account, with %s the
// further condition on the course c (batch mode's terms); update is the
// removal's.
var unlistedRoster = map[string]struct{ entity, find, update string }{
	typeEnrollments: {"enrollment", `
		SELECT e.id, u.sis_user_id, e.workflow_state, EXISTS (SELECT 1 FROM listed_enrollments l WHERE l.id = e.id)
		FROM enrollments e JOIN courses c ON c.id = e.course_id JOIN accounts a ON a.id = c.account_id JOIN users u ON u.id = e.user_id
		WHERE c.root_account_id = $1 AND $2 = ANY(a.path)%s AND e.origin = 'sis'
		  AND e.workflow_state <> 'deleted' ORDER BY e.id`,
		`UPDATE enrollments SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
	// A section is in the term of the course it was made in, cross-listed
	// elsewhere or not, as on Canvas.
	typeSections: {"section", `
		SELECT s.id, s.sis_section_id, s.workflow_state, false
		FROM sections s JOIN courses c ON c.id = COALESCE(s.nonxlist_course_id, s.course_id) JOIN accounts a ON a.id = c.account_id
		WHERE c.root_account_id = $1 AND $2 = ANY(a.path)%s AND s.origin = 'sis'
		  AND s.sis_section_id IS NOT NULL AND s.workflow_state <> 'deleted' ORDER BY s.id`,
		`UPDATE sections SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
	typeCourses: {"course", `
		SELECT c.id, c.sis_course_id, c.workflow_state, false
		FROM courses c JOIN accounts a ON a.id = c.account_id
		WHERE c.root_account_id = $1 AND $2 = ANY(a.path)%s AND c.origin = 'sis'
		  AND c.sis_course_id IS NOT NULL AND c.workflow_state <> 'deleted' ORDER BY c.id`,
		`UPDATE courses SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`},
}

// removeUnlisted removes the SIS-managed objects of typ (enrollments,
// sections or courses) inside the import's account, and in terms when set,
// that the import did not list — by the rows' listed_enrollments, or by
// SIS id. Enrollments become batch_mode_enrollment_drop_status, the others
// deleted. Nothing is removed unless the upload held a file of typ that
// had no file-level error. cleanup is batch mode's (removal.cleanup); it
// returns how many objects were removed.
func (at *attempt) removeUnlisted(ctx context.Context, typ, why string, cleanup bool, terms []int64) (int, error) {
	st := at.streams[typ]
	if st == nil || st.failed {
		return 0, nil
	}
	q := unlistedRoster[typ]
	rm := removal{typ: typ, entity: q.entity, file: st.files[0], target: "deleted", why: why, guarded: true, cleanup: cleanup, update: q.update}
	seen := st.seen
	if typ == typeEnrollments {
		if _, err := at.tx.Exec(ctx, listedEnrollments); err != nil {
			return 0, fmt.Errorf("create listed enrollments: %w", err)
		}
		rm.target, seen = at.opts.BatchModeEnrollmentDropStatus, nil
	}
	args, where := []any{at.account.RootAccountID, at.account.ID}, ""
	if terms != nil {
		args, where = append(args, terms), " AND c.term_id = ANY($3)"
	}
	if err := at.findUnlisted(ctx, &rm, seen, fmt.Sprintf(q.find, where), args...); err != nil {
		return 0, err
	}
	removed, err := at.apply(ctx, rm)
	if !removed { // skip_deletes does not stop batch mode's cleanup, as on Canvas
		return 0, err
	}
	return len(rm.objects), err
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
