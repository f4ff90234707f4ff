package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/config"
	"github.com/sisimport/sisimport/internal/pgtest"
)

func zipOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i < len(files); i += 2 {
		w, err := zw.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	return b.Bytes()
}

func TestZipUploads(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	// Deactivations come after users whatever the zip's order; two users
	// files are one stream; junk is ignored or warned about.
	z := zipOf(t,
		"b/deactivate.csv", "email,remove_from_groups\nb@example.edu,\n",
		"a/users2.csv", "user_id,login_id,email,status\nB,b,b@example.edu,active\nA,a2,dup@example.edu,active\n",
		"a/users1.csv", "user_id,login_id,email,status\nA,a,a@example.edu,active\n",
		"__MACOSX/a/._users1.csv", "junk",
		".hidden.csv", "junk",
		"empty.csv", "",
		"readme.txt", "hello",
	)
	code, b, _ := s.do("POST", "/api/v1/accounts/1/sis_imports", bytes.NewReader(z), map[string]string{"Content-Type": "application/zip"})
	if code != 200 {
		t.Fatalf("zip upload: %d %s", code, b)
	}
	var up sisImport
	decode(t, b, &up)
	imp := s.wait("1", up.ID)
	got := map[string]string{}
	for _, r := range s.results(imp.ID, "") {
		got[fmt.Sprintf("%s:%d", rfile(r), *r.Row)] = r.Action + "/" + str(r.Code)
	}
	want := map[string]string{"a/users1.csv:2": "created/", "a/users2.csv:2": "created/", "a/users2.csv:3": "failed/duplicate_in_file",
		"b/deactivate.csv:2": "deactivated/"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("zip results:\n got %v\nwant %v", got, want)
	}
	rs := s.results(imp.ID, "file=a/users2.csv&action[]=failed")
	if len(rs) != 1 || !strings.Contains(str(rs[0].Message), "line 2 of a/users1.csv") {
		t.Errorf("the duplicate does not name the first file and line: %+v", rs)
	}
	if !strings.Contains(fmt.Sprint(imp.ProcessingWarnings), "readme.txt") {
		t.Errorf("an unknown file gives no warning: %v", imp.ProcessingWarnings)
	}
	var state string
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT workflow_state FROM users WHERE sis_user_id = 'B'`).Scan(&state))
	if state != "suspended" {
		t.Errorf("B after the deactivation file: %s", state)
	}
	// Not a zip at all: one clear error, nothing applied.
	code, b, _ = s.do("POST", "/api/v1/accounts/1/sis_imports?extension=zip", strings.NewReader("PK\x03\x04 truncated"), nil)
	decode(t, b, &up)
	if bad := s.wait("1", up.ID); code != 200 || bad.WorkflowState != "failed_with_messages" || !strings.Contains(fmt.Sprint(bad.ProcessingErrors), "zip") {
		t.Errorf("broken zip: %d %s %v", code, bad.WorkflowState, bad.ProcessingErrors)
	}
}

func TestZipBombIsRefused(t *testing.T) {
	t.Parallel()
	big := "user_id,login_id,status\n" + strings.Repeat("X,x,active\n", 200000) // 2.2 MB, compresses to a few KB
	for _, c := range []struct {
		name  string
		tweak func(*config.Config)
		bound string
	}{
		{"expands past the size bound", func(c *config.Config) { c.MaxUnzippedBytes, c.MaxZipRatio = 1<<20, 1<<30 }, "SISIMPORT_MAX_UNZIPPED_BYTES"},
		{"expands past the ratio bound", func(c *config.Config) { c.MaxZipRatio = 100 }, "SISIMPORT_MAX_ZIP_RATIO"},
	} {
		// The zip's directory says what it expands to: refused as it is
		// uploaded, and nothing is stored.
		s := startService(t, c.tweak)
		code, b, _ := s.do("POST", "/api/v1/accounts/1/sis_imports?extension=zip", bytes.NewReader(zipOf(t, "users.csv", big)), nil)
		if code != 413 || !strings.Contains(string(b), c.bound) {
			t.Errorf("zip bomb that %s: %d %s", c.name, code, b)
		}
		var n int
		pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM sis_imports`).Scan(&n))
		if n != 0 {
			t.Errorf("zip bomb that %s: %d imports stored", c.name, n)
		}
	}
}

