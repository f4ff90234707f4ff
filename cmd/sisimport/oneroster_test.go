package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	fmt.Println(warnings)
	for _, r := range rs {
		fmt.Println(r.File, *r.Row, r.Entity, str(r.SISID), r.Action, str(r.Code), str(r.Message))
	}
}

// TestOneRosterFixtures imports the real packages others published: every
// row gets a result that says what happened to it.
func TestOneRosterFixtures(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	for _, dir := range []string{"testdata/external/oneroster-1.2-catalyst"} {
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
		imp := s.importZip("1", "", files...)
		fmt.Println(imp.ProcessingErrors, imp.ProcessingWarnings)
		for _, r := range s.results(imp.ID, "") {
			fmt.Println(r.File, *r.Row, r.Entity, str(r.SISID), r.Action, str(r.Code), str(r.Message))
		}
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

	// A delta package: its tobedeleted rows are removed, its other rows
	// upserted; classes are absent, so the classes.csv it still holds is
	// not read, and nothing unlisted is removed.
	delta := []string{
		"manifest.csv", manifest("1.1", "academicSessions", "absent", "classes", "absent", "enrollments", "delta", "orgs", "absent", "users", "delta"),
		"classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n" +
			"class-bio-1,tobedeleted,2026-09-01T10:00:00Z,Biology - Period 1,09,course-bio,BIO-1,scheduled,Room 4,school-1,fall-2026,Science,,1\n",
		"users.csv", "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n" +
			"stu-2,tobedeleted,2026-09-01T10:00:00Z,true,school-1,student,ben.ng,,Ben,Ng,,S0002,ben.ng@north.example,,,,09,\n" +
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
