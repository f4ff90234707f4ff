package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// orOutcomes maps each result to action/code, keyed by file:line and the
// entity (a OneRoster file is read as several types), and by entity:sis_id
// for a result without a row; an observer link's key adds its observer.
func orOutcomes(rs []result) map[string]string {
	got := map[string]string{}
	for _, r := range rs {
		k := fmt.Sprintf("%s:%s", r.Entity, str(r.SISID))
		if r.Row != nil {
			k = fmt.Sprintf("%s:%d %s", r.File, *r.Row, r.Entity)
			if r.Entity == "user_observer" {
				k += " " + str(r.SISID)
			}
		}
		got[k] = r.Action + "/" + str(r.Code)
	}
	return got
}

// manifest11 is a OneRoster 1.1 manifest with each file's mode.
func manifest(version string, modes ...string) string {
	m := "propertyName,value\nmanifest.version,1.0\noneroster.version," + version + "\n"
	for i := 0; i < len(modes); i += 2 {
		m += "file." + modes[i] + "," + modes[i+1] + "\n"
	}
	return m + "source.systemName,Campus\nsource.systemCode,IC\n"
}

// oneRoster11 is a OneRoster 1.1 bulk package, in the binding's column order.
var oneRoster11 = []string{
	"manifest.csv", manifest("1.1", "academicSessions", "bulk", "categories", "absent", "classes", "bulk", "classResources", "absent",
		"courses", "bulk", "courseResources", "absent", "demographics", "bulk", "enrollments", "bulk", "lineItems", "absent",
		"orgs", "bulk", "resources", "absent", "results", "absent", "users", "bulk"),
	"orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n" +
		"district-1,,,North District,district,ND,\n" +
		"school-1,,,North High,school,NH,district-1\n",
	"academicSessions.csv", "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n" +
		"year-2026,,,2026-27,schoolYear,2026-08-20,2027-06-15,,2027\n" +
		"fall-2026,,,Fall 2026,term,2026-08-20,2026-12-20,year-2026,2027\n",
	"courses.csv", "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n" +
		"course-bio,,,year-2026,Biology,BIO,09,school-1,Science,\n",
	"classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n" +
		"class-bio-1,,,Biology - Period 1,09,course-bio,BIO-1,scheduled,Room 4,school-1,fall-2026,Science,,1\n" +
		"class-bio-2,,,Biology - Period 2,09,course-bio,,scheduled,Room 4,school-1,\"fall-2026,year-2026\",Science,,2\n",
	"users.csv", "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n" +
		"stu-1,,,true,school-1,student,ann.lee,,Ann,Lee,,S0001,ann.lee@north.example,,,\"par-1,par-2\",09,\n" +
		"stu-2,,,false,school-1,student,ben.ng,,Ben,Ng,,S0002,ben.ng@north.example,,,,09,\n" +
		"tea-1,,,true,school-1,teacher,cy.ortiz,,Cy,Ortiz,,T0001,cy.ortiz@north.example,,,,,\n" +
		"par-1,,,true,school-1,parent,dee.lee,,Dee,Lee,,,dee.lee@home.example,,,stu-1,,\n" +
		"par-2,,,true,school-1,guardian,eli.lee,,Eli,Lee,,,eli.lee@home.example,,,,,\n" +
		"adm-1,,,true,school-1,administrator,fay.khan,,Fay,Khan,,A0001,fay.khan@north.example,,,stu-2,,\n",
	"enrollments.csv", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n" +
		"enr-1,,,class-bio-1,school-1,stu-1,student,false,2026-08-20,2026-12-20\n" +
		"enr-2,,,class-bio-1,school-1,tea-1,teacher,true,,\n" +
		"enr-3,,,class-bio-1,school-1,adm-1,administrator,false,,\n" +
		"enr-4,,,class-bio-2,school-1,stu-2,student,false,20/08/2026,\n" +
		"enr-5,,,class-bio-2,school-1,par-1,parent,false,,\n" +
		"enr-6,,,class-bio-2,school-1,tea-1,counselor,false,,\n",
	"demographics.csv", "sourcedId,status,dateLastModified,birthDate,sex\nstu-1,,,2011-03-04,female\n",
}

