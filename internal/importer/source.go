package importer

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/queue"
)

// source is one CSV file of an upload: the upload itself, or a zip member.
type source struct {
	name     string
	encoding string // utf-8, windows-1252 or invalid
	badLine  *int   // the first bad line of an invalid encoding
	open     func() (io.ReadCloser, error)
	typ      string // detected from the header; "" when nothing matched
	skipped  bool   // a Canvas type sisimport does not import
	headErr  error  // the header could not be read: a file-level error
}

// typeOrder is Canvas's order of applying file types (SPEC §4.1).
var typeOrder = []string{typeChangeSISID, typeAccounts, typeTerms, typeUsers, typeUserDeactivation, typeCourses,
	typeSections, typeEnrollments, typeGroups, typeGroupMemberships}

// detectTypes reads each file's header, then orders the files by type in
// Canvas's order and, within a type, by path.
func (ru *run) detectTypes(files []source) error {
	ru.typeFiles = map[string]int{}
	for i := range files {
		f := &files[i]
		rd, _, cols, err := ru.openCSV(*f, false)
		if err != nil {
			var fe *fileError
			if !errors.As(err, &fe) {
				return err
			}
			f.headErr = err
			continue
		}
		rd.close()
		f.typ, f.skipped = detectType(cols, ru.opts.Defaults)
		ru.typeFiles[f.typ]++
	}
	rank := func(f source) int {
		if i := slices.Index(typeOrder, f.typ); i >= 0 {
			return i
		}
		return len(typeOrder)
	}
	slices.SortStableFunc(files, func(a, b source) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a.name, b.name)
	})
	return nil
}

// csvFile is an open CSV file.
type csvFile struct {
	*csvread.Reader
	closer io.Closer
}

func (c *csvFile) close() { c.closer.Close() }

// openCSV opens a file and reads its header and column names.
func (ru *run) openCSV(f source, announce bool) (*csvFile, csvread.Record, map[string]int, error) {
	if f.headErr != nil {
		return nil, csvread.Record{}, nil, f.headErr
	}
	enc := csvread.UTF8
	switch f.encoding {
	case "invalid":
		line := 0
		if f.badLine != nil {
			line = *f.badLine
		}
		return nil, csvread.Record{}, nil, &fileError{Code: "invalid_encoding", Message: fmt.Sprintf("line %d: the file is not valid UTF-8 (it mixes UTF-8 with other bytes); save it as UTF-8 and upload it again", line)}
	case "windows-1252":
		enc = csvread.Windows1252
		if announce {
			ru.warn(f.name, "the file is not UTF-8; it was read as Windows-1252")
		}
	}
	in, err := f.open()
	if err != nil {
		return nil, csvread.Record{}, nil, &fileError{Code: "file_unreadable", Message: fmt.Sprintf("the file cannot be read: %v", err)}
	}
	rd := &csvFile{Reader: csvread.NewReader(in, csvread.Options{Encoding: enc}), closer: in}
	head, err := rd.Read()
	var rowErr *csvread.RowError
	switch {
	case errors.As(err, &rowErr):
		err = &fileError{Code: "malformed_csv", Message: fmt.Sprintf("line %d: the header row cannot be read: column %d: %s", rowErr.Line, rowErr.Column, rowErr.Msg)}
	case errors.Is(err, io.EOF):
		err = &fileError{Code: "malformed_csv", Message: "the file is empty: a header row is required"}
	case err != nil:
		err = csvFileError(err)
	}
	if err != nil {
		rd.close()
		return nil, head, nil, err
	}
	cols, dup := columnIndex(head.Fields)
	if dup != "" {
		rd.close()
		return nil, head, nil, &fileError{Code: "malformed_csv", Message: fmt.Sprintf("line %d: column %q appears twice in the header", head.Line, dup)}
	}
	return rd, head, cols, nil
}

// zipFile is an uploaded zip, spooled to a temporary file: a zip is read
// from its end, so it cannot be read as a stream.
type zipFile struct {
	*zip.Reader
	tmp *os.File
}

func (z *zipFile) close() {
	z.tmp.Close()
	os.Remove(z.tmp.Name())
}

// openZip copies the stored upload to a temporary file and opens it.
func (ru *run) openZip(ctx context.Context) (*zipFile, error) {
	zf, err := ru.spoolZip(ctx, ru.job.ID, &ru.bytesRead)
	if zf != nil && zf.Reader == nil {
		// Not a zip after all: one file error, nothing applied.
		zf.Reader = &zip.Reader{}
		ru.addFileError(ru.job.FileName, &fileError{Code: "file_unreadable", Message: fmt.Sprintf("the upload is not a readable zip file: %v", err)})
		return zf, nil
	}
	return zf, err
}

