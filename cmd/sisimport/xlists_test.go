package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// apiSection is a section as the API shows it.
type apiSection struct {
	ID               int64      `json:"id"`
	Name             string     `json:"name"`
	SISSectionID     *string    `json:"sis_section_id"`
	IntegrationID    *string    `json:"integration_id"`
	SISImportID      *int64     `json:"sis_import_id"`
	CourseID         int64      `json:"course_id"`
	SISCourseID      *string    `json:"sis_course_id"`
	StartAt          *time.Time `json:"start_at"`
	EndAt            *time.Time `json:"end_at"`
	Restrict         bool       `json:"restrict_enrollments_to_section_dates"`
	NonxlistCourseID *int64     `json:"nonxlist_course_id"`
	CreatedAt        time.Time  `json:"created_at"`
}

// xlistRoster is a term, three courses, three sections, three users and
// their enrollments: U1 and U2 in S1, U3 teaching C1 as a whole and a
// student in S2.
var xlistRoster = []string{
	"terms.csv", "term_id,name,status\nT1,Fall,active\n",
	"courses.csv", "course_id,short_name,long_name,term_id,status,start_date,end_date\n" +
		"C1,BIO1,Biology 1,T1,active,2026-09-01,2026-12-20\nC2,BIO2,Biology 2,T1,active,,\nC3,BIO3,Biology 3,,active,,\n",
	"sections.csv", "section_id,course_id,name,status,start_date\nS1,C1,Section 1,active,\nS2,C1,Section 2,active,2026-09-01\nS3,C1,Section 3,active,\n",
	"users.csv", "user_id,login_id,status\nU1,u1,active\nU2,u2,active\nU3,u3,active\n",
	"enrollments.csv", "course_id,section_id,user_id,role,status\n,S1,U1,student,active\n,S1,U2,student,active\nC1,,U3,teacher,active\n,S2,U3,student,active\n",
}

// courseIDs maps the SIS ids of the courses to their ids.
func courseIDs(t *testing.T, s *service) map[string]int64 {
	t.Helper()
	rows, err := s.db.Query(t.Context(), `SELECT sis_course_id, id FROM courses WHERE sis_course_id IS NOT NULL`)
	pgtest.Must(t, err)
	defer rows.Close()
	ids := map[string]int64{}
	for rows.Next() {
		var sis string
		var id int64
		pgtest.Must(t, rows.Scan(&sis, &id))
		ids[sis] = id
	}
	pgtest.Must(t, rows.Err())
	return ids
}

// sectionAt reads a section through the API and checks the course it is in
// and the one it was cross-listed from (0: none).
func sectionAt(t *testing.T, s *service, sis string, course, nonxlist int64) apiSection {
	t.Helper()
	var sec apiSection
	s.getJSON("/api/v1/sections/sis_section_id:"+sis, &sec)
	got := int64(0)
	if sec.NonxlistCourseID != nil {
		got = *sec.NonxlistCourseID
	}
	if sec.CourseID != course || got != nonxlist {
		t.Errorf("section %s: in course %d, cross-listed from %d; want %d from %d", sis, sec.CourseID, got, course, nonxlist)
	}
	return sec
}

// roster is "sis_user_id/role/state" of a course's enrollments, in id order.
func roster(t *testing.T, s *service, course string) string {
	t.Helper()
	var list []dirEnrollment
	s.getJSON("/api/v1/courses/sis_course_id:"+course+"/enrollments?state[]=all", &list)
	return enrollmentKeys(list)
}

