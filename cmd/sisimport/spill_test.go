package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/config"
)

// TestKeysPastTheBudgetAnswerTheSame runs the same imports with every key
// kept in memory and with a budget of one key, so that each key set moves
// its keys to PostgreSQL on every row: duplicates, claimed logins and
// integration ids, ids only listed by failed rows, removal of unlisted
// users, duplicate enrollments and memberships, batch mode's removal of
// unlisted courses and sections, and duplicate deactivations give the
// same results and messages.
func TestKeysPastTheBudgetAnswerTheSame(t *testing.T) {
	t.Parallel()
	users := "user_id,login_id,integration_id,status\n" +
		"U1,u1,I1,active\n" +
		"U2,u2,I2,active\n" +
		"U3,u3,,retired\n" + // fails, but lists U3
		"U4,u4,,active\n" +
		"U5,u5,,active\n" +
		"U1,u1b,,active\n" + // a duplicate of line 2
		"U3,u3,,active\n" + // listed by a failed row, then seen: created
		"U6,U1,,active\n" + // the login the user on line 2 claimed
		"U7,u7,I2,active\n" + // the integration id the user on line 3 claimed
		"U3,u3c,,active\n" + // a duplicate of line 8
		"U8,u8,,active\n"
	unlisted := "user_id,login_id,status\nU1,u1,active\nU2,u2,active\nU3,u3,retired\nU8,u8,active\n"
	spilled := answersTheSame(t, func(s *service) []sisImport {
		return []sisImport{
			s.importCSV("", users),
			s.importCSV("remove_unlisted_users=true&change_threshold=100", unlisted),
			s.importZip("1", "", rosterZip...),
			s.importZip("1", "", "courses.csv", "course_id,short_name,long_name,term_id,status\nC3,C3,C3,T1,active\n",
				"sections.csv", "section_id,course_id,name,status\nS3,C3,S3,active\n",
				"memberships.csv", "group_id,user_id,status\nG1,U1,accepted\nG1,U2,accepted\nG1,U1,deleted\n"),
			s.importZip("1", "batch_mode=true&batch_mode_term_id=sis_term_id:T1&change_threshold=100",
				"courses.csv", "course_id,short_name,long_name,account_id,term_id,status\nC1,BIO1,Biology 1,SUB,T1,active\n",
				"sections.csv", "section_id,course_id,name,status\nS1,C1,Section 1,active\n"),
			s.importZip("1", "", "deactivate.csv", "email,remove_from_groups\ngone@example.edu,\nGONE@example.edu,\n"),
		}
	})
	for _, want := range []string{
		`users.csv 7:U1 failed/duplicate_in_file user_id "U1" already appears on line 2; the first row wins`,
		`users.csv 8:U3 created/ `,
		`users.csv 9:U6 failed/login_taken column login_id: "U1" is already the login of the user on line 2`,
		`users.csv 10:U7 failed/integration_id_taken column integration_id: "I2" belongs to the user on line 3`,
		`users.csv 11:U3 failed/duplicate_in_file user_id "U3" already appears on line 8; the first row wins`,
		`users.csv null:U4 deactivated/ not listed by the file (remove_unlisted_users)`,
		`users.csv null:U5 deactivated/ not listed by the file (remove_unlisted_users)`,
		`5_enrollments.csv 6:U1 failed/duplicate_in_file`,
		`memberships.csv 4:`,
		`courses.csv null:C3 deleted/`,
		`sections.csv null:S3 deleted/`,
		`deactivate.csv 3: failed/duplicate_in_file`,
	} {
		if !containsPrefix(spilled, want) {
			t.Errorf("no result %q among\n%s", want, strings.Join(spilled, "\n"))
		}
	}
}

