package importer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
)

// enrollmentRow is one row of an enrollments file (Canvas's enrollments.csv).
type enrollmentRow struct {
	CourseID  string `validate:"required_without=SectionID,max=255"`
	SectionID string `validate:"max=255"`
	UserID    string `validate:"required,max=255"`
	Role      string `validate:"required,oneof=student teacher ta observer designer"`
	Status    string `validate:"required,oneof=active inactive completed deleted deleted_last_completed"`
	StartDate string `validate:"max=64"`
	EndDate   string `validate:"max=64"`
}

var enrollmentColumns = []string{"course_id", "section_id", "user_id", "role", "status", "start_date", "end_date"}

var enrollmentColumnOf = map[string]string{"CourseID": "course_id", "SectionID": "section_id", "UserID": "user_id", "Role": "role",
	"Status": "status", "StartDate": "start_date", "EndDate": "end_date"}

func (r *enrollmentRow) fields() []*string {
	return []*string{&r.CourseID, &r.SectionID, &r.UserID, &r.Role, &r.Status, &r.StartDate, &r.EndDate}
}

// key is what identifies the row's enrollment in the file: its section
// (which names its course) or else its course, user and role.
func (r *enrollmentRow) key() string {
	if r.SectionID != "" {
		return "s\x00" + r.SectionID + "\x00" + r.UserID + "\x00" + r.Role
	}
	return "c\x00" + r.CourseID + "\x00" + r.UserID + "\x00" + r.Role
}

// enrollmentKey identifies a stored enrollment; section 0 is the course as
// a whole.
type enrollmentKey struct {
	course, section, user int64
	role                  string
}

type storedEnrollment struct {
	id         int64
	state      string
	start, end *time.Time
}

// enrollmentItem is a row on its way through a batch.
type enrollmentItem struct {
	batchRow
	row    enrollmentRow
	dates  dateRange
	key    enrollmentKey
	old    *storedEnrollment
	digest uint64 // of the row, for its diffing base
}

// importEnrollments applies an enrollments file a batch at a time: the
// courses, sections and users of a batch are resolved with one query each,
// its enrollments read with one, new ones written with COPY and changed
// ones with one UPDATE.
func (ru *run) importEnrollments(ctx context.Context, file string, head csvread.Record, cols map[string]int, rd *csvread.Reader) error {
	if err := ru.checkColumns(file, "enrollments", head, cols, enrollmentColumns, []string{"user_id", "role", "status"}); err != nil {
		return err
	}
	idx := positions(enrollmentColumns, cols)
	st := ru.stream(typeEnrollments, file)
	width := len(head.Fields)
	base, err := ru.diffBaseFor(ctx, typeEnrollments, file)
	if err != nil {
		return err
	}
	var d *digester
	if base != nil {
		d = newDigester(head.Fields, base.seed, diffKeys[typeEnrollments])
	}
	// The file is read and parsed a batch ahead of the batch being written.
	// When this import has written nothing yet (an enrollments file alone,
	// as nightly feeds send it), the batch's courses, sections and users are
	// also resolved ahead, on a connection of their own: the transaction,
	// the import's critical path, then only reads and writes enrollments.
	refsAhead := len(ru.total.actions["total"]) == 0
	batches := make(chan enrollmentBatch, 1)
	readErr := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	parse := func(rec csvread.Record, fail *rowFailure) enrollmentItem {
		it := enrollmentItem{batchRow: newBatchRow(file, "enrollment", rec)}
		if fail != nil {
			it.fail(fail)
			return it
		}
		parseEnrollment(&it, rec, idx, st)
		if base != nil && !it.settled {
			it.digest = d.digest(rec.Fields)
		}
		return it
	}
	send := func(batch []enrollmentItem) error {
		if base != nil {
			err := markBase(base, batch, func(it *enrollmentItem) (string, uint64) {
				if it.settled {
					return "", 0
				}
				return it.row.key(), it.digest
			}, func(it *enrollmentItem) {
				it.settled, it.res.Action = true, Unchanged // as in the diffing base
			})
			if err != nil {
				return err
			}
		}
		b := enrollmentBatch{items: batch}
		if refsAhead {
			var err error
			err = pinned(rctx, ru.DB, func(tx pgx.Tx) (err error) {
				b.refs, err = ru.enrollmentRefs(rctx, tx, batch)
				return err
			})
			if err != nil {
				return err
			}
		}
		return handOn(rctx, batches, b)
	}
	go func() {
		readErr <- readBatches(rd, width, parse, send) // told once, before the batches end
		close(batches)
	}()
	for b := range batches {
		if err := ru.applyEnrollments(ctx, b); err != nil {
			stop()
			for range batches {
			}
			return err
		}
	}
	if err := <-readErr; err != nil || base == nil {
		return err
	}
	return ru.dropEnrollments(ctx, base, file)
}

