package csvread

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

const (
	defaultMaxFieldBytes = 1 << 20
	defaultMaxColumns    = 1000
	bufferSize           = 64 << 10
	// keepRecordBuffer is the largest record buffer kept between records;
	// one huge record should not pin its memory for the rest of the file.
	keepRecordBuffer = 4 << 20
)

var (
	utf8BOM = []byte("\xEF\xBB\xBF")
	// bomAs1252 is a UTF-8 BOM after it went through the Windows-1252
	// decoder ("ï»¿"), as happens when a caller forces Windows1252 on a
	// file that starts with one.
	bomAs1252 = []byte("\xC3\xAF\xC2\xBB\xC2\xBF")
)

// Options bound what a Reader accepts.
type Options struct {
	// Encoding is UTF8 or Windows1252. Windows1252 input is decoded to
	// UTF-8 with golang.org/x/text/encoding/charmap. UTF8 input is checked
	// record by record and an invalid byte ends the file with a FileError
	// coded CodeInvalidEncoding; Invalid is read the same way as UTF8.
	Encoding Encoding
	// MaxFieldBytes bounds one field's length; 0 means 1 MiB.
	MaxFieldBytes int
	// MaxColumns bounds the number of fields in one record; 0 means 1000.
	MaxColumns int
	// MaxRows bounds the records after the first (the header); 0 means no
	// bound. The record past it is a FileError.
	MaxRows int
}

// Record is one CSV record.
type Record struct {
	// Line is the 1-based physical line on which the record starts; the
	// header is line 1 when the file has no leading blank lines.
	Line int
	// Fields holds the record's fields, unquoted and trimmed of
	// surrounding spaces and tabs as Canvas does. Line ends inside quoted
	// fields read as "\n" whatever they were in the file.
	Fields []string
}

// Reader splits a CSV stream into records. It does not interpret the
// header: the caller treats the first record as one. A Reader holds at most
// one record in memory, bounded by Options, plus a fixed read buffer. It is
// not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	buf     []byte // bytes peeked from br and not yet discarded
	pos     int    // next unread byte in buf
	eof     bool   // br has nothing more to give
	readErr error  // why br stopped, when it was not io.EOF
	// pendingErr is an error br returned before its buffered bytes were read.
	pendingErr error
	started    bool // the BOM check has been done

	validate bool // check that records are valid UTF-8
	maxField int
	maxCols  int
	maxRows  int
	records  int // records read so far

	line   int   // physical line of the next unread byte
	prevCR bool  // the last byte consumed was CR, so an LF now ends CRLF
	err    error // sticky fatal error

	// The record being read.
	rec        []byte // field contents, unquoted, back to back
	bounds     []int  // start and end in rec of each finished field
	state      int
	recLine    int // line the record starts on
	fieldStart int // where the current field starts in rec
	fieldLine  int // line the current field starts on
	quoteLine  int // line of the opening quote of the current field
	nulLine    int // line of the record's first NUL byte; 0 while none
	nulCol     int
}

// NewReader returns a Reader that reads from r, decoding it first when
// opt.Encoding is Windows1252.
func NewReader(r io.Reader, opt Options) *Reader {
	if opt.Encoding == Windows1252 {
		r = transform.NewReader(r, charmap.Windows1252.NewDecoder())
	}
	rd := &Reader{
		br:       bufio.NewReaderSize(r, bufferSize),
		validate: opt.Encoding != Windows1252,
		maxField: opt.MaxFieldBytes,
		maxCols:  opt.MaxColumns,
		maxRows:  opt.MaxRows,
		line:     1,
	}
	if rd.maxField <= 0 {
		rd.maxField = defaultMaxFieldBytes
	}
	if rd.maxCols <= 0 {
		rd.maxCols = defaultMaxColumns
	}
	return rd
}

// Read returns the next non-blank record. Blank lines (empty, or spaces and
// tabs only; a line of commas is not blank) are skipped and get no record.
// Read returns io.EOF at the end of the input; a *RowError for a malformed
// record, after which Read may be called again to go on with the next
// line; and a *FileError when the file cannot be read further, which every
// later call returns too. An error from the underlying reader is returned
// wrapped and is just as final.
func (r *Reader) Read() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	if !r.started {
		r.start()
	}
	rec, err := r.readRecord()
	if err != io.EOF {
		r.records++
		if r.maxRows > 0 && r.records > r.maxRows+1 {
			line := rec.Line
			if re, ok := err.(*RowError); ok {
				line = re.Line
			}
			err = &FileError{Line: line, Code: CodeMalformedCSV, Bound: BoundRows, Msg: fmt.Sprintf("the file has more than %d rows", r.maxRows)}
		}
	}
	if err != nil && err != io.EOF {
		if _, ok := err.(*RowError); !ok {
			r.err = err
		}
	}
	return rec, err
}

// start drops a leading byte order mark.
func (r *Reader) start() {
	r.started = true
	b, err := r.br.Peek(len(bomAs1252))
	if err != nil && err != bufio.ErrBufferFull {
		// bufio hands an error out only once; keep it for when the bytes
		// buffered before it have been read.
		r.pendingErr = err
	}
	switch {
	case bytes.HasPrefix(b, utf8BOM):
		_, _ = r.br.Discard(len(utf8BOM))
	case !r.validate && bytes.HasPrefix(b, bomAs1252):
		_, _ = r.br.Discard(len(bomAs1252))
	}
}

// fill makes the next buffered bytes available in r.buf once every byte of
// the previous r.buf has been consumed. It reports false at the end of the
// input or on a read error, which it keeps in r.readErr.
func (r *Reader) fill() bool {
	if r.eof {
		return false
	}
	_, _ = r.br.Discard(len(r.buf)) // cannot fail: the bytes are buffered
	r.buf, r.pos = nil, 0
	err := r.pendingErr
	if err == nil || r.br.Buffered() > 0 {
		_, err = r.br.Peek(1)
	}
	if err != nil {
		r.eof = true
		if err != io.EOF {
			r.readErr = err
		}
		return false
	}
	r.buf, _ = r.br.Peek(r.br.Buffered())
	return true
}

// lineEnd consumes the line end c, which is the byte at r.pos.
func (r *Reader) lineEnd(c byte) {
	r.pos++
	r.line++
	r.prevCR = c == '\r'
}

// skipLine resynchronises after a malformed record by consuming everything
// up to and including the end of the current physical line: after a stray
// quote nobody can tell which later quotes open or close fields, but the
// next line is a fair place to start again.
func (r *Reader) skipLine() {
	for r.pos < len(r.buf) || r.fill() {
		rest := r.buf[r.pos:]
		i := bytes.IndexAny(rest, "\r\n")
		if i < 0 {
			r.pos = len(r.buf)
			continue
		}
		r.pos += i
		r.lineEnd(rest[i])
		return
	}
}

// Columns maps a header's names, trimmed and lower-cased (header names are
// case-insensitive), to their positions; it returns the first repeated
// name, if any.
func Columns(header []string) (map[string]int, string) {
	cols := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if _, dup := cols[h]; dup {
			return cols, h
		}
		cols[h] = i
	}
	return cols, ""
}
