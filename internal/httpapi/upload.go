package httpapi

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/importer"
	"github.com/sisimport/sisimport/internal/queue"
)

var zipMagic = []byte("PK\x03\x04")

// createImport stores an upload, streamed into PostgreSQL, and queues it.
// The file comes as the multipart field "attachment" or as the raw body.
func (s *Server) createImport(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t := tokenOf(r)
	key := r.Header.Get("Idempotency-Key")
	if key != "" {
		if prior, err := queue.FindIdempotent(r.Context(), s.db, acct.ID, key); err == nil {
			s.writeImport(w, r, prior)
			return
		} else if errs.KindOf(err) != errs.NotFound {
			s.writeError(w, r, err)
			return
		}
	}
	// Multipart framing adds a little to the file itself.
	r.Body = http.MaxBytesReader(w, r.Body, s.maxUploadBytes+64<<10)
	up, err := queue.BeginUpload(r.Context(), s.db, queue.NewImport{AccountID: acct.ID, RootAccountID: acct.RootAccountID,
		TokenID: t.ID, TokenName: t.Name, IdempotencyKey: key})
	if errors.Is(err, queue.ErrDuplicateKey) {
		prior, err := queue.FindIdempotent(r.Context(), s.db, acct.ID, key)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeImport(w, r, prior)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer up.Rollback(r.Context())
	params := r.URL.Query()
	stored, err := s.receive(r, up, params)
	if err == nil && up.Bytes > s.maxUploadBytes {
		err = errTooLarge(s.maxUploadBytes)
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = errTooLarge(s.maxUploadBytes)
		}
		s.writeError(w, r, err)
		return
	}
	opts, warnings, err := importer.ParseOptions(params)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if opts.Extension != "" && opts.Extension != stored.FileType && !stored.sniffed {
		stored.FileType = opts.Extension
	}
	stored.Params, stored.Warnings = opts, warnings
	i, err := up.Commit(r.Context(), stored.Stored)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sisImportView(i, nil))
}

type received struct {
	queue.Stored
	sniffed bool // the type came from the content, not from a name or a parameter
}

// receive streams the file into up and collects the form fields into params.
func (s *Server) receive(r *http.Request, up *queue.Upload, params url.Values) (received, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		// curl --data-binary sends a file as form-urlencoded unless told
		// otherwise: with an extension named, the body is the file.
		if ct == "application/x-www-form-urlencoded" && params.Get("extension") == "" {
			return received{}, errs.New(errs.Invalid, "missing_value", "the file must be sent as the request body (with extension=csv, or Content-Type text/csv) or as the multipart field attachment")
		}
		typ := strings.ToLower(strings.TrimPrefix(params.Get("extension"), "."))
		if typ == "" {
			switch ct {
			case "text/csv", "text/plain", "text/comma-separated-values", "application/csv":
				typ = "csv"
			case "application/zip", "application/x-zip-compressed":
				typ = "zip"
			}
		}
		return s.store(r, up, r.Body, "upload."+typOr(typ, "csv"), typ)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return received{}, errs.New(errs.Invalid, "malformed_request", "multipart body: %v", err)
	}
	var got *received
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return received{}, uploadReadError(&queue.ReadError{Err: err})
		}
		name := part.FormName()
		if name == "attachment" && got != nil {
			return received{}, errs.New(errs.Invalid, "malformed_request", "the multipart body has two fields named attachment; send one file (a zip for several)")
		}
		if name == "attachment" {
			typ := strings.ToLower(strings.TrimPrefix(path.Ext(part.FileName()), "."))
			if typ != "csv" && typ != "zip" {
				typ = strings.ToLower(strings.TrimPrefix(params.Get("extension"), "."))
			}
			fileName := path.Base(part.FileName())
			if fileName == "." || fileName == "/" {
				fileName = "upload." + typOr(typ, "csv")
			}
			rec, err := s.store(r, up, part, fileName, typ)
			if err != nil {
				return received{}, err
			}
			got = &rec
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, 64<<10))
		if err != nil {
			return received{}, uploadReadError(&queue.ReadError{Err: err})
		}
		params.Add(name, string(v))
	}
	if got == nil {
		return received{}, errs.New(errs.Invalid, "missing_value", "the multipart body has no field named attachment holding the file")
	}
	return *got, nil
}

