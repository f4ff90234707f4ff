package importer

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/keyset"
	"github.com/sisimport/sisimport/internal/result"
)

// enrollmentRow is one row of an enrollments file (Canvas's enrollments.csv).
type enrollmentRow struct {
	CourseID          string `csv:"course_id" validate:"required_without=SectionID,max=255"`
	SectionID         string `csv:"section_id" validate:"max=255"`
	UserID            string `csv:"user_id" validate:"max=255"`
	UserIntegrationID string `csv:"user_integration_id" validate:"max=255"`
	// UserLoginID is ours: the user by login id, when the row has no
	// user_id or user_integration_id (a format's view whose users may lack
	// an SIS id, as Moodle's; docs/import-rules.md#the-roster-files).
	UserLoginID      string `csv:"user_login_id,lower" validate:"max=255"`
	Role             string `csv:"role" validate:"required_without=RoleID,max=255"`
	RoleID           string `csv:"role_id" validate:"max=20"`
	Status           string `csv:"status,lower" validate:"required,oneof=active inactive completed deleted deleted_last_completed"`
	StartDate        string `csv:"start_date" validate:"max=64"`
	EndDate          string `csv:"end_date" validate:"max=64"`
	AssociatedUserID string `csv:"associated_user_id" validate:"max=255"`
	LimitPrivileges  string `csv:"limit_section_privileges,lower" validate:"omitempty,oneof=true t 1 yes y on false f 0 no n off"`
	// Read and without effect here (docs/import-rules.md#enrollments): no
	// notifications are sent, and there are no temporary enrollments.
	Notify          string `csv:"notify" validate:"max=255"`
	TemporarySource string `csv:"temporary_enrollment_source_user_id" validate:"max=255"`
	// RootAccount names another root account; as in Canvas's open-source
	// code, a row with one is skipped.
	RootAccount string `csv:"root_account" validate:"max=255"`
}

// typeEnrollments is the type's name.
const typeEnrollments = "enrollments"

// enrollmentDiffKey are the columns that key an enrollment in a diffed
// file, as Canvas's identifying fields.
var enrollmentDiffKey = []string{"course_id", "section_id", "user_id", "user_integration_id", "role", "role_id", "associated_user_id"}

func init() {
	register(&fileType{name: typeEnrollments, batch: "enrollment", entity: "enrollment", emptyDateClears: true,
		detect: func(h header) bool {
			return (h.has("course_id") || h.has("section_id")) && (h.has("user_id") || h.has("user_integration_id"))
		},
		detectRank: 60, applyRank: 80, layout: layoutOf(&enrollmentRow{}), required: []string{"status"},
		apply: importEnrollments, diffKey: enrollmentDiffKey,
		diffRowKey: func(c []string) string {
			r := enrollmentFromKey(c)
			if r.UserID+r.UserIntegrationID+r.UserLoginID == "" {
				return ""
			}
			return r.key()
		},
		restore: restoring("enrollments", "", "course_id", "start_at", "end_at", "limit_privileges_to_course_section"),
	})
}

// enrollmentFromKey is the row of the diffKey cells c.
func enrollmentFromKey(c []string) enrollmentRow {
	return enrollmentRow{CourseID: c[0], SectionID: c[1], UserID: c[2], UserIntegrationID: c[3], Role: c[4], RoleID: c[5],
		AssociatedUserID: c[6]}
}

// key is what identifies the row's enrollment in the file: its section
// (which names its course) or else its course; its user, by SIS id or
// integration id; its role, by name or id; the user it observes.
func (r *enrollmentRow) key() string {
	place, user, role := "c\x00"+r.CourseID, "u\x00"+r.UserID, "n\x00"+strings.ToLower(r.Role)
	if r.SectionID != "" {
		place = "s\x00" + r.SectionID
	}
	switch {
	case r.UserIntegrationID != "":
		user = "i\x00" + r.UserIntegrationID
	case r.UserID == "" && r.UserLoginID != "":
		user = "l\x00" + r.UserLoginID
	}
	if r.RoleID != "" {
		role = "#\x00" + r.RoleID
	}
	return place + "\x00" + user + "\x00" + role + "\x00" + r.AssociatedUserID
}

