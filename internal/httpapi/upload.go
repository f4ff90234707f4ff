package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/sisimport/sisimport/internal/auth"
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
	if !t.Role.Allows(auth.SISImport) {
		s.writeError(w, r, errForbidden)
		return
	}
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
	var in io.Reader = io.TeeReader(br, &sniff)
	var bounds *boundsCheck
	if rec.FileType == "csv" {
		bounds = s.checkBounds()
		in = io.TeeReader(in, bounds)
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

// boundsCheck reads a CSV upload as it streams in, on a goroutine of its
// own, for the bounds of SPEC §4.1's reader: a field too long or too many
// columns is a 400, too many rows a 413, each naming the setting. Anything
// else wrong with the file is left for the import to report with its line.
type boundsCheck struct {
	pw   *io.PipeWriter
	done chan error
}

func (s *Server) checkBounds() *boundsCheck {
	pr, pw := io.Pipe()
	b := &boundsCheck{pw: pw, done: make(chan error, 1)}
	go func() {
		rd := csvread.NewReader(pr, s.csvBounds)
		for {
			_, err := rd.Read()
			var fe *csvread.FileError
			switch {
			case err == nil, errors.As(err, new(*csvread.RowError)):
				continue
			case errors.As(err, &fe) && fe.Bound != "":
				kind, code := errs.Invalid, "malformed_csv"
				if fe.Bound == csvread.BoundRows {
					kind, code = errs.TooLarge, "too_many_rows"
				}
				bound := errs.New(kind, code, "%s (the bound is %s); nothing was stored", fe.Error(), importer.BoundSettings[fe.Bound])
				pr.CloseWithError(bound) // the upload stops here
				b.done <- bound
				return
			}
			// The end, or a problem the import reports: read on, unchecked.
			io.Copy(io.Discard, pr)
			b.done <- nil
			return
		}
	}()
	return b
}

func (b *boundsCheck) Write(p []byte) (int, error) { return b.pw.Write(p) }

// close ends the check and returns the bound the upload went past, if any.
func (b *boundsCheck) close() error {
	b.pw.Close()
	return <-b.done
}