// store copies the file into the upload, classifying its encoding and
// sniffing its type when nothing else named it.
func (s *Server) store(r *http.Request, up *queue.Upload, body io.Reader, name, typ string) (received, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	head, _ := br.Peek(len(zipMagic))
	rec := received{Stored: queue.Stored{FileName: name, FileType: typ}}
	if typ == "" {
		rec.sniffed = true
		rec.FileType = "csv"
		if bytes.Equal(head, zipMagic) {
			rec.FileType = "zip"
		}
	}
	var sniff csvread.Sniffer
	in := io.TeeReader(br, &sniff)
	var bounds *boundsCheck
	if rec.FileType == "csv" {
		bounds = s.checkBounds()
		in = io.TeeReader(in, bounds)
	}
	var tail *tailBuffer
	if rec.FileType == "zip" {
		tail = &tailBuffer{keep: 1 << 20}
		in = io.TeeReader(in, tail)
	}
	err := up.Write(r.Context(), in)
	if bounds != nil {
		if berr := bounds.close(); berr != nil {
			return rec, berr
		}
	}
	if err != nil {
		return rec, uploadReadError(err)
	}
	if tail != nil {
		if err := s.checkZip(tail, up.Bytes); err != nil {
			return rec, err
		}
	}
	if up.Bytes == 0 {
		return rec, errs.New(errs.Invalid, "malformed_csv", "the uploaded file is empty")
	}
	enc, bad := sniff.Result()
	rec.Encoding, rec.BadLine = enc.String(), bad
	return rec, nil
}

// uploadReadError tells a client's broken upload (400, or 413 when too
// large) from a failure of ours.
func uploadReadError(err error) error {
	var tooBig *http.MaxBytesError
	var readErr *queue.ReadError
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.As(err, &readErr), errors.Is(err, io.ErrUnexpectedEOF):
		return errs.New(errs.Invalid, "malformed_request", "the upload could not be read to its end: %v", err)
	}
	return err
}

func errTooLarge(limit int64) error {
	return errs.New(errs.TooLarge, "upload_too_large", "the upload is larger than SISIMPORT_MAX_UPLOAD_BYTES (%d bytes)", limit)
}

var errForbidden = errs.New(errs.Forbidden, "forbidden", "This token's role does not allow this action.")

func typOr(t, def string) string {
	if t == "" {
		return def
	}
	return t
}

// boundsCheck scans a CSV upload as it streams in for the bounds of the
// reader (docs/import-rules.md#files): a field too long or too many columns is a 400, too
// many rows a 413, each naming the setting. It only splits records and
// fields (quotes, separators, line ends), byte by byte without allocating;
// anything else wrong with the file is left for the import, which reads it
// again with the same bounds and reports it with its line.
type boundsCheck struct {
	maxField, maxCols, maxRows int

	line, rows, cols, field int  // where the scan is; cols counts the fields of the record so far
	inQuotes, quoteSeen     bool // inside a quoted field; a quote just closed it (or starts "")
	content, prevCR         bool // the record has more than blanks; the last byte was CR
	err                     error
}

func (s *Server) checkBounds() *boundsCheck {
	b := &boundsCheck{maxField: s.csvBounds.MaxFieldBytes, maxCols: s.csvBounds.MaxColumns, maxRows: s.csvBounds.MaxRows, line: 1}
	if b.maxField <= 0 {
		b.maxField = 1 << 20 // csvread's defaults, when BoundCSV was not called
	}
	if b.maxCols <= 0 {
		b.maxCols = 1000
	}
	return b
}