// TestOneRoster11BulkPackage imports a OneRoster 1.1 package: every file of
// the binding it reads is a view onto the canonical types, each row with its
// result under the file and line it came from; what it does not keep is
// acknowledged.
func TestOneRoster11BulkPackage(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importZip("1", "", oneRoster11...)
	if len(imp.ProcessingErrors) != 0 {
		t.Fatalf("file errors: %v", imp.ProcessingErrors)
	}
	rs := s.results(imp.ID, "")
	sameOutcomes(t, "a OneRoster 1.1 package", orOutcomes(rs), map[string]string{
		"orgs.csv:2 account": "created/", "orgs.csv:3 account": "created/",
		"academicSessions.csv:2 term": "created/", "academicSessions.csv:3 term": "created/",
		"classes.csv:2 course": "created/", "classes.csv:3 course": "created/",
		"classes.csv:2 section": "created/", "classes.csv:3 section": "created/",
		"users.csv:2 user": "created/", "users.csv:3 user": "created/", "users.csv:4 user": "created/",
		"users.csv:5 user": "created/", "users.csv:6 user": "created/", "users.csv:7 user": "created/",
		"users.csv:2 user_observer par-1": "created/", "users.csv:2 user_observer par-2": "created/",
		"enrollments.csv:2 enrollment": "created/", "enrollments.csv:3 enrollment": "created/", "enrollments.csv:4 enrollment": "created/",
		"enrollments.csv:5 enrollment": "failed/invalid_value", "enrollments.csv:6 enrollment": "created/",
		"enrollments.csv:7 enrollment": "failed/unknown_reference",
	})
	warnings := fmt.Sprint(imp.ProcessingWarnings)
	for _, w := range []string{"demographics.csv", "courses.csv", "a class in several terms", "neither students nor parents"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("no warning about %s: %v", w, warnings)
		}
	}
}

// oneRoster12 is a OneRoster 1.2 package: users carry no role, roles.csv
// gives them theirs and their orgs; preferred names and pronouns.
var oneRoster12 = []string{
	"manifest.csv", manifest("1.2", "academicSessions", "bulk", "categories", "absent", "classes", "bulk", "courses", "absent",
		"demographics", "absent", "enrollments", "bulk", "orgs", "bulk", "roles", "bulk", "userProfiles", "absent", "users", "bulk"),
	"orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n" +
		"school-2,active,2026-08-01T00:00:00Z,South Middle,school,SM,\n",
	"academicSessions.csv", "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n" +
		"spring-2027,active,2026-08-01T00:00:00Z,Spring 2027,semester,2027-01-10,2027-05-30,,2027\n",
	"classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n" +
		"class-art-1,active,2026-08-01T00:00:00Z,Art 7,07,course-art,ART7,scheduled,Studio,school-2,spring-2027,Art,,3\n",
	"users.csv", "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n" +
		"u-stu,active,2026-08-01T00:00:00Z,true,gil.moss,,Gilbert,Moss,,S100,gil.moss@south.example,,,u-par,07,,,,Gil,,,school-2,he/him\n" +
		"u-tea,active,2026-08-01T00:00:00Z,true,hana.ito,,Hana,Ito,,T100,hana.ito@south.example,,,,,,,,,,,,she/her\n" +
		"u-par,active,2026-08-01T00:00:00Z,false,ivy.moss,,Ivy,Moss,,,ivy.moss@home.example,,,u-stu,,,,,,,,,\n",
	"roles.csv", "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n" +
		"r-1,active,2026-08-01T00:00:00Z,u-stu,primary,student,,,school-2,\n" +
		"r-2,active,2026-08-01T00:00:00Z,u-tea,secondary,aide,,,school-2,\n" +
		"r-3,active,2026-08-01T00:00:00Z,u-tea,primary,teacher,,,school-2,\n" +
		"r-4,active,2026-08-01T00:00:00Z,u-par,primary,guardian,,,school-2,\n",
	"enrollments.csv", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n" +
		"e-1,active,2026-08-01T00:00:00Z,class-art-1,school-2,u-stu,student,false,2027-01-10,2027-05-30\n" +
		"e-2,active,2026-08-01T00:00:00Z,class-art-1,school-2,u-tea,teacher,true,2027-01-10T08:00:00Z,\n" +
		"e-3,active,2026-08-01T00:00:00Z,class-art-1,school-2,u-tea,proctor,false,,\n",
}

