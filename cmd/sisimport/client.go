package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/sisimport/sisimport/internal/client"
)

// Exit codes of `import` and `imports` (docs/cli.md#exit-codes). They are
// part of the contract with the scripts that run the client: never
// renumber one. 1 stays what it is for every command: anything else that
// went wrong (a file that cannot be read, an interrupted wait).
const (
	exitMessages    = 2 // imported_with_messages: some rows failed or were skipped, or a warning
	exitHeld        = 3 // awaiting_approval, or a dry run that would hold
	exitFailed      = 4 // failed or failed_with_messages: nothing applied
	exitAborted     = 5 // aborted: by a threshold, a person, or an expired hold
	exitUsage       = 6 // the command line is wrong: flags, arguments, no server or token
	exitUnreachable = 7 // no answer from the server, or a server error (5xx, rate limited): try again later
	exitRefused     = 8 // the server refused the request (4xx): a bad token, role, id, file or parameter
)

const clientUsage = `usage:
  sisimport import FILE [--account ID] [--set name=value …] [--dry-run] [--no-wait] [--idempotency-key KEY]
  sisimport imports list [--state S …] [--limit N]
  sisimport imports show ID [--wait]
  sisimport imports results ID [--action A …] [--code C] [--file F] [--csv | --original]
  sisimport imports approve ID [--no-wait]
  sisimport imports abort ID
each also takes --url (SISIMPORT_URL), --token (SISIMPORT_TOKEN) and
--account (SISIMPORT_ACCOUNT; default self, the token's account).
exit status of import, imports approve and imports show --wait:
  0 imported (or queued, with --no-wait)   2 imported_with_messages
  3 awaiting_approval (or a dry run that would hold)
  4 failed or failed_with_messages   5 aborted   6 usage
  7 no answer or a server error (try again)   8 refused by the server
  1 anything else
`

// clientCmd is the client's commands, `import` and `imports`; progress
// goes to stderr, what the command answers to stdout.
func clientCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if args[0] == "import" {
		return importCmd(ctx, args[1:], environ, stdout, stderr)
	}
	return importsCmd(ctx, args[1:], environ, stdout, stderr)
}

// connFlags are the flags that say which server, token and account.
type connFlags struct {
	url, token, account *string
}

func addConnFlags(fs *flag.FlagSet, environ []string) connFlags {
	return connFlags{
		url:     fs.String("url", getenv(environ, "SISIMPORT_URL"), "server address"),
		token:   fs.String("token", getenv(environ, "SISIMPORT_TOKEN"), "API token"),
		account: fs.String("account", or(getenv(environ, "SISIMPORT_ACCOUNT"), "self"), "account id, sis_account_id:X or self"),
	}
}

func (f connFlags) client() (*client.Client, error) {
	c, err := client.New(*f.url, *f.token)
	if err != nil {
		return nil, usageError(err)
	}
	return c, nil
}

// wantsHelp says whether the command line asks for the usage.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func getenv(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], key+"="); ok {
			return v
		}
	}
	return ""
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// parseArgs parses flags wherever they stand among the arguments, as
// people type them (`import users.csv --dry-run`), and returns the others.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, usageError(err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest, args = append(rest, args[0]), args[1:]
	}
}

// paramFlag collects --set name=value into create parameters.
type paramFlag url.Values

func (p paramFlag) String() string { return url.Values(p).Encode() }

func (p paramFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not name=value (e.g. --set remove_unlisted_users=true)", s)
	}
	url.Values(p).Add(name, value)
	return nil
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func usageError(err error) error {
	return &exitError{code: exitUsage, err: fmt.Errorf("%w\n%s", err, clientUsage)}
}

// importID reads the one argument a command on one import takes.
func importID(cmd string, args []string) (int64, error) {
	if len(args) != 1 {
		return 0, usageError(fmt.Errorf("imports %s takes one import id, got %d arguments", cmd, len(args)))
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError(fmt.Errorf("imports %s: %q is not an import id", cmd, args[0]))
	}
	return id, nil
}

// requestFailed gives a failed request its exit code: refused, or worth
// trying again.
func requestFailed(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		if ce.Refused() {
			return &exitError{code: exitRefused, err: err}
		}
		return &exitError{code: exitUnreachable, err: err}
	}
	return err
}

// outcome is the exit status of an import that stopped running: nil when
// it imported cleanly.
func outcome(i client.Import) error {
	code := 0
	switch i.WorkflowState {
	case "imported", "restored":
		return nil
	case "imported_with_messages", "partially_restored":
		code = exitMessages
	case "awaiting_approval":
		code = exitHeld
	case "failed", "failed_with_messages":
		code = exitFailed
	case "aborted":
		code = exitAborted
		if i.DryRun && i.Data.WouldHold {
			code = exitHeld
		}
	default:
		return fmt.Errorf("import %d is in a state this client does not know: %s", i.ID, i.WorkflowState)
	}
	return &exitError{code: code, err: fmt.Errorf("import %d ended %s", i.ID, i.WorkflowState)}
}
