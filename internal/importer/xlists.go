package importer

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// xlistRow is one row of an xlists file (Canvas's xlists.csv): a section
// cross-listed into another course, or back out of it.
type xlistRow struct {
	XlistCourseID string `csv:"xlist_course_id" validate:"required,max=255"`
	SectionID     string `csv:"section_id" validate:"required,max=255"`
	Status        string `csv:"status,lower" validate:"required,oneof=active deleted"`
}

// typeXlists is the type's name.
const typeXlists = "xlists"

// unpublished is the state of a course that cross-listing made or brought
// back: Canvas's claimed course, which its API calls unpublished.
const unpublished = "unpublished"

func init() {
	// Canvas tests courses and sections headers first: a header that is
	// also one of those is not an xlists file. Its rows are sections, and
	// the sections type restores them (course_id and nonxlist_course_id).
	register(&fileType{name: typeXlists, batch: "xlist", entity: "section",
		detect: func(h header) bool {
			return h.has("xlist_course_id") && h.has("section_id") && !h.has("name") && !(h.has("course_id") && h.has("short_name"))
		},
		detectRank: 55, applyRank: 75, layout: layoutOf(&xlistRow{}), required: []string{"status"}, apply: importXlists,
		diffKey: []string{"section_id"},
	})
}

// importXlists applies an xlists file a row at a time
// (docs/import-rules.md#cross-listing).
func importXlists(ctx context.Context, at *attempt, f *typedFile) error {
	err := at.eachRow(ctx, f, func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error) {
		var r xlistRow
		f.fill(&r, rec)
		res.SISID = r.SectionID
		if fail := f.check(&r, rec.Line, r.SectionID, fmt.Sprintf("section_id %q", r.SectionID)); fail != nil {
			return fail, nil
		}
		if f.same {
			res.Action = result.Unchanged // as in the diffing base
			return nil, nil
		}
		return at.applyXlist(ctx, &r, res)
	})
	if err != nil {
		return err
	}
	return at.dropXlists(ctx, f)
}

// dropXlists un-cross-lists the sections of the diffing base that a
// diffed file no longer lists, as Canvas's diff does with a deleted row
// for each: a section still cross-listed goes back to the course it came
// from, a result of its own (row null). Un-cross-listing removes nothing,
// so change_threshold does not count it; skip_deletes leaves it out, as
// it leaves out Canvas's deleted rows (docs/import-rules.md#diffing).
func (at *attempt) dropXlists(ctx context.Context, f *typedFile) error {
	base := f.stream.base
	if base == nil {
		return nil
	}
	gone, err := base.Gone(ctx)
	if err != nil || len(gone) == 0 || !at.diffUsed(f.stream, f.name, len(gone)) {
		return err
	}
	if at.opts.SkipDeletes {
		at.warn(f.name, fmt.Sprintf("skip_deletes: %d sections no longer listed were left cross-listed", len(gone)))
		return nil
	}
	sis := make([]string, len(gone))
	for i, k := range gone {
		sis[i] = k[0]
	}
	secs, err := at.readSections(ctx, sis)
	if err != nil {
		return err
	}
	var results []result.Result
	for _, k := range gone {
		sec := secs[k[0]]
		if sec == nil || sec.nonxlist == nil || !sec.inScope || at.stickiness(sec.sticky).holds("course_id") {
			continue // gone, no longer cross-listed, or left alone as a row would leave it
		}
		res := result.Result{File: f.name, Entity: f.typ.entity, SISID: k[0], ObjectID: sec.id,
			Message: "not in the file, but in its diffing base: un-cross-listed"}
		if err := at.reopenCourse(ctx, f.name, *sec.nonxlist, k[0]); err != nil {
			return err
		}
		if err := at.crosslist(ctx, sec, *sec.nonxlist, nil, at.stickiness(sec.sticky), &res); err != nil {
			return err
		}
		results = append(results, res)
	}
	at.record(f.typ.name, results)
	return at.progress(ctx)
}

