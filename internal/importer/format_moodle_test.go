package importer

import (
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/csvread"
)

func moodleHeader(t *testing.T, line string, o *Options) header {
	t.Helper()
	cols, dup := csvread.Columns(strings.Split(line, ","))
	if dup != "" {
		t.Fatalf("column %s twice", dup)
	}
	return header{cols: cols, opts: o}
}

// TestMoodleDetection recognises Moodle's header only beyond doubt: a
// Canvas users header is Canvas's.
func TestMoodleDetection(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"username,password,firstname,lastname,email,idnumber,cohort1,course1,role1", true},
		{"username,firstname,lastname,email,cohort1", true},
		{"username,email", false},                                              // no name: not beyond doubt
		{"username,firstname,lastname,login_id", false},                        // a Canvas column
		{"username,firstname,user_id,status,lastname", false},                  // a Canvas users file with extra columns
		{"email,user_id,username,sis_id,institution,remove_from_group", false}, // BenchPrep's
	} {
		if got := isMoodleHeader(moodleHeader(t, c.header, nil)); got != c.want {
			t.Errorf("%s: detected %v, want %v", c.header, got, c.want)
		}
	}
}

// TestMoodleViews reads one line of Moodle's file through each view the
// format makes of it: the user, its cohort, its enrollment and its group.
func TestMoodleViews(t *testing.T) {
	line := "username,idnumber,firstname,lastname,suspended,oldusername,profile_field_house,cohort1,course1,role1,group1,enroltimestart1,enrolperiod1,course2,role2"
	fields := []string{"JDoe", "E1", "Jo", "Doe", "1", "JD", "Red", "Staff", "BIO", "editingteacher", "Lab", "2026-09-01", "10", "CHEM", ""}
	for _, allow := range []bool{false, true} {
		o := &Options{AllowSuspends: allow}
		h := moodleHeader(t, line, o)
		vs := moodleViews("m.csv", h)
		var types []string
		for _, v := range vs {
			types = append(types, v.typ.name)
		}
		if got := strings.Join(types, " "); got != "users group_joins enrollments group_joins enrollments" {
			t.Fatalf("views: %s", got)
		}
		rec := csvread.Record{Line: 2, Fields: fields}
		u := newTypedFile("m.csv", csvread.Record{Line: 1, Fields: strings.Split(line, ",")}, h.cols, vs[0], nil)
		var r userRow
		u.fill(&r, rec)
		wantStatus := ""
		if allow {
			wantStatus = "suspended"
		}
		if r.LoginID != "jdoe" || r.OldLoginID != "jd" || r.UserID != "E1" || r.FirstName != "Jo" || r.Status != wantStatus {
			t.Errorf("allow_suspends=%v: user read as %+v", allow, r)
		}
		if !allow && (len(vs[0].notes) != 1 || !strings.Contains(vs[0].notes[0], "allow_suspends")) {
			t.Errorf("the suspended column is acknowledged: %v", vs[0].notes)
		}
		if got := vs[0].ownName("profile_field_house"); got != "property.house" {
			t.Errorf("profile field: %s", got)
		}
		var cohort joinRow
		newTypedFile("m.csv", rec, h.cols, vs[1], nil).fill(&cohort, rec)
		if cohort != (joinRow{UserID: "E1", LoginID: "jdoe", Groups: "Staff"}) {
			t.Errorf("cohort: %+v", cohort)
		}
		var e enrollmentRow
		newTypedFile("m.csv", rec, h.cols, vs[2], nil).fill(&e, rec)
		if e.CourseID != "BIO" || e.UserID != "E1" || e.UserLoginID != "jdoe" || e.Role != "teacher" || e.Status != "active" ||
			e.StartDate != "2026-09-01" || e.EndDate != "2026-09-11T00:00:00Z" {
			t.Errorf("enrollment 1: %+v", e)
		}
		var g joinRow
		newTypedFile("m.csv", rec, h.cols, vs[3], nil).fill(&g, rec)
		if g.CourseID != "BIO" || g.Groups != "Lab" {
			t.Errorf("group1: %+v", g)
		}
		var e2 enrollmentRow
		newTypedFile("m.csv", rec, h.cols, vs[4], nil).fill(&e2, rec)
		if e2.CourseID != "CHEM" || e2.Role != "student" || e2.StartDate != "" || e2.EndDate != "" {
			t.Errorf("enrollment 2: %+v", e2)
		}
	}
}

// TestMoodleMeanings maps Moodle's values onto the types' own.
func TestMoodleMeanings(t *testing.T) {
	for in, want := range map[string]string{"": "student", "Student": "student", "editingteacher": "teacher", "teacher": "ta", "designer": "designer"} {
		if got := moodleRole(in); got != want {
			t.Errorf("role %q: %q, want %q", in, got, want)
		}
	}
	status := func(o Options, suspended, deleted string) string {
		return moodleStatus(o)([]string{suspended, deleted})
	}
	all := Options{AllowSuspends: true, AllowDeletes: true}
	for _, c := range []struct {
		o                  Options
		suspended, deleted string
		want               string
	}{
		{Options{}, "1", "1", ""}, {Options{}, "0", "", ""}, {all, "1", "1", "deleted"}, {all, "1", "", "suspended"},
		{all, "0", "", "active"}, {all, "", "", ""}, {Options{AllowDeletes: true}, "1", "", ""},
	} {
		if got := status(c.o, c.suspended, c.deleted); got != c.want {
			t.Errorf("%+v suspended=%q deleted=%q: %q, want %q", c.o, c.suspended, c.deleted, got, c.want)
		}
	}
	for _, c := range [][3]string{{"", "2026-01-01", ""}, {"7", "", ""}, {"7", "2026-01-30", "2026-02-06T00:00:00Z"}, {"x", "2026-01-01", "x"}} {
		if got := moodleEnrolEnd([]string{c[0], c[1]}); got != c[2] {
			t.Errorf("period %q from %q: %q, want %q", c[0], c[1], got, c[2])
		}
	}
	if got := moodleEnrolStatus([]string{"1"}) + " " + moodleEnrolStatus([]string{"0"}); got != "inactive active" {
		t.Errorf("enrolstatus: %s", got)
	}
	if got := splitGroups(" Chess; ;Debate ;"); strings.Join(got, "|") != "Chess|Debate" {
		t.Errorf("group names: %q", got)
	}
}