func TestAccountsFile(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := context.Background()
	z := zipOf(t,
		"users.csv", "user_id,login_id,account_id,status\nU1,u1,east-high,active\nU2,u2,nowhere,active\n",
		"accounts.csv", "account_id,parent_account_id,name,status\n"+
			"east,,East District,active\n"+
			"east-high,east,East High,active\n"+
			"orphan,later,Orphan,active\n"+ // its parent comes later: not allowed
			"later,,Later,active\n"+
			"east,,Again,active\n"+
			"ghost,,Ghost,deleted\n")
	code, b, _ := s.do("POST", "/api/v1/accounts/1/sis_imports", bytes.NewReader(z), map[string]string{"Content-Type": "application/zip"})
	var up sisImport
	decode(t, b, &up)
	if code != 200 {
		t.Fatalf("upload: %d %s", code, b)
	}
	imp := s.wait("1", up.ID)
	if got := summary(s.resultsIn("1", imp.ID, "entity=account")); got != "2:created 3:created 4:failed/unknown_reference 5:created 6:failed/duplicate_in_file 7:skipped/not_found" {
		t.Errorf("accounts: %s", got)
	}
	if got := summary(s.resultsIn("1", imp.ID, "entity=user")); got != "2:created 3:failed/unknown_reference" {
		t.Errorf("users homed in the new accounts: %s", got)
	}
	var home string
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT a.sis_account_id FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.sis_user_id = 'U1'`).Scan(&home))
	if home != "east-high" {
		t.Errorf("U1 lives in %q", home)
	}
	// Moving East under Later moves East High with it; a sub-account's import cannot touch its parent.
	imp = s.importCSV("", "account_id,parent_account_id,name,status\neast,later,East District,active\n")
	if got := summary(s.results(imp.ID, "")); got != "2:updated" {
		t.Errorf("move: %s", got)
	}
	var path []int64
	var laterID int64
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT id FROM accounts WHERE sis_account_id = 'later'`).Scan(&laterID))
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT path FROM accounts WHERE sis_account_id = 'east-high'`).Scan(&path))
	if len(path) != 4 || path[1] != laterID {
		t.Errorf("east-high's path after the move: %v", path)
	}
	var eastID int64
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT id FROM accounts WHERE sis_account_id = 'east'`).Scan(&eastID))
	s.token = s.newToken(eastID, "admin")
	_, b, _ = s.do("POST", fmt.Sprintf("/api/v1/accounts/%d/sis_imports?extension=csv", eastID),
		strings.NewReader("account_id,parent_account_id,name,status\nlater,,Renamed,active\nnew-school,,New School,active\n"), nil)
	decode(t, b, &up)
	s.wait(fmt.Sprint(eastID), up.ID)
	if got := summary(s.resultsIn(fmt.Sprint(eastID), up.ID, "")); got != "2:failed/out_of_scope 3:created" {
		t.Errorf("sub-account import of accounts: %s", got)
	}
}

func TestTermsFile(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importCSV("", "term_id,name,status,start_date,end_date\n"+
		"F26,Fall 2026,active,2026-08-24,2026-12-18T23:59:59Z\n"+
		"S27,Spring 2027,active,next monday,\n"+
		"F26,Again,active,,\n"+
		"X,Gone,deleted,,\n")
	if got := summary(s.results(imp.ID, "")); got != "2:created 3:failed/invalid_value 4:failed/duplicate_in_file 5:skipped/not_found" {
		t.Fatalf("terms: %s", got)
	}
	imp = s.importCSV("", "term_id,name,status,start_date\nF26,Fall 2026,active,2026-08-24T00:00:00Z\nF26b,Fall B,active,\n")
	if got := summary(s.results(imp.ID, "")); got != "2:unchanged 3:created" {
		t.Errorf("terms again: %s", got)
	}
	imp = s.importCSV("", "term_id,name,status\nF26,Fall Term 2026,deleted\n")
	rs := s.results(imp.ID, "")
	if len(rs) != 1 || rs[0].Action != "deleted" || fmt.Sprint(rs[0].Changes["name"]) != "[Fall 2026 Fall Term 2026]" {
		t.Errorf("term change: %+v", rs)
	}
	// A sub-account may list terms only unchanged.
	sub := s.account("Sub", 1, "sub")
	s.token = s.newToken(sub.ID, "admin")
	code, b, _ := s.do("POST", fmt.Sprintf("/api/v1/accounts/%d/sis_imports?extension=csv", sub.ID),
		strings.NewReader("term_id,name,status\nF26b,Fall B,active\nNEW,New,active\n"), nil)
	var up sisImport
	decode(t, b, &up)
	if code != 200 {
		t.Fatalf("upload: %d %s", code, b)
	}
	s.wait(fmt.Sprint(sub.ID), up.ID)
	if got := summary(s.resultsIn(fmt.Sprint(sub.ID), up.ID, "")); got != "2:unchanged 3:failed/out_of_scope" {
		t.Errorf("terms in a sub-account import: %s", got)
	}
}
