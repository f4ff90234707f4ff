package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/auth"
)

// Stickiness of accounts, terms, courses, sections and groups
// (docs/import-rules.md#stickiness-and-manual-objects): an edit through the
// API makes the fields it sets stick, and imports leave them alone unless
// override_sis_stickiness.

type stAccount struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	ParentAccountID *int64   `json:"parent_account_id"`
	IntegrationID   *string  `json:"integration_id"`
	StickyFields    []string `json:"sticky_fields"`
}

type stDates struct {
	StartAt      *time.Time `json:"start_at"`
	EndAt        *time.Time `json:"end_at"`
	StickyFields []string   `json:"sticky_fields"`
}

type stTerm struct {
	ID            int64              `json:"id"`
	Name          string             `json:"name"`
	SISImportID   *int64             `json:"sis_import_id"`
	IntegrationID *string            `json:"integration_id"`
	StartAt       *time.Time         `json:"start_at"`
	EndAt         *time.Time         `json:"end_at"`
	StickyFields  []string           `json:"sticky_fields"`
	Overrides     map[string]stDates `json:"overrides"`
}

type stCourse struct {
	ID                   int64      `json:"id"`
	Name                 string     `json:"name"`
	CourseCode           string     `json:"course_code"`
	SISImportID          *int64     `json:"sis_import_id"`
	IntegrationID        *string    `json:"integration_id"`
	AccountID            int64      `json:"account_id"`
	EnrollmentTermID     *int64     `json:"enrollment_term_id"`
	WorkflowState        string     `json:"workflow_state"`
	StartAt              *time.Time `json:"start_at"`
	EndAt                *time.Time `json:"end_at"`
	GradePassbackSetting *string    `json:"grade_passback_setting"`
	StickyFields         []string   `json:"sticky_fields"`
}

type stSection struct {
	ID               int64      `json:"id"`
	Name             string     `json:"name"`
	CourseID         int64      `json:"course_id"`
	NonxlistCourseID *int64     `json:"nonxlist_course_id"`
	StartAt          *time.Time `json:"start_at"`
	EndAt            *time.Time `json:"end_at"`
	Restricted       bool       `json:"restrict_enrollments_to_section_dates"`
	StickyFields     []string   `json:"sticky_fields"`
}

type stGroup struct {
	ID            int64    `json:"id"`
	Name          string   `json:"name"`
	WorkflowState string   `json:"workflow_state"`
	Origin        string   `json:"origin"`
	StickyFields  []string `json:"sticky_fields"`
}

// edit PUTs body to path (JSON when it starts with "{", else
// form-encoded) with token (the service's own when empty), decodes a 200
// into v, and returns the status and body.
func (s *service) edit(token, path, body string, v any) (int, string) {
	s.t.Helper()
	ct := "application/x-www-form-urlencoded"
	if strings.HasPrefix(body, "{") {
		ct = "application/json"
	}
	header := map[string]string{"Content-Type": ct}
	if token != "" {
		header["Authorization"] = "Bearer " + token
	}
	code, b, _ := s.do("PUT", path, strings.NewReader(body), header)
	if code == 200 && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			s.t.Fatalf("PUT %s: %v in %s", path, err, b)
		}
	}
	return code, string(b)
}

// mustEdit is edit that requires a 200.
func (s *service) mustEdit(path, body string, v any) {
	s.t.Helper()
	if code, b := s.edit("", path, body, v); code != 200 {
		s.t.Fatalf("PUT %s %s: %d %s", path, body, code, b)
	}
}

// refuses checks that a PUT is answered with status and a message that
// names want (a parameter).
func refuses(t *testing.T, s *service, token, path, body string, status int, want string) {
	t.Helper()
	code, b := s.edit(token, path, body, nil)
	if code != status || !strings.Contains(b, want) {
		t.Errorf("PUT %s %s: %d %s, want %d naming %s", path, body, code, b, status, want)
	}
}

