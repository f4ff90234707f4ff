package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/client"
)

// cliRun is one run of the command-line client.
type cliRun struct {
	code           int
	stdout, stderr string
	err            error
}

// cli runs `sisimport args…` in-process against the service with token,
// as a person or a cron job would run it, stderr not a terminal.
func (s *service) cli(token string, args ...string) cliRun {
	s.t.Helper()
	env := []string{"SISIMPORT_URL=" + s.base, "SISIMPORT_TOKEN=" + token}
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := clientCmd(ctx, args, env, &out, &errOut)
	r := cliRun{stdout: out.String(), stderr: errOut.String(), err: err}
	if err != nil {
		r.code = exitCode(err)
	}
	return r
}

func (r cliRun) String() string {
	return fmt.Sprintf("exit %d (%v)\nstdout:\n%s\nstderr:\n%s", r.code, r.err, r.stdout, r.stderr)
}

// writeFile writes a file of the test's own and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// importIDIn is the id of the import an outcome or --no-wait names.
func importIDIn(t *testing.T, stdout string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^(?:import\s+)?(\d+)\b`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no import id in %q", stdout)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func TestCLIImportCleanThenRetried(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	file := writeFile(t, "users.csv", "user_id,login_id,first_name,last_name,email,status\n"+
		"S1,ada,Ada,Lovelace,ada@example.edu,active\nS2,alan,Alan,Turing,alan@example.edu,active\n")

	r := s.cli(s.token, "import", file)
	if r.code != 0 || !strings.Contains(r.stdout, "imported") || !regexp.MustCompile(`users\s+2 created`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "/results.csv") {
		t.Fatalf("a clean import:\n%s", r)
	}
	id := importIDIn(t, r.stdout)
	var ada struct {
		LoginID string `json:"login_id"`
	}
	s.getJSON("/api/v1/users/sis_user_id:S1", &ada)
	if ada.LoginID != "ada" {
		t.Errorf("the client's import did not make user S1: %+v", ada)
	}
	// Not a terminal: plain lines, one per change, no bar redrawing itself.
	if strings.ContainsAny(r.stderr, "\r\x1b") || !strings.Contains(r.stderr, "uploading users.csv") ||
		!strings.Contains(r.stderr, fmt.Sprintf("import %d imported", id)) {
		t.Errorf("progress off a terminal is not plain lines:\n%q", r.stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if strings.Count(r.stderr, line[len(timeFormat):]) > 1 {
			t.Errorf("the same progress line twice: %q in\n%s", line, r.stderr)
		}
	}

	// A retried run of the same file is the same import, not a second one.
	again := s.cli(s.token, "import", file)
	if again.code != 0 || importIDIn(t, again.stdout) != id || !strings.Contains(again.stderr, "uploaded before") {
		t.Fatalf("a retried run of import %d:\n%s", id, again)
	}
	var list struct {
		Imports []sisImport `json:"sis_imports"`
	}
	s.getJSON("/api/v1/accounts/1/sis_imports", &list)
	if len(list.Imports) != 1 {
		t.Fatalf("a retried run made %d imports", len(list.Imports))
	}
	// Tomorrow's export, written anew with the same content, is imported.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(file, later, later); err != nil {
		t.Fatal(err)
	}
	fresh := s.cli(s.token, "import", file)
	if fresh.code != 0 || importIDIn(t, fresh.stdout) == id || !regexp.MustCompile(`users\s+2 unchanged`).MatchString(fresh.stdout) {
		t.Fatalf("a file written anew was not imported again:\n%s", fresh)
	}
}

func TestCLIImportWithFailedRowAndResults(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	file := writeFile(t, "users.csv", "user_id,login_id,first_name,last_name,email,status\n"+
		"S1,ada,Ada,Lovelace,ada@example.edu,active\nS2,alan,Alan,Turing,not-an-email,active\n")
	r := s.cli(s.token, "import", file)
	if r.code != exitMessages || !strings.Contains(r.stdout, "imported_with_messages") ||
		!strings.Contains(r.stdout, `users.csv line 3: column email: "not-an-email" is not an email address`) ||
		!regexp.MustCompile(`users\s+1 created, 1 failed`).MatchString(r.stdout) || !strings.Contains(r.stdout, "--original") {
		t.Fatalf("an import with a failed row:\n%s", r)
	}
	if !strings.Contains(r.err.Error(), "imported_with_messages") {
		t.Errorf("the error main prints does not say the outcome: %v", r.err)
	}
	id := fmt.Sprint(importIDIn(t, r.stdout))

	failed := s.cli(s.token, "imports", "results", id, "--action", "failed")
	if failed.code != 0 || !regexp.MustCompile(`users\.csv:3\s+user\s+S2\s+failed\s+invalid_value`).MatchString(failed.stdout) ||
		strings.Contains(failed.stdout, "S1") {
		t.Errorf("imports results --action failed:\n%s", failed)
	}
	fix := s.cli(s.token, "imports", "results", id, "--original")
	if fix.code != 0 || !strings.HasPrefix(fix.stdout, "user_id,login_id,first_name,last_name,email,status,sis_import_error\nS2,alan,") {
		t.Errorf("imports results --original:\n%s", fix)
	}
	all := s.cli(s.token, "imports", "results", id, "--csv")
	if all.code != 0 || strings.Count(all.stdout, "\n") != 3 || !strings.HasPrefix(all.stdout, "sis_import_id,file,row,") {
		t.Errorf("imports results --csv:\n%s", all)
	}

	// A file no type recognises fails: nothing applied, its own code.
	bad := s.cli(s.token, "import", writeFile(t, "mystery.csv", "colour,size\nred,9\n"))
	if bad.code != exitFailed || !strings.Contains(bad.stdout, "failed") || !strings.Contains(bad.stdout, "mystery.csv") {
		t.Errorf("an unrecognised file:\n%s", bad)
	}
	// A parameter the server refuses: refused, with the server's reason.
	refused := s.cli(s.token, "import", file, "--set", "dry_run=maybe")
	if refused.code != exitRefused || !strings.Contains(refused.err.Error(), "dry_run") {
		t.Errorf("an invalid parameter:\n%s", refused)
	}
}

func TestCLIHeldImportApprovedAndAborted(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	var all strings.Builder
	all.WriteString("user_id,login_id,status\n")
	for i := range 10 {
		fmt.Fprintf(&all, "N%d,n%d,active\n", i, i)
	}
	if r := s.cli(s.token, "import", writeFile(t, "all.csv", all.String())); r.code != 0 {
		t.Fatalf("the first feed:\n%s", r)
	}
	half := writeFile(t, "half.csv", "user_id,login_id,status\nN0,n0,active\nN1,n1,active\nN2,n2,active\nN3,n3,active\nN4,n4,active\n")
	hold := []string{"--set", "remove_unlisted_users=true", "--set", "change_threshold_action=hold"}

	// A dry run never holds; it says the real one would, with the same code.
	dry := s.cli(s.token, append([]string{"import", half, "--dry-run"}, hold...)...)
	if dry.code != exitHeld || !strings.Contains(dry.stdout, "would wait for approval") {
		t.Fatalf("a dry run that would hold:\n%s", dry)
	}
	held := s.cli(s.token, append([]string{"import", half}, hold...)...)
	if held.code != exitHeld || !strings.Contains(held.stdout, "awaiting_approval") || !strings.Contains(held.stdout, "imports approve") {
		t.Fatalf("a held import:\n%s", held)
	}
	id := fmt.Sprint(importIDIn(t, held.stdout))

	// Approving needs an admin token, and says so.
	sisTok := s.newToken(1, auth.SISImport)
	if r := s.cli(sisTok, "imports", "approve", id); r.code != exitRefused || !strings.Contains(r.err.Error(), "role") {
		t.Errorf("approve with a sis_import token:\n%s", r)
	}
	approved := s.cli(s.token, "imports", "approve", id)
	if approved.code != 0 || !regexp.MustCompile(`users\s+5 unchanged, 5 deactivated`).MatchString(approved.stdout) {
		t.Fatalf("imports approve %s:\n%s", id, approved)
	}
	var n9 struct {
		WorkflowState string `json:"workflow_state"`
	}
	s.getJSON("/api/v1/users/sis_user_id:N9", &n9)
	if n9.WorkflowState != "suspended" {
		t.Errorf("the approved import left N9 %s", n9.WorkflowState)
	}
	if r := s.cli(s.token, "imports", "approve", id); r.code != exitRefused || !strings.Contains(r.err.Error(), "is imported") {
		t.Errorf("approving an import twice:\n%s", r)
	}

	// Another breach, held, then aborted: nothing removed.
	two := writeFile(t, "two.csv", "user_id,login_id,status\nN0,n0,active\nN1,n1,active\n")
	held2 := s.cli(s.token, append([]string{"import", two}, hold...)...)
	if held2.code != exitHeld {
		t.Fatalf("the second hold:\n%s", held2)
	}
	id2 := fmt.Sprint(importIDIn(t, held2.stdout))
	aborted := s.cli(sisTok, "imports", "abort", id2)
	if aborted.code != 0 || !strings.Contains(aborted.stdout, "aborted") {
		t.Fatalf("imports abort %s:\n%s", id2, aborted)
	}
	if r := s.cli(s.token, "imports", "show", id2, "--wait"); r.code != exitAborted || !strings.Contains(r.stdout, "aborted") {
		t.Errorf("imports show --wait of an aborted import:\n%s", r)
	}
	var n4 struct {
		WorkflowState string `json:"workflow_state"`
	}
	s.getJSON("/api/v1/users/sis_user_id:N4", &n4)
	if n4.WorkflowState != "active" {
		t.Errorf("the aborted import changed N4 to %s", n4.WorkflowState)
	}
	list := s.cli(s.token, "imports", "list", "--state", "aborted")
	if list.code != 0 || !regexp.MustCompile(`(?m)^`+id2+`\s+aborted`).MatchString(list.stdout) || strings.Contains(list.stdout, "awaiting") {
		t.Errorf("imports list --state aborted:\n%s", list)
	}
}

func TestCLINoWaitThenShow(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	file := writeFile(t, "users.csv", "user_id,login_id,status\nS1,ada,active\n")
	r := s.cli(s.token, "import", file, "--no-wait", "--account", "1")
	if r.code != 0 || !regexp.MustCompile(`^\d+\n$`).MatchString(r.stdout) {
		t.Fatalf("--no-wait prints the id alone:\n%s", r)
	}
	id := strings.TrimSpace(r.stdout)
	shown := s.cli(s.token, "imports", "show", id, "--wait")
	if shown.code != 0 || !strings.Contains(shown.stdout, "import "+id) || !regexp.MustCompile(`users\s+1 created`).MatchString(shown.stdout) {
		t.Fatalf("imports show --wait:\n%s", shown)
	}
	list := s.cli(s.token, "imports", "list")
	if list.code != 0 || !regexp.MustCompile(`(?m)^`+id+`\s+imported\s.*users\.csv\s+1 created$`).MatchString(list.stdout) {
		t.Errorf("imports list:\n%s", list)
	}
	if r := s.cli(s.token, "imports", "show", "999"); r.code != exitRefused || !strings.Contains(r.err.Error(), "404") {
		t.Errorf("imports show of an unknown import:\n%s", r)
	}
	if r := s.cli("sis_not-a-token", "imports", "list"); r.code != exitRefused || !strings.Contains(r.err.Error(), "SISIMPORT_TOKEN") {
		t.Errorf("a bad token:\n%s", r)
	}
}

// No server, and command lines that are wrong: each its own code and a
// message that says what to do. No database needed.
func TestCLIUnreachableAndUsage(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	ln.Close()
	file := writeFile(t, "users.csv", "user_id,login_id,status\nS1,ada,active\n")
	env := []string{"SISIMPORT_URL=" + gone, "SISIMPORT_TOKEN=sis_x"}
	var out bytes.Buffer
	err = run(context.Background(), []string{"import", file}, env, &out)
	if exitCode(err) != exitUnreachable || !strings.Contains(err.Error(), "no answer from "+gone) || !strings.Contains(err.Error(), "SISIMPORT_URL") {
		t.Errorf("no server: exit %d: %v", exitCode(err), err)
	}
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"import"}, env, "one FILE"},
		{[]string{"import", file}, []string{"SISIMPORT_URL=" + gone}, "SISIMPORT_TOKEN"},
		{[]string{"import", file}, []string{"SISIMPORT_TOKEN=sis_x"}, "SISIMPORT_URL"},
		{[]string{"import", file, "--set", "dry_run"}, env, "name=value"},
		{[]string{"imports", "show", "twelve"}, env, `"twelve" is not an import id`},
		{[]string{"imports", "fix"}, env, `unknown command imports "fix"`},
	} {
		err := run(context.Background(), c.args, c.env, &out)
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: exit %d: %v", c.args, exitCode(err), err)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"import", "--help"}, nil, &out); err != nil || !strings.Contains(out.String(), "exit status") {
		t.Errorf("import --help: %v\n%s", err, out.String())
	}
}

// Every final state has its exit code, and the codes stay distinct.
func TestCLIOutcomeCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		state            string
		dryRun, wouldHld bool
		want             int
	}{
		{"imported", false, false, 0},
		{"restored", false, false, 0},
		{"imported_with_messages", false, false, exitMessages},
		{"partially_restored", false, false, exitMessages},
		{"awaiting_approval", false, false, exitHeld},
		{"aborted", true, true, exitHeld},
		{"failed", false, false, exitFailed},
		{"failed_with_messages", false, false, exitFailed},
		{"aborted", false, false, exitAborted},
		{"aborted", true, false, exitAborted},
		{"some_new_state", false, false, 1},
	}
	for _, c := range cases {
		var i client.Import
		i.ID, i.WorkflowState, i.DryRun, i.Data.WouldHold = 7, c.state, c.dryRun, c.wouldHld
		err := outcome(i)
		if got := 0; err != nil {
			got = exitCode(err)
			if got != c.want || !strings.Contains(err.Error(), c.state) {
				t.Errorf("%s (dry run %v, would hold %v): exit %d %v, want %d", c.state, c.dryRun, c.wouldHld, got, err, c.want)
			}
		} else if c.want != 0 {
			t.Errorf("%s: exit 0, want %d", c.state, c.want)
		}
	}
	codes := map[int]bool{}
	for _, c := range []int{exitMessages, exitHeld, exitFailed, exitAborted, exitUsage, exitUnreachable, exitRefused, 1, 0} {
		if codes[c] {
			t.Errorf("exit code %d means two things", c)
		}
		codes[c] = true
	}
}

// What a file or the server says cannot redraw the terminal or break a
// table's line.
func TestCLICellAndThousands(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":                 "plain",
		"tab\there":             "tab here",
		"two\nlines\r":          "two lines ",
		"\x1b[2Jcleared":        " [2Jcleared",
		"Zoë, \u202eevil":       "Zoë,  evil",
		"bell\a and \x7f erase": "bell  and   erase",
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 400007: "400,007", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
