package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/client"
	"github.com/sisimport/sisimport/internal/pgtest"
)

// The columns Canvas documents for accounts.csv, terms.csv and
// courses.csv (docs/import-rules.md#accounts-and-terms,
// docs/import-rules.md#courses), and the API that shows them: GET terms
// and GET course.

// canvasColumnsZip holds every documented column of the three types, with
// rows that apply and rows that fail.
var canvasColumnsZip = []string{
	"accounts.csv", "account_id,parent_account_id,name,status,integration_id\n" +
		"A1,,Arts,active,IA1\n" + // 2
		"A2,A1,Music,active,IA2\n" + // 3
		"A3,,Clash,active,IA1\n", // 4 IA1 is A1's
	"terms.csv", "term_id,name,status,start_date,end_date,integration_id,date_override_enrollment_type\n" +
		"T1,Fall 2026,active,2026-08-24,2026-12-20,IT1,\n" + // 2
		"T1,,active,2026-08-20,2026-12-24T17:00:00Z,ignored,StudentEnrollment\n" + // 3 name and integration_id are not read
		"T1,Fall 2026,active,,2027-01-10,,TeacherEnrollment\n" + // 4
		"T1,,active,2026-08-01,,,TaEnrollment\n" + // 5
		"T1,,active,2026-08-02,,,TaEnrollment\n" + // 6 the same override twice
		"T9,,active,2026-01-01,,,StudentEnrollment\n" + // 7 no such term
		"T2,Spring 2027,active,,,IT1,\n" + // 8 IT1 is T1's
		"T3,Summer,active,,,,ObserverEnrollment\n" + // 9 not a type with dates
		"T4,,active,,,,\n" + // 10 a term needs a name
		"T5,Old,deleted,,,,\n", // 11 no such term to delete
	"courses.csv", "course_id,short_name,long_name,account_id,term_id,status,start_date,end_date,integration_id," +
		"course_format,blueprint_course_id,grade_passback_setting,homeroom_course,friendly_name\n" +
		"BP,BP,Blueprint,A1,T1,published,,,ICBP,ONLINE,,nightly_sync,false,\n" + // 2
		"C1,C1,Course 1,A2,T1,unpublished,2026-08-24,,IC1,blended,BP,Disabled,yes,Ms. Frizzle's class\n" + // 3
		"C2,C2,Course 2,A2,T1,active,,,,not_set,,not_set,,\n" + // 4
		"C3,C3,Course 3,,,active,,,,hybrid,,,,\n" + // 5
		"C4,C4,Course 4,,,active,,,,,,weekly,,\n" + // 6
		"C5,C5,Course 5,,,active,,,,,,,maybe,\n" + // 7
		"C6,C6,Course 6,,,active,,,,,NOPE,,,\n" + // 8
		"C7,C7,Course 7,,,active,,,,,C7,,,\n" + // 9
		"C8,C8,Course 8,A2,,active,,,,,C1,,,\n" + // 10 C1 is associated with a blueprint itself
		"C9,C9,Course 9,,,pending,,,,,,,,\n" + // 11
		"C10,C10,Course 10,,,active,,,IC1,,,,,\n" + // 12 IC1 is C1's
		"C11,C11,Course 11,,,active,,,,,BP,,,\n", // 13 the root account is not below A1
}

// apiTerm is the EnrollmentTerm JSON.
type apiTerm struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	SISTermID     *string    `json:"sis_term_id"`
	SISImportID   *int64     `json:"sis_import_id"`
	IntegrationID *string    `json:"integration_id"`
	StartAt       *time.Time `json:"start_at"`
	EndAt         *time.Time `json:"end_at"`
	WorkflowState string     `json:"workflow_state"`
	Overrides     map[string]struct {
		StartAt *time.Time `json:"start_at"`
		EndAt   *time.Time `json:"end_at"`
	} `json:"overrides"`
}

// apiCourse is the Course JSON.
type apiCourse struct {
	ID                   int64      `json:"id"`
	Name                 string     `json:"name"`
	CourseCode           string     `json:"course_code"`
	SISCourseID          *string    `json:"sis_course_id"`
	IntegrationID        *string    `json:"integration_id"`
	AccountID            int64      `json:"account_id"`
	EnrollmentTermID     *int64     `json:"enrollment_term_id"`
	WorkflowState        string     `json:"workflow_state"`
	StartAt              *time.Time `json:"start_at"`
	CourseFormat         *string    `json:"course_format"`
	GradePassbackSetting *string    `json:"grade_passback_setting"`
	HomeroomCourse       bool       `json:"homeroom_course"`
	FriendlyName         *string    `json:"friendly_name"`
	Blueprint            bool       `json:"blueprint"`
	BlueprintCourseID    *int64     `json:"blueprint_course_id"`
}

