package main

import (
	"context"

	"net/url"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

func TestUserUploadTypesAndMatchKeys(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,email,integration_id,status\n"+
		"S1,ann,ann@example.edu,I1,active\nS2,ben,shared@example.edu,,active\nS3,cy,shared@example.edu,,active\n")
	// Manual user without an SIS id, to be matched by login and given one.
	s.do("POST", "/api/v1/accounts/1/users", strings.NewReader("pseudonym[unique_id]=dee&user[name]=Dee"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})

	cases := []struct {
		name, params, csv, want string
	}{
		{"create_only skips existing users", "user_upload_type=create_only",
			"user_id,login_id,status\nS1,ann,active\nS9,new9,active\n", "2:skipped/exists 3:created"},
		{"update_only skips unknown users", "user_upload_type=update_only",
			"user_id,login_id,first_name,status\nS1,ann,Anna,active\nS8,new8,X,active\n", "2:updated 3:skipped/not_found"},
		{"match on login_id, case-insensitively, an empty user_id keeps the SIS id", "user_upload_type=update_only&user_match_on=login_id",
			"user_id,login_id,first_name,status\n,ANN,Annie,active\n", "2:updated"},
		{"match on email: two users have it", "user_match_on=email",
			"user_id,login_id,email,status\nS2,ben,shared@example.edu,active\n", "2:failed/ambiguous_match"},
		{"match on integration_id with another user_id", "user_match_on=integration_id",
			"user_id,login_id,integration_id,status\nSX,ann,I1,active\n", "2:failed/identity_mismatch"},
		{"fallback to login id gives a manual user its SIS id", "user_match_fallback_login_id=true",
			"user_id,login_id,status\nS4,dee,active\n", "2:updated"},
		{"fallback: a login twice in one batch still finds one user", "user_match_fallback_login_id=true",
			"user_id,login_id,status\nS5,dee,active\nS6,DEE,active\n", "2:failed/identity_mismatch 3:failed/identity_mismatch"},
	}
	for _, c := range cases {
		imp := s.importCSV(c.params, c.csv)
		if got := summary(s.results(imp.ID, "")); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
	var first, sis string
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT first_name, sis_user_id FROM users WHERE lower(login_id) = 'ann'`).Scan(&first, &sis))
	if first != "Annie" || sis != "S1" {
		t.Errorf("ann after updates: %q %q", first, sis)
	}
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT COALESCE(sis_user_id, '') FROM users WHERE login_id = 'dee'`).Scan(&sis))
	if sis != "S4" {
		t.Errorf("the manual user matched by login got SIS id %q, want S4", sis)
	}
}

func TestTemplatesCountersAndStandardLogins(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,status\nOLD,jdoe,active\n")
	q := url.Values{"duplicate_login_id_handling": {"append_counter"}, "standardize_login_ids": {"true"},
		"default[login_id]": {"%-1f%-l"}, "default[email]": {"%u@school.example"}}
	imp := s.importCSV(q.Encode(), "user_id,first_name,last_name,status\n"+
		"N1,John,Doe,active\n"+ // jdoe is taken in the directory: jdoe2
		"N2,Jane,Doe,active\n"+ // jdoe and jdoe2 taken: jdoe3, a collision inside the file
		"N3,Ann-Marie,O'Neil,active\n") // standardized: ao'neil → aoneil
	rs := s.results(imp.ID, "")
	if got := summary(rs); got != "2:created 3:created 4:created" {
		t.Fatalf("results: %s", got)
	}
	if !strings.Contains(str(rs[0].Message), `"jdoe2"`) {
		t.Errorf("the counter is not explained: %q", str(rs[0].Message))
	}
	rows, err := s.db.Query(context.Background(), `SELECT sis_user_id, login_id, email FROM users WHERE sis_user_id LIKE 'N%' ORDER BY sis_user_id`)
	pgtest.Must(t, err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, login, email string
		pgtest.Must(t, rows.Scan(&id, &login, &email))
		got = append(got, id+"="+login+"/"+email)
	}
	rows.Close()
	pgtest.Must(t, rows.Err())
	want := "N1=jdoe2/jdoe2@school.example N2=jdoe3/jdoe3@school.example N3=aoneil/aoneil@school.example"
	if strings.Join(got, " ") != want {
		t.Errorf("stored:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	code, b, _ := s.do("POST", "/api/v1/accounts/1/sis_imports?extension=csv&default[login_id]=%25q", strings.NewReader("user_id,status\nX,active\n"), nil)
	if code != 400 || !strings.Contains(string(b), "default[login_id]") {
		t.Errorf("a bad template was accepted: %d %s", code, b)
	}
	// prevent_email_duplicates: a new user with a taken email fails.
	imp = s.importCSV("prevent_email_duplicates=true", "user_id,login_id,email,status\nE1,e1,JDOE2@school.example,active\n")
	if got := summary(s.results(imp.ID, "")); got != "2:failed/email_taken" {
		t.Errorf("prevent_email_duplicates: %s", got)
	}
}