// answersTheSame runs imports on a service that keeps every key in memory
// and on one whose budget is one key, and returns the results of the
// second, once they are the same as the first's, message for message.
func answersTheSame(t *testing.T, imports func(s *service) []sisImport) []string {
	t.Helper()
	run := func(s *service) []string {
		var out []string
		for _, imp := range imports(s) {
			for _, r := range s.results(imp.ID, "") {
				row := "null"
				if r.Row != nil {
					row = fmt.Sprint(*r.Row)
				}
				out = append(out, fmt.Sprintf("%d %s %s:%s %s/%s %s", len(out), r.File, row, str(r.SISID), r.Action, str(r.Code), str(r.Message)))
			}
		}
		return out
	}
	whole := run(startService(t, nil))
	spilled := run(startService(t, func(c *config.Config) { c.KeysInMemory = 1 }))
	if len(whole) != len(spilled) {
		t.Fatalf("%d results with the keys in memory, %d with them spilled", len(whole), len(spilled))
	}
	for i := range whole {
		if whole[i] != spilled[i] {
			t.Errorf("in memory: %s\n   spilled: %s", whole[i], spilled[i])
		}
	}
	return spilled
}

// containsPrefix reports whether a line, after its index, starts with want.
func containsPrefix(lines []string, want string) bool {
	for _, l := range lines {
		if _, rest, _ := strings.Cut(l, " "); strings.HasPrefix(rest, want) {
			return true
		}
	}
	return false
}

// TestDiffingBasesPastTheBudgetAnswerTheSame diffs users, courses and
// enrollments against bases whose keys all went to PostgreSQL: rows as in
// the base, changed rows, rows that failed in the base (tried again), keys
// only a failed row lists, and the keys the new files drop give the same
// results as with the bases in memory.
func TestDiffingBasesPastTheBudgetAnswerTheSame(t *testing.T) {
	t.Parallel()
	const set = "diffing_data_set_identifier=nightly&diffing_drop_status=inactive&diffing_user_remove_status=suspended&change_threshold=100"
	spilled := answersTheSame(t, func(s *service) []sisImport {
		return []sisImport{
			s.importCSV(set, "user_id,login_id,first_name,status\nU1,u1,Ann,active\nU2,u2,Bo,active\nU3,u3,Cy,active\n"+
				"U4,u4,Di,active\nU5,u5,Ed,bogus\nU6,u6,Fa,active\n"),
			s.importCSV(set, "first_name,user_id,login_id,status\nAnn,U1,u1,active\nBob,U2,u2,active\nDi,U4,u4,retired\n"+
				"Ed,U5,u5,active\nGus,U7,u7,active\n"),
			s.importZip("1", set, "courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\nC2,B,B,active\nC3,C,C,active\n",
				"enrollments.csv", "course_id,user_id,role,status\nC1,U1,student,active\nC1,U2,student,active\nC2,U4,teacher,active\n"+
					"C2,U7,student,bogus\n"),
			s.importZip("1", set,
				"enrollments.csv", "user_id,course_id,role,status\nU1,C1,student,active\nU4,C2,teacher,active\nU4,C2,ta,active\n"+
					"U7,C2,student,active\n",
				"courses.csv", "course_id,short_name,long_name,status\nC1,A,A,active\nC2,B renamed,B,active\n"),
		}
	})
	for _, want := range []string{
		"users.csv 2:U1 unchanged/", "users.csv 3:U2 updated/", "users.csv 5:U5 created/", "users.csv 6:U7 created/",
		"users.csv null:U3 deactivated/", "users.csv null:U6 deactivated/",
		"courses.csv 2:C1 unchanged/", "courses.csv 3:C2 updated/", "courses.csv null:C3 deleted/",
		"enrollments.csv 2:U1 unchanged/", "enrollments.csv 3:U4 unchanged/", "enrollments.csv 4:U4 created/",
		"enrollments.csv 5:U7 created/", "enrollments.csv null:U2 deactivated/",
	} {
		if !containsPrefix(spilled, want) {
			t.Errorf("no result %q among\n%s", want, strings.Join(spilled, "\n"))
		}
	}
	if containsPrefix(spilled, "users.csv null:U4") {
		t.Errorf("U4, listed by a failed row, was dropped:\n%s", strings.Join(spilled, "\n"))
	}
}