// dropEnrollments gives diffing_drop_status to the enrollments of the
// diffing base that the file no longer lists, each a result with row null.
func (ru *run) dropEnrollments(ctx context.Context, base *diffBase, file string) error {
	gone, err := base.gone(ctx)
	if err != nil || len(gone) == 0 {
		return err
	}
	var courses, sections, users, roles []string
	for _, k := range gone {
		courses, sections, users, roles = append(courses, k[0]), append(sections, k[1]), append(users, k[2]), append(roles, strings.ToLower(k[3]))
	}
	return ru.diffDrop(ctx, typeEnrollments, "enrollment", file, ru.opts.DiffingDropStatus, base.rows, `
		SELECT e.id, u.sis_user_id, e.workflow_state
		FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS k(course, section, usr, role)
		JOIN users u ON u.root_account_id = $1 AND u.sis_user_id = k.usr
		LEFT JOIN sections s ON k.section <> '' AND s.root_account_id = $1 AND s.sis_section_id = k.section
		JOIN courses c ON c.root_account_id = $1 AND CASE WHEN k.section <> '' THEN c.id = s.course_id ELSE c.sis_course_id = k.course END
		JOIN accounts a ON a.id = c.account_id AND $2 = ANY(a.path)
		JOIN enrollments e ON e.course_id = c.id AND e.user_id = u.id AND e.role = k.role AND e.section_id = COALESCE(s.id, 0)
		WHERE e.origin = 'sis' AND e.workflow_state NOT IN ($3, 'deleted') ORDER BY e.id`,
		`UPDATE enrollments SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, courses, sections, users, roles)
}

func parseEnrollment(it *enrollmentItem, rec csvread.Record, idx []int, st *fileStream) {
	r := &it.row
	fillRow(r.fields(), rec, idx)
	r.Status, r.Role = strings.ToLower(r.Status), strings.ToLower(r.Role)
	it.res.SISID = r.UserID
	if r.UserID == "" || r.CourseID+r.SectionID == "" {
		// validation says what is missing
	} else if where, dup := st.firstSeen(r.key(), rec.Line); dup {
		it.fail(&rowFailure{code: "duplicate_in_file", message: fmt.Sprintf("the enrollment of user %q as %s in %s already appears on %s; the first row wins",
			r.UserID, r.Role, r.place(), where)})
		return
	}
	if f := validateRow(r, enrollmentColumnOf); f != nil {
		it.fail(f)
		return
	}
	var f *rowFailure
	if it.dates, f = parseDates(r.StartDate, r.EndDate); f != nil {
		it.fail(f)
	}
}

// place names the course or section a row enrolls in, for messages.
func (r *enrollmentRow) place() string {
	if r.SectionID != "" {
		return fmt.Sprintf("section %q", r.SectionID)
	}
	return fmt.Sprintf("course %q", r.CourseID)
}

// enrollmentRefs are the courses, sections and users a batch names.
type enrollmentRefs struct {
	courses  map[string]courseRef
	sections map[string]sectionRef
	users    map[string]int64
}

type courseRef struct {
	id      int64
	inScope bool
}

type sectionRef struct {
	id, courseID int64
	courseSIS    *string
	inScope      bool
}

// applyEnrollments resolves, plans and writes one batch, then records its
// results in file order.
func (ru *run) applyEnrollments(ctx context.Context, b enrollmentBatch) error {
	batch, refs := b.items, b.refs
	if refs == nil {
		var err error
		if refs, err = ru.enrollmentRefs(ctx, ru.tx, batch); err != nil {
			return err
		}
	}
	var keys []*enrollmentItem
	first := map[enrollmentKey]int{} // two rows that resolve to one enrollment: the first wins
	for i := range batch {
		it := &batch[i]
		if !it.settled {
			if f := ru.resolveEnrollment(it, refs); f != nil {
				it.fail(f)
				continue
			}
			if line, dup := first[it.key]; dup {
				it.fail(&rowFailure{code: "duplicate_in_file", message: fmt.Sprintf("line %d already enrolls user %q as %s in this course and section; the first row wins",
					line, it.row.UserID, it.row.Role)})
				continue
			}
			first[it.key] = it.res.Row
			keys = append(keys, it)
		}
	}
	if err := ru.readEnrollments(ctx, keys); err != nil {
		return err
	}
	if err := ru.lastInCourse(ctx, keys); err != nil {
		return err
	}
	var inserts, updates []*enrollmentItem
	for _, it := range keys {
		ru.decideEnrollment(it)
		switch {
		case it.settled:
		case it.old == nil:
			inserts = append(inserts, it)
		default:
			updates = append(updates, it)
		}
	}
	if err := ru.insertEnrollments(ctx, inserts); err != nil {
		return err
	}
	if err := ru.updateEnrollments(ctx, updates); err != nil {
		return err
	}
	if err := ru.listEnrollments(ctx, keys); err != nil {
		return err
	}
	recordEach(ru, typeEnrollments, batch, func(it *enrollmentItem) Result { return it.res })
	return ru.progress(ctx)
}

// enrollmentBatch is a batch of rows, and their references when they were
// resolved ahead.
type enrollmentBatch struct {
	items []enrollmentItem
	refs  *enrollmentRefs
}

// enrollmentRefs reads the batch's courses, sections and users by SIS id,
// one query each, through q: the import's transaction, or the pool when
// the import has written nothing they could see.
func (ru *run) enrollmentRefs(ctx context.Context, q querier, batch []enrollmentItem) (*enrollmentRefs, error) {
	var courses, sections, users []string
	for i := range batch {
		if it := &batch[i]; !it.settled {
			if it.row.CourseID != "" {
				courses = append(courses, it.row.CourseID)
			}
			if it.row.SectionID != "" {
				sections = append(sections, it.row.SectionID)
			}
			users = append(users, it.row.UserID)
		}
	}
	refs := &enrollmentRefs{courses: map[string]courseRef{}, sections: map[string]sectionRef{}}
	root, scope := ru.account.RootAccountID, ru.account.ID
	// Each lookup goes a key at a time, as userSelect explains.
	rows, err := q.Query(ctx, `SELECT c.sis_course_id, c.id, $3 = ANY(a.path)
		FROM (SELECT c.* FROM unnest($2::text[]) AS k(key)
			CROSS JOIN LATERAL (SELECT * FROM courses c WHERE c.root_account_id = $1 AND c.sis_course_id = k.key OFFSET 0) c OFFSET 0) c
		JOIN accounts a ON a.id = c.account_id`, root, distinct(courses), scope)
	if err != nil {
		return nil, fmt.Errorf("read courses: %w", err)
	}
	var sis string
	var c courseRef
	if _, err := pgx.ForEachRow(rows, []any{&sis, &c.id, &c.inScope}, func() error { refs.courses[sis] = c; return nil }); err != nil {
		return nil, fmt.Errorf("read courses: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT s.sis_section_id, s.id, s.course_id, c.sis_course_id, $3 = ANY(a.path)
		FROM (SELECT s.* FROM unnest($2::text[]) AS k(key)
			CROSS JOIN LATERAL (SELECT * FROM sections s WHERE s.root_account_id = $1 AND s.sis_section_id = k.key OFFSET 0) s OFFSET 0) s
		JOIN courses c ON c.id = s.course_id JOIN accounts a ON a.id = c.account_id`, root, distinct(sections), scope)
	if err != nil {
		return nil, fmt.Errorf("read sections: %w", err)
	}
	var s sectionRef
	if _, err := pgx.ForEachRow(rows, []any{&sis, &s.id, &s.courseID, &s.courseSIS, &s.inScope}, func() error { refs.sections[sis] = s; return nil }); err != nil {
		return nil, fmt.Errorf("read sections: %w", err)
	}
	if refs.users, err = ru.usersBySIS(ctx, q, users); err != nil {
		return nil, err
	}
	return refs, nil
}