func TestXlistsCrossListSections(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := t.Context()
	if imp := s.importZip("1", "", xlistRoster...); imp.WorkflowState != "imported" {
		t.Fatalf("roster: %s %v %v", imp.WorkflowState, imp.ProcessingErrors, imp.ProcessingWarnings)
	}

	// S1 goes to C2 and S2 to a course that does not exist yet; bad rows
	// fail alone.
	imp := s.importZip("1", "", "xlists.csv", "xlist_course_id,section_id,status\nC2,S1,active\nNEW,S2,ACTIVE\nC2,NOPE,active\nC2,S3,activeX\n,S3,active\n")
	if imp.WorkflowState != "imported_with_messages" {
		t.Fatalf("xlists: %s %v", imp.WorkflowState, imp.ProcessingErrors)
	}
	rs := s.results(imp.ID, "")
	sameOutcomes(t, "cross-listing", outcomes(rs), map[string]string{
		"xlists.csv:2": "updated/", "xlists.csv:3": "updated/", "xlists.csv:4": "failed/unknown_reference",
		"xlists.csv:5": "failed/invalid_status", "xlists.csv:6": "failed/missing_value",
		"course:NEW": "created/", "enrollment:U1": "updated/", "enrollment:U2": "updated/", "enrollment:U3": "updated/",
	})
	for _, r := range rs {
		switch {
		case r.Row != nil && *r.Row == 4 && !strings.Contains(str(r.Message), `column section_id: no section "NOPE"`):
			t.Errorf("unknown section: %q", str(r.Message))
		case r.Row != nil && *r.Row == 5 && !strings.Contains(str(r.Message), "status"):
			t.Errorf("bad status: %q", str(r.Message))
		case r.Row != nil && *r.Row == 6 && !strings.Contains(str(r.Message), "xlist_course_id"):
			t.Errorf("no xlist course: %q", str(r.Message))
		case r.Row != nil && r.Action == "updated" && r.Entity != "section":
			t.Errorf("a row's result is about a %s", r.Entity)
		}
	}
	if imp.Data.Counts["xlists"] != 2 || imp.Data.Counts["sections"] != 0 {
		t.Errorf("counts: xlists %d, sections %d", imp.Data.Counts["xlists"], imp.Data.Counts["sections"])
	}
	if fmt.Sprint(imp.Data.Supplied) != "[xlist]" {
		t.Errorf("supplied_batches: %v", imp.Data.Supplied)
	}

	// The new course copies S2's course, unpublished.
	ids := courseIDs(t, s)
	var same bool
	var state string
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT n.workflow_state, (n.account_id, n.term_id, n.short_name, n.long_name, n.start_at, n.end_at)
		IS NOT DISTINCT FROM (o.account_id, o.term_id, o.short_name, o.long_name, o.start_at, o.end_at)
		FROM courses n, courses o WHERE n.sis_course_id = 'NEW' AND o.sis_course_id = 'C1'`).Scan(&state, &same))
	if state != "unpublished" || !same {
		t.Errorf("the made course: %s, a copy of C1: %v", state, same)
	}

	// The sections and their enrollments moved; U3's enrollment in C1 as a
	// whole stayed.
	s1 := sectionAt(t, s, "S1", ids["C2"], ids["C1"])
	if s1.Name != "Section 1" || str(s1.SISCourseID) != "C2" || s1.SISImportID == nil || *s1.SISImportID != imp.ID || s1.Restrict {
		t.Errorf("S1 reads %+v", s1)
	}
	var byID apiSection
	s.getJSON(fmt.Sprintf("/api/v1/sections/%d", s1.ID), &byID)
	if !reflect.DeepEqual(byID, s1) {
		t.Errorf("S1 by id %+v, by SIS id %+v", byID, s1)
	}
	if s2 := sectionAt(t, s, "S2", ids["NEW"], ids["C1"]); !s2.Restrict || s2.StartAt == nil {
		t.Errorf("S2 reads %+v", s2)
	}
	for course, want := range map[string]string{"C1": "U3/TeacherEnrollment/active", "C2": "U1/StudentEnrollment/active U2/StudentEnrollment/active", "NEW": "U3/StudentEnrollment/active"} {
		if got := roster(t, s, course); got != want {
			t.Errorf("%s's enrollments: %q, want %q", course, got, want)
		}
	}
	var listed []apiSection
	s.getJSON("/api/v1/courses/sis_course_id:C2/sections", &listed)
	if len(listed) != 1 || str(listed[0].SISSectionID) != "S1" {
		t.Errorf("C2's sections: %+v", listed)
	}
	s.getJSON(fmt.Sprintf("/api/v1/courses/%d/sections", ids["C1"]), &listed)
	if len(listed) != 1 || str(listed[0].SISSectionID) != "S3" {
		t.Errorf("C1's sections: %+v", listed)
	}
	if code, _, _ := s.do("GET", "/api/v1/sections/sis_section_id:NOPE", nil, nil); code != 404 {
		t.Errorf("an unknown section: %d", code)
	}

	// deleted takes S1 back to C1; a section not cross-listed into the
	// course named is unchanged; S2, cross-listed again, keeps C1 as the
	// course it came from.
	imp = s.importZip("1", "", "xlists.csv", "xlist_course_id,section_id,status\nC2,S1,deleted\nC2,S2,active\nC1,S3,deleted\n")
	sameOutcomes(t, "second file", outcomes(s.results(imp.ID, "")), map[string]string{
		"xlists.csv:2": "updated/", "xlists.csv:3": "updated/", "xlists.csv:4": "unchanged/",
		"enrollment:U1": "updated/", "enrollment:U2": "updated/", "enrollment:U3": "updated/",
	})
	sectionAt(t, s, "S1", ids["C1"], 0)
	sectionAt(t, s, "S2", ids["C2"], ids["C1"])
	if got := roster(t, s, "C1"); got != "U1/StudentEnrollment/active U2/StudentEnrollment/active U3/TeacherEnrollment/active" {
		t.Errorf("C1's enrollments after the un-cross-listing: %q", got)
	}

	// A sections row naming S2's original course leaves it cross-listed,
	// as on Canvas; once its cross-listed course is deleted, the same row
	// takes it back.
	sections := "section_id,course_id,name,status,start_date\nS2,C1,Section 2,active,2026-09-01\n"
	imp = s.importZip("1", "", "sections.csv", sections)
	sameOutcomes(t, "sections row naming the original course", outcomes(s.results(imp.ID, "")), map[string]string{"sections.csv:2": "unchanged/"})
	sectionAt(t, s, "S2", ids["C2"], ids["C1"])
	// An enrollments row may name the cross-listed section with its
	// original course, as on Canvas: the enrollment is in the section's
	// course now.
	imp = s.importZip("1", "", "enrollments.csv", "course_id,section_id,user_id,role,status\nC1,S2,U1,ta,active\n")
	sameOutcomes(t, "an enrollment naming the original course", outcomes(s.results(imp.ID, "")), map[string]string{"enrollments.csv:2": "created/"})
	var course int64
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT e.course_id FROM enrollments e JOIN roles r ON r.id = e.role_id WHERE r.name = 'TaEnrollment'`).Scan(&course))
	if course != ids["C2"] {
		t.Errorf("the enrollment is in course %d, want the cross-listed section's course %d", course, ids["C2"])
	}
	s.importZip("1", "", "courses.csv", "course_id,short_name,long_name,status\nC2,BIO2,Biology 2,deleted\n")
	imp = s.importZip("1", "", "sections.csv", sections)
	sameOutcomes(t, "sections row after the course was deleted", outcomes(s.results(imp.ID, "")), map[string]string{
		"sections.csv:2": "updated/", "enrollment:U3": "updated/", "enrollment:U1": "updated/"})
	sectionAt(t, s, "S2", ids["C1"], 0)
	// A row naming a third course moves a cross-listed section there.
	s.importZip("1", "", "xlists.csv", "xlist_course_id,section_id,status\nNEW,S3,active\n")
	s.importZip("1", "", "sections.csv", "section_id,course_id,name,status\nS3,C3,Section 3,active\n")
	sectionAt(t, s, "S3", ids["C3"], 0)

	// Cross-listing into a deleted course brings it back, unpublished.
	imp = s.importZip("1", "", "xlists.csv", "xlist_course_id,section_id,status\nC2,S1,active\n")
	sameOutcomes(t, "into a deleted course", outcomes(s.results(imp.ID, "")), map[string]string{
		"xlists.csv:2": "updated/", "course:C2": "reactivated/", "enrollment:U1": "updated/", "enrollment:U2": "updated/"})
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT workflow_state FROM courses WHERE sis_course_id = 'C2'`).Scan(&state))
	if state != "unpublished" {
		t.Errorf("C2 after it took S1: %s", state)
	}
	sectionAt(t, s, "S1", ids["C2"], ids["C1"])
}

func TestXlistsRestore(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := t.Context()
	s.importZip("1", "", xlistRoster...)
	ids := courseIDs(t, s)
	imp := s.importZip("1", "", "xlists.csv", "xlist_course_id,section_id,status\nNEW,S1,active\n")
	if imp.WorkflowState != "imported" {
		t.Fatalf("xlists: %s %v", imp.WorkflowState, imp.ProcessingWarnings)
	}
	if restored := s.restore(imp.ID); restored.WorkflowState != "restored" {
		t.Fatalf("restore: %s", restored.WorkflowState)
	}
	sameOutcomes(t, "restore", outcomes(s.results(imp.ID, "phase=restore")), map[string]string{
		"section:S1": "updated/", "course:NEW": "deleted/", "enrollment:U1": "updated/", "enrollment:U2": "updated/"})
	sectionAt(t, s, "S1", ids["C1"], 0)
	if got := roster(t, s, "C1"); got != "U1/StudentEnrollment/active U2/StudentEnrollment/active U3/TeacherEnrollment/active U3/StudentEnrollment/active" {
		t.Errorf("C1's enrollments after the restore: %q", got)
	}
	var state string
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT workflow_state FROM courses WHERE sis_course_id = 'NEW'`).Scan(&state))
	if state != "deleted" {
		t.Errorf("the course the import made: %s after the restore", state)
	}
}

