package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// apiLogin is Canvas's Login object as GET /users/:user_id/logins shows it.
type apiLogin struct {
	AccountID     int64   `json:"account_id"`
	ID            int64   `json:"id"`
	SISUserID     *string `json:"sis_user_id"`
	IntegrationID *string `json:"integration_id"`
	UniqueID      string  `json:"unique_id"`
	UserID        int64   `json:"user_id"`
	ProviderID    *int64  `json:"authentication_provider_id"`
	ProviderType  *string `json:"authentication_provider_type"`
	WorkflowState string  `json:"workflow_state"`
	DeclaredType  *string `json:"declared_user_type"`
}

// loginList writes a user's logins as "unique_id/sis_user_id/state" in order.
func loginList(list []apiLogin) string {
	var out []string
	for _, l := range list {
		out = append(out, l.UniqueID+"/"+str(l.SISUserID)+"/"+l.WorkflowState)
	}
	return strings.Join(out, ", ")
}

// rowOutcomes writes results as "line:action[/code]" by row, in order.
func rowOutcomes(rs []result, file string) string {
	var out []string
	for _, r := range rs {
		if r.File != file || r.Row == nil {
			continue
		}
		s := fmt.Sprintf("%d:%s", *r.Row, r.Action)
		if r.Code != nil {
			s += "/" + *r.Code
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestLoginsAddLoginsToUsers(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	ctx := t.Context()
	s.importCSV("", "user_id,login_id,integration_id,full_name,status\n"+
		"U2,asmith,I2,Al Smith,active\nU3,cjones,,Cy Jones,suspended\n")
	var u2 int64
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT id FROM users WHERE sis_user_id = 'U2'`).Scan(&u2))

	// logins.csv first in the zip: it is applied after users all the same,
	// so it may add a login to U1, whom the same upload creates.
	logins := "user_id,login_id,existing_user_id,existing_integration_id,existing_canvas_user_id,password,email,authentication_provider_id,integration_id,root_account\n" +
		"L1,jdoe.alt,U1,,,Secret-one,jdoe.alt@example.edu,saml,IL1,\n" + // 2: created
		"L2,ASMITH,U1,,,Secret-two,,,,\n" + // 3: another user's own login
		"L3,jdoe,U1,,,,,,,\n" + // 4: this user's own login
		"L4,x4,U1,I2,,Secret-four,,,,\n" + // 5: existing_* name two users
		"L5,x5,NOPE,,,,,,,\n" + // 6: no such user
		"L6,x6,,,,,,,,\n" + // 7: no existing_* at all
		"U2,x7,U1,,,,,,,\n" + // 8: another user's own SIS id
		"L1,x8,U1,,,,,,,\n" + // 9: duplicate key
		"L8,x8,U3,,,,,,,\n" + // 10: a suspended user
		fmt.Sprintf("L9,asmith.sso,U2,I2,%d,,,42,,\n", u2) + // 11: all three agree
		"LR,xr,U1,,,,,,,other.example.edu\n" + // 12: another root account: skipped
		"L10,JDOE.ALT,U2,,,,,,,\n" // 13: U1's extra login
	imp := s.importZip("1", "", "logins.csv", logins,
		"users.csv", "user_id,login_id,full_name,status\nU1,jdoe,John Doe,active\n")
	rs := s.results(imp.ID, "")
	want := "2:created 3:failed/login_taken 4:failed/login_taken 5:failed/identity_mismatch 6:failed/unknown_reference " +
		"7:failed/missing_value 8:failed/sis_id_taken 9:failed/duplicate_in_file 10:failed/unknown_reference 11:created " +
		"12:skipped/other_root_account 13:failed/login_taken"
	if got := rowOutcomes(rs, "logins.csv"); got != want {
		t.Fatalf("logins.csv results:\n got %s\nwant %s", got, want)
	}
	msgs := map[int]string{}
	for _, r := range rs {
		if r.File == "logins.csv" && r.Row != nil {
			msgs[*r.Row] = str(r.Message)
			if r.Entity != "login" {
				t.Errorf("line %d: entity %q", *r.Row, r.Entity)
			}
		}
	}
	for line, part := range map[int]string{
		3:  `"ASMITH" already belongs to the login of another user (users.csv)`,
		4:  `"jdoe" already belongs to the login of this user (users.csv)`,
		5:  "columns existing_user_id and existing_integration_id name different users",
		6:  `column existing_user_id: no user has "NOPE"`,
		7:  "existing_user_id, existing_integration_id, existing_canvas_user_id",
		8:  `column user_id: "U2" already belongs to the login of another user`,
		10: "is suspended",
		12: `column root_account: "other.example.edu"`,
		13: `"JDOE.ALT" already belongs to another login of another user`,
	} {
		if !strings.Contains(msgs[line], part) {
			t.Errorf("line %d: message %q, want it to say %q", line, msgs[line], part)
		}
	}
	if imp.Data.Counts["logins"] != 3 || imp.Data.Actions["logins"]["created"] != 2 {
		t.Errorf("counts %v, actions %v", imp.Data.Counts, imp.Data.Actions["logins"])
	}

	// The user's own login first, with the user's id; then the extra one,
	// with an id of the same sequence.
	var u1 apiUser
	s.getJSON("/api/v1/users/sis_user_id:U1", &u1)
	var list []apiLogin
	s.getJSON(fmt.Sprintf("/api/v1/users/%d/logins", u1.ID), &list)
	if got := loginList(list); got != "jdoe/U1/active, jdoe.alt/L1/active" {
		t.Fatalf("U1's logins: %s", got)
	}
	own, extra := list[0], list[1]
	if own.ID != u1.ID || own.UserID != u1.ID || extra.UserID != u1.ID || extra.ID <= u1.ID || own.AccountID != 1 ||
		str(extra.IntegrationID) != "IL1" || extra.ProviderID != nil || str(extra.ProviderType) != "saml" || extra.DeclaredType != nil {
		t.Errorf("U1's logins: %+v", list)
	}
	var again []apiLogin
	s.getJSON("/api/v1/users/sis_user_id:L1/logins", &again) // the extra login's SIS id names the user too
	if loginList(again) != loginList(list) {
		t.Errorf("logins by the extra login's SIS id: %s", loginList(again))
	}
	s.getJSON("/api/v1/users/sis_user_id:U2/logins", &list)
	if got := loginList(list); got != "asmith/U2/active, asmith.sso/L9/active" || list[1].ProviderID == nil || *list[1].ProviderID != 42 ||
		list[1].ProviderType != nil {
		t.Errorf("U2's logins: %s %+v", got, list)
	}

	// The password is stored as a bcrypt hash, and shown nowhere.
	var hash string
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT password_hash FROM logins WHERE sis_user_id = 'L1'`).Scan(&hash))
	if !strings.HasPrefix(hash, "$2") {
		t.Errorf("L1's password is stored as %q", hash)
	}
	s.scrubbed(imp.ID)
	for _, path := range []string{
		fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d", imp.ID),
		fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/results?per_page=100", imp.ID),
		fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/results.csv", imp.ID),
		fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/results.csv?format=original", imp.ID),
		fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/errors?per_page=100", imp.ID),
		fmt.Sprintf("/api/v1/accounts/1/sis_imports/%d/errors.csv", imp.ID),
	} {
		code, b, _ := s.do("GET", path, nil, nil)
		if code != 200 || strings.Contains(string(b), "Secret") {
			t.Errorf("GET %s: %d, or it shows a password:\n%s", path, code, b)
		}
		if strings.HasSuffix(path, "format=original") && !strings.Contains(string(b), "L2,ASMITH,U1,,,,,,,") {
			t.Errorf("format=original lacks the failed row, its password blanked:\n%s", b)
		}
	}
	if stored := s.storedFile(imp.ID); strings.Contains(stored, "Secret") {
		t.Errorf("the stored upload still holds passwords")
	}

	// The same rows again change nothing; a password the login has already
	// is not set again.
	good := "user_id,login_id,existing_user_id,password,email,authentication_provider_id,integration_id\n" +
		"L1,jdoe.alt,U1,Other-secret,jdoe.alt@example.edu,saml,IL1\n"
	same := s.importCSV("", good)
	if got := summary(s.results(same.ID, "")); got != "2:unchanged" || same.WorkflowState != "imported" {
		t.Errorf("the same login again: %s %s %v", got, same.WorkflowState, same.ProcessingWarnings)
	}
	// Changed cells update the login: its login id, and a provider the
	// column clears when empty.
	changed := s.importCSV("", "user_id,login_id,existing_user_id,authentication_provider_id\nL1,jdoe.sso,U1,\n")
	rs = s.results(changed.ID, "")
	if got := summary(rs); got != "2:updated" || fmt.Sprint(rs[0].Changes["login_id"]) != "[jdoe.alt jdoe.sso]" ||
		fmt.Sprint(rs[0].Changes["authentication_provider_id"]) != "[saml <nil>]" || len(rs[0].Changes) != 2 {
		t.Errorf("a changed login: %s %v", got, rs)
	}
	// A login without a password gets one: has_password says so, never the
	// password, and a restore cannot take it back.
	pw := s.importCSV("", "user_id,login_id,existing_user_id,password\nL9,asmith.sso,U2,Secret-nine\n")
	rs = s.results(pw.ID, "")
	if got := summary(rs); got != "2:updated" || fmt.Sprint(rs[0].Changes) != "map[has_password:[false true]]" {
		t.Errorf("a password for L9: %s %v", got, rs)
	}
	if restored := s.restore(pw.ID); restored.WorkflowState != "partially_restored" {
		t.Errorf("restore of a password: %s", restored.WorkflowState)
	}
	if rs := s.results(pw.ID, "phase=restore"); len(rs) != 1 || str(rs[0].Code) != "changed_since" ||
		!strings.Contains(str(rs[0].Message), "has_password") {
		t.Errorf("restore of a password: %+v", rs)
	}
	// A login of another user cannot move to this one.
	moved := s.importCSV("", "user_id,login_id,existing_user_id\nL1,jdoe.sso,U2\n")
	if got := summary(s.results(moved.ID, "")); got != "2:failed/sis_id_taken" {
		t.Errorf("another user's login: %s", got)
	}

	// A later users file cannot take an extra login's ids, the user's own
	// included; the rest of the file goes on.
	users := s.importCSV("", "user_id,login_id,integration_id,status\n"+
		"U4,Jdoe.SSO,,active\n"+ // U1's extra login id
		"L9,u5,,active\n"+ // U2's extra login's SIS id
		"U2,asmith,IL1,active\n"+ // U1's extra login's integration id
		"U1,asmith.sso,,active\n"+ // U2's extra login
		"U6,u6,,active\n")
	if got := summary(s.results(users.ID, "")); got != "2:failed/login_taken 3:failed/sis_id_taken 4:failed/integration_id_taken 5:failed/login_taken 6:created" {
		t.Errorf("users taking extra logins' ids: %s", got)
	}
	// With append_counter, a new user whose login an extra login holds
	// takes the next free one.
	counted := s.importCSV("duplicate_login_id_handling=append_counter", "user_id,login_id,status\nU7,asmith.sso,active\n")
	var login7 string
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT login_id FROM users WHERE sis_user_id = 'U7'`).Scan(&login7))
	if got := summary(s.results(counted.ID, "")); got != "2:created" || login7 != "asmith.sso2" {
		t.Errorf("append_counter past an extra login: %s, login %q", got, login7)
	}
	// A manual write cannot either.
	code, b, _ := s.do("POST", "/api/v1/accounts/1/users", strings.NewReader(`{"pseudonym":{"unique_id":"asmith.sso"}}`),
		map[string]string{"Content-Type": "application/json"})
	if code != 409 || !strings.Contains(string(b), "login_taken") {
		t.Errorf("a manual user with an extra login's login id: %d %s", code, b)
	}

	// Deleting a user deletes their extra logins; a restore brings them back.
	del := s.importCSV("", "user_id,login_id,status\nU1,jdoe,deleted\n")
	rs = s.results(del.ID, "")
	if got := summary(rs); got != "2:deleted null:deleted" || rs[1].Entity != "login" || str(rs[1].SISID) != "L1" {
		t.Errorf("deleting U1: %s %+v", got, rs)
	}
	var state string
	pgtest.Must(t, s.db.QueryRow(ctx, `SELECT workflow_state FROM logins WHERE sis_user_id = 'L1'`).Scan(&state))
	s.getJSON(fmt.Sprintf("/api/v1/users/%d/logins", u1.ID), &list)
	if state != "deleted" || len(list) != 0 {
		t.Errorf("U1 deleted: its login is %s, the API lists %s", state, loginList(list))
	}
	if restored := s.restore(del.ID); restored.WorkflowState != "restored" {
		t.Fatalf("restore: %s", restored.WorkflowState)
	}
	s.getJSON(fmt.Sprintf("/api/v1/users/%d/logins", u1.ID), &list)
	if got := loginList(list); got != "jdoe/U1/active, jdoe.sso/L1/active" {
		t.Errorf("U1's logins after the restore: %s", got)
	}
	// Restoring an import that created a login deletes it again.
	added := s.importCSV("", "user_id,login_id,existing_user_id\nL11,asmith.lti,U2\n")
	if got := summary(s.results(added.ID, "")); got != "2:created" {
		t.Fatalf("L11: %s", got)
	}
	if restored := s.restore(added.ID); restored.WorkflowState != "restored" {
		t.Errorf("restore of L11: %s", restored.WorkflowState)
	}
	s.getJSON("/api/v1/users/sis_user_id:U2/logins", &list)
	if got := loginList(list); got != "asmith/U2/active, asmith.sso/L9/active" {
		t.Errorf("U2's logins after the restore: %s", got)
	}
}

// TestLoginsDiffed diffs logins files as Canvas does: rows as in the base
// are unchanged without a look at the directory, and a login the file no
// longer lists stays (Canvas's drop rows come back active).
func TestLoginsDiffed(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	s.importCSV("", "user_id,login_id,status\nU1,ann,active\nU2,ben,active\n")
	const params = "diffing_data_set_identifier=logins"
	first := s.importCSV(params, "user_id,login_id,existing_user_id\nL1,ann.sso,U1\nL2,ben.sso,U2\n")
	if got := summary(s.results(first.ID, "")); got != "2:created 3:created" {
		t.Fatalf("first logins file: %s", got)
	}
	second := s.importCSV(params, "user_id,login_id,existing_user_id\nL1,ann.sso,U1\n")
	if got := summary(s.results(second.ID, "")); got != "2:unchanged" {
		t.Errorf("diffed logins file: %s", got)
	}
	var list []apiLogin
	s.getJSON("/api/v1/users/sis_user_id:U2/logins", &list)
	if got := loginList(list); got != "ben/U2/active, ben.sso/L2/active" {
		t.Errorf("U2's logins after a diff without L2: %s", got)
	}
}
