package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/client"
	"github.com/sisimport/sisimport/internal/config"
	"github.com/sisimport/sisimport/internal/pgtest"
	"github.com/sisimport/sisimport/internal/queue"
)

func TestTokensAndAccountReach(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := context.Background()
	schoolA := s.account("School A", 1, "A")
	schoolB := s.account("School B", 1, "B")
	other := s.account("Other district", 0, "")
	aToken := s.newToken(schoolA.ID, auth.Admin)
	readOnly := s.newToken(1, auth.ReadOnly)
	revokedTok, revoked, _ := auth.Create(ctx, s.db, 1, "old", auth.Admin, nil)
	if err := auth.Revoke(ctx, s.db, revokedTok.ID); err != nil {
		t.Fatal(err)
	}
	body := "user_id,login_id,status\nA1,a1,active\n"
	post := func(token, account string) int {
		code, _, _ := s.do("POST", "/api/v1/accounts/"+account+"/sis_imports?extension=csv", strings.NewReader(body),
			map[string]string{"Authorization": "Bearer " + token})
		return code
	}
	get := func(token, path string) (int, string) {
		code, b, _ := s.do("GET", path, nil, map[string]string{"Authorization": "Bearer " + token})
		return code, string(b)
	}
	cases := []struct {
		name  string
		code  int
		token string
		path  string
	}{
		{"no token", 401, "", "/api/v1/accounts/1/sis_imports"},
		{"wrong token", 401, "sis_nonsense", "/api/v1/accounts/1/sis_imports"},
		{"revoked token", 401, revoked, "/api/v1/accounts/1/sis_imports"},
		{"sub-account token on its parent", 404, aToken, "/api/v1/accounts/1/sis_imports"},
		{"sub-account token on a sibling", 404, aToken, fmt.Sprintf("/api/v1/accounts/%d/sis_imports", schoolB.ID)},
		{"sub-account token on itself", 200, aToken, fmt.Sprintf("/api/v1/accounts/%d/sis_imports", schoolA.ID)},
		{"sub-account token on self", 200, aToken, "/api/v1/accounts/self/sis_imports/"},
		{"root token by sis id", 200, s.token, "/api/v1/accounts/sis_account_id:B/sis_imports"},
		{"root token on another root account", 404, s.token, fmt.Sprintf("/api/v1/accounts/%d/sis_imports", other.ID)},
		{"read_only may read", 200, readOnly, "/api/v1/accounts/1/sis_imports"},
		{"access_token parameter", 200, "", "/api/v1/accounts/1/sis_imports?access_token=" + s.token},
	}
	for _, c := range cases {
		code, b := get(c.token, c.path)
		if code != c.code {
			t.Errorf("%s: GET %s = %d, want %d (%s)", c.name, c.path, code, c.code, b)
		}
		if code >= 400 && !strings.Contains(b, `"errors"`) {
			t.Errorf("%s: error body %s", c.name, b)
		}
	}
	if code := post(readOnly, "1"); code != http.StatusForbidden {
		t.Errorf("read_only token created an import: %d", code)
	}
	if code := post(aToken, "1"); code != http.StatusNotFound {
		t.Errorf("sub-account token posted to its parent: %d", code)
	}
	if code := post(s.newToken(1, auth.SISImport), "1"); code != http.StatusOK {
		t.Errorf("sis_import token could not import: %d", code)
	}
	// The token never appears in the stored secret column.
	var n int
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT count(*) FROM tokens WHERE position(convert_to($1, 'UTF8') IN secret_hash) > 0`, s.token[4:20]).Scan(&n))
	if n != 0 {
		t.Error("a token secret is stored in clear")
	}
}

func TestListPagingAndFilters(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	var ids []int64
	for i := 0; i < 3; i++ {
		ids = append(ids, s.importCSV("", fmt.Sprintf("user_id,login_id,status\nU%d,u%d,active\n", i, i)).ID)
	}
	bad := s.importCSV("", "user_id,login_id\nX,x\n")
	var page struct {
		Imports []sisImport `json:"sis_imports"`
	}
	h := s.getJSON("/api/v1/accounts/1/sis_imports?per_page=2", &page)
	if len(page.Imports) != 2 || page.Imports[0].ID != bad.ID || page.Imports[1].ID != ids[2] {
		t.Fatalf("first page: %+v", page.Imports)
	}
	next := client.NextLink(h.Get("Link"))
	if !strings.Contains(h.Get("Link"), `rel="first"`) || next == "" {
		t.Fatalf("Link header: %s", h.Get("Link"))
	}
	h = s.getJSON(next, &page)
	if len(page.Imports) != 2 || page.Imports[0].ID != ids[1] || client.NextLink(h.Get("Link")) != "" {
		t.Errorf("second page: %+v, Link %s", page.Imports, h.Get("Link"))
	}
	s.getJSON("/api/v1/accounts/1/sis_imports?workflow_state[]=failed_with_messages&workflow_state[]=failed", &page)
	if len(page.Imports) != 1 || page.Imports[0].ID != bad.ID {
		t.Errorf("workflow_state filter: %+v", page.Imports)
	}
	// As Canvas reads them: a state it does not know is dropped, a time it
	// cannot read is no filter, and a "+" left unencoded (as
	// @kth/canvas-api sends it) is still the zone.
	s.getJSON("/api/v1/accounts/1/sis_imports?workflow_state[]=initializing&workflow_state[]=failed_with_messages", &page)
	if len(page.Imports) != 1 || page.Imports[0].ID != bad.ID {
		t.Errorf("workflow_state filter with an unknown state: %+v", page.Imports)
	}
	for _, since := range []string{"yesterday", "2000-01-01T00:00:00+00:00", "2000-01-01T00:00:00%2B00:00"} {
		s.getJSON("/api/v1/accounts/1/sis_imports?per_page=10&created_since="+since, &page)
		if len(page.Imports) != 4 {
			t.Errorf("created_since=%s: %d imports, want all 4", since, len(page.Imports))
		}
	}
	s.getJSON("/api/v1/accounts/1/sis_imports?created_since=2999-01-01T00:00:00+00:00", &page)
	if len(page.Imports) != 0 {
		t.Errorf("created_since in the future: %d imports, want none", len(page.Imports))
	}
	code, _, _ := s.do("GET", "/api/v1/accounts/1/sis_imports/importing", nil, map[string]string{"Content-Type": "application/json"})
	if code != 200 {
		t.Errorf("importing: %d", code)
	}
}

func TestResultsAsCSV(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importCSV("", "user_id,login_id,password,first_name,status\n"+
		"S1,s1,secret1,=cmd(),active\n"+
		"S2,s2,secret2,Bob,unknown\n"+
		"S2,s2,secret3,Bob,active\n")
	code, b, h := s.do("GET", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/results.csv", imp.ID), nil, nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("results.csv: %d %s", code, h.Get("Content-Type"))
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][6] != "action" || rows[1][6] != "created" || rows[2][7] != "invalid_status" {
		t.Fatalf("results.csv rows: %q", rows)
	}
	if strings.Contains(string(b), "secret") {
		t.Error("a password appears in the results")
	}
	// format=original: the failed rows in their own columns, ready to fix and upload again.
	code, b, _ = s.do("GET", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/results?format=original", imp.ID), nil, nil)
	rows, _ = csv.NewReader(bytes.NewReader(b)).ReadAll()
	if code != 200 || len(rows) != 2 || strings.Join(rows[0], ",") != "user_id,login_id,password,first_name,status,sis_import_error" ||
		rows[1][0] != "S2" || rows[1][2] != "" || !strings.Contains(rows[1][5], "status") {
		t.Errorf("format=original: %d %q", code, rows)
	}
	// Formula cells are escaped in CSV downloads.
	u := s.importCSV("", "user_id,login_id,status\n=HYPERLINK(1),x,bad\n")
	_, b, _ = s.do("GET", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/results", u.ID), nil, map[string]string{"Accept": "text/csv"})
	if !strings.Contains(string(b), "'=HYPERLINK(1)") {
		t.Errorf("formula not escaped: %s", b)
	}
	// The stored password is a bcrypt hash, set on creation.
	var hash string
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT password_hash FROM users WHERE sis_user_id = 'S1'`).Scan(&hash))
	if !strings.HasPrefix(hash, "$2a$") {
		t.Errorf("password stored as %q", hash)
	}
}