// TestDiffedXlistsFiles diffs xlists files by Canvas's key, the section:
// equal rows are unchanged without a look, and a section the file no
// longer lists goes back to its course, as Canvas's deleted row would take
// it, its enrollments with it.
func TestDiffedXlistsFiles(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "", xlistRoster...)
	ids := courseIDs(t, s)
	const set = "diffing_data_set_identifier=xl"
	header := "xlist_course_id,section_id,status\n"
	first := s.importZip("1", set, "xlists.csv", header+"C2,S1,active\nC2,S2,active\n")
	sameOutcomes(t, "the base", outcomes(s.results(first.ID, "entity=section")), map[string]string{"xlists.csv:2": "updated/", "xlists.csv:3": "updated/"})
	next := s.importZip("1", set, "xlists.csv", header+"C2,S1,active\n")
	sameOutcomes(t, "the diffed file", outcomes(s.results(next.ID, "entity=section")), map[string]string{"xlists.csv:2": "unchanged/", "section:S2": "updated/"})
	sectionAt(t, s, "S1", ids["C2"], ids["C1"])
	sectionAt(t, s, "S2", ids["C1"], 0)
	var course int64
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT e.course_id FROM enrollments e JOIN sections sc ON sc.id = e.section_id WHERE sc.sis_section_id = 'S2'`).Scan(&course))
	if course != ids["C1"] {
		t.Errorf("S2's enrollment is in course %d, want C1 (%d)", course, ids["C1"])
	}
	// With skip_deletes, a section no longer listed stays where it is.
	kept := s.importZip("1", set+"&skip_deletes=true", "xlists.csv", header)
	if got := outcomes(s.results(kept.ID, "")); len(got) != 0 {
		t.Errorf("skip_deletes: %v", got)
	}
	sectionAt(t, s, "S1", ids["C2"], ids["C1"])
}