// resolveEnrollment turns the row's SIS ids into its enrollment's key.
// References reach the whole root account; the course must be inside the
// import's scope, since the enrollment is written there (SPEC §4.1).
func (ru *run) resolveEnrollment(it *enrollmentItem, refs *enrollmentRefs) *rowFailure {
	r := &it.row
	k := enrollmentKey{role: r.Role}
	inScope := false
	if r.SectionID != "" {
		s, ok := refs.sections[r.SectionID]
		if !ok {
			return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column section_id: no section %q exists", r.SectionID)}
		}
		if r.CourseID != "" && (s.courseSIS == nil || *s.courseSIS != r.CourseID) {
			return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column section_id: section %q does not belong to course %q", r.SectionID, r.CourseID)}
		}
		k.section, k.course, inScope = s.id, s.courseID, s.inScope
	} else {
		c, ok := refs.courses[r.CourseID]
		if !ok {
			return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column course_id: no course %q exists", r.CourseID)}
		}
		k.course, inScope = c.id, c.inScope
	}
	if !inScope {
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("%s is outside the account this import was posted to", r.place())}
	}
	u, ok := refs.users[r.UserID]
	if !ok {
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column user_id: no user %q exists", r.UserID)}
	}
	k.user = u
	it.key = k
	return nil
}