// who names the row's user for messages.
func (r *enrollmentRow) who() string {
	switch {
	case r.UserIntegrationID != "":
		return fmt.Sprintf("user_integration_id %q", r.UserIntegrationID)
	case r.UserID == "" && r.UserLoginID != "":
		return fmt.Sprintf("user with login id %q", r.UserLoginID)
	}
	return fmt.Sprintf("user %q", r.UserID)
}

// roleName names the row's role for messages.
func (r *enrollmentRow) roleName() string {
	if r.RoleID != "" {
		return "role_id " + r.RoleID
	}
	return r.Role
}

// enrollmentKey identifies a stored enrollment; section 0 is the course as
// a whole, associated 0 no observed user.
type enrollmentKey struct {
	course, section, user, role, associated int64
}

type storedEnrollment struct {
	id            int64
	state, origin string
	start, end    *time.Time
	limited       bool
}

// enrollmentItem is a row on its way through a batch.
type enrollmentItem struct {
	batchRow
	row    enrollmentRow
	role   directory.Role
	dates  dateRange
	limit  *bool // limit_section_privileges, when the row gives it
	key    enrollmentKey
	old    *storedEnrollment
	digest uint64 // of the row, for its diffing base
	view   *view  // how the file names the columns, for messages; nil for a diffing base's row
}

// column is the file's name of the enrollments column c.
func (it *enrollmentItem) column(c string) string {
	if it.view == nil {
		return c
	}
	return it.view.column(c)
}