// spoolZip copies the stored upload of an import to a temporary file and
// opens it; a file that is not a zip comes back with a nil Reader and the
// error.
func (ru *run) spoolZip(ctx context.Context, importID int64, counter *atomic.Int64) (*zipFile, error) {
	tmp, err := os.CreateTemp("", "sisimport-zip-")
	if err != nil {
		return nil, fmt.Errorf("spool zip: %w", err)
	}
	zf := &zipFile{tmp: tmp}
	stream := queue.OpenFile(ctx, ru.DB, importID)
	n, err := io.Copy(tmp, &countingReader{r: stream, n: counter})
	stream.Close()
	if err != nil {
		zf.close()
		return nil, fmt.Errorf("spool zip: %w", err)
	}
	r, err := zip.NewReader(tmp, n)
	if err != nil {
		return zf, err
	}
	zf.Reader = r
	return zf, nil
}

// openZipMember opens one member of an earlier import's zip (a diffing
// base), with its encoding; closing it removes the spooled zip.
func (ru *run) openZipMember(ctx context.Context, importID int64, name string) (io.ReadCloser, string, error) {
	zf, err := ru.spoolZip(ctx, importID, new(atomic.Int64))
	if err != nil {
		if zf != nil {
			zf.close()
		}
		return nil, "", err
	}
	for _, m := range zf.File {
		if m.Name != name {
			continue
		}
		open := func() (io.ReadCloser, error) { return m.Open() }
		enc, _ := sniffMember(open)
		rc, err := m.Open()
		if err != nil {
			zf.close()
			return nil, "", err
		}
		return readCloser{Reader: rc, Closer: closerFunc(func() error { rc.Close(); zf.close(); return nil })}, enc, nil
	}
	zf.close()
	return nil, "", fmt.Errorf("the base upload has no member %q", name)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// zipSources lists a zip's CSV members. Folders, __MACOSX/, dotfiles and
// empty files are ignored; other files are a warning; members whose sizes
// add up past MaxUnzippedBytes make the whole zip a file error.
func (ru *run) zipSources(zf *zipFile) ([]source, error) {
	var out []source
	var total uint64
	for _, m := range zf.File {
		name, base := m.Name, path.Base(m.Name)
		switch {
		case m.FileInfo().IsDir(), strings.HasPrefix(name, "__MACOSX/"), strings.HasPrefix(base, "."), m.UncompressedSize64 == 0:
			continue
		case !strings.EqualFold(path.Ext(name), ".csv"):
			ru.total.warningCount++
			ru.total.warn(name, "not a CSV file: ignored")
			continue
		}
		total += m.UncompressedSize64
		if total > uint64(ru.maxUnzipped()) {
			ru.addFileError(ru.job.FileName, &fileError{Code: "file_unreadable",
				Message: fmt.Sprintf("the zip expands to more than SISIMPORT_MAX_UNZIPPED_BYTES (%d bytes): nothing was imported", ru.maxUnzipped())})
			return nil, nil
		}
		m := m
		open := func() (io.ReadCloser, error) {
			rc, err := m.Open()
			if err != nil {
				return nil, err
			}
			// A member may not yield more than its header says.
			return readCloser{Reader: io.LimitReader(rc, int64(m.UncompressedSize64)), Closer: rc}, nil
		}
		src := source{name: name, open: open}
		src.encoding, src.badLine = sniffMember(open)
		out = append(out, src)
	}
	return out, nil
}

// sniffMember classifies a member's encoding by reading it once.
func sniffMember(open func() (io.ReadCloser, error)) (string, *int) {
	rc, err := open()
	if err != nil {
		return "utf-8", nil // the read that follows reports the error
	}
	defer rc.Close()
	var s csvread.Sniffer
	if _, err := io.Copy(&s, rc); err != nil {
		return "utf-8", nil
	}
	enc, bad := s.Result()
	if bad > 0 {
		return enc.String(), &bad
	}
	return enc.String(), nil
}

func (ru *run) maxUnzipped() int64 {
	if ru.MaxUnzippedBytes > 0 {
		return ru.MaxUnzippedBytes
	}
	return 10 << 30
}

// readCloser joins a reader with what closes it.
type readCloser struct {
	io.Reader
	io.Closer
}