// readEnrollments reads the stored enrollments of the resolved rows.
func (ru *run) readEnrollments(ctx context.Context, items []*enrollmentItem) error {
	if len(items) == 0 {
		return nil
	}
	courses, sections, users := make([]int64, len(items)), make([]int64, len(items)), make([]int64, len(items))
	roles := make([]string, len(items))
	byKey := make(map[enrollmentKey]*enrollmentItem, len(items))
	for i, it := range items {
		courses[i], sections[i], users[i], roles[i] = it.key.course, it.key.section, it.key.user, it.key.role
		byKey[it.key] = it
	}
	rows, err := ru.tx.Query(ctx, `SELECT e.course_id, e.section_id, e.user_id, e.role, e.id, e.workflow_state, e.start_at, e.end_at
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS k(course, section, usr, role)
		CROSS JOIN LATERAL (SELECT * FROM enrollments e
			WHERE e.course_id = k.course AND e.user_id = k.usr AND e.role = k.role AND e.section_id = k.section OFFSET 0) e`,
		courses, sections, users, roles)
	if err != nil {
		return fmt.Errorf("read enrollments: %w", err)
	}
	var k enrollmentKey
	var e storedEnrollment
	_, err = pgx.ForEachRow(rows, []any{&k.course, &k.section, &k.user, &k.role, &e.id, &e.state, &e.start, &e.end}, func() error {
		if it := byKey[k]; it != nil {
			old := e
			it.old = &old
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read enrollments: %w", err)
	}
	return nil
}

// decideEnrollment sets the row's action by SPEC §4.2's table.
func (ru *run) decideEnrollment(it *enrollmentItem) {
	r, old := &it.row, it.old
	if old == nil {
		if r.Status == "deleted" {
			it.fail(notFound("enrollment", fmt.Sprintf("%s as %s in %s", r.UserID, r.Role, r.place())))
			return
		}
		it.res.Action = Created
		return
	}
	it.res.ObjectID = old.id
	changes := map[string][2]any{}
	diff(changes, "workflow_state", old.state, r.Status)
	it.dates.over(old.start, old.end, changes)
	if len(changes) == 0 {
		it.res.Action, it.settled = Unchanged, true
		return
	}
	if f := ru.skipDelete("enrollment", old.state, r.Status); f != nil {
		it.fail(f)
		return
	}
	it.res.Changes = changes
	it.res.Action = transitionAction(old.state, r.Status, true)
}

// lastInCourse turns each deleted_last_completed row into what Canvas
// does: delete the enrollment, unless it is the user's last live one in
// the course, which is concluded instead. One query for the batch, which
// sees the directory as the batch found it (its writes come after).
func (ru *run) lastInCourse(ctx context.Context, items []*enrollmentItem) error {
	var which []*enrollmentItem
	var courses, users, selves []int64
	for _, it := range items {
		if it.row.Status != "deleted_last_completed" {
			continue
		}
		var self int64
		if it.old != nil {
			self = it.old.id
		}
		which = append(which, it)
		courses, users, selves = append(courses, it.key.course), append(users, it.key.user), append(selves, self)
	}
	if len(which) == 0 {
		return nil
	}
	rows, err := ru.tx.Query(ctx, `SELECT NOT EXISTS (SELECT 1 FROM enrollments e
			WHERE e.course_id = k.course AND e.user_id = k.usr AND e.id <> k.self AND e.workflow_state <> 'deleted')
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS k(course, usr, self, n) ORDER BY k.n`,
		courses, users, selves)
	if err != nil {
		return fmt.Errorf("read enrollments: %w", err)
	}
	last, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return fmt.Errorf("read enrollments: %w", err)
	}
	for i, it := range which {
		it.row.Status = "deleted"
		if last[i] {
			it.row.Status = "completed"
		}
	}
	return nil
}

// insertEnrollments writes new enrollments with COPY; their ids are
// allocated first, so that the results can name them.
func (ru *run) insertEnrollments(ctx context.Context, items []*enrollmentItem) error {
	if len(items) == 0 {
		return nil
	}
	rows, err := ru.tx.Query(ctx, `SELECT nextval('enrollments_id_seq') FROM generate_series(1, $1)`, len(items))
	if err != nil {
		return fmt.Errorf("allocate enrollment ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("allocate enrollment ids: %w", err)
	}
	root, imp := ru.account.RootAccountID, ru.job.ID
	_, err = ru.tx.CopyFrom(ctx, pgx.Identifier{"enrollments"},
		[]string{"id", "root_account_id", "course_id", "section_id", "user_id", "role", "start_at", "end_at", "workflow_state", "last_import_id"},
		pgx.CopyFromSlice(len(items), func(i int) ([]any, error) {
			it := items[i]
			it.res.ObjectID = ids[i]
			return []any{ids[i], root, it.key.course, it.key.section, it.key.user, it.key.role, it.dates.start, it.dates.end, it.row.Status, imp}, nil
		}))
	if err != nil {
		return fmt.Errorf("insert enrollments: %w", err)
	}
	return nil
}

// updateEnrollments writes changed enrollments with one UPDATE.
func (ru *run) updateEnrollments(ctx context.Context, items []*enrollmentItem) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]int64, len(items))
	states := make([]string, len(items))
	starts, ends := make([]*time.Time, len(items)), make([]*time.Time, len(items))
	for i, it := range items {
		ids[i], states[i], starts[i], ends[i] = it.old.id, it.row.Status, it.dates.start, it.dates.end
	}
	_, err := ru.tx.Exec(ctx, `UPDATE enrollments e SET workflow_state = u.state, start_at = u.start_at, end_at = u.end_at,
		last_import_id = $5, updated_at = now()
		FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS u(id, state, start_at, end_at)
		WHERE e.id = u.id AND e.id = ANY($1)`,
		ids, states, starts, ends, ru.job.ID)
	if err != nil {
		return fmt.Errorf("update enrollments: %w", err)
	}
	return nil
}