func (at *attempt) applyXlist(ctx context.Context, r *xlistRow, res *result.Result) (*rowFailure, error) {
	sec, err := at.readSection(ctx, r.SectionID, true)
	switch {
	case err != nil:
		return nil, err
	case sec == nil:
		return &rowFailure{code: "unknown_reference", message: fmt.Sprintf("column section_id: no section %q exists", r.SectionID)}, nil
	case !sec.inScope:
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column section_id: section %q belongs to a course outside the account this import was posted to", r.SectionID)}, nil
	}
	res.ObjectID = sec.id
	// As on Canvas, a section whose course_id stuck stays where it is: the
	// row does nothing (docs/import-rules.md#stickiness-and-manual-objects).
	st := at.stickiness(sec.sticky)
	if st.holds("course_id") {
		return stuckRow([]string{"course_id"}), nil
	}
	xc, err := at.courseBySIS(ctx, r.XlistCourseID)
	switch {
	case err != nil:
		return nil, err
	case xc != nil && !xc.inScope:
		return &rowFailure{code: "out_of_scope", message: fmt.Sprintf("column xlist_course_id: course %q is outside the account this import was posted to", r.XlistCourseID)}, nil
	}
	if r.Status == "deleted" {
		// Only a section cross-listed into that very course goes back.
		if xc == nil || sec.courseID != xc.id || sec.nonxlist == nil {
			res.Action = result.Unchanged
			return nil, nil
		}
		if err := at.reopenCourse(ctx, res.File, *sec.nonxlist, r.SectionID); err != nil {
			return nil, err
		}
		return nil, at.crosslist(ctx, sec, *sec.nonxlist, nil, st, res)
	}
	var to int64
	switch {
	case xc == nil:
		if to, err = at.makeXlistCourse(ctx, res.File, r.XlistCourseID, sec, r.SectionID); err != nil {
			return nil, err
		}
	case xc.state == "deleted":
		if err := at.reopenCourse(ctx, res.File, xc.id, r.SectionID); err != nil {
			return nil, err
		}
		to = xc.id
	default:
		to = xc.id
	}
	if sec.courseID == to {
		res.Action = result.Unchanged
		return nil, nil
	}
	// A section keeps the course it was first cross-listed from; back in
	// that course it is no longer cross-listed.
	nonxlist := sec.nonxlist
	if nonxlist == nil {
		nonxlist = &sec.courseID
	}
	if *nonxlist == to {
		nonxlist = nil
	}
	return nil, at.crosslist(ctx, sec, to, nonxlist, st, res)
}

// crosslist moves a section, and its enrollments, into course to,
// remembering nonxlist as the course it came from; st, its stickiness,
// marks or clears its course_id with add_ or clear_sis_stickiness.
func (at *attempt) crosslist(ctx context.Context, sec *storedSection, to int64, nonxlist *int64, st *stickiness, res *result.Result) error {
	res.Changes = map[string][2]any{"course_id": {sec.courseID, to}}
	diffPtr(res.Changes, "nonxlist_course_id", sec.nonxlist, nonxlist)
	st.hold(res.Changes, stickyField{name: "course_id", changes: []string{"course_id"}, keep: func() {}})
	_ = st.settle(res.Changes) // course_id changes: never only stuck fields
	if _, err := at.tx.Exec(ctx, `UPDATE sections SET course_id = $2, nonxlist_course_id = $3, last_import_id = $4, sticky_fields = $5,
		updated_at = now() WHERE id = $1`, sec.id, to, nonxlist, at.job.ID, nonNil(st.after)); err != nil {
		return fmt.Errorf("cross-list section: %w", err)
	}
	if err := at.moveEnrollments(ctx, res.File, sec.id, sec.courseID, to); err != nil {
		return err
	}
	res.Action = result.Updated
	return nil
}

// makeXlistCourse makes the course an active row names when it does not
// exist, as Canvas does: a copy of the section's course (account, names,
// term, dates), unpublished, a result of its own (row null).
func (at *attempt) makeXlistCourse(ctx context.Context, file, sis string, sec *storedSection, sectionSIS string) (int64, error) {
	var id int64
	err := at.tx.QueryRow(ctx, `INSERT INTO courses (root_account_id, account_id, term_id, sis_course_id, short_name, long_name, start_at, end_at,
			workflow_state, last_import_id)
		SELECT root_account_id, account_id, term_id, $2, short_name, long_name, start_at, end_at, $3, $4 FROM courses WHERE id = $1
		RETURNING id`, sec.courseID, sis, unpublished, at.job.ID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create cross-listing course: %w", err)
	}
	at.record(typeCourses, []result.Result{{File: file, Entity: "course", SISID: sis, ObjectID: id, Action: result.Created,
		Message: fmt.Sprintf("made for the cross-listing of section %q, as a copy of its course", sectionSIS)}})
	return id, nil
}

// reopenCourse brings back a deleted course that a section is cross-listed
// into or back to, unpublished, as Canvas does; a course that is not
// deleted is left as it is. The course is a result of its own (row null).
func (at *attempt) reopenCourse(ctx context.Context, file string, course int64, sectionSIS string) error {
	var sis *string
	err := at.tx.QueryRow(ctx, `UPDATE courses SET workflow_state = $2, last_import_id = $3, updated_at = now()
		WHERE id = $1 AND workflow_state = 'deleted' RETURNING sis_course_id`, course, unpublished, at.job.ID).Scan(&sis)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // not deleted
	}
	if err != nil {
		return fmt.Errorf("reopen course: %w", err)
	}
	res := result.Result{File: file, Entity: "course", ObjectID: course, Action: result.Reactivated,
		Message: fmt.Sprintf("restored, unpublished, for the cross-listing of section %q", sectionSIS),
		Changes: map[string][2]any{"workflow_state": {"deleted", unpublished}}}
	if sis != nil {
		res.SISID = *sis
	}
	at.record(typeCourses, []result.Result{res})
	return nil
}