// changed lists the fields of a result's changes, sorted.
func changed(r result) string {
	var out []string
	for k := range r.Changes {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// only is the one result of an import, for sis id sis.
func only(t *testing.T, s *service, imp sisImport, sis string) result {
	t.Helper()
	rs := s.results(imp.ID, "sis_id="+sis)
	if len(rs) != 1 {
		t.Fatalf("import %d: %d results for %s, want 1: %+v", imp.ID, len(rs), sis, rs)
	}
	return rs[0]
}

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func sameDay(t *time.Time, want string) bool {
	return t != nil && t.Equal(day(want))
}

func TestStickinessOfAccounts(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "account_id,parent_account_id,name,status\nA1,,Arts,active\nA2,,Music,active\nA3,A1,Drama,active\n")
	var a1, a2, a3 stAccount
	s.getJSON("/api/v1/accounts/sis_account_id:A2", &a2)

	// A manual edit of a name (JSON) and of a parent (form-encoded): each
	// sticks, the subtree moves.
	s.mustEdit("/api/v1/accounts/sis_account_id:A1", `{"account":{"name":"Arts & Letters"}}`, &a1)
	if a1.Name != "Arts & Letters" || fmt.Sprint(a1.StickyFields) != "[name]" {
		t.Fatalf("edited name: %+v", a1)
	}
	s.mustEdit("/api/v1/accounts/sis_account_id:A3", "account[parent_account_id]=sis_account_id:A2", &a3)
	if a3.ParentAccountID == nil || *a3.ParentAccountID != a2.ID || fmt.Sprint(a3.StickyFields) != "[parent_account_id]" {
		t.Fatalf("edited parent: %+v", a3)
	}
	var subs []stAccount
	s.getJSON("/api/v1/accounts/sis_account_id:A2/sub_accounts", &subs)
	if len(subs) != 1 || subs[0].ID != a3.ID {
		t.Errorf("A2's sub-accounts after the move: %+v", subs)
	}

	// An import that would change only stuck fields skips the row; one that
	// changes more writes the rest, and its changes never list them.
	imp := s.importCSV("", "account_id,parent_account_id,name,status,integration_id\nA1,,Arts,active,\nA3,A1,Drama,active,I3\n")
	if got := summary(s.results(imp.ID, "")); got != "2:skipped/sticky 3:updated" {
		t.Fatalf("import over stuck fields: %s", got)
	}
	if r := only(t, s, imp, "A3"); changed(r) != "integration_id" {
		t.Errorf("A3's changes: %v", r.Changes)
	}
	s.getJSON("/api/v1/accounts/sis_account_id:A1", &a1)
	s.getJSON("/api/v1/accounts/sis_account_id:A3", &a3)
	if a1.Name != "Arts & Letters" || *a3.ParentAccountID != a2.ID || str(a3.IntegrationID) != "I3" {
		t.Errorf("after the import: A1 %+v, A3 %+v", a1, a3)
	}

	// override_sis_stickiness writes them; with add_sis_stickiness what it
	// writes sticks, with clear_sis_stickiness it no longer does.
	imp = s.importCSV("override_sis_stickiness=true&add_sis_stickiness=true", "account_id,parent_account_id,name,status\nA2,,Music Dept,active\n")
	if r := only(t, s, imp, "A2"); r.Action != "updated" || fmt.Sprint(r.Changes["sticky_fields"]) != "[[] [name]]" {
		t.Errorf("override and add: %+v", r)
	}
	imp = s.importCSV("override_sis_stickiness=true&clear_sis_stickiness=true", "account_id,parent_account_id,name,status\nA1,,Arts,active\nA3,A1,Drama,active\n")
	if got := summary(s.results(imp.ID, "")); got != "2:updated 3:updated" {
		t.Errorf("override and clear: %s", got)
	}
	s.getJSON("/api/v1/accounts/sis_account_id:A1", &a1)
	s.getJSON("/api/v1/accounts/sis_account_id:A2", &a2)
	s.getJSON("/api/v1/accounts/sis_account_id:A3", &a3)
	if a1.Name != "Arts" || len(a1.StickyFields) != 0 || *a3.ParentAccountID != a1.ID || len(a3.StickyFields) != 0 ||
		a2.Name != "Music Dept" || fmt.Sprint(a2.StickyFields) != "[name]" {
		t.Errorf("after override: A1 %+v, A2 %+v, A3 %+v", a1, a2, a3)
	}

	// Bad values are 400s naming the parameter; ids other accounts hold, 409s.
	refuses(t, s, "", "/api/v1/accounts/sis_account_id:A1", `{"account":{"name":"  "}}`, 400, "account[name]")
	refuses(t, s, "", "/api/v1/accounts/sis_account_id:A1", `{"account":{"parent_account_id":"sis_account_id:A3"}}`, 400, "account[parent_account_id]")
	refuses(t, s, "", "/api/v1/accounts/sis_account_id:A1", `{"account":{"parent_account_id":"sis_account_id:A1"}}`, 400, "account[parent_account_id]")
	refuses(t, s, "", "/api/v1/accounts/sis_account_id:A1", `{"account":{"parent_account_id":"sis_account_id:NOPE"}}`, 400, "account[parent_account_id]")
	refuses(t, s, "", "/api/v1/accounts/1", `{"account":{"parent_account_id":"sis_account_id:A1"}}`, 400, "account[parent_account_id]")
	refuses(t, s, "", "/api/v1/accounts/sis_account_id:A1", `{"account":{"sis_account_id":"A2"}}`, 409, "account[sis_account_id]")
	refuses(t, s, "", "/api/v1/accounts/sis_account_id:A1", `{"account":{"integration_id":"I3"}}`, 409, "account[integration_id]")
	refuses(t, s, "", "/api/v1/accounts/sis_account_id:A1", `{"account":{"name":"`+strings.Repeat("x", 256)+`"}}`, 400, "account[name]")

	// Out of reach: a 404, whatever the role; a parent out of reach, a 400.
	east := s.account("East", 1, "east")
	eastAdmin := s.newToken(east.ID, auth.Admin)
	refuses(t, s, eastAdmin, "/api/v1/accounts/sis_account_id:A1", `{"account":{"name":"Taken over"}}`, 404, "not_found")
	refuses(t, s, eastAdmin, "/api/v1/accounts/self", `{"account":{"parent_account_id":"sis_account_id:A1"}}`, 400, "account[parent_account_id]")
	refuses(t, s, s.newToken(1, auth.ReadOnly), "/api/v1/accounts/sis_account_id:A1", `{"account":{"name":"Read only"}}`, 403, "forbidden")
	s.getJSON("/api/v1/accounts/sis_account_id:A1", &a1)
	if a1.Name != "Arts" {
		t.Errorf("a refused edit changed A1: %+v", a1)
	}
}

func TestStickinessOfTerms(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "term_id,name,status,start_date,end_date,date_override_enrollment_type\n"+
		"T1,Fall,active,2026-08-24,2026-12-20,\nT1,,active,2026-08-20,2026-12-24,StudentEnrollment\nT2,Spring,active,2027-01-10,2027-05-01,\n")

	// One edit sets the name, a date and two overrides' dates: each sticks
	// where it was set.
	var t1 stTerm
	s.mustEdit("/api/v1/accounts/1/terms/sis_term_id:T1", `{"enrollment_term":{"name":"Fall 2026","start_at":"2026-08-25T00:00:00Z",`+
		`"overrides":{"StudentEnrollment":{"start_at":"2026-08-21"},"TeacherEnrollment":{"end_at":"2027-01-05"}}}}`, &t1)
	student, teacher := t1.Overrides["StudentEnrollment"], t1.Overrides["TeacherEnrollment"]
	if t1.Name != "Fall 2026" || !sameDay(t1.StartAt, "2026-08-25T00:00:00Z") || !sameDay(t1.EndAt, "2026-12-20T00:00:00Z") ||
		fmt.Sprint(t1.StickyFields) != "[name start_at]" || t1.SISImportID != nil {
		t.Fatalf("edited term: %+v", t1)
	}
	if !sameDay(student.StartAt, "2026-08-21T00:00:00Z") || !sameDay(student.EndAt, "2026-12-24T00:00:00Z") || fmt.Sprint(student.StickyFields) != "[start_at]" ||
		teacher.StartAt != nil || !sameDay(teacher.EndAt, "2027-01-05T00:00:00Z") || fmt.Sprint(teacher.StickyFields) != "[end_at]" {
		t.Fatalf("edited overrides: %+v", t1.Overrides)
	}

	// A stuck start date protects the end date too, as on Canvas.
	imp := s.importCSV("", "term_id,name,status,start_date,end_date,integration_id,date_override_enrollment_type\n"+
		"T1,Fall,active,2026-08-24,2026-12-31,IT1,\n"+ // only integration_id is written
		"T1,Fall,active,2026-08-24,2026-12-31,IT1,\n"+ // a duplicate: fails
		"T1,,active,2026-08-20,2026-12-31,,StudentEnrollment\n"+ // stuck
		"T1,,active,2026-08-02,2026-12-31,,TaEnrollment\n") // no override yet: written
	if got := summary(s.results(imp.ID, "")); got != "2:updated 3:failed/duplicate_in_file 4:skipped/sticky 5:updated" {
		t.Fatalf("import over stuck fields: %s", got)
	}
	if r := s.results(imp.ID, "")[0]; changed(r) != "integration_id" {
		t.Errorf("T1's changes: %v", r.Changes)
	}
	imp = s.importCSV("", "term_id,name,status,start_date,end_date,integration_id\nT1,Fall,active,2026-08-24,2026-12-31,IT1\n")
	if got := summary(s.results(imp.ID, "")); got != "2:skipped/sticky" {
		t.Errorf("only stuck fields differ: %s", got)
	}

	// override_sis_stickiness writes them; add marks, clear unmarks.
	imp = s.importCSV("override_sis_stickiness=true&add_sis_stickiness=true", "term_id,name,status,start_date,end_date\nT2,Spring,active,2027-01-10,2027-05-15\n")
	if r := only(t, s, imp, "T2"); changed(r) != "end_at,sticky_fields" {
		t.Errorf("override and add: %+v", r)
	}
	imp = s.importCSV("override_sis_stickiness=true&clear_sis_stickiness=true", "term_id,name,status,start_date,end_date,date_override_enrollment_type\n"+
		"T1,Fall,active,2026-08-24,2026-12-31,\nT1,,active,2026-08-20,2026-12-31,StudentEnrollment\n")
	if got := summary(s.results(imp.ID, "")); got != "2:updated 3:updated" {
		t.Errorf("override and clear: %s", got)
	}
	terms := map[string]stTerm{}
	var page struct {
		Terms []stTerm `json:"enrollment_terms"`
	}
	s.getJSON("/api/v1/accounts/1/terms?include[]=overrides", &page)
	for _, tm := range page.Terms {
		terms[tm.Name] = tm
	}
	t1, t2 := terms["Fall"], terms["Spring"]
	if !sameDay(t1.EndAt, "2026-12-31T00:00:00Z") || len(t1.StickyFields) != 0 || len(t1.Overrides["StudentEnrollment"].StickyFields) != 0 ||
		fmt.Sprint(t1.Overrides["TeacherEnrollment"].StickyFields) != "[end_at]" || fmt.Sprint(t2.StickyFields) != "[end_at]" {
		t.Errorf("after override: %+v", terms)
	}

	// Bad values are 400s naming the parameter; a taken SIS id, a 409.
	path := fmt.Sprintf("/api/v1/accounts/1/terms/%d", t1.ID)
	refuses(t, s, "", path, `{"enrollment_term":{"end_at":"2026-01-01"}}`, 400, "enrollment_term[end_at]")
	refuses(t, s, "", path, "enrollment_term[start_at]=next+week", 400, "enrollment_term[start_at]")
	refuses(t, s, "", path, "enrollment_term[overrides][ObserverEnrollment][start_at]=2026-08-01", 400, "enrollment_term[overrides][ObserverEnrollment]")
	refuses(t, s, "", path, "enrollment_term[overrides][StudentEnrollment][end_at]=2026-01-01", 400, "enrollment_term[overrides][StudentEnrollment][end_at]")
	refuses(t, s, "", path, `{"enrollment_term":{"name":""}}`, 400, "enrollment_term[name]")
	refuses(t, s, "", path, `{"enrollment_term":{"sis_term_id":"T2"}}`, 409, "enrollment_term[sis_term_id]")
	refuses(t, s, "", "/api/v1/accounts/1/terms/sis_term_id:NOPE", `{"enrollment_term":{"name":"X"}}`, 404, "not_found")

	// Terms belong to the root account: a sub-account edits none; another
	// root account reaches none.
	east := s.account("East", 1, "east")
	refuses(t, s, "", fmt.Sprintf("/api/v1/accounts/%d/terms/%d", east.ID, t1.ID), `{"enrollment_term":{"name":"X"}}`, 403, "root account")
	other := s.account("Other", 0, "other")
	refuses(t, s, s.newToken(other.ID, auth.Admin), fmt.Sprintf("/api/v1/accounts/%d/terms/%d", other.ID, t1.ID), `{"enrollment_term":{"name":"X"}}`, 404, "not_found")
}