func (s *service) course(ref string) apiCourse {
	s.t.Helper()
	var c apiCourse
	s.getJSON("/api/v1/courses/"+ref, &c)
	return c
}

// terms reads every term of GET /accounts/:account/terms with query,
// following the Link headers.
func (s *service) terms(account, query string) map[string]apiTerm {
	s.t.Helper()
	out := map[string]apiTerm{}
	path := "/api/v1/accounts/" + account + "/terms?per_page=1&" + query
	for path != "" {
		var page struct {
			Terms []apiTerm `json:"enrollment_terms"`
		}
		h := s.getJSON(path, &page)
		if len(page.Terms) > 1 {
			s.t.Fatalf("a page of per_page=1 has %d terms", len(page.Terms))
		}
		for _, t := range page.Terms {
			out[str(t.SISTermID)] = t
		}
		path = client.NextLink(h.Get("Link"))
	}
	return out
}

// dates shows a term's or an override's dates as "start..end", "-" for none.
func dates(start, end *time.Time) string {
	d := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	return d(start) + ".." + d(end)
}

// overridesOf shows a term's overrides, type by type in a fixed order.
func overridesOf(t apiTerm) string {
	var out []string
	for _, typ := range []string{"StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "DesignerEnrollment"} {
		if o, ok := t.Overrides[typ]; ok {
			out = append(out, typ+":"+dates(o.StartAt, o.EndAt))
		}
	}
	return strings.Join(out, " ")
}

func noIgnoredColumns(t *testing.T, imp sisImport) {
	t.Helper()
	for _, w := range imp.ProcessingWarnings {
		if strings.Contains(w[1], "columns ignored") {
			t.Errorf("a documented column was ignored: %v", w)
		}
	}
}

