package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/config"
	"github.com/sisimport/sisimport/internal/pgtest"
)

// summary is "row:action[/code]" for each result, in order.
func summary(rs []result) string {
	var out []string
	for _, r := range rs {
		row := "null"
		if r.Row != nil {
			row = fmt.Sprint(*r.Row)
		}
		s := row + ":" + r.Action
		if r.Code != nil {
			s += "/" + *r.Code
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestUsersImportGivesEveryRowOneResult(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	csv := "user_id,login_id,first_name,last_name,email,status\r\n" +
		"S1,jdoe,John,Doe,jdoe@example.edu,active\r\n" +
		"S2,asmith,Alice,Smith,asmith@example.edu,active\r\n" +
		"\r\n" + // a blank line gets no result
		"S3,bwong,Bo,Wong,not-an-email,active\r\n" +
		"S1,jdoe2,John,Again,j2@example.edu,active\r\n" +
		"S4,JDOE,Jo,Dup,jo@example.edu,active\r\n" +
		"S5,cruiz,Carla,Ruiz,,suspended\r\n" +
		"S6,gone,Never,There,,deleted\r\n" +
		"S7,,No,Login,,active\r\n" +
		"S8,x8,Bad,Status,,retired\r\n" +
		"S9,\"quoted, login\",Q,\"Multi\nLine\",,active\r\n" +
		"S10,too,many,fields,,active,extra\r\n"
	imp := s.importCSV("", csv)
	if imp.WorkflowState != "imported_with_messages" || !imp.Data.Applied {
		t.Fatalf("state %s applied %v; warnings %v errors %v", imp.WorkflowState, imp.Data.Applied, imp.ProcessingWarnings, imp.ProcessingErrors)
	}
	got := summary(s.results(imp.ID, ""))
	want := "2:created 3:created 5:failed/invalid_value 6:failed/duplicate_in_file 7:failed/login_taken 8:created " +
		"9:skipped/not_found 10:failed/missing_value 11:failed/invalid_status 12:created 14:failed/malformed_csv"
	if got != want {
		t.Fatalf("results\n got %s\nwant %s", got, want)
	}
	// As Canvas counts them: failed and skipped rows are warnings; no file
	// failed, so there is no error.
	if c := imp.Data.Counts; c["users"] != 5 || c["error_count"] != 0 || c["warning_count"] != 7 {
		t.Errorf("counts %v: want users 5 (created and skipped), error_count 0, warning_count 7", c)
	}
	if a := imp.Data.Actions["users"]; a["created"] != 4 || a["failed"] != 6 || a["skipped"] != 1 {
		t.Errorf("actions %v", a)
	}
	if imp.ErrorsAttachment == nil {
		t.Error("no errors_attachment although rows failed")
	}

	var name, sortable, state, email string
	if err := s.db.QueryRow(context.Background(), `SELECT name, sortable_name, workflow_state, email FROM users WHERE sis_user_id = 'S5'`).
		Scan(&name, &sortable, &state, &email); err != nil {
		t.Fatal(err)
	}
	if name != "Carla Ruiz" || sortable != "Ruiz, Carla" || state != "suspended" || email != "" {
		t.Errorf("S5 stored as %q %q %q %q", name, sortable, state, email)
	}
	var multi string
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT last_name FROM users WHERE sis_user_id = 'S9'`).Scan(&multi))
	if multi != "Multi\nLine" {
		t.Errorf("quoted multi-line field stored as %q", multi)
	}

	// The errors endpoint lists the failed and skipped rows (warnings, as on
	// Canvas), the failed ones with their raw line; failure=true lists the
	// errors alone: none here.
	var errs struct {
		Errors []struct {
			Row     *int   `json:"row"`
			Code    string `json:"code"`
			RowInfo string `json:"row_info"`
		} `json:"sis_import_errors"`
	}
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/errors?per_page=100", imp.ID), &errs)
	if len(errs.Errors) != 7 || errs.Errors[0].Code != "invalid_value" || errs.Errors[0].RowInfo != "S3,bwong,Bo,Wong,not-an-email,active" ||
		errs.Errors[3].Code != "not_found" {
		t.Errorf("errors: %+v", errs.Errors)
	}
	s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/errors?failure=true", imp.ID), &errs)
	if len(errs.Errors) != 0 {
		t.Errorf("failure=true: %+v, want none", errs.Errors)
	}
}

func TestUsersReimportFollowsTheStatusTable(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	first := s.importCSV("", "user_id,login_id,first_name,last_name,status\n"+
		"A,a,Ann,Able,active\nB,b,Ben,Baker,active\nC,c,Cy,Cole,suspended\nD,d,Di,Dean,active\nE,e,Ed,Eve,active\nF,f,Fay,Fox,active\n")
	if first.WorkflowState != "imported" {
		t.Fatalf("first import: %s %v", first.WorkflowState, first.ProcessingWarnings)
	}
	// Empty cells keep stored values; <delete> would clear optional ones.
	second := s.importCSV("", "user_id,login_id,first_name,last_name,status\n"+
		"A,a,Ann,Able,active\n"+ // unchanged
		"B,b,Ben,Barker,active\n"+ // updated: last name (and derived names)
		"C,c,,,active\n"+ // reactivated, names kept
		"D,d,,,suspended\n"+ // deactivated
		"E,e,,,deleted\n"+ // deleted
		"F,f2,,,active\n") // updated: login
	got := summary(s.results(second.ID, ""))
	if want := "2:unchanged 3:updated 4:reactivated 5:deactivated 6:deleted 7:updated"; got != want {
		t.Fatalf("results\n got %s\nwant %s", got, want)
	}
	rs := s.results(second.ID, "sis_id=B")
	if len(rs) != 1 || fmt.Sprint(rs[0].Changes["last_name"]) != "[Baker Barker]" || fmt.Sprint(rs[0].Changes["name"]) != "[Ben Baker Ben Barker]" {
		t.Errorf("changes of B: %+v", rs)
	}
	rs = s.results(second.ID, "sis_id=D")
	if fmt.Sprint(rs[0].Changes["workflow_state"]) != "[active suspended]" {
		t.Errorf("status change not in changes: %+v", rs[0].Changes)
	}
	var cName string
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT name FROM users WHERE sis_user_id = 'C'`).Scan(&cName))
	if cName != "Cy Cole" {
		t.Errorf("empty cells cleared C's name: %q", cName)
	}
	// A deleted user listed as active comes back; skip_deletes skips deletions.
	third := s.importCSV("skip_deletes=true", "user_id,login_id,status\nE,e,active\nA,a,deleted\n")
	if got := summary(s.results(third.ID, "")); got != "2:reactivated 3:skipped/skip_deletes" {
		t.Errorf("third import: %s", got)
	}
}

func TestDryRunAppliesNothingButReportsEverything(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	imp := s.importCSV("dry_run=true", "user_id,login_id,status\nA,a,active\nB,b,active\n")
	if imp.WorkflowState != "imported" || imp.Data.Applied {
		t.Fatalf("dry run: %s applied=%v", imp.WorkflowState, imp.Data.Applied)
	}
	if got := summary(s.results(imp.ID, "")); got != "2:created 3:created" {
		t.Errorf("dry run results: %s", got)
	}
	var n int
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n))
	if n != 0 {
		t.Errorf("dry run stored %d users", n)
	}
}