func TestStickinessOfCourses(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	const row = "C1,BIO,Biology,A1,T1,active,2026-08-24,2026-12-20,nightly_sync\n"
	const header = "course_id,short_name,long_name,account_id,term_id,status,start_date,end_date,grade_passback_setting\n"
	s.importZip("1", "",
		"accounts.csv", "account_id,parent_account_id,name,status\nA1,,Arts,active\nA2,,Music,active\n",
		"terms.csv", "term_id,name,status\nT1,Fall,active\nT2,Spring,active\n",
		"courses.csv", header+row+"C2,CHM,Chemistry,A1,T1,active,,,\n")
	var a2 stAccount
	s.getJSON("/api/v1/accounts/sis_account_id:A2", &a2)
	t2 := s.terms("1", "")["T2"]

	// Every sticky field in one edit, form-encoded.
	var c1 stCourse
	s.mustEdit("/api/v1/courses/sis_course_id:C1", "course[name]=Biology+I&course[course_code]=BIO1&course[term_id]=sis_term_id:T2"+
		"&course[account_id]=sis_account_id:A2&course[event]=conclude&course[grade_passback_setting]=disabled&course[end_at]=2026-12-31", &c1)
	want := "[account_id course_code end_at enrollment_term_id grade_passback_setting name workflow_state]"
	if c1.Name != "Biology I" || c1.CourseCode != "BIO1" || c1.EnrollmentTermID == nil || *c1.EnrollmentTermID != t2.ID || c1.AccountID != a2.ID ||
		c1.WorkflowState != "completed" || str(c1.GradePassbackSetting) != "disabled" || !sameDay(c1.EndAt, "2026-12-31T00:00:00Z") ||
		fmt.Sprint(c1.StickyFields) != want || c1.SISImportID != nil {
		t.Fatalf("edited course: %+v", c1)
	}

	// The row as imported first differs only in stuck fields (the start
	// date too: a stuck end date protects it); a new integration_id is
	// written alone.
	imp := s.importCSV("", header+strings.Replace(row, "2026-08-24", "2026-08-20", 1))
	if got := summary(s.results(imp.ID, "")); got != "2:skipped/sticky" {
		t.Fatalf("import over stuck fields: %s", got)
	}
	imp = s.importCSV("", strings.TrimSuffix(header, "\n")+",integration_id\n"+strings.TrimSuffix(row, "\n")+",IC1\n")
	if r := only(t, s, imp, "C1"); r.Action != "updated" || changed(r) != "integration_id" {
		t.Errorf("a change besides stuck fields: %+v", r)
	}
	var got stCourse
	s.getJSON("/api/v1/courses/sis_course_id:C1", &got)
	if got.Name != "Biology I" || got.WorkflowState != "completed" || got.AccountID != a2.ID || str(got.IntegrationID) != "IC1" {
		t.Errorf("after the import: %+v", got)
	}
	// A course whose state stuck is not dropped by diffing either.
	s.importCSV("diffing_data_set_identifier=courses", header+row)
	imp = s.importCSV("diffing_data_set_identifier=courses&change_threshold=100", header)
	s.getJSON("/api/v1/courses/sis_course_id:C1", &got)
	if len(s.results(imp.ID, "sis_id=C1")) != 0 || got.WorkflowState != "completed" {
		t.Errorf("diffing dropped a course whose state stuck: %+v", got)
	}

	// override_sis_stickiness writes every field; the marks stay.
	imp = s.importCSV("override_sis_stickiness=true", header+row)
	if r := only(t, s, imp, "C1"); r.Action != "reactivated" ||
		changed(r) != "account_id,end_at,grade_passback_setting,long_name,short_name,term_id,workflow_state" {
		t.Errorf("override: %+v", r)
	}
	s.getJSON("/api/v1/courses/sis_course_id:C1", &got)
	if got.Name != "Biology" || got.WorkflowState != "available" || fmt.Sprint(got.StickyFields) != want {
		t.Errorf("after override: %+v", got)
	}
	// course[event]: claim leaves it unpublished, offer available again.
	s.mustEdit("/api/v1/courses/sis_course_id:C2", `{"course":{"event":"claim"}}`, &got)
	if got.WorkflowState != "unpublished" || fmt.Sprint(got.StickyFields) != "[workflow_state]" {
		t.Errorf("claim: %+v", got)
	}

	path := fmt.Sprintf("/api/v1/courses/%d", c1.ID)
	refuses(t, s, "", path, `{"course":{"event":"publish"}}`, 400, "course[event]")
	refuses(t, s, "", path, `{"course":{"term_id":"sis_term_id:NOPE"}}`, 400, "course[term_id]")
	refuses(t, s, "", path, `{"course":{"account_id":"sis_account_id:NOPE"}}`, 400, "course[account_id]")
	refuses(t, s, "", path, `{"course":{"start_at":"2027-01-01"}}`, 400, "course[end_at]")
	refuses(t, s, "", path, `{"course":{"start_at":"soon"}}`, 400, "course[start_at]")
	refuses(t, s, "", path, `{"course":{"grade_passback_setting":"weekly"}}`, 400, "course[grade_passback_setting]")
	refuses(t, s, "", path, `{"course":{"course_code":""}}`, 400, "course[course_code]")
	refuses(t, s, "", path, `{"course":{"sis_course_id":"C2"}}`, 409, "course[sis_course_id]")
	east := s.account("East", 1, "east")
	refuses(t, s, s.newToken(east.ID, auth.Admin), path, `{"course":{"name":"Taken over"}}`, 404, "not_found")
}

