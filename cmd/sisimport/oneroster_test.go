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
