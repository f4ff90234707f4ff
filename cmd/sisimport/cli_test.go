package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/auth"
)

func TestCommandsCreateAccountsAndTokens(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	env := []string{"DATABASE_URL=" + s.url}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"accounts", "create", "--name", "North High", "--parent", "1", "--sis-id", "north"}, env, &out); err != nil {
		t.Fatal(err)
	}
	var acct struct {
		ID            int64  `json:"id"`
		ParentID      int64  `json:"parent_account_id"`
		RootAccountID int64  `json:"root_account_id"`
		SISAccountID  string `json:"sis_account_id"`
	}
	if err := json.Unmarshal(out.Bytes(), &acct); err != nil || acct.ParentID != 1 || acct.RootAccountID != 1 || acct.SISAccountID != "north" {
		t.Fatalf("accounts create printed %s (%v)", out.String(), err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"tokens", "create", "--account", "1", "--role", "read_only"}, env, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	secret := lines[len(lines)-1]
	tok, err := auth.Authenticate(context.Background(), s.db, secret)
	if err != nil || tok.Role != auth.ReadOnly || tok.AccountID != 1 {
		t.Fatalf("the printed secret does not authenticate as a read_only token of account 1: %+v %v", tok, err)
	}
	if err := run(context.Background(), []string{"tokens", "create", "--account", "1", "--role", "owner"}, env, &out); err == nil {
		t.Error("a token with an unknown role was created")
	}
	if err := run(context.Background(), []string{"serve"}, []string{"DATABASE_URL=" + s.url, "SISIMPORT_WORKERS=lots"}, &out); err == nil || !strings.Contains(err.Error(), "SISIMPORT_WORKERS") {
		t.Errorf("an invalid setting did not stop the program naming it: %v", err)
	}
	if err := run(context.Background(), []string{"serve"}, []string{"DATABASE_URL=" + s.url, "SISIMPORT_WROKERS=2"}, &out); err == nil || !strings.Contains(err.Error(), "SISIMPORT_WROKERS") {
		t.Errorf("an unknown setting did not stop the program naming it: %v", err)
	}
}