func TestFileLevelErrorsApplyNothingOfTheFile(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	cases := []struct{ name, csv, want string }{
		{"unterminated quote", "user_id,login_id,status\nA,a,active\nB,\"b,active\n", "line 3"},
		{"missing status column", "user_id,login_id\nA,a\n", "status"},
		{"unknown type", "foo,bar\n1,2\n", "no known file type"},
		{"header only is fine", "user_id,login_id,status\n", ""},
	}
	for _, c := range cases {
		imp := s.importCSV("", c.csv)
		if c.want == "" {
			if imp.WorkflowState != "imported" {
				t.Errorf("%s: %s %v", c.name, imp.WorkflowState, imp.ProcessingErrors)
			}
			continue
		}
		if imp.WorkflowState != "failed_with_messages" || len(imp.ProcessingErrors) != 1 || !strings.Contains(imp.ProcessingErrors[0][1], c.want) {
			t.Errorf("%s: %s %v", c.name, imp.WorkflowState, imp.ProcessingErrors)
		}
		if rs := s.results(imp.ID, ""); len(rs) != 0 {
			t.Errorf("%s: %d results for a file that could not be read", c.name, len(rs))
		}
		// Canvas's failure filter lists the errors alone: this one, as a failure.
		var errs struct {
			Errors []struct {
				Message string `json:"message"`
				Failure bool   `json:"failure"`
			} `json:"sis_import_errors"`
		}
		s.getJSON(fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/errors?failure=true", imp.ID), &errs)
		if len(errs.Errors) != 1 || !errs.Errors[0].Failure || !strings.Contains(errs.Errors[0].Message, c.want) {
			t.Errorf("%s: errors?failure=true %+v", c.name, errs.Errors)
		}
	}
	var n int
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n))
	if n != 0 {
		t.Errorf("%d users stored from files with file-level errors", n)
	}
}