func TestEveryCanvasColumnOfAccountsTermsAndCourses(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)

	// Canvas's own examples: nothing in them is an ignored column.
	var examples []string
	for _, name := range []string{"accounts.csv", "terms.csv", "courses.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata/external/canvas-docs", name))
		if err != nil {
			t.Fatal(err)
		}
		examples = append(examples, "examples/"+name, string(b))
	}
	noIgnoredColumns(t, s.importZip("1", "", examples...))

	imp := s.importZip("1", "", canvasColumnsZip...)
	noIgnoredColumns(t, imp)
	rs := s.results(imp.ID, "")
	sameOutcomes(t, "every column", outcomes(rs), map[string]string{
		"accounts.csv:2": "created/", "accounts.csv:3": "created/", "accounts.csv:4": "failed/exists",
		"terms.csv:2": "created/", "terms.csv:3": "updated/", "terms.csv:4": "updated/", "terms.csv:5": "updated/",
		"terms.csv:6": "failed/duplicate_in_file", "terms.csv:7": "failed/unknown_reference", "terms.csv:8": "failed/exists",
		"terms.csv:9": "failed/invalid_value", "terms.csv:10": "failed/missing_value", "terms.csv:11": "skipped/not_found",
		"courses.csv:2": "created/", "courses.csv:3": "created/", "courses.csv:4": "created/", "courses.csv:5": "failed/invalid_value",
		"courses.csv:6": "failed/invalid_value", "courses.csv:7": "failed/invalid_value", "courses.csv:8": "failed/unknown_reference",
		"courses.csv:9": "failed/invalid_value", "courses.csv:10": "failed/invalid_value", "courses.csv:11": "failed/invalid_status",
		"courses.csv:12": "failed/exists", "courses.csv:13": "failed/invalid_value",
	})
	// Each failure names its column.
	for key, col := range map[string]string{"accounts.csv:4": "integration_id", "terms.csv:7": "term_id", "terms.csv:8": "integration_id",
		"terms.csv:9": "date_override_enrollment_type", "terms.csv:10": "name", "courses.csv:5": "course_format",
		"courses.csv:6": "grade_passback_setting", "courses.csv:7": "homeroom_course", "courses.csv:8": "blueprint_course_id",
		"courses.csv:9": "blueprint_course_id", "courses.csv:10": "blueprint_course_id", "courses.csv:11": "status",
		"courses.csv:12": "integration_id", "courses.csv:13": "blueprint_course_id"} {
		for _, r := range rs {
			if r.Row != nil && fmt.Sprintf("%s:%d", r.File, *r.Row) == key && !strings.Contains(str(r.Message), "column "+col) {
				t.Errorf("%s: the message does not name the column %s: %q", key, col, str(r.Message))
			}
		}
	}
	// An override row's result is its term's, its changes named after the
	// override.
	for _, r := range rs {
		if r.File == "terms.csv" && r.Row != nil && *r.Row == 3 {
			want := map[string]string{"overrides.StudentEnrollment.start_at": "[<nil> 2026-08-20T00:00:00Z]",
				"overrides.StudentEnrollment.end_at": "[<nil> 2026-12-24T17:00:00Z]"}
			if r.Entity != "term" || str(r.SISID) != "T1" || len(r.Changes) != len(want) {
				t.Errorf("the override row's result: %+v", r)
			}
			for field, w := range want {
				if got := fmt.Sprint(r.Changes[field]); got != w {
					t.Errorf("changes.%s = %s, want %s", field, got, w)
				}
			}
		}
	}

	var a1 struct {
		IntegrationID *string `json:"integration_id"`
	}
	s.getJSON("/api/v1/accounts/sis_account_id:A1", &a1)
	if str(a1.IntegrationID) != "IA1" {
		t.Errorf("account A1's integration_id: %q", str(a1.IntegrationID))
	}

	// GET terms: active ones by default, with overrides when asked for.
	terms := s.terms("1", "include[]=overrides")
	t1 := terms["T1"]
	if len(terms) != 4 || t1.Name != "Fall 2026" || str(t1.IntegrationID) != "IT1" || t1.WorkflowState != "active" ||
		t1.SISImportID == nil || *t1.SISImportID != imp.ID || dates(t1.StartAt, t1.EndAt) != "2026-08-24T00:00:00Z..2026-12-20T00:00:00Z" {
		t.Errorf("terms: %+v", terms)
	}
	if got, want := overridesOf(t1), "StudentEnrollment:2026-08-20T00:00:00Z..2026-12-24T17:00:00Z "+
		"TeacherEnrollment:-..2027-01-10T00:00:00Z TaEnrollment:2026-08-01T00:00:00Z..-"; got != want {
		t.Errorf("T1's overrides: %s, want %s", got, want)
	}
	code, b, _ := s.do("GET", "/api/v1/accounts/1/terms", nil, nil)
	if code != 200 || strings.Contains(string(b), "overrides") {
		t.Errorf("terms without include[]=overrides: %d %s", code, b)
	}
	if got := s.terms("1", "workflow_state[]=bogus"); len(got) != 4 {
		t.Errorf("an unknown workflow_state is dropped, as on Canvas, and the default applies: %d terms", len(got))
	}
	// A sub-account lists its root account's terms.
	if got := s.terms("sis_account_id:A2", ""); len(got) != 4 {
		t.Errorf("the terms of a sub-account: %d", len(got))
	}

	// GET course, by SIS id and by id, with Canvas's words.
	bp, c1, c2 := s.course("sis_course_id:BP"), s.course("sis_course_id:C1"), s.course("sis_course_id:C2")
	if got := s.course(fmt.Sprint(c1.ID)); got.ID != c1.ID {
		t.Errorf("C1 by id: %+v", got)
	}
	if c1.Name != "Course 1" || c1.CourseCode != "C1" || str(c1.SISCourseID) != "C1" || str(c1.IntegrationID) != "IC1" ||
		c1.WorkflowState != "available" || c1.EnrollmentTermID == nil || *c1.EnrollmentTermID != t1.ID ||
		str(c1.CourseFormat) != "blended" || str(c1.GradePassbackSetting) != "disabled" || !c1.HomeroomCourse ||
		str(c1.FriendlyName) != "Ms. Frizzle's class" || c1.Blueprint || c1.BlueprintCourseID == nil || *c1.BlueprintCourseID != bp.ID {
		t.Errorf("C1: %+v", c1)
	}
	if !bp.Blueprint || bp.BlueprintCourseID != nil || str(bp.CourseFormat) != "online" || str(bp.GradePassbackSetting) != "nightly_sync" ||
		bp.HomeroomCourse || bp.FriendlyName != nil || bp.WorkflowState != "available" {
		t.Errorf("BP: %+v", bp)
	}
	if c2.CourseFormat != nil || c2.GradePassbackSetting != nil || c2.IntegrationID != nil {
		t.Errorf("C2's not_set values: %+v", c2)
	}
	if code, _, _ := s.do("GET", "/api/v1/courses/sis_course_id:C3", nil, nil); code != 404 {
		t.Errorf("a course that failed to import: %d", code)
	}
}

