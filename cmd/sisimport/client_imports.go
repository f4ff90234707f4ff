package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/sisimport/sisimport/internal/client"
)

// importsCmd is `sisimport imports list|show|results|approve|abort`
// (docs/cli.md).
func importsCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if wantsHelp(args) {
		fmt.Fprint(stdout, clientUsage)
		return nil
	}
	if len(args) == 0 {
		return usageError(fmt.Errorf("imports needs list, show, results, approve or abort"))
	}
	fs := newFlags("imports " + args[0])
	conn := addConnFlags(fs, environ)
	switch args[0] {
	case "list":
		var states listFlag
		fs.Var(&states, "state", "a workflow_state to list (repeatable)")
		limit := fs.Int("limit", 20, "how many of the newest imports (1–100)")
		rest, err := parseArgs(fs, args[1:])
		if err != nil {
			return err
		}
		if len(rest) > 0 || *limit < 1 || *limit > 100 {
			return usageError(fmt.Errorf("imports list takes no arguments and a --limit from 1 to 100"))
		}
		c, err := conn.client()
		if err != nil {
			return err
		}
		list, err := c.List(ctx, *conn.account, states, *limit)
		if err != nil {
			return requestFailed(err)
		}
		printImports(stdout, list)
		return nil
	case "show":
		wait := fs.Bool("wait", false, "follow the import until it ends, and exit by its outcome")
		return onImport(fs, conn, args, func(c *client.Client, id int64) error {
			imp, err := c.Get(ctx, *conn.account, id)
			if err != nil {
				return requestFailed(err)
			}
			if *wait {
				return followAndReport(ctx, c, *conn.account, imp, stdout, stderr)
			}
			if imp.Running() {
				fmt.Fprintf(stdout, "import %d %s\n", imp.ID, describe(imp))
				return nil
			}
			printOutcome(stdout, c, *conn.account, imp)
			return nil
		})
	case "results":
		var actions listFlag
		fs.Var(&actions, "action", "only results with this action (repeatable): created, updated, failed, …")
		code := fs.String("code", "", "only results with this code")
		file := fs.String("file", "", "only results of this file")
		asCSV := fs.Bool("csv", false, "every result as CSV (results.csv)")
		original := fs.Bool("original", false, "the failed rows in their own columns, as CSV, ready to fix and upload again")
		return onImport(fs, conn, args, func(c *client.Client, id int64) error {
			q := url.Values{"action[]": actions}
			if *code != "" {
				q.Set("code[]", *code)
			}
			if *file != "" {
				q.Set("file", *file)
			}
			var err error
			switch {
			case *original:
				q.Set("format", "original")
				err = c.ResultsCSV(ctx, *conn.account, id, q, stdout)
			case *asCSV:
				err = c.ResultsCSV(ctx, *conn.account, id, q, stdout)
			default:
				t := newResultTable(stdout)
				err = c.Results(ctx, *conn.account, id, q, t.add)
				if ferr := t.flush(); err == nil {
					err = ferr
				}
			}
			return requestFailed(err)
		})
	case "approve":
		noWait := fs.Bool("no-wait", false, "do not follow the import once approved")
		return onImport(fs, conn, args, func(c *client.Client, id int64) error {
			imp, err := c.Approve(ctx, *conn.account, id)
			if err != nil {
				return requestFailed(inState(ctx, c, *conn.account, id, err))
			}
			if *noWait {
				fmt.Fprintf(stdout, "import %d %s\n", imp.ID, describe(imp))
				return nil
			}
			return followAndReport(ctx, c, *conn.account, imp, stdout, stderr)
		})
	case "abort":
		return onImport(fs, conn, args, func(c *client.Client, id int64) error {
			imp, err := c.Abort(ctx, *conn.account, id)
			if err != nil {
				return requestFailed(inState(ctx, c, *conn.account, id, err))
			}
			fmt.Fprintf(stdout, "import %d %s\n", imp.ID, describe(imp))
			return nil
		})
	}
	return usageError(fmt.Errorf("unknown command imports %q", args[0]))
}

// onImport parses the flags and the import id of a command on one import,
// connects and runs it.
func onImport(fs *flag.FlagSet, conn connFlags, args []string, do func(*client.Client, int64) error) error {
	rest, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	id, err := importID(args[0], rest)
	if err != nil {
		return err
	}
	c, err := conn.client()
	if err != nil {
		return err
	}
	return do(c, id)
}

// inState adds to a state change the server refused as a conflict the
// state the import is in, which is why.
func inState(ctx context.Context, c *client.Client, account string, id int64, err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusConflict {
		return err
	}
	if imp, gerr := c.Get(ctx, account, id); gerr == nil {
		return fmt.Errorf("%w (import %d is %s)", err, id, describe(imp))
	}
	return err
}
