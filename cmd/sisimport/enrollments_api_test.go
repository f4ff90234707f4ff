package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/pgtest"
)

// dirEnrollment is an enrollment as the API shows it.
type dirEnrollment struct {
	ID              int64      `json:"id"`
	CourseID        int64      `json:"course_id"`
	SISCourseID     *string    `json:"sis_course_id"`
	CourseSectionID *int64     `json:"course_section_id"`
	SISSectionID    *string    `json:"sis_section_id"`
	UserID          int64      `json:"user_id"`
	SISUserID       *string    `json:"sis_user_id"`
	Role            string     `json:"role"`
	RoleID          int64      `json:"role_id"`
	Type            string     `json:"type"`
	Associated      *int64     `json:"associated_user_id"`
	Limited         bool       `json:"limit_privileges_to_course_section"`
	EnrollmentState string     `json:"enrollment_state"`
	StartAt         *time.Time `json:"start_at"`
	EndAt           *time.Time `json:"end_at"`
	Origin          string     `json:"origin"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// seedExec runs seeding SQL on the service's database (the importer does
// not take these file types yet).
// builtInRole is the id of the built-in role v.role names (student, …),
// for seeds that write enrollments.
const builtInRole = `(SELECT r.id FROM roles r WHERE r.root_account_id IS NULL AND lower(r.label) = v.role)`

func seedExec(t *testing.T, s *service, sql string, args ...any) {
	t.Helper()
	if _, err := s.db.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("seed: %v\n%s", err, sql)
	}
}

// enrollmentKeys writes a list as "sis_user_id/role/state" in order.
func enrollmentKeys(list []dirEnrollment) string {
	var out []string
	for _, e := range list {
		out = append(out, str(e.SISUserID)+"/"+e.Role+"/"+e.EnrollmentState)
	}
	return strings.Join(out, " ")
}

// seedCourses makes sub-accounts east and west, a term, users S1–S3, course
// BIO101 in east (with section BIO101-A) and CHEM1 in west, and enrollments
// last written by import 42 a day ago.
func seedCourses(t *testing.T, s *service) (east, west directory.Account) {
	t.Helper()
	east = s.account("East", 1, "east")
	west = s.account("West", 1, "west")
	seedExec(t, s, `INSERT INTO terms (root_account_id, sis_term_id, name) VALUES (1, 'F26', 'Fall 2026')`)
	seedExec(t, s, `INSERT INTO users (root_account_id, account_id, sis_user_id, login_id, name, sortable_name) VALUES
		(1, 1, 'S1', 's1', 'Ann Able', 'Able, Ann'), (1, 1, 'S2', 's2', 'Ben Baker', 'Baker, Ben'),
		(1, 1, 'S3', 's3', 'Cy Cole', 'Cole, Cy')`)
	seedExec(t, s, `INSERT INTO courses (root_account_id, account_id, term_id, sis_course_id, short_name, long_name)
		VALUES (1, $1, (SELECT id FROM terms WHERE sis_term_id = 'F26'), 'BIO101', 'BIO 101', 'Biology'),
		       (1, $2, NULL, 'CHEM1', 'CHEM 1', 'Chemistry')`, east.ID, west.ID)
	seedExec(t, s, `INSERT INTO sections (root_account_id, course_id, sis_section_id, name)
		SELECT 1, id, 'BIO101-A', 'Section A' FROM courses WHERE sis_course_id = 'BIO101'`)
	seedExec(t, s, `INSERT INTO enrollments (root_account_id, course_id, section_id, user_id, role, role_id, workflow_state, start_at,
			last_import_id, updated_at)
		SELECT 1, c.id, COALESCE(sec.id, 0), u.id, v.role, `+builtInRole+`, v.state, v.start_at::timestamptz, 42, now() - interval '1 day'
		FROM (VALUES (1, 'BIO101', '', 'S1', 'student', 'active', '2026-08-24T08:00:00Z'),
		             (2, 'BIO101', 'BIO101-A', 'S1', 'teacher', 'active', NULL),
		             (3, 'BIO101', '', 'S2', 'student', 'inactive', NULL),
		             (4, 'BIO101', '', 'S3', 'student', 'completed', NULL),
		             (5, 'BIO101', '', 'S3', 'ta', 'deleted', NULL),
		             (6, 'CHEM1', '', 'S2', 'student', 'active', NULL)) v(n, course, section, usr, role, state, start_at)
		JOIN courses c ON c.sis_course_id = v.course JOIN users u ON u.sis_user_id = v.usr
		LEFT JOIN sections sec ON sec.sis_section_id = v.section
		ORDER BY v.n`)
	return east, west
}

func TestEnrollmentsList(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	seedCourses(t, s)
	const bio = "/api/v1/courses/sis_course_id:BIO101/enrollments"

	for _, c := range []struct{ query, want string }{
		{"", "S1/StudentEnrollment/active S1/TeacherEnrollment/active S2/StudentEnrollment/inactive"}, // active and inactive by default
		{"?state[]=completed&state[]=deleted", "S3/StudentEnrollment/completed S3/TaEnrollment/deleted"},
		{"?state[]=inactive&state=active", "S1/StudentEnrollment/active S1/TeacherEnrollment/active S2/StudentEnrollment/inactive"},
		{"?state[]=all", "S1/StudentEnrollment/active S1/TeacherEnrollment/active S2/StudentEnrollment/inactive S3/StudentEnrollment/completed S3/TaEnrollment/deleted"},
		{"?state[]=all&user_id=sis_user_id:S3", "S3/StudentEnrollment/completed S3/TaEnrollment/deleted"},
		{"?user_id=sis_user_id:S1", "S1/StudentEnrollment/active S1/TeacherEnrollment/active"},
		{"?user_id=sis_user_id:nobody", ""},
	} {
		var list []dirEnrollment
		s.getJSON(bio+c.query, &list)
		if got := enrollmentKeys(list); got != c.want {
			t.Errorf("GET enrollments%s: %q, want %q", c.query, got, c.want)
		}
	}

	// Canvas's shape: the section only when there is one, the type by role.
	var list []dirEnrollment
	s.getJSON(bio+"?user_id=sis_user_id:S1", &list)
	student, teacher := list[0], list[1]
	if student.CourseSectionID != nil || student.SISSectionID != nil || student.Type != "StudentEnrollment" ||
		str(student.SISCourseID) != "BIO101" || student.Origin != "sis" ||
		student.StartAt == nil || !student.StartAt.Equal(time.Date(2026, 8, 24, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("a course-wide enrollment reads %+v", student)
	}
	if teacher.CourseSectionID == nil || str(teacher.SISSectionID) != "BIO101-A" || teacher.Type != "TeacherEnrollment" || teacher.StartAt != nil {
		t.Errorf("a section enrollment reads %+v", teacher)
	}
	// The internal ids work as well as the SIS ones.
	s.getJSON(fmt.Sprintf("/api/v1/courses/%d/enrollments?user_id=%d", student.CourseID, student.UserID), &list)
	if got := enrollmentKeys(list); got != "S1/StudentEnrollment/active S1/TeacherEnrollment/active" {
		t.Errorf("by internal ids: %q", got)
	}

	// Pages of two, with Canvas's Link header.
	h := s.getJSON(bio+"?state[]=all&per_page=2", &list)
	if len(list) != 2 || !strings.Contains(h.Get("Link"), `rel="next"`) {
		t.Errorf("first page: %d enrollments, Link %q", len(list), h.Get("Link"))
	}
	s.getJSON(bio+"?state[]=all&per_page=2&page=3", &list)
	if got := enrollmentKeys(list); got != "S3/TaEnrollment/deleted" {
		t.Errorf("last page: %q", got)
	}

	for _, c := range []struct {
		path string
		code int
	}{
		{bio + "?state[]=invited", 400},
		{bio + "?user_id=S1", 400},
		{"/api/v1/courses/sis_course_id:NOPE/enrollments", 404},
		{"/api/v1/courses/abc/enrollments", 404},
	} {
		if code, b, _ := s.do("GET", c.path, nil, nil); code != c.code {
			t.Errorf("GET %s: %d %s, want %d", c.path, code, b, c.code)
		}
	}
}

func TestEnrollmentStateChanges(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	east, west := seedCourses(t, s)
	const bio = "/api/v1/courses/sis_course_id:BIO101/enrollments/"
	change := func(method, path string) (int, dirEnrollment, string) {
		t.Helper()
		code, b, _ := s.do(method, path, nil, nil)
		var e dirEnrollment
		if code == 200 {
			decode(t, b, &e)
		}
		return code, e, string(b)
	}

	// S1 is a student and a teacher of BIO101: the SIS id alone is ambiguous,
	// and the answer says which roles there are.
	code, _, body := change("DELETE", bio+"sis_user_id:S1?task=inactivate")
	if code != 409 || !strings.Contains(body, "ambiguous_match") || !strings.Contains(body, "student") ||
		!strings.Contains(body, "TeacherEnrollment in section BIO101-A") || !strings.Contains(body, "role=") {
		t.Errorf("an ambiguous sis_user_id: %d %s", code, body)
	}
	var lastImport *int64
	var before time.Time
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT e.updated_at FROM enrollments e JOIN users u ON u.id = e.user_id
		WHERE u.sis_user_id = 'S1' AND e.role = 'student' AND e.section_id = 0`).Scan(&before))

	for _, c := range []struct{ method, path, want string }{
		{"DELETE", "sis_user_id:S1?role=student&task=inactivate", "inactive"},
		{"DELETE", "sis_user_id:S1?role=StudentEnrollment", "completed"}, // conclude by default, as Canvas
		{"DELETE", "sis_user_id:S1?role=student&task=delete", "deleted"},
		{"PUT", "sis_user_id:S1/reactivate?role=student", "active"},
		{"DELETE", "sis_user_id:S2?task=conclude", "completed"}, // one enrollment: no role needed
		{"PUT", "sis_user_id:S3/reactivate?role=ta", "active"},
	} {
		code, e, body := change(c.method, bio+c.path)
		if code != 200 || e.EnrollmentState != c.want {
			t.Errorf("%s %s: %d %s, want %s", c.method, c.path, code, body, c.want)
		}
	}
	// Parameters may come as a JSON body too.
	code, b, _ := s.do("DELETE", bio+"sis_user_id:S1", strings.NewReader(`{"role":"teacher","task":"inactivate"}`),
		map[string]string{"Content-Type": "application/json"})
	if code != 200 || !strings.Contains(string(b), `"enrollment_state":"inactive"`) {
		t.Errorf("parameters in a JSON body: %d %s", code, b)
	}
	change("PUT", bio+"sis_user_id:S1/reactivate?role=teacher")
	var list []dirEnrollment
	s.getJSON("/api/v1/courses/sis_course_id:BIO101/enrollments?state[]=all", &list)
	if got := enrollmentKeys(list); got != "S1/StudentEnrollment/active S1/TeacherEnrollment/active S2/StudentEnrollment/completed S3/StudentEnrollment/completed S3/TaEnrollment/active" {
		t.Errorf("after the changes: %q", got)
	}
	// Not sticky, and no longer as the import left it: last_import_id goes.
	var after time.Time
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT e.last_import_id, e.updated_at FROM enrollments e JOIN users u ON u.id = e.user_id
		WHERE u.sis_user_id = 'S1' AND e.role = 'student'`).Scan(&lastImport, &after))
	if lastImport != nil || !after.After(before) {
		t.Errorf("a manual change left last_import_id %v, updated_at %v (was %v)", lastImport, after, before)
	}

	// By internal id; a state already held is not written again. A
	// bodiless PUT with a JSON Content-Type is fine, as Canvas clients send it.
	teacher := list[1]
	code, b, _ = s.do("PUT", fmt.Sprintf("%s%d/reactivate", bio, teacher.ID), nil, map[string]string{"Content-Type": "application/json"})
	var e dirEnrollment
	if code == 200 {
		decode(t, b, &e)
	}
	body = string(b)
	if code != 200 || e.ID != teacher.ID || !e.UpdatedAt.Equal(teacher.UpdatedAt) {
		t.Errorf("reactivating an active enrollment: %d %s (updated_at was %v)", code, body, teacher.UpdatedAt)
	}

	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"DELETE", bio + "sis_user_id:S1?role=student&task=explode", 400},
		{"DELETE", bio + "sis_user_id:S1?role=dean", 400},
		{"DELETE", bio + "sis_user_id:S1?role=observer", 404},
		{"DELETE", bio + "sis_user_id:NOPE", 404},
		{"PUT", bio + "999999/reactivate", 404},
		// S2's CHEM1 enrollment is not one of BIO101's.
		{"DELETE", fmt.Sprintf("%s%d", bio, enrollmentID(t, s, "CHEM1", "S2", "student")), 404},
	} {
		if code, b, _ := s.do(c.method, c.path, nil, nil); code != c.code {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, code, b, c.code)
		}
	}

	// Reach and roles: a sibling sub-account sees nothing of BIO101; its own
	// read_only and sis_import tokens read but do not change.
	as := func(token, method, path string) int {
		t.Helper()
		code, _, _ := s.do(method, path, nil, map[string]string{"Authorization": "Bearer " + token})
		return code
	}
	westAdmin := s.newToken(west.ID, auth.Admin)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/courses/sis_course_id:BIO101/enrollments"},
		{"GET", fmt.Sprintf("/api/v1/courses/%d/enrollments", teacher.CourseID)},
		{"DELETE", bio + "sis_user_id:S2"},
		{"PUT", bio + "sis_user_id:S2/reactivate"},
	} {
		if code := as(westAdmin, c.method, c.path); code != 404 {
			t.Errorf("west's token: %s %s: %d, want 404", c.method, c.path, code)
		}
	}
	if code := as(westAdmin, "GET", "/api/v1/courses/sis_course_id:CHEM1/enrollments"); code != 200 {
		t.Errorf("west's token on its own course: %d", code)
	}
	for _, role := range []auth.Role{auth.ReadOnly, auth.SISImport} {
		tok := s.newToken(east.ID, role)
		if code := as(tok, "GET", "/api/v1/courses/sis_course_id:BIO101/enrollments"); code != 200 {
			t.Errorf("%s token reading: %d", role, code)
		}
		if code := as(tok, "DELETE", bio+"sis_user_id:S2?task=delete"); code != 403 {
			t.Errorf("%s token deleting: %d, want 403", role, code)
		}
		if code := as(tok, "PUT", bio+"sis_user_id:S2/reactivate"); code != 403 {
			t.Errorf("%s token reactivating: %d, want 403", role, code)
		}
	}
	if code := as(s.newToken(east.ID, auth.Admin), "DELETE", bio+"sis_user_id:S2?task=delete"); code != 200 {
		t.Errorf("east's admin token: %d", code)
	}
}

// enrollmentID is the id of a seeded enrollment.
func enrollmentID(t *testing.T, s *service, course, user, role string) int64 {
	t.Helper()
	var id int64
	err := s.db.QueryRow(t.Context(), `SELECT e.id FROM enrollments e JOIN courses c ON c.id = e.course_id
		JOIN users u ON u.id = e.user_id WHERE c.sis_course_id = $1 AND u.sis_user_id = $2 AND e.role = $3`,
		course, user, role).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestCoursesAndEnrollmentsReports(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	east := s.account("East", 1, "east")
	seedExec(t, s, `INSERT INTO terms (root_account_id, sis_term_id, name) VALUES (1, 'F26', 'Fall 2026')`)
	seedExec(t, s, `INSERT INTO users (root_account_id, account_id, sis_user_id, login_id, name) VALUES
		(1, 1, 'S1', 's1', 'Ann Able'), (1, $1, 'S2', 's2', 'Ben Baker'), (1, 1, NULL, 'nosis', 'No SIS')`, east.ID)
	seedExec(t, s, `INSERT INTO courses (root_account_id, account_id, term_id, sis_course_id, short_name, long_name,
			workflow_state, start_at, end_at)
		SELECT 1, v.account, t.id, v.sis, v.short, v.long, v.state, v.start_at::timestamptz, v.end_at::timestamptz
		FROM (VALUES (1, $1::bigint, 'F26', 'BIO101', 'BIO 101', 'Biology, Intro', 'active', '2026-08-24T08:00:00Z', '2026-12-18 12:30:00-05'),
		             (2, 1, NULL, NULL, 'Manual', 'A manual course', 'active', NULL, NULL),
		             (3, 1, NULL, 'ROOT1', 'Root', 'Root "course"', 'completed', NULL, NULL),
		             (4, $1, 'F26', 'GONE', 'Gone', 'Gone', 'deleted', NULL, '2026-01-01T00:00:00.5Z')) v(n, account, term, sis, short, long, state, start_at, end_at)
		LEFT JOIN terms t ON t.sis_term_id = v.term ORDER BY v.n`, east.ID)
	seedExec(t, s, `INSERT INTO sections (root_account_id, course_id, sis_section_id, name)
		SELECT 1, id, v.sis, v.name FROM courses, (VALUES ('BIO101-A', 'A'), (NULL, 'No SIS id')) v(sis, name)
		WHERE sis_course_id = 'BIO101'`)
	seedExec(t, s, `INSERT INTO enrollments (root_account_id, course_id, section_id, user_id, role, role_id, workflow_state, start_at, end_at)
		SELECT 1, c.id, COALESCE(sec.id, 0), u.id, v.role, `+builtInRole+`, v.state, v.start_at::timestamptz, v.end_at::timestamptz
		FROM (VALUES (1, 'BIO101', '', 's1', 'student', 'active', '2026-08-24T08:00:00Z', NULL),
		             (2, 'BIO101', 'A', 's2', 'teacher', 'inactive', NULL, NULL),
		             (3, 'BIO101', 'No SIS id', 's1', 'ta', 'active', NULL, NULL), -- a section a file cannot name
		             (4, 'BIO101', '', 'nosis', 'student', 'active', NULL, NULL), -- a user a file cannot name
		             (5, 'Manual', '', 's1', 'student', 'active', NULL, NULL), -- a course a file cannot name
		             (6, 'ROOT1', '', 's2', 'observer', 'deleted', NULL, '2026-12-18T17:30:00Z'),
		             (7, 'BIO101', '', 's1', 'designer', 'completed', NULL, NULL)) v(n, course, section, login, role, state, start_at, end_at)
		JOIN courses c ON COALESCE(c.sis_course_id, c.short_name) = v.course JOIN users u ON u.login_id = v.login
		LEFT JOIN sections sec ON sec.course_id = c.id AND sec.name = v.section
		ORDER BY v.n`)

	report := func(account, typ string) string {
		t.Helper()
		code, b, h := s.do("GET", "/api/v1/accounts/"+account+"/reports/provisioning?type="+typ, nil, nil)
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") ||
			h.Get("Content-Disposition") != `attachment; filename="`+typ+`.csv"` {
			t.Fatalf("report %s of %s: %d %v %s", typ, account, code, h, b)
		}
		return string(b)
	}
	for _, c := range []struct{ account, typ, want string }{
		{"1", "courses", "course_id,short_name,long_name,account_id,term_id,status,start_date,end_date," +
			"integration_id,course_format,grade_passback_setting,homeroom_course,friendly_name,blueprint_course_id\n" +
			"BIO101,BIO 101,\"Biology, Intro\",east,F26,active,2026-08-24T08:00:00Z,2026-12-18T17:30:00Z,,,,false,,\n" +
			"ROOT1,Root,\"Root \"\"course\"\"\",,,completed,,,,,,false,,\n" +
			"GONE,Gone,Gone,east,F26,deleted,,2026-01-01T00:00:00.5Z,,,,false,,\n"},
		// Reported for east itself, east's courses have an empty account_id:
		// the account the file is imported into.
		{"sis_account_id:east", "courses", "course_id,short_name,long_name,account_id,term_id,status,start_date,end_date," +
			"integration_id,course_format,grade_passback_setting,homeroom_course,friendly_name,blueprint_course_id\n" +
			"BIO101,BIO 101,\"Biology, Intro\",,F26,active,2026-08-24T08:00:00Z,2026-12-18T17:30:00Z,,,,false,,\n" +
			"GONE,Gone,Gone,,F26,deleted,,2026-01-01T00:00:00.5Z,,,,false,,\n"},
		{"1", "enrollments", "course_id,user_id,role,section_id,status,start_date,end_date\n" +
			"BIO101,S1,student,,active,2026-08-24T08:00:00Z,\n" +
			"BIO101,S2,teacher,BIO101-A,inactive,,\n" +
			"ROOT1,S2,observer,,deleted,,2026-12-18T17:30:00Z\n" +
			"BIO101,S1,designer,,completed,,\n"},
		{fmt.Sprint(east.ID), "enrollments", "course_id,user_id,role,section_id,status,start_date,end_date\n" +
			"BIO101,S1,student,,active,2026-08-24T08:00:00Z,\n" +
			"BIO101,S2,teacher,BIO101-A,inactive,,\n" +
			"BIO101,S1,designer,,completed,,\n"},
	} {
		if got := report(c.account, c.typ); got != c.want {
			t.Errorf("%s report of account %s:\n%s\nwant\n%s", c.typ, c.account, got, c.want)
		}
	}

	if code, b, _ := s.do("GET", "/api/v1/accounts/1/reports/provisioning?type=sections", nil, nil); code != 400 ||
		!strings.Contains(string(b), "users, courses or enrollments") {
		t.Errorf("an unknown report type: %d %s", code, b)
	}
	eastToken := s.newToken(east.ID, auth.ReadOnly)
	if code, _, _ := s.do("GET", "/api/v1/accounts/1/reports/provisioning?type=courses", nil,
		map[string]string{"Authorization": "Bearer " + eastToken}); code != 404 {
		t.Errorf("east's token read the root account's courses report: %d", code)
	}
}

// The courses and enrollments reports of a sub-account import back into it
// with every row unchanged, sub-sub-accounts, dates and states included.
func TestCoursesAndEnrollmentsReportsImportBackUnchanged(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := t.Context()
	east := s.account("East", 1, "east")
	s.account("East High", east.ID, "east-high")
	s.importCSV("", "term_id,name,status\nF26,Fall 2026,active\n")
	s.importCSV("", "user_id,login_id,status\nS1,s1,active\nS2,s2,active\nS3,s3,active\n")
	eastRef := fmt.Sprint(east.ID)
	steps := []string{
		"course_id,short_name,long_name,account_id,term_id,status,start_date,end_date\n" +
			"BIO101,BIO 101,\"Biology, Intro\",,F26,active,2026-08-24T08:00:00Z,2026-12-18\n" +
			"ART1,Art,Art for all,east-high,,completed,,\n" +
			"OLD1,Old,Old course,,F26,active,,\n",
		"course_id,short_name,long_name,status\nOLD1,Old,Old course,deleted\n",
		"section_id,course_id,name,status\nBIO101-A,BIO101,Section A,active\n",
		"course_id,user_id,role,section_id,status,start_date,end_date\n" +
			"BIO101,S1,student,,active,2026-08-24T08:00:00Z,\n" +
			"BIO101,S2,teacher,BIO101-A,active,,\n" +
			"ART1,S3,ta,,inactive,,2026-12-18T17:30:00Z\n" +
			"ART1,S1,student,,completed,,\n",
	}
	for _, csv := range steps {
		up := s.upload(eastRef, "", csv)
		if imp := s.wait(eastRef, up.ID); imp.WorkflowState != "imported" {
			t.Fatalf("seeding import: %s %v %v\n%s", imp.WorkflowState, imp.ProcessingErrors, summary(s.resultsIn(eastRef, up.ID, "")), csv)
		}
	}
	// A course of an account without an SIS id reads with an empty
	// account_id, which keeps an existing course's account.
	annex := s.account("Annex", east.ID, "")
	seedExec(t, s, `UPDATE courses SET account_id = $1 WHERE sis_course_id = 'OLD1'`, annex.ID)
	for _, c := range []struct {
		typ  string
		want string
	}{
		{"courses", "2:unchanged 3:unchanged 4:unchanged"},
		{"enrollments", "2:unchanged 3:unchanged 4:unchanged 5:unchanged"},
	} {
		code, report, _ := s.do("GET", "/api/v1/accounts/"+eastRef+"/reports/provisioning?type="+c.typ, nil, nil)
		if code != 200 {
			t.Fatalf("%s report: %d\n%s", c.typ, code, report)
		}
		up := s.upload(eastRef, "", string(report))
		imp := s.wait(eastRef, up.ID)
		if got := summary(s.resultsIn(eastRef, up.ID, "")); imp.WorkflowState != "imported" || got != c.want {
			t.Errorf("the %s report imported back as %s %s, want %s\n%s", c.typ, imp.WorkflowState, got, c.want, report)
		}
	}
	var account int64
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT account_id FROM courses WHERE sis_course_id = 'OLD1'`).Scan(&account))
	if account != annex.ID {
		t.Errorf("re-importing the courses report moved OLD1 to account %d", account)
	}
}