func TestStickinessOfSections(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	const header = "section_id,course_id,name,status,start_date,end_date\n"
	s.importZip("1", "",
		"courses.csv", "course_id,short_name,long_name,status\nC1,C1,One,active\nC2,C2,Two,active\nC3,C3,Three,active\n",
		"sections.csv", header+"S1,C1,Lab,active,,\nS2,C1,Lecture,active,2026-08-24,2026-12-20\n")
	c2 := s.course("sis_course_id:C2")

	var s1, s2 stSection
	s.mustEdit("/api/v1/sections/sis_section_id:S1", `{"course_section":{"name":"Lab A","restrict_enrollments_to_section_dates":true}}`, &s1)
	if s1.Name != "Lab A" || !s1.Restricted || fmt.Sprint(s1.StickyFields) != "[name restrict_enrollments_to_section_dates]" {
		t.Fatalf("edited S1: %+v", s1)
	}
	s.mustEdit("/api/v1/sections/sis_section_id:S2", "course_section[end_at]=2026-12-31", &s2)
	if !sameDay(s2.EndAt, "2026-12-31T00:00:00Z") || fmt.Sprint(s2.StickyFields) != "[end_at]" {
		t.Fatalf("edited S2: %+v", s2)
	}

	// S1's stuck name and flag, S2's stuck end date protecting its start.
	imp := s.importCSV("", header+"S1,C1,Lab,active,,\nS2,C1,Lecture,active,2026-08-20,2026-12-20\n")
	if got := summary(s.results(imp.ID, "")); got != "2:skipped/sticky 3:skipped/sticky" {
		t.Fatalf("import over stuck fields: %s", got)
	}

	// With add_sis_stickiness, the course it moves the section to sticks:
	// a later row naming another course, or an xlists row, leaves it there.
	imp = s.importCSV("override_sis_stickiness=true&add_sis_stickiness=true", header+"S1,C2,Lab A,active,,\n")
	if r := only(t, s, imp, "S1"); changed(r) != "course_id,restrict_enrollments_to_section_dates,sticky_fields" {
		t.Errorf("override and add: %+v", r)
	}
	s.getJSON("/api/v1/sections/sis_section_id:S1", &s1)
	if s1.CourseID != c2.ID || s1.Restricted || fmt.Sprint(s1.StickyFields) != "[course_id name restrict_enrollments_to_section_dates]" {
		t.Fatalf("after override and add: %+v", s1)
	}
	imp = s.importCSV("", header+"S1,C1,Lab A,active,,\n")
	if got := summary(s.results(imp.ID, "")); got != "2:skipped/sticky" {
		t.Errorf("a stuck course_id: %s", got)
	}
	imp = s.importCSV("", "xlist_course_id,section_id,status\nX9,S1,active\n")
	if got := summary(s.results(imp.ID, "")); got != "2:skipped/sticky" {
		t.Errorf("xlists rows on a section whose course_id stuck: %s", got)
	}
	if len(s.results(imp.ID, "entity=course")) != 0 {
		t.Errorf("an xlists row that did nothing made a course")
	}
	s.getJSON("/api/v1/sections/sis_section_id:S1", &s1)
	if s1.CourseID != c2.ID || s1.NonxlistCourseID != nil {
		t.Errorf("after stuck rows: %+v", s1)
	}
	// With override, the xlists row cross-lists it; clear unmarks course_id.
	imp = s.importCSV("override_sis_stickiness=true&clear_sis_stickiness=true", "xlist_course_id,section_id,status\nC3,S1,active\n")
	s.getJSON("/api/v1/sections/sis_section_id:S1", &s1)
	if r := only(t, s, imp, "S1"); r.Action != "updated" || s1.NonxlistCourseID == nil || *s1.NonxlistCourseID != c2.ID ||
		fmt.Sprint(s1.StickyFields) != "[name restrict_enrollments_to_section_dates]" {
		t.Errorf("override and clear on xlists: %+v, %+v", r, s1)
	}

	path := fmt.Sprintf("/api/v1/sections/%d", s2.ID)
	refuses(t, s, "", path, `{"course_section":{"restrict_enrollments_to_section_dates":"maybe"}}`, 400, "course_section[restrict_enrollments_to_section_dates]")
	refuses(t, s, "", path, `{"course_section":{"start_at":"2027-02-01"}}`, 400, "course_section[end_at]")
	refuses(t, s, "", path, `{"course_section":{"end_at":"31/12/2026"}}`, 400, "course_section[end_at]")
	refuses(t, s, "", path, `{"course_section":{"name":""}}`, 400, "course_section[name]")
	refuses(t, s, "", path, `{"course_section":{"sis_section_id":"S1"}}`, 409, "course_section[sis_section_id]")
	s.mustEdit("/api/v1/sections/sis_section_id:S1", `{"course_section":{"integration_id":"IS1"}}`, nil)
	refuses(t, s, "", path, `{"course_section":{"integration_id":"IS1"}}`, 409, "course_section[integration_id]")
	east := s.account("East", 1, "east")
	refuses(t, s, s.newToken(east.ID, auth.Admin), path, `{"course_section":{"name":"Taken over"}}`, 404, "not_found")
}

