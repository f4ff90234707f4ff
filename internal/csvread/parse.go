package csvread

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// Parser states within one record.
const (
	stStart      = iota // at the start of a field, skipping leading blanks
	stUnquoted          // inside an unquoted field
	stQuoted            // inside a quoted field
	stQuote             // just after a quote inside a quoted field
	stAfterQuote        // blanks after the closing quote of a field
)

// stopUnquoted and stopQuoted mark the bytes that end a fast scan through
// field content; everything else is copied in bulk.
var stopUnquoted, stopQuoted [256]bool

func init() {
	for _, c := range []byte{',', '"', '\r', '\n', 0} {
		stopUnquoted[c] = true
	}
	for _, c := range []byte{'"', '\r', '\n', 0} {
		stopQuoted[c] = true
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// readRecord reads bytes until one record is complete, a record turns out
// malformed, or the input ends.
func (r *Reader) readRecord() (Record, error) {
	r.beginRecord()
	for {
		if r.pos == len(r.buf) && !r.fill() {
			return r.atEOF()
		}
		c := r.buf[r.pos]
		if r.prevCR {
			r.prevCR = false
			if c == '\n' { // the second half of CRLF, already counted
				r.pos++
				continue
			}
		}
		var done bool
		var err error
		switch r.state {
		case stStart:
			done, err = r.startField(c)
		case stUnquoted:
			done, err = r.unquoted()
		case stQuoted:
			err = r.quoted()
		default:
			done, err = r.afterQuote(c)
		}
		if err != nil {
			return Record{}, err
		}
		if done {
			return r.finish()
		}
	}
}

func (r *Reader) beginRecord() {
	if cap(r.rec) > keepRecordBuffer {
		r.rec = nil
	}
	r.rec = r.rec[:0]
	r.bounds = r.bounds[:0]
	r.state = stStart
	r.recLine, r.fieldLine, r.fieldStart = r.line, r.line, 0
	r.nulLine, r.nulCol = 0, 0
}

// column is the 1-based number of the field being read.
func (r *Reader) column() int { return len(r.bounds)/2 + 1 }

// startField handles the byte c at the start of a field. It reports whether
// the record is complete.
func (r *Reader) startField(c byte) (bool, error) {
	switch c {
	case ' ', '\t':
		r.pos++ // trimmed anyway; skipping lets blanks precede a quote
	case '"':
		r.pos++
		r.state, r.quoteLine = stQuoted, r.line
	case ',':
		r.pos++
		return false, r.endField()
	case '\r', '\n':
		r.lineEnd(c)
		if len(r.bounds) == 0 { // a blank line: the record starts later
			r.recLine, r.fieldLine = r.line, r.line
			return false, nil
		}
		return true, r.endField()
	default:
		r.state = stUnquoted
	}
	return false, nil
}

// unquoted copies unquoted field content up to the next special byte and
// handles that byte. It reports whether the record is complete.
func (r *Reader) unquoted() (bool, error) {
	b, i := r.buf, r.pos
	for i < len(b) && !stopUnquoted[b[i]] {
		i++
	}
	r.rec = append(r.rec, b[r.pos:i]...)
	r.pos = i
	if err := r.checkField(); err != nil || i == len(b) {
		return false, err
	}
	switch c := b[i]; c {
	case ',':
		r.pos++
		r.state = stStart
		return false, r.endField()
	case '\r', '\n':
		r.lineEnd(c)
		return true, r.endField()
	case '"':
		return false, r.rowError(`bare " in unquoted field`)
	default: // NUL
		r.noteNUL()
		r.pos++
	}
	return false, nil
}

// quoted copies quoted field content up to the next special byte and
// handles that byte.
func (r *Reader) quoted() error {
	b, i := r.buf, r.pos
	for i < len(b) && !stopQuoted[b[i]] {
		i++
	}
	r.rec = append(r.rec, b[r.pos:i]...)
	r.pos = i
	if i == len(b) {
		return r.checkField()
	}
	switch c := b[i]; c {
	case '"':
		r.pos++
		r.state = stQuote
	case '\r', '\n':
		r.lineEnd(c)
		r.rec = append(r.rec, '\n')
	default: // NUL
		r.noteNUL()
		r.pos++
	}
	return r.checkField()
}

// afterQuote handles the byte c after a quote inside a quoted field (state
// stQuote) or after blanks that follow a closing quote (stAfterQuote). It
// reports whether the record is complete.
func (r *Reader) afterQuote(c byte) (bool, error) {
	switch c {
	case '"':
		if r.state == stQuote { // "" is an escaped quote
			r.pos++
			r.rec = append(r.rec, '"')
			r.state = stQuoted
			return false, r.checkField()
		}
	case ' ', '\t':
		r.pos++
		r.state = stAfterQuote
		return false, nil
	case ',':
		r.pos++
		r.state = stStart
		return false, r.endField()
	case '\r', '\n':
		r.lineEnd(c)
		return true, r.endField()
	}
	return false, r.rowError("unexpected text after closing quote")
}

// noteNUL remembers the first NUL byte of the record. The record goes on
// being parsed so that its structure, unlike its content, stays trusted
// and the next record starts where it should.
func (r *Reader) noteNUL() {
	if r.nulLine == 0 {
		r.nulLine, r.nulCol = r.line, r.column()
	}
}

func (r *Reader) rowError(msg string) error {
	err := &RowError{Line: r.line, Column: r.column(), Msg: msg}
	r.skipLine()
	return err
}

func (r *Reader) checkField() error {
	if len(r.rec)-r.fieldStart <= r.maxField {
		return nil
	}
	return &FileError{
		Line: r.fieldLine, Column: r.column(), Code: CodeMalformedCSV, Bound: BoundFieldBytes,
		Msg: fmt.Sprintf("field is longer than %d bytes", r.maxField),
	}
}

// endField trims the field just read and starts the next one.
func (r *Reader) endField() error {
	s, e := r.fieldStart, len(r.rec)
	for s < e && isBlank(r.rec[s]) {
		s++
	}
	for e > s && isBlank(r.rec[e-1]) {
		e--
	}
	r.rec = r.rec[:e]
	r.bounds = append(r.bounds, s, e)
	if len(r.bounds)/2 > r.maxCols {
		return &FileError{
			Line: r.fieldLine, Column: len(r.bounds) / 2, Code: CodeMalformedCSV, Bound: BoundColumns,
			Msg: fmt.Sprintf("record has more than %d columns", r.maxCols),
		}
	}
	r.fieldStart, r.fieldLine = e, r.line
	return nil
}

// atEOF finishes the record in progress when the input ends.
func (r *Reader) atEOF() (Record, error) {
	if r.readErr != nil {
		return Record{}, fmt.Errorf("read csv: %w", r.readErr)
	}
	switch r.state {
	case stStart:
		if len(r.bounds) == 0 {
			return Record{}, io.EOF
		}
	case stQuoted:
		return Record{}, &FileError{
			Line: r.quoteLine, Column: r.column(), Code: CodeMalformedCSV,
			Msg: "quoted field is never closed",
		}
	}
	if err := r.endField(); err != nil {
		return Record{}, err
	}
	return r.finish()
}

// finish turns the complete record into a Record, with one string holding
// all of its fields.
func (r *Reader) finish() (Record, error) {
	if r.validate {
		if err := r.checkEncoding(); err != nil {
			return Record{}, err
		}
	}
	if r.nulLine != 0 {
		return Record{}, &RowError{Line: r.nulLine, Column: r.nulCol, Msg: "NUL byte in field"}
	}
	s := string(r.rec)
	fields := make([]string, len(r.bounds)/2)
	for i := range fields {
		fields[i] = s[r.bounds[2*i]:r.bounds[2*i+1]]
	}
	return Record{Line: r.recLine, Fields: fields}, nil
}

// checkEncoding checks each field on its own: fields lie back to back in
// r.rec, so the tail of one and the head of the next could pass for one
// valid sequence.
func (r *Reader) checkEncoding() error {
	for i := 0; i < len(r.bounds); i += 2 {
		start := r.bounds[i]
		f := r.rec[start:r.bounds[i+1]]
		if utf8.Valid(f) {
			continue
		}
		off := start
		for off-start < len(f) {
			c, size := utf8.DecodeRune(f[off-start:])
			if c == utf8.RuneError && size == 1 {
				break
			}
			off += size
		}
		// Every "\n" before the bad byte is a line end in a quoted field.
		return &FileError{
			Line:   r.recLine + bytes.Count(r.rec[:off], []byte{'\n'}),
			Column: i/2 + 1, Code: CodeInvalidEncoding,
			Msg: "invalid UTF-8 byte",
		}
	}
	return nil
}