// TestOneRoster12Package imports a OneRoster 1.2 package: roles.csv gives
// users their type and home account, and says which way an agent link
// goes; a disabled user is suspended.
func TestOneRoster12Package(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importZip("1", "", oneRoster12...)
	if len(imp.ProcessingErrors) != 0 {
		t.Fatalf("file errors: %v", imp.ProcessingErrors)
	}
	rs := s.results(imp.ID, "")
	sameOutcomes(t, "a OneRoster 1.2 package", orOutcomes(rs), map[string]string{
		"orgs.csv:2 account": "created/", "academicSessions.csv:2 term": "created/",
		"classes.csv:2 course": "created/", "classes.csv:2 section": "created/",
		"users.csv:2 user": "created/", "users.csv:3 user": "created/", "users.csv:4 user": "created/",
		"users.csv:2 user_observer u-par": "failed/inactive_user", // a disabled guardian is suspended
		"enrollments.csv:2 enrollment":    "created/", "enrollments.csv:3 enrollment": "created/", "enrollments.csv:4 enrollment": "created/",
	})
	var users []struct {
		ID        int64  `json:"id"`
		SISUserID string `json:"sis_user_id"`
		ShortName string `json:"short_name"`
		Pronouns  string `json:"pronouns"`
		State     string `json:"workflow_state"`
		AccountID int64  `json:"account_id"`
	}
	s.getJSON("/api/v1/accounts/1/users?per_page=50", &users)
	got := map[string]string{}
	for _, u := range users {
		var declared *string
		if err := s.db.QueryRow(context.Background(), `SELECT declared_user_type FROM users WHERE id = $1`, u.ID).Scan(&declared); err != nil {
			t.Fatal(err)
		}
		got[u.SISUserID] = fmt.Sprintf("%s|%s|%s|%d|%s", u.ShortName, u.Pronouns, u.State, u.AccountID, str(declared))
	}
	// Account 2 is school-2, the one account the package made under the root.
	want := map[string]string{"u-stu": "Gil Moss|he/him|active|2|student", "u-tea": "Hana Ito|she/her|active|2|teacher",
		"u-par": "Ivy Moss||suspended|2|observer"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("users: %v, want %v", got, want)
	}
	if w := fmt.Sprint(imp.ProcessingWarnings); !strings.Contains(w, "roles.csv read for the users' roles") {
		t.Errorf("roles.csv is not acknowledged: %s", w)
	}
}

