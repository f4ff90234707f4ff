package csvread

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// FuzzRead checks that any input is read to an end without a panic, that
// record lines never go backwards, that fields honour the bounds, and that
// every record read back from its own re-encoding comes out the same. The
// seed corpus lives in testdata/fuzz/FuzzRead and plain go test replays it.
func FuzzRead(f *testing.F) {
	f.Add([]byte("id,name\n1,\"a\nb\"\r\n\n2,x\"y\r3,\"\"\"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{MaxFieldBytes: 64, MaxColumns: 8}
		for _, enc := range []Encoding{UTF8, Windows1252} {
			opt.Encoding = enc
			recs := readChecked(t, bytes.NewReader(data), opt, len(data))
			oneByte := readChecked(t, iotest.OneByteReader(bytes.NewReader(data)), opt, len(data))
			if len(recs) != len(oneByte) {
				t.Fatalf("%v: %d records whole, %d byte by byte", enc, len(recs), len(oneByte))
			}
			checkRoundTrip(t, recs)
		}
	})
}

// readChecked reads r to its end and returns the records, failing the test
// on a broken invariant.
func readChecked(t *testing.T, r io.Reader, opt Options, size int) []Record {
	t.Helper()
	rd := NewReader(r, opt)
	var recs []Record
	last := 1
	// Each call that returns neither io.EOF nor a FileError consumes at
	// least one input byte, so the number of calls is bounded by its size.
	for calls := 0; ; calls++ {
		if calls > size+2 {
			t.Fatalf("%v: reader does not terminate after %d calls", opt.Encoding, calls)
		}
		rec, err := rd.Read()
		var rowErr *RowError
		var fileErr *FileError
		switch {
		case err == io.EOF:
			return recs
		case errors.As(err, &fileErr):
			if fileErr.Line < last {
				t.Fatalf("file error on line %d after a record on line %d", fileErr.Line, last)
			}
			return recs
		case errors.As(err, &rowErr):
			if rowErr.Line < last {
				t.Fatalf("row error on line %d after a record on line %d", rowErr.Line, last)
			}
			last = rowErr.Line
			continue
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		}
		if rec.Line < last {
			t.Fatalf("record on line %d after one on line %d", rec.Line, last)
		}
		last = rec.Line
		checkFields(t, rec, opt)
		recs = append(recs, rec)
	}
}

func checkFields(t *testing.T, rec Record, opt Options) {
	t.Helper()
	if len(rec.Fields) == 0 || len(rec.Fields) > opt.MaxColumns {
		t.Fatalf("line %d: %d fields", rec.Line, len(rec.Fields))
	}
	for _, f := range rec.Fields {
		if len(f) > opt.MaxFieldBytes {
			t.Fatalf("line %d: field of %d bytes", rec.Line, len(f))
		}
		if !utf8.ValidString(f) || strings.ContainsAny(f, "\x00\r") {
			t.Fatalf("line %d: bad field %q", rec.Line, f)
		}
		if strings.TrimLeft(f, " \t") != f || strings.TrimRight(f, " \t") != f {
			t.Fatalf("line %d: untrimmed field %q", rec.Line, f)
		}
	}
}

// checkRoundTrip writes recs back as CSV, quoting every field, and reads
// them again: fields and line numbers must survive.
func checkRoundTrip(t *testing.T, recs []Record) {
	t.Helper()
	var b strings.Builder
	var lines []int
	line := 1
	for _, rec := range recs {
		lines = append(lines, line)
		for i, f := range rec.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + strings.ReplaceAll(f, `"`, `""`) + `"`)
			line += strings.Count(f, "\n")
		}
		b.WriteString("\r\n")
		line++
	}
	rd := NewReader(strings.NewReader(b.String()), Options{})
	for i, want := range recs {
		got, err := rd.Read()
		if err != nil {
			t.Fatalf("round trip of record %d: %v", i, err)
		}
		if got.Line != lines[i] || !equal(got.Fields, want.Fields) {
			t.Fatalf("round trip: got %d:%q, want %d:%q", got.Line, got.Fields, lines[i], want.Fields)
		}
	}
	if _, err := rd.Read(); err != io.EOF {
		t.Fatalf("round trip: after the last record got %v, want io.EOF", err)
	}
}
