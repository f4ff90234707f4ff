package main

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/config"
	"github.com/sisimport/sisimport/internal/pgtest"
)

// TestHostileInput feeds the service the inputs an SIS export, a broken
// script or an attacker may send. Each gets a clear answer that says what
// and where, and nothing of a broken file is applied.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	s := startService(t, func(c *config.Config) { c.MaxRowsPerFile = 1000 })
	header := "user_id,login_id,status\n"
	cases := []struct {
		name, body string
		// state and the text a processing error must hold ("" for none),
		// and the row results as summary() prints them.
		state, fileError, results string
	}{
		{"header only", header, "imported", "", ""},
		{"binary garbage", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\xff\xfe", "failed_with_messages", "", ""},
		{"NUL bytes", header + "N1,n\x001,active\nN2,n2,active\n", "imported_with_messages", "", "2:failed/malformed_csv 3:created"},
		{"invalid UTF-8 after valid UTF-8", header + "U1,josé,active\nU2,jos\xe9,active\n", "failed_with_messages", "line 3", ""},
		{"Windows-1252", header + "W1,jos\xe9,active\n", "imported_with_messages", "", "2:created"},
		{"BOM", "\xef\xbb\xbf" + header + "B1,b1,active\n", "imported", "", "2:created"},
		{"CR, LF and CRLF mixed", "user_id,login_id,status\rM1,m1,active\r\nM2,m2,active\nM3,m3,active\r", "imported", "", "2:created 3:created 4:created"},
		{"unbalanced quote", header + "Q1,q1,active\nQ2,\"q2,active\nQ3,q3,active\n", "failed_with_messages", "line 3", ""},
		{"a million empty lines", header + strings.Repeat("\n", 1_000_000) + "E1,e1,active\n", "imported", "", "1000002:created"},
		{"duplicate header names", "user_id,login_id,status,login_id\nD1,d1,active,d2\n", "failed_with_messages", `"login_id" appears twice`, ""},
	}
	for _, c := range cases {
		code, b, _ := s.do("POST", "/api/v1/accounts/1/sis_imports?extension=csv", strings.NewReader(c.body), nil)
		if code != 200 {
			t.Errorf("%s: upload %d %s", c.name, code, b)
			continue
		}
		var up sisImport
		decode(t, b, &up)
		imp := s.wait("1", up.ID)
		errs := fmt.Sprint(imp.ProcessingErrors)
		switch {
		case imp.WorkflowState != c.state:
			t.Errorf("%s: %s, want %s (errors %s)", c.name, imp.WorkflowState, c.state, errs)
		case c.fileError != "" && !strings.Contains(errs, c.fileError):
			t.Errorf("%s: the error %s does not say %q", c.name, errs, c.fileError)
		case c.fileError == "" && c.state != "failed_with_messages" && len(imp.ProcessingErrors) != 0:
			t.Errorf("%s: unexpected errors %s", c.name, errs)
		}
		if got := summary(s.results(imp.ID, "per_page=100")); got != c.results {
			t.Errorf("%s: results %q, want %q", c.name, got, c.results)
		}
	}
	// Past a bound, a CSV upload is refused while it streams in, naming the
	// bound; nothing is stored.
	var before int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM sis_imports`).Scan(&before))
	for _, c := range []struct {
		name, body string
		code       int
		bound      string
	}{
		{"a 10 MB field", header + "F1," + strings.Repeat("f", 10<<20) + ",active\n", 400, "longer than 1048576 bytes (the bound is SISIMPORT_MAX_FIELD_BYTES)"},
		{"100,000 columns", strings.Repeat("c,", 99_999) + "c\n", 400, "more than 1000 columns (the bound is SISIMPORT_MAX_COLUMNS)"},
		{"more rows than the bound", header + strings.Repeat("R,r,active\n", 1001), 413, "more than 1000 rows (the bound is SISIMPORT_MAX_ROWS_PER_FILE)"},
	} {
		code, b, _ := s.do("POST", "/api/v1/accounts/1/sis_imports?extension=csv", strings.NewReader(c.body), nil)
		if code != c.code || !strings.Contains(string(b), c.bound) {
			t.Errorf("%s: %d %.300s, want %d naming %q", c.name, code, b, c.code, c.bound)
		}
	}
	var after int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM sis_imports`).Scan(&after))
	if after != before {
		t.Errorf("refused uploads stored %d imports", after-before)
	}
	// Inside a zip the bounds hold too, as a file error of that file.
	z := s.importZip("1", "", "users.csv", header+strings.Repeat("Z,z,active\n", 1001))
	if !strings.Contains(fmt.Sprint(z.ProcessingErrors), "SISIMPORT_MAX_ROWS_PER_FILE") {
		t.Errorf("a zip member past the rows bound: %s %v", z.WorkflowState, z.ProcessingErrors)
	}

	// A broken file applies nothing: only the users of the good files exist.
	var users string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT string_agg(sis_user_id, ' ' ORDER BY sis_user_id) FROM users`).Scan(&users))
	if users != "B1 E1 M1 M2 M3 N2 W1" {
		t.Errorf("users after the hostile files: %s", users)
	}
}

// TestHostileUploads are broken requests: refused whole, nothing stored.
func TestHostileUploads(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	// A multipart body without the attachment field.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	pgtest.Must(t, mw.WriteField("import_type", "instructure_csv"))
	mw.Close()
	code, b, _ := s.do("POST", "/api/v1/accounts/1/sis_imports", &body, map[string]string{"Content-Type": mw.FormDataContentType()})
	if code != 400 || !strings.Contains(string(b), "attachment") {
		t.Errorf("no attachment: %d %s", code, b)
	}
	// An empty file.
	code, b, _ = s.do("POST", "/api/v1/accounts/1/sis_imports?extension=csv", strings.NewReader(""), nil)
	if code != 400 || !strings.Contains(string(b), "empty") {
		t.Errorf("empty file: %d %s", code, b)
	}
	// A wrong extension.
	code, b, _ = s.do("POST", "/api/v1/accounts/1/sis_imports?extension=xlsx", strings.NewReader(usersHeader()), nil)
	if code != 400 || !strings.Contains(string(b), "extension") {
		t.Errorf("extension=xlsx: %d %s", code, b)
	}
	// A CSV sent as a zip is a file error, not a crash.
	code, b, _ = s.do("POST", "/api/v1/accounts/1/sis_imports?extension=zip", strings.NewReader(usersHeader()+"Z,z,active\n"), nil)
	var up sisImport
	decode(t, b, &up)
	if imp := s.wait("1", up.ID); code != 200 || !strings.Contains(fmt.Sprint(imp.ProcessingErrors), "not a readable zip") {
		t.Errorf("a CSV as a zip: %d %s %v", code, imp.WorkflowState, imp.ProcessingErrors)
	}
	// An upload cut off mid-stream: the client promises more than it sends
	// and hangs up. Nothing is stored.
	var before int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM sis_imports`).Scan(&before))
	uploads := s.uploadRequests()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /api/v1/accounts/1/sis_imports?extension=csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000000\r\n\r\n%s", s.token, usersHeader()+"C1,c1,active\n")
	// Hang up once the service stores the upload: its COPY waits for the
	// rest of the body.
	waitFor(t, "the cut-off upload to be stored", func() bool {
		var copying bool
		pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'active' AND query ILIKE 'copy%sis_import_chunks%')`).Scan(&copying))
		return copying
	})
	conn.Close()
	waitFor(t, "the service to answer the cut-off upload", func() bool { return s.uploadRequests() > uploads })
	var after, chunks int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM sis_imports`).Scan(&after))
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM sis_import_chunks c WHERE NOT EXISTS (SELECT 1 FROM sis_imports i WHERE i.id = c.import_id)`).Scan(&chunks))
	if after != before || chunks != 0 {
		t.Errorf("a cut-off upload left %d imports and %d chunks", after-before, chunks)
	}
	// And the service still answers.
	resp, err := http.Get(s.base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the cut-off upload: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // only the status matters
	resp.Body.Close()
}

func usersHeader() string { return "user_id,login_id,status\n" }

// uploadRequests counts the uploads (POSTs to an account's sis_imports) the
// service has answered, as /metrics reports them: it counts a request once
// its handler has returned.
func (s *service) uploadRequests() int {
	s.t.Helper()
	_, b, _ := s.do("GET", "/metrics", nil, nil)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "sisimport_http_requests_total{") &&
			strings.Contains(line, `method="POST",route="/api/v1/accounts/{account_id}/sis_imports`) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			pgtest.Must(s.t, err)
			n += int(v)
		}
	}
	return n
}