func TestCanvasEmptyCellRulesOfAccountsTermsAndCourses(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "", canvasColumnsZip...)

	// Without the columns, nothing of theirs changes.
	imp := s.importZip("1", "",
		"accounts.csv", "account_id,parent_account_id,name,status\nA1,,Arts,active\n",
		"terms.csv", "term_id,name,status,start_date,end_date\nT1,Fall 2026,active,2026-08-24,2026-12-20\n",
		"courses.csv", "course_id,short_name,long_name,account_id,term_id,status,start_date\nC1,C1,Course 1,A2,T1,active,2026-08-24\n")
	sameOutcomes(t, "files without the columns", outcomes(s.results(imp.ID, "")), map[string]string{
		"accounts.csv:2": "unchanged/", "terms.csv:2": "unchanged/", "courses.csv:2": "unchanged/"})

	// With them, an empty integration_id and course_format clear, as on
	// Canvas; the other columns keep their values.
	imp = s.importZip("1", "",
		"accounts.csv", "account_id,parent_account_id,name,status,integration_id\nA1,,Arts,active,\n",
		"terms.csv", "term_id,name,status,start_date,end_date,integration_id,date_override_enrollment_type\n"+
			"T1,Fall 2026,active,2026-08-24,2026-12-20,,\n"+ // 2
			"T1,,deleted,,,,StudentEnrollment\n"+ // 3 removed
			"T1,,deleted,,,,DesignerEnrollment\n"+ // 4 there is none
			"T1,,active,,,,TaEnrollment\n", // 5 empty dates clear the override's
		"courses.csv", "course_id,short_name,long_name,status,integration_id,course_format,grade_passback_setting,"+
			"homeroom_course,friendly_name,blueprint_course_id\n"+
			"C1,C1,Course 1,active,,,,,,\n"+ // 2
			"BP,BP,Blueprint,completed,ICBP,online,not_set,yes,<delete>,\n"+ // 3
			"C2,C2,Course 2,deleted,,,,,,BP\n") // 4 a deleted course is not associated
	noIgnoredColumns(t, imp)
	rs := s.results(imp.ID, "")
	sameOutcomes(t, "empty cells", outcomes(rs), map[string]string{
		"accounts.csv:2": "updated/", "terms.csv:2": "updated/", "terms.csv:3": "updated/", "terms.csv:4": "unchanged/",
		"terms.csv:5": "updated/", "courses.csv:2": "updated/", "courses.csv:3": "updated/", "courses.csv:4": "deleted/"})
	changed := map[string]string{}
	for _, r := range rs {
		var fields []string
		for f := range r.Changes {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		changed[fmt.Sprintf("%s:%d", r.File, *r.Row)] = strings.Join(fields, " ")
	}
	for key, want := range map[string]string{
		"accounts.csv:2": "integration_id",
		"terms.csv:2":    "integration_id",
		"terms.csv:3":    "overrides.StudentEnrollment.end_at overrides.StudentEnrollment.start_at",
		"terms.csv:5":    "overrides.TaEnrollment.start_at",
		"courses.csv:2":  "course_format integration_id",
		"courses.csv:3":  "grade_passback_setting homeroom_course workflow_state",
		"courses.csv:4":  "workflow_state",
	} {
		if changed[key] != want {
			t.Errorf("%s changed %q, want %q", key, changed[key], want)
		}
	}
	var a1 struct {
		IntegrationID *string `json:"integration_id"`
	}
	s.getJSON("/api/v1/accounts/sis_account_id:A1", &a1)
	t1 := s.terms("1", "include[]=overrides")["T1"]
	if a1.IntegrationID != nil || t1.IntegrationID != nil || overridesOf(t1) != "TeacherEnrollment:-..2027-01-10T00:00:00Z" {
		t.Errorf("after clearing: account %v, term %+v", a1.IntegrationID, t1)
	}
	c1, bp := s.course("sis_course_id:C1"), s.course("sis_course_id:BP")
	if c1.IntegrationID != nil || c1.CourseFormat != nil || str(c1.GradePassbackSetting) != "disabled" || !c1.HomeroomCourse ||
		str(c1.FriendlyName) != "Ms. Frizzle's class" || c1.BlueprintCourseID == nil || *c1.BlueprintCourseID != bp.ID {
		t.Errorf("C1 after empty cells: %+v", c1)
	}
	if bp.WorkflowState != "completed" || bp.GradePassbackSetting != nil || !bp.HomeroomCourse || bp.FriendlyName != nil || !bp.Blueprint {
		t.Errorf("BP: %+v", bp)
	}
	if c2 := s.course("sis_course_id:C2"); c2.WorkflowState != "deleted" || c2.BlueprintCourseID != nil {
		t.Errorf("C2: %+v", c2)
	}

	// change_sis_id finds accounts and terms by integration id too.
	imp = s.importZip("1", "", "change.csv", "old_id,new_id,old_integration_id,new_integration_id,type\n"+
		",,IA2,IA2-NEW,account\n"+",,IT9,X,term\n")
	sameOutcomes(t, "change_sis_id", outcomes(s.results(imp.ID, "")), map[string]string{"change.csv:2": "updated/", "change.csv:3": "skipped/not_found"})
	var a2 struct {
		IntegrationID *string `json:"integration_id"`
	}
	s.getJSON("/api/v1/accounts/sis_account_id:A2", &a2)
	if str(a2.IntegrationID) != "IA2-NEW" {
		t.Errorf("A2's integration id after change_sis_id: %q", str(a2.IntegrationID))
	}

	// fallback_account_id places a course whose account_id is empty; one
	// that does not exist is no account, as on Canvas.
	imp = s.importZip("1", "", "courses.csv", "course_id,short_name,long_name,account_id,fallback_account_id,status\n"+
		"F1,F1,F1,,A1,active\n"+"F2,F2,F2,,NOPE,active\n"+"F3,F3,F3,A2,A1,active\n")
	sameOutcomes(t, "fallback_account_id", outcomes(s.results(imp.ID, "")), map[string]string{
		"courses.csv:2": "created/", "courses.csv:3": "created/", "courses.csv:4": "created/"})
	var a1ID, a2ID int64
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT (SELECT id FROM accounts WHERE sis_account_id = 'A1'),
		(SELECT id FROM accounts WHERE sis_account_id = 'A2')`).Scan(&a1ID, &a2ID))
	if f1, f2, f3 := s.course("sis_course_id:F1"), s.course("sis_course_id:F2"), s.course("sis_course_id:F3"); f1.AccountID != a1ID ||
		f2.AccountID != 1 || f3.AccountID != a2ID {
		t.Errorf("fallback accounts: F1 %d, F2 %d, F3 %d", f1.AccountID, f2.AccountID, f3.AccountID)
	}

	// dissociate ends the association; deleted terms list with
	// workflow_state[].
	imp = s.importZip("1", "",
		"courses.csv", "course_id,short_name,long_name,status,blueprint_course_id\nC1,C1,Course 1,active,dissociate\n",
		"terms.csv", "term_id,name,status\nT1,Fall 2026,deleted\n")
	sameOutcomes(t, "dissociate", outcomes(s.results(imp.ID, "")), map[string]string{"courses.csv:2": "updated/", "terms.csv:2": "deleted/"})
	if c1, bp := s.course("sis_course_id:C1"), s.course("sis_course_id:BP"); c1.BlueprintCourseID != nil || bp.Blueprint {
		t.Errorf("after dissociate: C1 %+v, BP %+v", c1, bp)
	}
	if active, deleted, all := s.terms("1", ""), s.terms("1", "workflow_state[]=deleted"), s.terms("1", "workflow_state=all"); len(active) != 0 ||
		len(deleted) != 1 || deleted["T1"].WorkflowState != "deleted" || len(all) != 1 {
		t.Errorf("terms by state: active %d, deleted %v, all %d", len(active), deleted, len(all))
	}
}

func TestRestoreOfCanvasColumns(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "", canvasColumnsZip...)
	before := map[string]apiCourse{}
	for _, c := range []string{"BP", "C1", "C2"} {
		before[c] = s.course("sis_course_id:" + c)
	}
	beforeT1 := s.terms("1", "include[]=overrides")["T1"]

	imp := s.importZip("1", "",
		"accounts.csv", "account_id,parent_account_id,name,status,integration_id\nA1,,Arts,active,IA1-NEW\nA9,,New,active,IA9\n",
		"terms.csv", "term_id,name,status,start_date,end_date,integration_id,date_override_enrollment_type\n"+
			"T1,Fall 2026,active,2026-08-24,2026-12-20,IT1-NEW,\n"+
			"T1,,active,2026-09-01,2026-12-01,,StudentEnrollment\n"+
			"T1,,deleted,,,,TeacherEnrollment\n"+
			"T1,,active,,2026-12-31,,DesignerEnrollment\n",
		"courses.csv", "course_id,short_name,long_name,account_id,status,integration_id,course_format,grade_passback_setting,"+
			"homeroom_course,friendly_name,blueprint_course_id\n"+
			"C1,C1,Course 1,A2,active,IC1-NEW,on_campus,nightly_sync,no,Room 12,dissociate\n"+
			"C2,C2,Course 2,A2,active,,online,,true,,BP\n")
	if len(imp.ProcessingErrors) != 0 || imp.WorkflowState != "imported" {
		t.Fatalf("the import to restore: %s %v %s", imp.WorkflowState, imp.ProcessingErrors, summary(s.results(imp.ID, "")))
	}
	restored := s.restore(imp.ID)
	if restored.WorkflowState != "restored" {
		t.Fatalf("after restore: %s %s", restored.WorkflowState, summary(s.results(imp.ID, "phase=restore")))
	}
	for c, want := range before {
		got, _ := json.Marshal(s.course("sis_course_id:" + c))
		if w, _ := json.Marshal(want); string(got) != string(w) {
			t.Errorf("%s after restore:\n%s\nwant\n%s", c, got, w)
		}
	}
	t1 := s.terms("1", "include[]=overrides")["T1"]
	if str(t1.IntegrationID) != "IT1" || overridesOf(t1) != overridesOf(beforeT1) {
		t.Errorf("T1 after restore: %s %s, want %s", str(t1.IntegrationID), overridesOf(t1), overridesOf(beforeT1))
	}
	var a1, a9 string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT
		(SELECT integration_id FROM accounts WHERE sis_account_id = 'A1'),
		(SELECT workflow_state FROM accounts WHERE sis_account_id = 'A9')`).Scan(&a1, &a9))
	if a1 != "IA1" || a9 != "deleted" {
		t.Errorf("accounts after restore: A1 %s, A9 %s", a1, a9)
	}

	// An override changed since is left alone.
	second := s.importZip("1", "", "terms.csv", "term_id,name,status,start_date,end_date,date_override_enrollment_type\n"+
		"T1,,active,2026-09-01,2026-12-01,StudentEnrollment\n")
	s.importZip("1", "", "terms.csv", "term_id,name,status,start_date,end_date,date_override_enrollment_type\n"+
		"T1,,active,2026-09-02,2026-12-01,StudentEnrollment\n")
	if restored := s.restore(second.ID); restored.WorkflowState != "partially_restored" {
		t.Errorf("a restore of an override changed since: %s %s", restored.WorkflowState, summary(s.results(second.ID, "phase=restore")))
	}
	if got := overridesOf(s.terms("1", "include[]=overrides")["T1"]); !strings.HasPrefix(got, "StudentEnrollment:2026-09-02T00:00:00Z") {
		t.Errorf("the override changed since: %s", got)
	}
}

// The courses report carries the new columns and imports back unchanged.
func TestCoursesReportWithCanvasColumns(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importZip("1", "", canvasColumnsZip...)
	code, report, _ := s.do("GET", "/api/v1/accounts/1/reports/provisioning?type=courses", nil, nil)
	if code != 200 {
		t.Fatalf("courses report: %d %s", code, report)
	}
	if !strings.Contains(string(report), "C1,C1,Course 1,A2,T1,active,2026-08-24T00:00:00Z,,IC1,blended,disabled,true,Ms. Frizzle's class,BP\n") {
		t.Errorf("C1's row in the report:\n%s", report)
	}
	imp := s.upload("1", "", string(report))
	imp = s.wait("1", imp.ID)
	for _, r := range s.results(imp.ID, "") {
		if r.Action != "unchanged" {
			t.Errorf("the report imported back: %s line %d %s/%s %s", r.File, *r.Row, r.Action, str(r.Code), str(r.Message))
		}
	}
}