func (b *boundsCheck) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	for i, c := range p {
		if b.inQuotes {
			switch c {
			case '"':
				b.inQuotes, b.quoteSeen = false, true
			case '\n':
				b.line++
			}
			b.field++
			if b.field > b.maxField {
				return i, b.fail(csvread.BoundFieldBytes, fmt.Sprintf("field is longer than %d bytes", b.maxField))
			}
			continue
		}
		switch c {
		case '"':
			if b.quoteSeen || b.field == 0 {
				b.inQuotes = true // an opening quote, or "" inside a quoted field
			}
			b.quoteSeen, b.content = false, true
			b.field++
		case ',':
			b.quoteSeen, b.content = false, true
			if err := b.endField(); err != nil {
				return i, err
			}
		case '\n', '\r':
			b.quoteSeen = false
			if c == '\n' && b.prevCR {
				b.prevCR = false
				continue
			}
			b.prevCR = c == '\r'
			if err := b.endRecord(); err != nil {
				return i, err
			}
			b.line++
			continue
		default:
			b.quoteSeen = false
			if c != ' ' && c != '\t' {
				b.content = true
			}
			b.field++
			if b.field > b.maxField {
				return i, b.fail(csvread.BoundFieldBytes, fmt.Sprintf("field is longer than %d bytes", b.maxField))
			}
		}
		b.prevCR = false
	}
	return len(p), nil
}

func (b *boundsCheck) endField() error {
	b.cols++
	b.field = 0
	if b.cols >= b.maxCols { // the field after this one would be one too many
		return b.fail(csvread.BoundColumns, fmt.Sprintf("record has more than %d columns", b.maxCols))
	}
	return nil
}

func (b *boundsCheck) endRecord() error {
	if b.content {
		b.rows++ // the header counts: maxRows bounds the records after it
		if b.maxRows > 0 && b.rows > b.maxRows+1 {
			return b.fail(csvread.BoundRows, fmt.Sprintf("the file has more than %d rows", b.maxRows))
		}
	}
	b.cols, b.field, b.content = 0, 0, false
	return nil
}

// fail is the answer for crossing bound, naming the setting.
func (b *boundsCheck) fail(bound, msg string) error {
	kind, code := errs.Invalid, "malformed_csv"
	if bound == csvread.BoundRows {
		kind, code = errs.TooLarge, "too_many_rows"
	}
	where := fmt.Sprintf("line %d", b.line)
	if bound != csvread.BoundRows {
		where += fmt.Sprintf(", column %d", b.cols+1)
	}
	b.err = errs.New(kind, code, "%s: %s (the bound is %s); nothing was stored", where, msg, importer.BoundSettings[bound])
	return b.err
}

// close ends the scan and returns the bound the upload went past, if any.
func (b *boundsCheck) close() error {
	if b.err == nil {
		b.err = b.endRecord() // a last record without a line end
	}
	return b.err
}

// tailBuffer keeps the last bytes of an upload: a zip's central directory,
// which lists its members and their sizes, is at its end.
type tailBuffer struct {
	keep int
	buf  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.keep {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.keep:]...)
	}
	return len(p), nil
}

// tailReader reads the kept tail of a file of size bytes.
type tailReader struct {
	buf  []byte
	size int64
}

func (t tailReader) ReadAt(p []byte, off int64) (int, error) {
	base := t.size - int64(len(t.buf))
	if off < base {
		return 0, errors.New("before the kept tail")
	}
	n := copy(p, t.buf[off-base:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// checkZip refuses a zip upload whose central directory says it expands
// past SISIMPORT_MAX_UNZIPPED_BYTES, or has a CSV that expands past
// SISIMPORT_MAX_ZIP_RATIO times its compressed size: a 413 naming the
// setting, nothing stored. A zip whose directory is not in the kept tail,
// or that is no zip, is left to the import, which checks the same bounds.
func (s *Server) checkZip(t *tailBuffer, size int64) error {
	zr, err := zip.NewReader(tailReader{buf: t.buf, size: size}, size)
	if err != nil {
		return nil
	}
	var total uint64
	for _, m := range zr.File {
		if !strings.EqualFold(path.Ext(m.Name), ".csv") {
			continue
		}
		if s.maxZipRatio > 0 && m.UncompressedSize64 > uint64(s.maxZipRatio)*max(m.CompressedSize64, 1) {
			return errs.New(errs.TooLarge, "zip_bomb", "%s expands to more than SISIMPORT_MAX_ZIP_RATIO (%d) times its compressed size; nothing was stored", m.Name, s.maxZipRatio)
		}
		total += m.UncompressedSize64
		if s.maxUnzipped > 0 && total > uint64(s.maxUnzipped) {
			return errs.New(errs.TooLarge, "zip_bomb", "the zip expands to more than SISIMPORT_MAX_UNZIPPED_BYTES (%d bytes); nothing was stored", s.maxUnzipped)
		}
	}
	return nil
}