func TestEncodings(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	latin1 := s.importCSV("", "user_id,login_id,first_name,status\rW1,w1,Jos\xe9,active\r")
	if latin1.WorkflowState != "imported_with_messages" || !strings.Contains(fmt.Sprint(latin1.ProcessingWarnings), "Windows-1252") {
		t.Errorf("windows-1252 file: %s %v", latin1.WorkflowState, latin1.ProcessingWarnings)
	}
	var first string
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT first_name FROM users WHERE sis_user_id = 'W1'`).Scan(&first))
	if first != "José" {
		t.Errorf("windows-1252 name stored as %q", first)
	}
	mixed := s.importCSV("", "user_id,login_id,first_name,status\nM1,m1,José,active\nM2,m2,Jos\xe9,active\n")
	if mixed.WorkflowState != "failed_with_messages" || !strings.Contains(fmt.Sprint(mixed.ProcessingErrors), "line 3") {
		t.Errorf("mixed encoding: %s %v", mixed.WorkflowState, mixed.ProcessingErrors)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,status\nA,a,active\nB,b,bad\n")
	for _, p := range []string{"/healthz", "/readyz"} {
		code, b, _ := s.do("GET", p, nil, nil)
		if code != 200 {
			t.Errorf("%s: %d %s", p, code, b)
		}
	}
	wants := []string{
		`sisimport_imports_total{dry_run="false",state="imported_with_messages"} 1`,
		`sisimport_import_rows_total{action="created",dry_run="false",entity="users"} 1`,
		`sisimport_import_rows_total{action="failed",dry_run="false",entity="users"} 1`,
		`sisimport_queue_jobs{state="created"} 0`,
		`sisimport_http_requests_total{code="200",method="GET",route="/api/v1/accounts/{account_id}/sis_imports/{id}"}`,
		`sisimport_workers_busy 0`,
		`sisimport_db_pool_max_connections`,
	}
	// The worker counts the import just after its final state commits, which
	// a poller may see first: wait for the counters a little.
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, b, _ := s.do("GET", "/metrics", nil, nil)
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing {
		t.Errorf("metrics lack %s", m)
	}
	s.do("GET", "/api/v1/no/such/thing/12345", nil, nil)
	_, b, _ := s.do("GET", "/metrics", nil, nil)
	if strings.Contains(string(b), "12345") || !strings.Contains(string(b), `route="unmatched"`) {
		t.Error("an unmatched path became a metrics label")
	}
}

func TestAbortAndIdempotency(t *testing.T) {
	t.Parallel()
	// No workers: imports stay queued, so abort is deterministic.
	s := startService(t, func(c *config.Config) { c.Role = "api" })
	first := s.upload("1", "", "user_id,login_id,status\nA,a,active\n")
	second := s.upload("1", "", "user_id,login_id,status\nB,b,active\n")
	var got sisImport
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", second.ID), &got)
	code, b, _ := s.do("GET", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", second.ID), nil, nil)
	if code != 200 || !strings.Contains(string(b), fmt.Sprintf(`"blocked_by":%d`, first.ID)) {
		t.Errorf("queued import does not say what blocks it: %s", b)
	}
	code, b, _ = s.do("PUT", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/abort", first.ID), nil, nil)
	if code != 200 || !strings.Contains(string(b), `"workflow_state":"aborted"`) || !strings.Contains(string(b), `"progress":100`) {
		t.Errorf("abort: %d %s", code, b)
	}
	code, _, _ = s.do("PUT", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/abort", first.ID), nil, nil)
	if code != http.StatusConflict {
		t.Errorf("second abort: %d, want 409", code)
	}
	code, b, _ = s.do("PUT", "/api/v1/accounts/1/sis_imports/abort_all_pending", nil, nil)
	if code != 200 || strings.TrimSpace(string(b)) != `{"aborted":true}` {
		t.Errorf("abort_all_pending: %d %s", code, b)
	}
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", second.ID), &got)
	if got.WorkflowState != "aborted" {
		t.Errorf("pending import after abort_all_pending: %s", got.WorkflowState)
	}
	// The same Idempotency-Key returns the first import and stores nothing.
	key := map[string]string{"Idempotency-Key": "nightly-2026-11-29", "Content-Type": "text/csv"}
	_, b1, _ := s.do("POST", "/api/v1/accounts/1/sis_imports", strings.NewReader("user_id,login_id,status\nC,c,active\n"), key)
	_, b2, _ := s.do("POST", "/api/v1/accounts/1/sis_imports", strings.NewReader("user_id,login_id,status\nD,d,active\n"), key)
	var i1, i2 sisImport
	decode(t, b1, &i1)
	decode(t, b2, &i2)
	if i1.ID == 0 || i1.ID != i2.ID {
		t.Errorf("idempotent POSTs gave imports %d and %d", i1.ID, i2.ID)
	}
}

func TestRetentionPurgesFilesAndResultsOnly(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	old := s.importCSV("", "user_id,login_id,status\nA,a,active\nB,b,bad\n")
	recent := s.importCSV("", "user_id,login_id,status\nC,c,active\n")
	ctx := context.Background()
	pgtest.Exec(t, s.db, `UPDATE sis_imports SET ended_at = now() - interval '31 days' WHERE id = $1`, old.ID)
	n, err := queue.Purge(ctx, s.db, 30)
	if err != nil || n != 1 {
		t.Fatalf("purge: %d, %v; want 1 import purged", n, err)
	}
	count := func(table string, id int64) (n int) {
		pgtest.Must(t, s.db.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE import_id = $1`, id).Scan(&n))
		return n
	}
	if count("sis_import_chunks", old.ID) != 0 || count("sis_import_results", old.ID) != 0 {
		t.Error("the old import's file or results are still stored")
	}
	if count("sis_import_chunks", recent.ID) == 0 || count("sis_import_results", recent.ID) != 1 {
		t.Error("the recent import lost its file or results")
	}
	var i sisImport
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", old.ID), &i)
	if i.WorkflowState != "imported_with_messages" {
		t.Errorf("purged import reads %s", i.WorkflowState)
	}
}

func TestHeldImportsExpire(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := context.Background()
	i := s.importCSV("", "user_id,login_id,status\nA,a,active\n")
	pgtest.Exec(t, s.db, `UPDATE sis_imports SET workflow_state = 'awaiting_approval', ended_at = now() - interval '8 days' WHERE id = $1`, i.ID)
	n, err := queue.ExpireHolds(ctx, s.db, 7)
	if err != nil || n != 1 {
		t.Fatalf("expire: %d, %v", n, err)
	}
	var got sisImport
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", i.ID), &got)
	if got.WorkflowState != "aborted" || !strings.Contains(fmt.Sprint(got.ProcessingErrors), "expired") {
		t.Errorf("expired hold: %s %v", got.WorkflowState, got.ProcessingErrors)
	}
}