func TestStickinessOfGroups(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	const header = "group_id,name,status\n"
	s.importCSV("", header+"G1,Chess,available\nG2,Go,available\n")
	var g1, g2 stGroup
	s.mustEdit("/api/v1/groups/sis_group_id:G1", `{"name":"Chess Club"}`, &g1)
	s.mustEdit("/api/v1/groups/sis_group_id:G2", "group[name]=Go+Club", &g2)
	if g1.Name != "Chess Club" || g2.Name != "Go Club" || fmt.Sprint(g1.StickyFields) != "[name]" || fmt.Sprint(g2.StickyFields) != "[name]" {
		t.Fatalf("edited groups: %+v %+v", g1, g2)
	}
	imp := s.importCSV("", header+"G1,Chess,available\nG2,Go,deleted\n")
	if got := summary(s.results(imp.ID, "")); got != "2:skipped/sticky 3:deleted" {
		t.Fatalf("import over a stuck name: %s", got)
	}
	if r := only(t, s, imp, "G2"); changed(r) != "workflow_state" {
		t.Errorf("G2's changes: %v", r.Changes)
	}
	imp = s.importCSV("override_sis_stickiness=true&clear_sis_stickiness=true", header+"G1,Chess,available\n")
	s.getJSON("/api/v1/groups/sis_group_id:G1", &g1)
	if r := only(t, s, imp, "G1"); r.Action != "updated" || g1.Name != "Chess" || len(g1.StickyFields) != 0 {
		t.Errorf("override and clear: %+v, %+v", r, g1)
	}

	// A manual group may be renamed too.
	code, b, _ := s.do("POST", "/api/v1/accounts/1/groups", strings.NewReader(`{"name":"Hand made"}`), map[string]string{"Content-Type": "application/json"})
	var manual stGroup
	decode(t, b, &manual)
	if code != 200 {
		t.Fatalf("manual group: %d %s", code, b)
	}
	s.mustEdit(fmt.Sprintf("/api/v1/groups/%d", manual.ID), `{"group":{"name":"Hand made, renamed"}}`, &manual)
	if manual.Name != "Hand made, renamed" || manual.Origin != "manual" {
		t.Errorf("renamed manual group: %+v", manual)
	}

	refuses(t, s, "", "/api/v1/groups/sis_group_id:G1", `{"name":" "}`, 400, "name")
	east := s.account("East", 1, "east")
	refuses(t, s, s.newToken(east.ID, auth.Admin), "/api/v1/groups/sis_group_id:G1", `{"name":"Taken over"}`, 404, "not_found")
}

