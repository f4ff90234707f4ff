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
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/queue"
)

// source is one CSV file of an upload: the upload itself, or a zip member.
type source struct {
	name     string
	encoding string // utf-8, windows-1252 or invalid
	badLine  *int   // the first bad line of an invalid encoding
	open     func() (io.ReadCloser, error)
	headErr  error // the header could not be read: a file-level error
}

// reading is one file read through one view: an upload is applied as a
// list of them, in the types' apply order.
type reading struct {
	src  source
	view view // no type when the file matched none, or its header could not be read
}

// readings reads each file's header and says how the import's format
// reads the file, then orders the readings by type in the apply order and,
// within a type, by path.
func (at *attempt) readings(files []source) ([]reading, error) {
	at.typeFiles = map[string]int{}
	files, err := at.openPack(files)
	if err != nil {
		return nil, err
	}
	var out []reading
	for _, f := range files {
		rd, _, cols, err := at.openCSV(f, false)
		if err != nil {
			var fe *fileError
			if !errors.As(err, &fe) {
				return nil, err
			}
			f.headErr = err
			out = append(out, reading{src: f})
			continue
		}
		rd.close()
		views := at.viewsOf(f.name, header{cols: cols, defaults: at.opts.Defaults, opts: &at.opts})
		if len(views) == 0 {
			out = append(out, reading{src: f})
		}
		for _, v := range views {
			at.typeFiles[v.typ.name]++
			out = append(out, reading{src: f, view: v})
		}
	}
	slices.SortStableFunc(out, func(a, b reading) int {
		if d := applyOrder(a.view.typ, b.view.typ); d != 0 {
			return d
		}
		return strings.Compare(a.src.name, b.src.name)
	})
	return out, nil
}

// csvFile is an open CSV file.
type csvFile struct {
	*csvread.Reader
	closer io.Closer
}

func (c *csvFile) close() { c.closer.Close() }

// openCSV opens a file and reads its header and column names.
func (at *attempt) openCSV(f source, announce bool) (*csvFile, csvread.Record, map[string]int, error) {
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
			at.warn(f.name, "the file is not UTF-8; it was read as Windows-1252")
		}
	}
	in, err := f.open()
	if err != nil {
		return nil, csvread.Record{}, nil, &fileError{Code: "file_unreadable", Message: fmt.Sprintf("the file cannot be read: %v", err)}
	}
	opt := csvread.Options{Encoding: enc, MaxFieldBytes: at.MaxFieldBytes, MaxColumns: at.MaxColumns, MaxRows: at.MaxRowsPerFile}
	rd := &csvFile{Reader: csvread.NewReader(in, opt), closer: in}
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
	cols, dup := csvread.Columns(head.Fields)
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
func (at *attempt) openZip(ctx context.Context) (*zipFile, error) {
	zf, err := at.spoolZip(ctx, at.job.ID, &at.bytesRead)
	if zf != nil && zf.Reader == nil {
		// Not a zip after all: one file error, nothing applied.
		zf.Reader = &zip.Reader{}
		at.addFileError(at.job.FileName, &fileError{Code: "file_unreadable", Message: fmt.Sprintf("the upload is not a readable zip file: %v", err)})
		return zf, nil
	}
	return zf, err
}

// spoolZip copies the stored upload of an import to a temporary file and
// opens it; a file that is not a zip comes back with a nil Reader and the
// error.
func (at *attempt) spoolZip(ctx context.Context, importID int64, counter *atomic.Int64) (*zipFile, error) {
	tmp, err := os.CreateTemp("", "sisimport-zip-")
	if err != nil {
		return nil, fmt.Errorf("spool zip: %w", err)
	}
	zf := &zipFile{tmp: tmp}
	stream := queue.OpenFile(ctx, at.DB, importID)
	n, err := io.Copy(tmp, &countingReader{r: stream, n: counter})
	stream.Close()
	if err != nil {
		zf.close()
		return nil, fmt.Errorf("spool zip: %w", err)
	}
	r, err := newZipReader(tmp, n)
	if err != nil {
		return zf, err
	}
	zf.Reader = r
	return zf, nil
}

// newZipReader opens a zip. With GODEBUG=zipinsecurepath=0 archive/zip
// refuses a zip with one unsafe name whole; listZip ignores such members
// with a warning instead, whatever the setting.
func newZipReader(r io.ReaderAt, size int64) (*zip.Reader, error) {
	zr, err := zip.NewReader(r, size)
	if errors.Is(err, zip.ErrInsecurePath) && zr != nil {
		err = nil
	}
	return zr, err
}

