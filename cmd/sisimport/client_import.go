package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"github.com/sisimport/sisimport/internal/client"
)

// importCmd is `sisimport import FILE`: upload, follow, report, and exit
// by the outcome (docs/cli.md).
func importCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if wantsHelp(args) {
		fmt.Fprint(stdout, clientUsage)
		return nil
	}
	fs := newFlags("import")
	conn := addConnFlags(fs, environ)
	params := paramFlag{}
	fs.Var(params, "set", "a create parameter, name=value")
	dryRun := fs.Bool("dry-run", false, "dry_run=true: results without applying")
	noWait := fs.Bool("no-wait", false, "print the import's id once uploaded and exit")
	key := fs.String("idempotency-key", "", "the Idempotency-Key; derived from the file when empty")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usageError(fmt.Errorf("import takes one FILE (a CSV or a zip of CSVs), got %d", len(files)))
	}
	path := files[0]
	c, err := conn.client()
	if err != nil {
		return err
	}
	q := url.Values(params)
	if *dryRun {
		q.Set("dry_run", "true")
	}
	if *key == "" {
		if *key, err = fileKey(path, *conn.account, q); err != nil {
			return err
		}
	}
	up, err := newUploadProgress(stderr, path)
	if err != nil {
		return err
	}
	imp, earlier, err := c.Upload(ctx, *conn.account, path, q, *key, up.wrap)
	up.done()
	if err != nil {
		return requestFailed(err)
	}
	if earlier {
		fmt.Fprintf(stderr, "%s was uploaded before, as import %d at %s: this is that import (give another --idempotency-key to import it again)\n",
			filepath.Base(path), imp.ID, imp.CreatedAt.Local().Format(timeFormat))
	}
	if *noWait {
		fmt.Fprintln(stdout, imp.ID)
		return nil
	}
	return followAndReport(ctx, c, *conn.account, imp, stdout, stderr)
}

// fileKey derives the Idempotency-Key of an upload from what makes it the
// same upload: the account, the parameters, the file's content, size and
// modification time. A retried run of the same file sends the same key, so
// the server answers with the first import instead of making a second one;
// tomorrow's export, written anew, gets a key of its own even when its
// content has not changed.
func fileKey(path, account string, params url.Values) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if st.IsDir() {
		return "", usageError(fmt.Errorf("%s is a directory; import takes a CSV or a zip of CSVs", path))
	}
	h := sha256.New()
	fmt.Fprintf(h, "sisimport import\x00%s\x00%s\x00%d\x00%d\x00", account, params.Encode(), st.Size(), st.ModTime().UnixNano())
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return "cli-" + hex.EncodeToString(h.Sum(nil))[:40], nil
}

// followAndReport follows an import until it stops running, prints its
// outcome and returns the exit status it calls for.
func followAndReport(ctx context.Context, c *client.Client, account string, imp client.Import, stdout, stderr io.Writer) error {
	imp, err := follow(ctx, c, account, imp, newProgress(stderr))
	if err != nil {
		return requestFailed(err)
	}
	printOutcome(stdout, c, account, imp)
	return outcome(imp)
}