// TestOneRosterFixtures imports the real packages others published: every
// row gets a result that says what happened to it.
func TestOneRosterFixtures(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	read := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, e.Name(), string(b))
		}
		return files
	}
	catalyst := read("testdata/external/oneroster-1.2-catalyst")
	imp := s.importZip("1", "", catalyst...)
	if len(imp.ProcessingErrors) != 0 {
		t.Fatalf("file errors: %v", imp.ProcessingErrors)
	}
	// As published, its one org's parent is in no file: the org fails,
	// and so does all that is in it, each row saying why.
	rs := s.results(imp.ID, "")
	sameOutcomes(t, "the catalyst package as published", orOutcomes(rs), map[string]string{
		"orgs.csv:2 account":          "failed/unknown_reference",
		"academicSessions.csv:2 term": "skipped/not_found", "academicSessions.csv:3 term": "created/",
		"academicSessions.csv:4 term": "failed/invalid_status", "academicSessions.csv:5 term": "created/", "academicSessions.csv:6 term": "created/",
		"users.csv:2 user": "failed/unknown_reference", "users.csv:3 user": "failed/unknown_reference", "users.csv:4 user": "failed/unknown_reference",
		"users.csv:5 user": "failed/unknown_reference", "users.csv:6 user": "failed/unknown_reference", "users.csv:7 user": "failed/unknown_reference",
		"classes.csv:2 course": "failed/unknown_reference", "classes.csv:3 course": "failed/unknown_reference",
		"classes.csv:2 section": "failed/unknown_reference", "classes.csv:3 section": "failed/unknown_reference",
		"enrollments.csv:2 enrollment": "failed/unknown_reference", "enrollments.csv:3 enrollment": "failed/unknown_reference",
		"enrollments.csv:4 enrollment": "failed/unknown_reference", "enrollments.csv:5 enrollment": "failed/unknown_reference",
		"enrollments.csv:6 enrollment": "failed/unknown_reference", "enrollments.csv:7 enrollment": "failed/unknown_reference",
		"users.csv:3 user_observer usr-222-123456": "failed/unknown_reference", "users.csv:6 user_observer usr-222-123456": "failed/unknown_reference",
		"users.csv:7 user_observer usr-222-987654": "failed/unknown_reference",
	})
	for _, r := range rs {
		if r.Action == "failed" && !strings.Contains(str(r.Message), "column ") {
			t.Errorf("%s line %d: the failure names no column: %q", r.File, *r.Row, str(r.Message))
		}
	}
	// With that parent made, the package applies, but for what it gets
	// wrong: a status the binding has not, a class in two terms (the
	// first wins, with a warning), misspelt preferred names read as the
	// binding's.
	s.account("District", 1, "org-sch-222-3456")
	imp = s.importZip("1", "", catalyst...)
	sameOutcomes(t, "the catalyst package under its parent org", orOutcomes(s.results(imp.ID, "")), map[string]string{
		"orgs.csv:2 account":          "created/",
		"academicSessions.csv:2 term": "skipped/not_found", "academicSessions.csv:3 term": "unchanged/",
		"academicSessions.csv:4 term": "failed/invalid_status", "academicSessions.csv:5 term": "unchanged/", "academicSessions.csv:6 term": "unchanged/",
		"users.csv:2 user": "created/", "users.csv:3 user": "created/", "users.csv:4 user": "created/",
		"users.csv:5 user": "created/", "users.csv:6 user": "created/", "users.csv:7 user": "created/",
		// cls-222-123478 is tobedeleted and never was.
		"classes.csv:2 course": "created/", "classes.csv:3 course": "skipped/not_found",
		"classes.csv:2 section": "created/", "classes.csv:3 section": "failed/unknown_reference",
		"enrollments.csv:2 enrollment": "created/", "enrollments.csv:3 enrollment": "created/",
		"enrollments.csv:4 enrollment": "created/", "enrollments.csv:5 enrollment": "failed/unknown_reference",
		"enrollments.csv:6 enrollment": "failed/unknown_reference", "enrollments.csv:7 enrollment": "failed/unknown_reference",
		// roles.csv says who is a student; their agents observe them.
		"users.csv:3 user_observer usr-222-123456": "created/", "users.csv:6 user_observer usr-222-123456": "created/",
		"users.csv:7 user_observer usr-222-987654": "created/",
	})
	for sis, want := range map[string]string{"usr-222-66778899": "MJ Jones", "usr-222-1234561": "Tom Paulsy", "usr-222-1234561232": "mmichel Charlie"} {
		var short string
		if err := s.db.QueryRow(context.Background(), `SELECT short_name FROM users WHERE sis_user_id = $1`, sis).Scan(&short); err != nil || short != want {
			t.Errorf("%s: short_name %q (%v), want %q from the misspelt preferred names", sis, short, err, want)
		}
	}

	// OAT's 1.1 users, columns out of the binding's order, ext_ columns,
	// 1.0's userId; in a package whose manifest says bulk, under the
	// accounts its orgSourcedIds name. A bulk users file is every user of
	// the account: removing the catalyst's six is above the threshold, so
	// none is removed.
	s.account("Org 12345", 1, "12345")
	s.account("Org 54321", 1, "54321")
	oat := append([]string{"manifest.csv", manifest("1.1", "users", "bulk")}, read("testdata/external/oneroster-1.1-oat")...)
	imp = s.importZip("1", "", oat...)
	want := map[string]string{"users.csv:2 user": "created/", "users.csv:3 user": "created/"}
	for _, sis := range []string{"usr-222-123456", "usr-222-66778899", "usr-222-1234561", "usr-222-987654", "usr-222-1234561232", "usr-222-567891"} {
		want["user:"+sis] = "skipped/threshold_exceeded"
	}
	sameOutcomes(t, "OAT's users", orOutcomes(s.results(imp.ID, "")), want)
	if w := fmt.Sprint(imp.ProcessingWarnings); !strings.Contains(w, "ext_tao_usermothername") {
		t.Errorf("the ext_ columns are not acknowledged: %s", w)
	}
}

// withFile is files with the named file's content replaced (dropped when
// content is "").
func withFile(files []string, name, content string) []string {
	var out []string
	for i := 0; i < len(files); i += 2 {
		switch {
		case files[i] != name:
			out = append(out, files[i], files[i+1])
		case content != "":
			out = append(out, name, content)
		}
	}
	return out
}

