package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/importer"
	"github.com/sisimport/sisimport/internal/pgtest"
	"github.com/sisimport/sisimport/internal/queue"
)

// scrubbed waits until the import's stored upload holds no secrets any
// more: the worker scrubs it just after the import's final state commits,
// which a poller may see first.
func (s *service) scrubbed(id int64) {
	s.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var pending bool
		var state string
		var attempt int
		pgtest.Must(s.t, s.db.QueryRow(s.t.Context(), `SELECT file_secrets, workflow_state, attempt FROM sis_imports WHERE id = $1`,
			id).Scan(&pending, &state, &attempt))
		if !pending {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("import %d (%s, attempt %d) still holds secrets after 10 s", id, state, attempt)
		}
	}
}

// storedFile reads an import's stored upload as the importer does.
func (s *service) storedFile(id int64) string {
	s.t.Helper()
	r := queue.OpenFile(s.t.Context(), s.db, id)
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

func TestPasswordsAreScrubbedFromStoredUploads(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	csv := "user_id,login_id,full_name,password,status\n" +
		"P1,p1,\"Ann\nAble\",Secret-one,active\n" + // a record over two lines
		"\n" + // a blank line
		"P2,p2,\"Bo\"b\",Secret-two,active\n" + // a malformed row
		"P3,p3,Cy,Secret-three,active,extra\n" + // the wrong width
		"P4,p4,Di,Secret-four,active\n"
	imp := s.importCSV("", csv)
	if got := summary(s.results(imp.ID, "")); got != "2:created 5:failed/malformed_csv 6:failed/malformed_csv 7:created" {
		t.Fatalf("results: %s", got)
	}
	s.scrubbed(imp.ID)
	stored := s.storedFile(imp.ID)
	if strings.Contains(stored, "Secret") {
		t.Errorf("the stored upload still holds passwords:\n%s", stored)
	}
	if got, want := strings.Count(stored, "\n"), strings.Count(csv, "\n"); got != want {
		t.Errorf("the scrubbed upload has %d lines, the upload had %d:\n%s", got, want, stored)
	}
	var hash string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT password_hash FROM users WHERE sis_user_id = 'P4'`).Scan(&hash))
	if !strings.HasPrefix(hash, "$2") {
		t.Errorf("P4's password is stored as %q, not as a bcrypt hash", hash)
	}
	// The upload can be read back as stored, without its passwords.
	done := s.wait("1", imp.ID)
	if len(done.CSVAttachments) != 1 || done.CSVAttachments[0].Filename != "users.csv" || done.CSVAttachments[0].ContentType != "text/csv" {
		t.Fatalf("csv_attachments: %+v", done.CSVAttachments)
	}
	if code, b, _ := s.do("GET", done.CSVAttachments[0].URL, nil, nil); code != 200 || string(b) != stored {
		t.Errorf("GET %s: %d\n%s\nwant the stored upload\n%s", done.CSVAttachments[0].URL, code, b, stored)
	}
	// The rows still come back on their lines, without their passwords.
	_, b, _ := s.do("GET", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/results.csv?format=original", imp.ID), nil, nil)
	if strings.Contains(string(b), "Secret") {
		t.Errorf("format=original shows a password:\n%s", b)
	}

	// A held import keeps the passwords its re-run needs; once it ends
	// (here by abort), the scrubber blanks them.
	s.importCSV("", "user_id,login_id,status\nH1,h1,active\nH2,h2,active\n")
	held := s.importCSV("remove_unlisted_users=true&change_threshold_action=hold",
		"user_id,login_id,password,status\nH9,h9,Secret-held,active\n")
	if held.WorkflowState != "awaiting_approval" {
		t.Fatalf("held import: %s %v", held.WorkflowState, held.ProcessingErrors)
	}
	if !strings.Contains(s.storedFile(held.ID), "Secret-held") {
		t.Errorf("a held import lost its passwords before its re-run")
	}
	if code, b, _ := s.do("GET", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/file", held.ID), nil, nil); code != 409 || !strings.Contains(string(b), "file_has_secrets") {
		t.Errorf("a held import's upload, with its passwords: %d %s, want 409 file_has_secrets", code, b)
	}
	if code, b, _ := s.do("PUT", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/abort", held.ID), nil, nil); code != 200 {
		t.Fatalf("abort: %d %s", code, b)
	}
	if err := importer.ScrubPending(t.Context(), s.db); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.storedFile(held.ID), "Secret-held") {
		t.Errorf("an aborted import keeps its passwords")
	}

	// In a zip, only the CSV members with a password column change.
	z := s.importZip("1", "", "users.csv", "user_id,login_id,password,status\nZ1,z1,Secret-zip,active\n",
		"courses.csv", "course_id,short_name,long_name,status\nC1,C,C,active\n")
	if len(z.ProcessingErrors) != 0 {
		t.Fatalf("zip: %v", z.ProcessingErrors)
	}
	s.scrubbed(z.ID)
	if stored := s.storedFile(z.ID); strings.Contains(stored, "Secret-zip") || !strings.HasPrefix(stored, "PK") {
		t.Errorf("the stored zip still holds a password, or is no zip")
	}
	// A logins.csv holds passwords too.
	logins := s.importZip("1", "", "logins.csv", "user_id,existing_user_id,login_id,password\nZ1B,Z1,z1b,Secret-login\n")
	s.scrubbed(logins.ID)
	if strings.Contains(s.storedFile(logins.ID), "Secret-login") {
		t.Errorf("a logins.csv keeps its passwords")
	}
}

// TestLogsHoldNoSecretsOrRows imports passwords, failing rows and a file
// that fails whole, with every log line at debug level kept: no password
// and no whole CSV row may be in the log.
func TestLogsHoldNoSecretsOrRows(t *testing.T) {
	t.Parallel()
	s, logs := startLogged(t)
	good := "L1,l1,Pass-word-one,active"
	bad := "L2,l2,Pass-word-two,retired"
	wide := "L3,l3,Pass-word-three,active,extra"
	s.importCSV("", "user_id,login_id,password,status\n"+good+"\n"+bad+"\n"+wide+"\n")
	broken := "L4,\"l4,Pass-word-four,active"
	s.importCSV("", "user_id,login_id,password,status\n"+broken+"\n")
	got := logs.String()
	if !strings.Contains(got, "import done") {
		t.Fatalf("the log has no import lines:\n%s", got)
	}
	for _, secret := range []string{"Pass-word", good, bad, wide, broken, "L1,l1", "L4,"} {
		if strings.Contains(got, secret) {
			t.Errorf("the log holds %q:\n%s", secret, got)
		}
	}
}