// TestRestoreLeavesEditedObjectsAlone: a restore puts back what the import
// changed, the marks add_sis_stickiness made included, except on objects
// edited through the API since.
func TestRestoreLeavesEditedObjectsAlone(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	roster := func(suffix string) []string {
		overrideStart := map[string]string{"": "2026-08-01", " 2": "2026-08-02"}[suffix]
		return []string{
			"accounts.csv", "account_id,parent_account_id,name,status\nA1,,Arts" + suffix + ",active\nA2,,Music" + suffix + ",active\n",
			"terms.csv", "term_id,name,status,start_date,date_override_enrollment_type\nT1,Fall" + suffix + ",active,,\nT2,Spring" + suffix + ",active,,\n" +
				"T2,,active," + overrideStart + ",StudentEnrollment\n",
			"courses.csv", "course_id,short_name,long_name,status\nC1,C1,One" + suffix + ",active\nC2,C2,Two" + suffix + ",active\n",
			"sections.csv", "section_id,course_id,name,status\nS1,C1,Lab" + suffix + ",active\nS2,C1,Lecture" + suffix + ",active\n",
			"groups.csv", "group_id,name,status\nG1,Chess" + suffix + ",available\nG2,Go" + suffix + ",available\n",
		}
	}
	s.importZip("1", "", roster("")...)
	changes := s.importZip("1", "override_sis_stickiness=true&add_sis_stickiness=true", roster(" 2")...)
	if changes.WorkflowState != "imported" {
		t.Fatalf("the import to restore: %s %v", changes.WorkflowState, changes.ProcessingErrors)
	}
	// The first of each pair is edited afterwards (not a field the import
	// changed): the restore leaves it alone.
	for _, path := range []string{"/api/v1/accounts/sis_account_id:A1", "/api/v1/accounts/1/terms/sis_term_id:T1",
		"/api/v1/courses/sis_course_id:C1", "/api/v1/sections/sis_section_id:S1", "/api/v1/groups/sis_group_id:G1"} {
		body := map[string]string{"accounts": `{"account":{"integration_id":"edited"}}`, "terms": `{"enrollment_term":{"integration_id":"edited"}}`,
			"courses": `{"course":{"integration_id":"edited"}}`, "sections": `{"course_section":{"integration_id":"edited"}}`,
			"groups": `{"name":"Edited"}`}
		for kind, b := range body {
			if strings.Contains(path, "/"+kind+"/") {
				s.mustEdit(path, b, nil)
			}
		}
	}
	restored := s.restore(changes.ID)
	if restored.WorkflowState != "partially_restored" {
		t.Fatalf("restore: %s", restored.WorkflowState)
	}
	got := map[string]string{}
	for _, r := range s.results(changes.ID, "phase=restore") {
		got[r.Entity+":"+str(r.SISID)] = r.Action + "/" + str(r.Code)
	}
	want := map[string]string{}
	for _, entity := range []string{"account:A", "term:T", "course:C", "section:S", "group:G"} {
		want[entity+"1"] = "skipped/changed_since"
		want[entity+"2"] = "updated/"
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restore outcomes:\n got %v\nwant %v", got, want)
	}

	// The second of each pair has its name and sticky fields back; the
	// first keeps both the import's name and the edit.
	var a1, a2 stAccount
	s.getJSON("/api/v1/accounts/sis_account_id:A1", &a1)
	s.getJSON("/api/v1/accounts/sis_account_id:A2", &a2)
	terms := s.terms("1", "")
	var c1, c2 stCourse
	s.getJSON("/api/v1/courses/sis_course_id:C1", &c1)
	s.getJSON("/api/v1/courses/sis_course_id:C2", &c2)
	var s1, s2 stSection
	s.getJSON("/api/v1/sections/sis_section_id:S1", &s1)
	s.getJSON("/api/v1/sections/sis_section_id:S2", &s2)
	var g1, g2 stGroup
	s.getJSON("/api/v1/groups/sis_group_id:G1", &g1)
	s.getJSON("/api/v1/groups/sis_group_id:G2", &g2)
	var term1, term2 stTerm
	var page struct {
		Terms []stTerm `json:"enrollment_terms"`
	}
	s.getJSON("/api/v1/accounts/1/terms?per_page=100&include[]=overrides", &page)
	for _, tm := range page.Terms {
		switch tm.ID {
		case terms["T1"].ID:
			term1 = tm
		case terms["T2"].ID:
			term2 = tm
		}
	}
	firsts := []string{a1.Name, term1.Name, c1.Name, s1.Name, g1.Name}
	seconds := []string{a2.Name, term2.Name, c2.Name, s2.Name, g2.Name}
	if fmt.Sprint(firsts) != "[Arts 2 Fall 2 One 2 Lab 2 Edited]" || fmt.Sprint(seconds) != "[Music Spring Two Lecture Go]" {
		t.Errorf("names after restore: edited %v, restored %v", firsts, seconds)
	}
	stuck := fmt.Sprint(a1.StickyFields, term1.StickyFields, c1.StickyFields, s1.StickyFields, g1.StickyFields, "|",
		a2.StickyFields, term2.StickyFields, c2.StickyFields, s2.StickyFields, g2.StickyFields)
	if stuck != "[name] [name] [name] [name] [name]|[] [] [] [] []" {
		t.Errorf("sticky fields after restore: %s", stuck)
	}
	// T2's date override has its date back, and is no longer stuck.
	if o := term2.Overrides["StudentEnrollment"]; !sameDay(o.StartAt, "2026-08-01T00:00:00Z") || len(o.StickyFields) != 0 {
		t.Errorf("T2's override after restore: %+v", o)
	}
}