// TestOneRosterBulkDeltaAbsent: a bulk file is the whole set of its type in
// the import's account, so what it no longer lists is removed; a delta
// file's tobedeleted rows are removed and the rest upserted; an absent
// file's type is untouched.
func TestOneRosterBulkDeltaAbsent(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	if imp := s.importZip("1", "", oneRoster11...); len(imp.ProcessingErrors) != 0 {
		t.Fatalf("file errors: %v", imp.ProcessingErrors)
	}
	bulk := withFile(oneRoster11, "users.csv", strings.Join(strings.SplitAfter(oneRoster11[11], "\n")[:6], ""))
	bulk = withFile(bulk, "classes.csv", strings.Join(strings.SplitAfter(oneRoster11[9], "\n")[:2], ""))
	bulk = withFile(bulk, "enrollments.csv", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"+
		"enr-1,,,class-bio-1,school-1,stu-1,student,false,2026-08-20,2026-12-20\n"+
		"enr-2,,,class-bio-1,school-1,tea-1,teacher,true,,\n")
	imp := s.importZip("1", "", bulk...)
	sameOutcomes(t, "a bulk package removes what it no longer lists", orOutcomes(s.results(imp.ID, "")), map[string]string{
		"orgs.csv:2 account": "unchanged/", "orgs.csv:3 account": "unchanged/",
		"academicSessions.csv:2 term": "unchanged/", "academicSessions.csv:3 term": "unchanged/",
		"classes.csv:2 course": "unchanged/", "classes.csv:2 section": "unchanged/",
		"users.csv:2 user": "unchanged/", "users.csv:3 user": "unchanged/", "users.csv:4 user": "unchanged/",
		"users.csv:5 user": "unchanged/", "users.csv:6 user": "unchanged/",
		"users.csv:2 user_observer par-1": "unchanged/", "users.csv:2 user_observer par-2": "unchanged/",
		"enrollments.csv:2 enrollment": "unchanged/", "enrollments.csv:3 enrollment": "unchanged/",
		"user:adm-1": "deactivated/", "enrollment:adm-1": "deleted/", "enrollment:par-1": "deleted/",
		"section:class-bio-2": "deleted/", "course:class-bio-2": "deleted/",
	})

	// Bulk orgs and academic sessions remove the accounts and terms they no
	// longer list, under the threshold guards like the rest.
	orgs, sessions := oneRoster11[3], oneRoster11[5]
	grown := []string{"manifest.csv", manifest("1.1", "orgs", "bulk", "academicSessions", "bulk"),
		"orgs.csv", orgs + "school-2,,,South High,school,SH,district-1\n",
		"academicSessions.csv", sessions + "spring-2027,,,Spring 2027,term,2027-01-10,2027-06-15,year-2026,2027\n"}
	s.importZip("1", "", grown...)
	shrunk := []string{"manifest.csv", manifest("1.1", "orgs", "bulk", "academicSessions", "bulk"),
		"orgs.csv", orgs, "academicSessions.csv", sessions}
	guarded := s.importZip("1", "change_threshold=20", shrunk...)
	if got := orOutcomes(s.results(guarded.ID, "")); got["account:school-2"] != "skipped/threshold_exceeded" || got["term:spring-2027"] != "skipped/threshold_exceeded" {
		t.Errorf("past change_threshold 20 %%, bulk removals were made: %v", got)
	}
	imp = s.importZip("1", "", shrunk...)
	got := orOutcomes(s.results(imp.ID, ""))
	if got["account:school-2"] != "deleted/" || got["term:spring-2027"] != "deleted/" || got["account:school-1"] != "" || got["term:fall-2026"] != "" {
		t.Errorf("bulk orgs and sessions: %v", got)
	}

	// A delta package: its tobedeleted rows are removed (a user deleted
	// gets no links), its other rows upserted; classes are absent, so the classes.csv it still holds is
	// not read, and nothing unlisted is removed.
	delta := []string{
		"manifest.csv", manifest("1.1", "academicSessions", "absent", "classes", "absent", "enrollments", "delta", "orgs", "absent", "users", "delta"),
		"classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n" +
			"class-bio-1,tobedeleted,2026-09-01T10:00:00Z,Biology - Period 1,09,course-bio,BIO-1,scheduled,Room 4,school-1,fall-2026,Science,,1\n",
		"users.csv", "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n" +
			"stu-2,tobedeleted,2026-09-01T10:00:00Z,true,school-1,student,ben.ng,,Ben,Ng,,S0002,ben.ng@north.example,,,par-1,09,\n" +
			"gus-1,active,2026-09-01T10:00:00Z,true,school-1,student,gus.park,,Gus,Park,,S0003,gus.park@north.example,,,,09,\n",
		"enrollments.csv", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n" +
			"enr-1,tobedeleted,2026-09-01T10:00:00Z,class-bio-1,school-1,stu-1,student,false,,\n" +
			"enr-7,active,2026-09-01T10:00:00Z,class-bio-1,school-1,gus-1,student,false,2026-09-01,\n",
	}
	imp = s.importZip("1", "", delta...)
	sameOutcomes(t, "a delta package", orOutcomes(s.results(imp.ID, "")), map[string]string{
		"users.csv:2 user": "deleted/", "users.csv:3 user": "created/",
		"enrollments.csv:2 enrollment": "deleted/", "enrollments.csv:3 enrollment": "created/",
	})
	if w := fmt.Sprint(imp.ProcessingWarnings); !strings.Contains(w, "classes.csv manifest.csv does not list file.classes as bulk or delta: the file was skipped") {
		t.Errorf("an absent file present in the package is not acknowledged: %s", w)
	}
	// dateLastModified is kept on what the rows wrote, and no longer
	// reported as an ignored column of the files that keep it.
	var modified string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT COALESCE(string_agg(sis_user_id || '@' || to_char(sis_modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI'), ' ' ORDER BY sis_user_id), '')
		FROM users WHERE sis_modified_at IS NOT NULL`).Scan(&modified))
	if modified != "gus-1@2026-09-01T10:00 stu-2@2026-09-01T10:00" {
		t.Errorf("users' dateLastModified kept: %q", modified)
	}
	for _, w := range imp.ProcessingWarnings {
		if w[0] == "users.csv" && strings.Contains(w[1], "datelastmodified") {
			t.Errorf("users.csv: %s", w[1])
		}
	}
}

// TestOneRosterPackageRefused: a package is refused whole, saying why, when
// it has no manifest (and import_type says it is OneRoster's), or when its
// manifest names a file it lacks or gives a file a mode the binding has not.
func TestOneRosterPackageRefused(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	users := oneRoster11[10:12]
	for _, c := range []struct {
		what, params string
		files        []string
		want         string
	}{
		{"a zip without a manifest", "import_type=oneroster_csv", users,
			"a OneRoster package is a zip with manifest.csv, and this upload has none: nothing was imported"},
		{"a manifest naming a missing file", "", append([]string{"manifest.csv", manifest("1.2", "users", "bulk", "enrollments", "delta")}, users...),
			"manifest.csv says file.enrollments is delta, but the package has no enrollments.csv: nothing was imported"},
		{"a mode the binding has not", "import_type=oneroster_csv", append([]string{"manifest.csv", manifest("1.2", "users", "full")}, users...),
			"manifest.csv line 4: file.users is \"full\": it must be bulk, delta or absent; nothing was imported"},
	} {
		imp := s.importZip("1", c.params, c.files...)
		if len(imp.ProcessingErrors) != 1 || imp.ProcessingErrors[0][1] != c.want || imp.Data.Counts["users"] != 0 {
			t.Errorf("%s: %v, counts %v", c.what, imp.ProcessingErrors, imp.Data.Counts)
		}
		if rs := s.results(imp.ID, ""); len(rs) != 0 {
			t.Errorf("%s: %d results, want none", c.what, len(rs))
		}
	}
	// Without import_type, a zip without a manifest is read as Canvas's.
	imp := s.importZip("1", "", users...)
	if len(imp.ProcessingErrors) != 1 || !strings.Contains(imp.ProcessingErrors[0][1], "matches no known file type") {
		t.Errorf("a OneRoster users file alone, as Canvas's: %v", imp.ProcessingErrors)
	}
}

// TestOneRosterDatesOfEachFile: a file without dateLastModified does not
// keep the package's other files from keeping theirs.
func TestOneRosterDatesOfEachFile(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importZip("1", "",
		"manifest.csv", manifest("1.1", "orgs", "delta", "users", "delta"),
		"orgs.csv", "sourcedId,status,name,type,parentSourcedId\nschool-9,active,Ninth,school,\n",
		"users.csv", "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName\n"+
			"stu-9,active,2026-10-02T08:30:00Z,true,school-9,student,nina,Nina,Ng\n")
	if len(imp.ProcessingErrors) != 0 {
		t.Fatalf("file errors: %v", imp.ProcessingErrors)
	}
	var modified string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT COALESCE(to_char(sis_modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI'), 'none')
		FROM users WHERE sis_user_id = 'stu-9'`).Scan(&modified))
	if modified != "2026-10-02T08:30" {
		t.Errorf("stu-9's dateLastModified after an orgs file without dates: %s", modified)
	}
}