func TestUploadParametersAndLimits(t *testing.T) {
	t.Parallel()
	s := startService(t, func(c *config.Config) { c.MaxUploadBytes = 1000 })
	code, body, _ := s.do("POST", "/api/v1/accounts/1/sis_imports?extension=csv", strings.NewReader(strings.Repeat("x", 2000)), nil)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized upload: %d %s", code, body)
	}
	code, body, _ = s.do("POST", "/api/v1/accounts/1/sis_imports?extension=csv&dry_run=maybe", strings.NewReader("user_id,login_id,status\n"), nil)
	if code != http.StatusBadRequest || !strings.Contains(string(body), "dry_run") {
		t.Errorf("invalid parameter: %d %s", code, body)
	}
	var n int
	pgtest.Must(t, s.db.QueryRow(context.Background(), `SELECT count(*) FROM sis_imports`).Scan(&n))
	if n != 0 {
		t.Errorf("refused uploads stored %d imports", n)
	}
	// Raw body, type from Content-Type; an unknown parameter is a warning.
	code, body, _ = s.do("POST", "/api/v1/accounts/self/sis_imports.json?frobnicate=1", strings.NewReader("user_id,login_id,status\nA,a,active\n"),
		map[string]string{"Content-Type": "text/csv"})
	if code != http.StatusOK {
		t.Fatalf("raw upload: %d %s", code, body)
	}
	if !strings.Contains(string(body), "unknown parameter frobnicate") || !strings.Contains(string(body), `"workflow_state":"created"`) {
		t.Errorf("raw upload answer: %s", body)
	}
}

func TestHostileRowsAndUploadShapes(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	long := strings.Repeat("p", 73)
	imp := s.importCSV("", "user_id,login_id,first_name,last_name,password,status\n"+
		"S1,jdoe,John,Doe,"+long+",active\n"+ // too long for bcrypt: the row fails, the import goes on
		"S2,jdoe2,John,Doe, Jr,Secret123,active\n"+ // an extra field shifts the password: it must not leak
		"S3,ok,Ok,Fine,good-password,active\n")
	if got := summary(s.results(imp.ID, "")); got != "2:failed/invalid_value 3:failed/malformed_csv 4:created" {
		t.Fatalf("results: %s (%s)", got, imp.WorkflowState)
	}
	_, b, _ := s.do("GET", fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/errors.csv", imp.ID), nil, nil)
	if strings.Contains(string(b), "Secret123") || strings.Contains(string(b), long) {
		t.Errorf("a password leaked into the errors:\n%s", b)
	}
	if strings.Contains(fmt.Sprint(imp.ProcessingWarnings), "line 3: line 3") {
		t.Errorf("doubled line numbers: %v", imp.ProcessingWarnings)
	}

	// Two attachment parts are refused; a raw body sent as a form with extension=csv is the file.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i := 0; i < 2; i++ {
		p, err := mw.CreateFormFile("attachment", "users.csv")
		pgtest.Must(t, err)
		_, err = p.Write([]byte("user_id,login_id,status\nX,x,active\n"))
		pgtest.Must(t, err)
	}
	mw.Close()
	code, resp, _ := s.do("POST", "/api/v1/accounts/1/sis_imports", &body, map[string]string{"Content-Type": mw.FormDataContentType()})
	if code != 400 || !strings.Contains(string(resp), "two fields named attachment") {
		t.Errorf("two attachments: %d %s", code, resp)
	}
	code, resp, _ = s.do("POST", "/api/v1/accounts/1/sis_imports?extension=csv", strings.NewReader("user_id,login_id,status\nY,y,active\n"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if code != 200 {
		t.Errorf("curl --data-binary upload: %d %s", code, resp)
	}
	// An octet-stream part named .csv is a CSV; the header row itself cannot be malformed.
	body.Reset()
	mw = multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="attachment"; filename="roster.csv"`)
	h.Set("Content-Type", "application/octet-stream")
	p, err := mw.CreatePart(h)
	pgtest.Must(t, err)
	_, err = p.Write([]byte("user_id,lo\"gin_id,status\nZ,z,active\n"))
	pgtest.Must(t, err)
	mw.Close()
	code, resp, _ = s.do("POST", "/api/v1/accounts/1/sis_imports", &body, map[string]string{"Content-Type": mw.FormDataContentType()})
	var up sisImport
	decode(t, resp, &up)
	if code != 200 {
		t.Fatalf("octet-stream part: %d %s", code, resp)
	}
	if got := s.wait("1", up.ID); got.WorkflowState != "failed_with_messages" || !strings.Contains(fmt.Sprint(got.ProcessingErrors), "header row") {
		t.Errorf("malformed header: %s %v", got.WorkflowState, got.ProcessingErrors)
	}
}

func TestDerivedNamesAndDeletedUsers(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,first_name,last_name,full_name,status\nA,a,Ann,Able,Annie A.,active\nD,d,Di,Dean,,active\n")
	s.importCSV("", "user_id,login_id,status\nD,d,deleted\n")
	imp := s.importCSV("", "user_id,login_id,full_name,first_name,status\nA,a,<delete>,,active\nD,d,,Changed,deleted\n")
	rs := s.results(imp.ID, "")
	if got := summary(rs); got != "2:updated 3:unchanged" {
		t.Fatalf("results: %s", got)
	}
	if fmt.Sprint(rs[0].Changes["name"]) != "[Annie A. Ann Able]" {
		t.Errorf("a cleared full name is derived again: %v", rs[0].Changes)
	}
}

func TestUsersLoginColumnsAsCanvasReadsThem(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	first := s.importCSV("", "user_id,login_id,status,declared_user_type,authentication_provider_id,canvas_password_notification,home_account\n"+
		"A,a,active,Teacher,saml,true,\n"+
		"B,b,active,student,google,,\n"+
		"C,c,active,principal,,,\n")
	if got := summary(s.results(first.ID, "")); got != "2:created 3:created 4:failed/invalid_value" {
		t.Fatalf("results: %s", got)
	}
	if strings.Contains(fmt.Sprint(first.ProcessingWarnings), "ignored") {
		t.Errorf("documented columns were reported ignored: %v", first.ProcessingWarnings)
	}
	if f := s.results(first.ID, "action[]=failed"); len(f) != 1 || !strings.Contains(str(f[0].Message), "declared_user_type") {
		t.Errorf("an unknown declared_user_type does not fail naming the column: %+v", f)
	}
	stored := func() string {
		var got string
		pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT string_agg(sis_user_id || ':' || declared_user_type || '/' || authentication_provider_id, ' '
			ORDER BY sis_user_id) FROM users`).Scan(&got))
		return got
	}
	if got := stored(); got != "A:teacher/saml B:student/google" {
		t.Errorf("stored: %s", got)
	}
	// A file without the column keeps the provider; an empty cell of a file
	// with it clears it, as on Canvas; <delete> clears the declared type.
	s.importCSV("", "user_id,login_id,status,declared_user_type\nA,a,active,<delete>\nB,b,active,\n")
	if got := stored(); got != "A:/saml B:student/google" {
		t.Errorf("after a file without the provider column: %s", got)
	}
	cleared := s.importCSV("", "user_id,login_id,status,authentication_provider_id\nA,a,active,\nB,b,active,google\n")
	if got := stored(); got != "A:/ B:student/google" {
		t.Errorf("after an empty provider cell: %s", got)
	}
	if got := summary(s.results(cleared.ID, "")); got != "2:updated 3:unchanged" {
		t.Errorf("clearing the provider: %s", got)
	}
}

