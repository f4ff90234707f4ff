package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `usage: sisimport <command> [flags]

commands:
  serve                                   HTTP API and workers (SISIMPORT_ROLE=all|api|worker)
  migrate up|down|version                 schema migrations
  accounts create --name N [--parent ID] [--sis-id S]
  tokens create --account ID [--name N] [--role admin|sis_import|read_only] [--expires 720h]
  tokens revoke --id ID
  dev                                     what 'make run' does: private PostgreSQL in ./.data, migrate, token, serve
  import FILE [flags]                     the client: upload, follow, report; exits by the outcome (docs/cli.md)
  imports list|show|results|approve|abort the client: the rest (sisimport import --help)
`

// exitError carries a process exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

// run is the whole program, so that tests can start it in-process.
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, environ, stdout)
	case "migrate":
		return migrateCmd(ctx, args[1:], environ, stdout)
	case "accounts":
		return accountsCmd(ctx, args[1:], environ, stdout)
	case "tokens":
		return tokensCmd(ctx, args[1:], environ, stdout)
	case "dev":
		return dev(ctx, environ, stdout)
	case "import", "imports":
		return clientCmd(ctx, args, environ, stdout, os.Stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
		return fmt.Errorf("%s: %w (flags: %s)", fs.Name(), err, strings.Join(names, " "))
	}
	return nil
}
