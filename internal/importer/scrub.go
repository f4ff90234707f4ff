package importer

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/queue"
)

// Passwords in an upload are secrets at rest: once the import reaches a
// final state, the stored upload has its password cells blanked (docs/import-rules.md#files
// "Passwords"). A held import keeps them for its re-run after approval.

// secretColumns are the columns whose cells are blanked.
var secretColumns = []string{"password", "ssha_password"}

// hasSecretColumn reports whether a header names a secret column.
func hasSecretColumn(cols map[string]int) bool {
	for _, c := range secretColumns {
		if _, ok := cols[c]; ok {
			return true
		}
	}
	return false
}

// ScrubSecrets blanks the password cells of import id's stored upload, if
// it holds any and the import has reached a final state. Line numbers stay
// as they were, so results keep pointing at the right lines.
func ScrubSecrets(ctx context.Context, db *pgxpool.Pool, id int64) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin scrub: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var fileType, encoding string
	err = tx.QueryRow(ctx, `SELECT file_type, file_encoding FROM sis_imports WHERE id = $1 AND file_secrets
		AND workflow_state NOT IN ('created', 'uploading', 'importing', 'awaiting_approval') FOR UPDATE`, id).Scan(&fileType, &encoding)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read import to scrub: %w", err)
	}
	tmp, err := os.CreateTemp("", "sisimport-scrub-")
	if err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	stored := queue.OpenFile(ctx, db, id)
	if fileType == "zip" {
		err = scrubZip(stored, tmp)
	} else {
		err = scrubCSV(stored, encoding, tmp)
		encoding = "utf-8"
	}
	stored.Close()
	if err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	n, err := queue.ReplaceFile(ctx, tx, id, tmp)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE sis_imports SET file_secrets = false, file_bytes = $2, file_encoding = $3 WHERE id = $1`,
		id, n, encoding); err != nil {
		return fmt.Errorf("scrub: %w", err)
	}
	return tx.Commit(ctx)
}

// scrubCSV copies a CSV with its secret columns' cells blanked, record by
// record, each on the line it started on. Rows the reader cannot split are
// left out (their results keep them, secrets blanked); a file-level error
// ends the copy there.
func scrubCSV(in io.Reader, encoding string, out io.Writer) error {
	// Any file that was stored is copied whole, whatever the bounds of the
	// import that read it.
	opt := csvread.Options{MaxFieldBytes: 1 << 30, MaxColumns: 1 << 20}
	if encoding == "windows-1252" {
		opt.Encoding = csvread.Windows1252
	}
	rd := csvread.NewReader(in, opt)
	w := csv.NewWriter(out)
	line, width := 1, 0
	var secret []int
	for first := true; ; first = false {
		rec, err := rd.Read()
		var rowErr *csvread.RowError
		switch {
		case errors.Is(err, io.EOF):
			w.Flush()
			return w.Error()
		case errors.As(err, &rowErr):
			continue
		case err != nil:
			var fe *csvread.FileError
			if errors.As(err, &fe) {
				w.Flush()
				return w.Error()
			}
			return err
		}
		switch {
		case first:
			cols, _ := csvread.Columns(rec.Fields)
			for _, c := range secretColumns {
				if i, ok := cols[c]; ok {
					secret = append(secret, i)
				}
			}
			width = len(rec.Fields)
		case len(secret) > 0 && len(rec.Fields) != width:
			// A row of another width may hold its password anywhere from
			// the first secret column on.
			clear(rec.Fields[min(slices.Min(secret), len(rec.Fields)):])
		default:
			for _, i := range secret {
				rec.Fields[i] = ""
			}
		}
		for ; line < rec.Line; line++ {
			if _, err := io.WriteString(out, "\n"); err != nil {
				return err
			}
		}
		if err := w.Write(rec.Fields); err != nil {
			return err
		}
		w.Flush()
		line++
		for _, f := range rec.Fields {
			line += strings.Count(f, "\n")
		}
	}
}

// scrubZip copies a zip with the CSV members scrubbed and the others as
// they were.
func scrubZip(in io.Reader, out *os.File) error {
	spool, err := os.CreateTemp("", "sisimport-scrub-zip-")
	if err != nil {
		return err
	}
	defer func() { spool.Close(); os.Remove(spool.Name()) }()
	n, err := io.Copy(spool, in)
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(spool, n)
	if err != nil {
		return nil // not a zip: there is nothing to read secrets from
	}
	zw := zip.NewWriter(out)
	for _, m := range zr.File {
		if !strings.EqualFold(path.Ext(m.Name), ".csv") {
			if err := zw.Copy(m); err != nil {
				return err
			}
			continue
		}
		rc, err := m.Open()
		if err != nil {
			return err
		}
		enc, _ := sniffMember(func() (io.ReadCloser, error) { return m.Open() })
		dst, err := zw.CreateHeader(&zip.FileHeader{Name: m.Name, Method: zip.Deflate, Modified: m.Modified})
		if err == nil {
			err = scrubCSV(io.LimitReader(rc, int64(m.UncompressedSize64)), enc, dst)
		}
		rc.Close()
		if err != nil {
			return err
		}
	}
	return zw.Close()
}

// ScrubPending scrubs every import that reached a final state with its
// upload's secrets still stored.
func ScrubPending(ctx context.Context, db *pgxpool.Pool) error {
	rows, err := db.Query(ctx, `SELECT id FROM sis_imports WHERE file_secrets
		AND workflow_state NOT IN ('created', 'uploading', 'importing', 'awaiting_approval')`)
	if err != nil {
		return fmt.Errorf("find uploads to scrub: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("find uploads to scrub: %w", err)
	}
	for _, id := range ids {
		if err := ScrubSecrets(ctx, db, id); err != nil {
			return fmt.Errorf("import %d: %w", id, err)
		}
	}
	return nil
}

// RunScrubber runs ScrubPending every minute until ctx ends, for imports
// that ended other than by running to the end (an abort, an expired hold);
// the importer scrubs the others as it finishes.
func RunScrubber(ctx context.Context, db *pgxpool.Pool, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if err := ScrubPending(ctx, db); err != nil && ctx.Err() == nil {
			log.Warn("scrubbing uploads failed", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