// importEnrollments applies an enrollments file a batch at a time: the
// courses, sections and users of a batch are resolved with one query each,
// its enrollments read with one, new ones written with COPY and changed
// ones with one UPDATE.
func importEnrollments(ctx context.Context, at *attempt, f *typedFile) error {
	base := f.stream.base
	// The file is read and parsed a batch ahead of the batch being written.
	// When this import has written nothing yet (an enrollments file alone,
	// as nightly feeds send it), the batch's courses, sections and users are
	// also resolved ahead, on a connection of their own: the transaction,
	// the import's critical path, then only reads and writes enrollments.
	refsAhead := len(at.total.actions["total"]) == 0
	roles, err := directory.LoadRoles(ctx, at.DB, at.account.RootAccountID)
	if err != nil {
		return err
	}
	batches := make(chan enrollmentBatch, 1)
	readErr := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	parse := func(rec csvread.Record, fail *rowFailure) enrollmentItem {
		it := enrollmentItem{batchRow: newBatchRow(f, rec), view: &f.view}
		if fail != nil {
			it.fail(fail)
			return it
		}
		parseEnrollment(&it, f, rec, roles)
		if base != nil && !it.settled {
			it.digest = f.digester.Digest(rec.Fields)
		}
		return it
	}
	send := func(batch []enrollmentItem) error {
		if base != nil {
			// A row the file lists keeps its base row's enrollment, even a
			// row that fails now: only what the file leaves out is dropped.
			same := 0
			err := keyset.MarkBase(base, batch, func(it *enrollmentItem) (string, uint64) {
				r := &it.row
				if r.UserID+r.UserIntegrationID+r.UserLoginID == "" || r.CourseID+r.SectionID == "" {
					return "", 0
				}
				return r.key(), it.digest
			}, func(it *enrollmentItem) {
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
		b := enrollmentBatch{items: batch}
		if refsAhead {
			err := pinned(rctx, at.DB, func(tx pgx.Tx) (err error) {
				b.refs, err = at.enrollmentRefs(rctx, tx, batch)
				return err
			})
			if err != nil {
				return err
			}
		}
		return handOn(rctx, batches, b)
	}
	go func() {
		readErr <- readBatches(f, parse, send) // told once, before the batches end
		close(batches)
	}()
	for b := range batches {
		if err := at.applyEnrollments(ctx, b); err != nil {
			stop()
			for range batches {
			}
			return err
		}
	}
	if err := <-readErr; err != nil || base == nil {
		return err
	}
	return at.dropEnrollments(ctx, f, roles)
}

// dropEnrollments gives diffing_drop_status to the enrollments of the
// diffing base that the file no longer lists, each a result with row null.
// The base's rows are resolved as the file's rows are; one that names what
// no longer exists has nothing to drop. deleted_last_completed deletes or
// concludes each as a row with that status would.
func (at *attempt) dropEnrollments(ctx context.Context, f *typedFile, roles *directory.Roles) error {
	base := f.stream.base
	gone, err := base.Gone(ctx)
	if err != nil || len(gone) == 0 || !at.diffUsed(f.stream, f.name, len(gone)) {
		return err
	}
	items := make([]enrollmentItem, 0, len(gone))
	for _, k := range gone {
		it := enrollmentItem{row: enrollmentFromKey(k)}
		if it.resolveRole(roles) == nil {
			items = append(items, it)
		}
	}
	refs, err := at.enrollmentRefs(ctx, at.tx, items)
	if err != nil {
		return err
	}
	var keys []*enrollmentItem
	for i := range items {
		if at.resolveEnrollment(&items[i], refs) == nil {
			keys = append(keys, &items[i])
		}
	}
	if err := at.readEnrollments(ctx, keys); err != nil {
		return err
	}
	target := at.opts.DiffingDropStatus
	var live []*enrollmentItem
	for _, it := range keys {
		if it.old != nil && it.old.origin == "sis" && it.old.state != "deleted" {
			it.row.Status = target
			live = append(live, it)
		}
	}
	if err := at.lastInCourse(ctx, live); err != nil { // deleted_last_completed: deleted or completed
		return err
	}
	var objects []removed
	for _, it := range live {
		if it.old.state == it.row.Status {
			continue
		}
		o := removed{id: it.old.id, state: it.old.state, to: it.row.Status}
		if it.row.UserID != "" {
			o.sis = &it.row.UserID
		}
		objects = append(objects, o)
	}
	return at.dropObjects(ctx, typeEnrollments, "enrollment", f.name, target, base.Rows(),
		`UPDATE enrollments SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`, objects)
}

func parseEnrollment(it *enrollmentItem, f *typedFile, rec csvread.Record, roles *directory.Roles) {
	r := &it.row
	f.fill(r, rec)
	it.res.SISID = cmp.Or(r.UserID, r.UserLoginID) // the id the file sent
	key := ""
	if r.UserID+r.UserIntegrationID+r.UserLoginID != "" && r.CourseID+r.SectionID != "" {
		key = r.key()
	}
	if fail := f.check(r, rec.Line, key, fmt.Sprintf("the enrollment of %s as %s in %s", r.who(), r.roleName(), r.place())); fail != nil {
		it.fail(fail)
		return
	}
	if r.UserID+r.UserIntegrationID+r.UserLoginID == "" {
		it.fail(&rowFailure{code: "missing_value", message: fmt.Sprintf("column %s or %s: a value is required", f.view.column("user_id"), f.view.column("user_integration_id"))})
		return
	}
	if r.RootAccount != "" {
		it.fail(&rowFailure{code: "other_root_account", skip: true,
			message: fmt.Sprintf("column root_account: %q names another root account; its rows are skipped, as on Canvas", r.RootAccount)})
		return
	}
	if fail := it.resolveRole(roles); fail != nil {
		it.fail(fail)
		return
	}
	if r.LimitPrivileges != "" {
		limit := slices.Contains([]string{"true", "t", "1", "yes", "y", "on"}, r.LimitPrivileges)
		it.limit = &limit
	}
	var fail *rowFailure
	if it.dates, fail = f.dates(r.StartDate, r.EndDate); fail != nil {
		it.fail(fail)
	}
}

// resolveRole finds the role the row names, by role_id or role.
func (it *enrollmentItem) resolveRole(roles *directory.Roles) *rowFailure {
	role, err := roles.Find(it.row.Role, it.row.RoleID, false)
	if err != nil {
		return &rowFailure{code: "unknown_reference", message: err.Error()}
	}
	it.role = role
	return nil
}

// userColumn is the column that names the row's user.
func (r *enrollmentRow) userColumn() string {
	switch {
	case r.UserIntegrationID != "":
		return "user_integration_id"
	case r.UserID == "" && r.UserLoginID != "":
		return "user_login_id"
	}
	return "user_id"
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
	courses       map[string]courseRef
	sections      map[string]sectionRef
	users         map[string]int64 // by SIS id
	byIntegration map[string]int64
	byLogin       map[string]int64 // by lower-cased login id
}

type courseRef struct {
	id      int64
	inScope bool
}

type sectionRef struct {
	id, courseID int64
	// courseSIS is its course's SIS id; nonxlistSIS, for a cross-listed
	// section, the SIS id of the course it was made in, which a row may
	// name too, as on Canvas.
	courseSIS, nonxlistSIS *string
	inScope                bool
}

// applyEnrollments resolves, plans and writes one batch, then records its
// results in file order.
func (at *attempt) applyEnrollments(ctx context.Context, b enrollmentBatch) error {
	batch, refs := b.items, b.refs
	if refs == nil {
		var err error
		if refs, err = at.enrollmentRefs(ctx, at.tx, batch); err != nil {
			return err
		}
	}
	var keys []*enrollmentItem
	first := map[enrollmentKey]int{} // two rows that resolve to one enrollment: the first wins
	for i := range batch {
		it := &batch[i]
		if !it.settled {
			if f := at.resolveEnrollment(it, refs); f != nil {
				it.fail(f)
				continue
			}
			if line, dup := first[it.key]; dup {
				it.fail(&rowFailure{code: "duplicate_in_file", message: fmt.Sprintf("line %d already enrolls %s as %s in this course and section; the first row wins",
					line, it.row.who(), it.role.Role)})
				continue
			}
			first[it.key] = it.res.Row
			keys = append(keys, it)
		}
	}
	if err := at.readEnrollments(ctx, keys); err != nil {
		return err
	}
	if err := at.lastInCourse(ctx, keys); err != nil {
		return err
	}
	var inserts, updates []*enrollmentItem
	for _, it := range keys {
		at.decideEnrollment(it)
		switch {
		case it.settled:
		case it.old == nil:
			inserts = append(inserts, it)
		default:
			updates = append(updates, it)
		}
	}
	if err := at.insertEnrollments(ctx, inserts); err != nil {
		return err
	}
	if err := at.updateEnrollments(ctx, updates); err != nil {
		return err
	}
	if err := at.listEnrollments(ctx, keys); err != nil {
		return err
	}
	recordEach(at, typeEnrollments, batch, func(it *enrollmentItem) result.Result { return it.res })
	return at.progress(ctx)
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
func (at *attempt) enrollmentRefs(ctx context.Context, q querier, batch []enrollmentItem) (*enrollmentRefs, error) {
	var courses, sections, users, integrations, logins []string
	for i := range batch {
		if it := &batch[i]; !it.settled {
			r := &it.row
			if r.CourseID != "" {
				courses = append(courses, r.CourseID)
			}
			if r.SectionID != "" {
				sections = append(sections, r.SectionID)
			}
			switch {
			case r.UserIntegrationID != "":
				integrations = append(integrations, r.UserIntegrationID)
			case r.UserID == "" && r.UserLoginID != "":
				logins = append(logins, r.UserLoginID)
			default:
				users = append(users, r.UserID)
			}
			if r.AssociatedUserID != "" {
				users = append(users, r.AssociatedUserID)
			}
		}
	}
	refs := &enrollmentRefs{courses: map[string]courseRef{}, sections: map[string]sectionRef{}}
	root, scope := at.account.RootAccountID, at.account.ID
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
	rows, err = q.Query(ctx, `SELECT s.sis_section_id, s.id, s.course_id, c.sis_course_id, n.sis_course_id, $3 = ANY(a.path)
		FROM (SELECT s.* FROM unnest($2::text[]) AS k(key)
			CROSS JOIN LATERAL (SELECT * FROM sections s WHERE s.root_account_id = $1 AND s.sis_section_id = k.key OFFSET 0) s OFFSET 0) s
		JOIN courses c ON c.id = s.course_id JOIN accounts a ON a.id = c.account_id
		LEFT JOIN courses n ON n.id = s.nonxlist_course_id`, root, distinct(sections), scope)
	if err != nil {
		return nil, fmt.Errorf("read sections: %w", err)
	}
	var s sectionRef
	if _, err := pgx.ForEachRow(rows, []any{&sis, &s.id, &s.courseID, &s.courseSIS, &s.nonxlistSIS, &s.inScope}, func() error { refs.sections[sis] = s; return nil }); err != nil {
		return nil, fmt.Errorf("read sections: %w", err)
	}
	if refs.users, err = at.userIDs(ctx, q, "user_id", users); err != nil {
		return nil, err
	}
	if refs.byIntegration, err = at.userIDs(ctx, q, "integration_id", integrations); err != nil {
		return nil, err
	}
	if refs.byLogin, err = at.userIDs(ctx, q, "login_id", logins); err != nil {
		return nil, err
	}
	return refs, nil
}

// resolveEnrollment turns the row's SIS ids into its enrollment's key.
// References reach the whole root account; the course must be inside the
// import's scope, since the enrollment is written there (docs/import-rules.md#files).
func (at *attempt) resolveEnrollment(it *enrollmentItem, refs *enrollmentRefs) *rowFailure {
	r := &it.row
	k := enrollmentKey{role: it.role.ID}
	inScope := false
	if r.SectionID != "" {
		s, ok := refs.sections[r.SectionID]
		if !ok {
			return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column section_id: no section %q exists", r.SectionID)}
		}
		if r.CourseID != "" && (s.courseSIS == nil || *s.courseSIS != r.CourseID) && (s.nonxlistSIS == nil || *s.nonxlistSIS != r.CourseID) {
			return &rowFailure{code: "invalid_value", message: fmt.Sprintf("column section_id: section %q does not belong to course %q", r.SectionID, r.CourseID)}
		}
		k.section, k.course, inScope = s.id, s.courseID, s.inScope
	} else {
		c, ok := refs.courses[r.CourseID]
		if !ok {
			return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no course %q exists", it.column("course_id"), r.CourseID)}
		}
		k.course, inScope = c.id, c.inScope
	}
	if !inScope {
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("%s is outside the account this import was posted to", r.place())}
	}
	// As on Canvas, user_integration_id wins over user_id.
	u, ok := refs.users[r.UserID]
	switch {
	case r.UserIntegrationID != "":
		u, ok = refs.byIntegration[r.UserIntegrationID]
	case r.UserID == "" && r.UserLoginID != "":
		u, ok = refs.byLogin[r.UserLoginID]
	}
	if !ok {
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column %s: no %s exists", it.column(r.userColumn()), r.who())}
	}
	k.user = u
	// An observer's enrollment names the student it observes; other roles
	// ignore associated_user_id, as Canvas does.
	if r.AssociatedUserID != "" && it.role.BaseRoleType == "ObserverEnrollment" {
		if k.associated, ok = refs.users[r.AssociatedUserID]; !ok {
			return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column associated_user_id: no user %q exists", r.AssociatedUserID)}
		}
	}
	it.key = k
	return nil
}

// readEnrollments reads the stored enrollments of the resolved rows.
func (at *attempt) readEnrollments(ctx context.Context, items []*enrollmentItem) error {
	if len(items) == 0 {
		return nil
	}
	n := len(items)
	courses, sections, users, roles, associated := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	byKey := make(map[enrollmentKey]*enrollmentItem, n)
	for i, it := range items {
		courses[i], sections[i], users[i], roles[i], associated[i] = it.key.course, it.key.section, it.key.user, it.key.role, it.key.associated
		byKey[it.key] = it
	}
	rows, err := at.tx.Query(ctx, `SELECT e.course_id, e.section_id, e.user_id, e.role_id, e.associated_user_id,
			e.id, e.workflow_state, e.origin, e.start_at, e.end_at, e.limit_privileges_to_course_section
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS k(course, section, usr, role, associated)
		CROSS JOIN LATERAL (SELECT * FROM enrollments e
			WHERE e.course_id = k.course AND e.user_id = k.usr AND e.role_id = k.role AND e.section_id = k.section
			  AND e.associated_user_id = k.associated OFFSET 0) e`,
		courses, sections, users, roles, associated)
	if err != nil {
		return fmt.Errorf("read enrollments: %w", err)
	}
	var k enrollmentKey
	var e storedEnrollment
	_, err = pgx.ForEachRow(rows, []any{&k.course, &k.section, &k.user, &k.role, &k.associated, &e.id, &e.state, &e.origin, &e.start, &e.end, &e.limited}, func() error {
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

// decideEnrollment sets the row's action by the table of
// docs/import-rules.md#status-transitions.
func (at *attempt) decideEnrollment(it *enrollmentItem) {
	r, old := &it.row, it.old
	if old == nil {
		if r.Status == "deleted" {
			it.fail(notFound("enrollment", fmt.Sprintf("%s as %s in %s", r.who(), r.roleName(), r.place())))
			return
		}
		it.res.Action = result.Created
		return
	}
	it.res.ObjectID = old.id
	changes := map[string][2]any{}
	diff(changes, "workflow_state", old.state, r.Status)
	it.dates.over(old.start, old.end, changes)
	if it.limit != nil {
		diff(changes, "limit_privileges_to_course_section", old.limited, *it.limit)
	}
	if len(changes) == 0 {
		it.res.Action, it.settled = result.Unchanged, true
		return
	}
	if f := at.skipDelete("enrollment", old.state, r.Status); f != nil {
		it.fail(f)
		return
	}
	it.res.Changes = changes
	it.res.Action = result.Transition(old.state, r.Status, true)
}

// lastInCourse turns each deleted_last_completed row into what Canvas
// does: delete the enrollment when the user has another active one in the
// course in the same role (observing the same user), else conclude it. One
// query for the batch, which sees the directory as the batch found it (its
// writes come after).
func (at *attempt) lastInCourse(ctx context.Context, items []*enrollmentItem) error {
	var which []*enrollmentItem
	var courses, users, roles, associated, selves []int64
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
		roles, associated = append(roles, it.key.role), append(associated, it.key.associated)
	}
	if len(which) == 0 {
		return nil
	}
	rows, err := at.tx.Query(ctx, `SELECT NOT EXISTS (SELECT 1 FROM enrollments e
			WHERE e.course_id = k.course AND e.user_id = k.usr AND e.role_id = k.role AND e.associated_user_id = k.associated
			  AND e.id <> k.self AND e.workflow_state = 'active')
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) WITH ORDINALITY AS k(course, usr, role, associated, self, n)
		ORDER BY k.n`,
		courses, users, roles, associated, selves)
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
func (at *attempt) insertEnrollments(ctx context.Context, items []*enrollmentItem) error {
	if len(items) == 0 {
		return nil
	}
	rows, err := at.tx.Query(ctx, `SELECT nextval('enrollments_id_seq') FROM generate_series(1, $1)`, len(items))
	if err != nil {
		return fmt.Errorf("allocate enrollment ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("allocate enrollment ids: %w", err)
	}
	root, imp := at.account.RootAccountID, at.job.ID
	_, err = at.tx.CopyFrom(ctx, pgx.Identifier{"enrollments"},
		[]string{"id", "root_account_id", "course_id", "section_id", "user_id", "role", "role_id", "associated_user_id",
			"limit_privileges_to_course_section", "start_at", "end_at", "workflow_state", "last_import_id"},
		pgx.CopyFromSlice(len(items), func(i int) ([]any, error) {
			it := items[i]
			it.res.ObjectID = ids[i]
			limit := it.limit != nil && *it.limit
			return []any{ids[i], root, it.key.course, it.key.section, it.key.user, directory.EnrollmentRoleOf(it.role.BaseRoleType),
				it.key.role, it.key.associated, limit, it.dates.start, it.dates.end, it.row.Status, imp}, nil
		}))
	if err != nil {
		return fmt.Errorf("insert enrollments: %w", err)
	}
	return nil
}

// updateEnrollments writes changed enrollments with one UPDATE.
func (at *attempt) updateEnrollments(ctx context.Context, items []*enrollmentItem) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]int64, len(items))
	states := make([]string, len(items))
	starts, ends := make([]*time.Time, len(items)), make([]*time.Time, len(items))
	limits := make([]bool, len(items))
	for i, it := range items {
		ids[i], states[i], starts[i], ends[i], limits[i] = it.old.id, it.row.Status, it.dates.start, it.dates.end, it.old.limited
		if it.limit != nil {
			limits[i] = *it.limit
		}
	}
	_, err := at.tx.Exec(ctx, `UPDATE enrollments e SET workflow_state = u.state, start_at = u.start_at, end_at = u.end_at,
		limit_privileges_to_course_section = u.limited, last_import_id = $6, updated_at = now()
		FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::boolean[]) AS u(id, state, start_at, end_at, limited)
		WHERE e.id = u.id AND e.id = ANY($1)`,
		ids, states, starts, ends, limits, at.job.ID)
	if err != nil {
		return fmt.Errorf("update enrollments: %w", err)
	}
	return nil
}