// openZipMember opens one member of an earlier import's zip (a diffing
// base), with its encoding; closing it removes the spooled zip.
func (at *attempt) openZipMember(ctx context.Context, importID int64, name string) (io.ReadCloser, string, error) {
	zf, err := at.spoolZip(ctx, importID, new(atomic.Int64))
	if err != nil {
		if zf != nil {
			zf.close()
		}
		return nil, "", err
	}
	for _, m := range zf.File {
		if label, _ := memberLabel(m.Name); label != name {
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

// zipSources lists a zip's CSV members for the run: see listZip.
func (at *attempt) zipSources(zf *zipFile) ([]source, error) {
	files, warnings, refused := listZip(zf.Reader, at.maxUnzipped(), at.MaxZipRatio)
	for _, w := range warnings {
		at.total.note(w[0], w[1])
	}
	if refused != nil {
		at.addFileError(at.job.FileName, refused)
		return nil, nil
	}
	return files, nil
}

// listZip lists a zip's CSV members, each sniffed for its encoding and
// opened through a reader that yields no more than the member's declared
// size. Folders, __MACOSX/, dotfiles and empty files are ignored; other
// files, names that could point outside the zip (an absolute path, a ..
// element, a control character) and repeated names come back as warnings
// (file, message) and are ignored too; members whose sizes add up past
// maxUnzipped refuse the whole zip with a file error. Member names are only
// labels: nothing is ever written to or read from a path they name.
func listZip(zr *zip.Reader, maxUnzipped int64, maxRatio int) (files []source, warnings [][2]string, refused *fileError) {
	var total uint64
	seen := map[string]bool{}
	for _, m := range zr.File {
		name, unsafe := memberLabel(m.Name)
		base := path.Base(name)
		switch {
		case unsafe:
			warnings = append(warnings, [2]string{name, "unsafe path: ignored"})
			continue
		case m.FileInfo().IsDir(), strings.HasPrefix(name, "__MACOSX/"), strings.HasPrefix(base, "."), m.UncompressedSize64 == 0:
			continue
		case !strings.EqualFold(path.Ext(name), ".csv"):
			warnings = append(warnings, [2]string{name, "not a CSV file: ignored"})
			continue
		case seen[name]:
			// Results and file errors are kept by file name: a second
			// member of the same name would share the first one's.
			warnings = append(warnings, [2]string{name, "duplicate name: ignored"})
			continue
		}
		seen[name] = true
		// total never exceeds maxUnzipped, so neither can overflow.
		if m.UncompressedSize64 > uint64(maxUnzipped)-total {
			return nil, warnings, &fileError{Code: "file_unreadable",
				Message: fmt.Sprintf("the zip expands to more than SISIMPORT_MAX_UNZIPPED_BYTES (%d bytes): nothing was imported", maxUnzipped)}
		}
		if maxRatio > 0 && m.UncompressedSize64 > uint64(maxRatio)*max(m.CompressedSize64, 1) {
			return nil, warnings, &fileError{Code: "file_unreadable",
				Message: fmt.Sprintf("%s expands to more than SISIMPORT_MAX_ZIP_RATIO (%d) times its compressed size: nothing was imported", name, maxRatio)}
		}
		total += m.UncompressedSize64
		m := m
		open := func() (io.ReadCloser, error) {
			rc, err := m.Open()
			if err != nil {
				return nil, err
			}
			mr := &memberReader{lr: io.LimitedReader{R: rc, N: int64(m.UncompressedSize64)}}
			return readCloser{Reader: mr, Closer: rc}, nil
		}
		src := source{name: name, open: open}
		src.encoding, src.badLine = sniffMember(open)
		files = append(files, src)
	}
	return files, warnings, nil
}

// memberLabel is the name under which a zip member is listed and reported,
// and whether the member must be ignored because its name is unsafe. Zips
// made without the UTF-8 flag hold names in the DOS code page; a name that
// is not valid UTF-8 is decoded as CP437, as the zip format says, so that
// PostgreSQL can store it. Control characters, which it cannot always
// store either, read as U+FFFD.
func memberLabel(name string) (label string, unsafe bool) {
	if !utf8.ValidString(name) {
		name, _ = charmap.CodePage437.NewDecoder().String(name)
	}
	slashed := strings.ReplaceAll(name, `\`, "/")
	unsafe = strings.HasPrefix(slashed, "/") || len(slashed) >= 2 && slashed[1] == ':' ||
		slices.Contains(strings.Split(slashed, "/"), "..")
	label = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			unsafe = true
			return utf8.RuneError
		}
		return r
	}, name)
	return label, unsafe
}

// memberReader reads a zip member up to its declared size, then reads on to
// its end so that archive/zip checks the size and the CRC: a member whose
// data is longer, shorter or corrupt is a file error, not a truncated file
// nor a failure of the whole import.
type memberReader struct {
	lr  io.LimitedReader
	one [1]byte
}

func (r *memberReader) Read(p []byte) (int, error) {
	if r.lr.N > 0 {
		n, err := r.lr.Read(p)
		if err == io.EOF && r.lr.N > 0 {
			err = io.ErrUnexpectedEOF
		}
		return n, memberError(err)
	}
	switch n, err := r.lr.R.Read(r.one[:]); {
	case n > 0:
		return 0, memberError(zip.ErrFormat)
	case err == nil:
		return 0, nil
	default:
		return 0, memberError(err)
	}
}

func memberError(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &fileError{Code: "file_unreadable", Message: fmt.Sprintf("the file cannot be read: %v", err)}
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

func (at *attempt) maxUnzipped() int64 {
	if at.MaxUnzippedBytes > 0 {
		return at.MaxUnzippedBytes
	}
	return 10 << 30
}

// readCloser joins a reader with what closes it.
type readCloser struct {
	io.Reader
	io.Closer
}