func TestALoginsHolderIsAdoptedAsCanvasDoes(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	// A user made through the API, without an SIS id: the feed's row with
	// its login gives it one, with or without the parameter.
	code, b, _ := s.do("POST", "/api/v1/accounts/1/users", strings.NewReader(`{"user":{"name":"Jo Doe"},"pseudonym":{"unique_id":"jdoe"}}`),
		map[string]string{"Content-Type": "application/json"})
	if code != 200 {
		t.Fatalf("create user: %d %s", code, b)
	}
	s.importCSV("", "user_id,login_id,status\nU2,ann,active\n")
	imp := s.importCSV("", "user_id,login_id,full_name,status\nU1,jdoe,Jo Doe,active\nU3,ann,,active\n")
	if got := summary(s.results(imp.ID, "")); got != "2:updated 3:failed/login_taken" {
		t.Fatalf("without update_sis_id_if_login_claimed: %s", got)
	}
	if ch := s.results(imp.ID, "")[0].Changes; fmt.Sprint(ch["sis_user_id"]) != "[<nil> U1]" {
		t.Errorf("the adopted user's changes: %v", ch)
	}
	// With it, the holder's SIS id becomes the row's.
	imp = s.importCSV("update_sis_id_if_login_claimed=true", "user_id,login_id,status\nU3,ann,active\n")
	rs := s.results(imp.ID, "")
	if got := summary(rs); got != "2:updated" || fmt.Sprint(rs[0].Changes["sis_user_id"]) != "[U2 U3]" {
		t.Fatalf("with update_sis_id_if_login_claimed: %s %v", got, rs[0].Changes)
	}
	var ids string
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT string_agg(login_id || '=' || COALESCE(sis_user_id, ''), ' ' ORDER BY login_id) FROM users`).Scan(&ids))
	if ids != "ann=U3 jdoe=U1" {
		t.Errorf("users: %s", ids)
	}
	if len(imp.ProcessingWarnings) != 0 {
		t.Errorf("the parameter drew a warning: %v", imp.ProcessingWarnings)
	}
}
