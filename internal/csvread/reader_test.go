package csvread

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads input to the end and describes every result on one line:
// a record as `L:["f1" "f2"]`, a row error as `row: <msg>`, and a file
// error, after which reading stops, as `file <code>: <msg>`.
func readAll(t *testing.T, r io.Reader, opt Options) []string {
	t.Helper()
	rd := NewReader(r, opt)
	var out []string
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("reader does not terminate")
		}
		rec, err := rd.Read()
		var rowErr *RowError
		var fileErr *FileError
		switch {
		case err == io.EOF:
			return out
		case errors.As(err, &rowErr):
			out = append(out, "row: "+err.Error())
		case errors.As(err, &fileErr):
			if _, again := rd.Read(); again != err {
				t.Errorf("Read after file error = %v, want the same %v", again, err)
			}
			return append(out, fmt.Sprintf("file %s: %v", fileErr.Code, err))
		case err != nil:
			t.Fatalf("Read: %v", err)
		default:
			out = append(out, fmt.Sprintf("%d:%q", rec.Line, rec.Fields))
		}
	}
}

func TestRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		opt   Options
		want  []string
	}{
		{"LF", "a,b\nc,d\n", Options{}, []string{`1:["a" "b"]`, `2:["c" "d"]`}},
		{"CRLF", "a,b\r\nc,d\r\n", Options{}, []string{`1:["a" "b"]`, `2:["c" "d"]`}},
		{"CR", "a,b\rc,d\r", Options{}, []string{`1:["a" "b"]`, `2:["c" "d"]`}},
		{"mixed line ends", "a\r\nb\rc\nd\r\r\ne", Options{},
			[]string{`1:["a"]`, `2:["b"]`, `3:["c"]`, `4:["d"]`, `6:["e"]`}},
		{"no final line end", "a,b\nc,d", Options{}, []string{`1:["a" "b"]`, `2:["c" "d"]`}},
		{"trailing comma", "a,\n,\n", Options{}, []string{`1:["a" ""]`, `2:["" ""]`}},
		{"trailing comma at EOF", "a,", Options{}, []string{`1:["a" ""]`}},
		{"BOM", "\xEF\xBB\xBFid,name\n1,x\n", Options{},
			[]string{`1:["id" "name"]`, `2:["1" "x"]`}},
		{"BOM only", "\xEF\xBB\xBF", Options{}, nil},
		{"empty", "", Options{}, nil},
		{"quoted newlines", "h\n\"a\nb\",\"c\r\nd\re\"\nnext\n", Options{},
			[]string{`1:["h"]`, `2:["a\nb" "c\nd\ne"]`, `6:["next"]`}},
		{"CRLF right after quoted field", "\"a\"\r\nb\r\n", Options{}, []string{`1:["a"]`, `2:["b"]`}},
		{"escaped quotes", "\"say \"\"hi\"\"\",\"\"\"\",\"\"\n", Options{},
			[]string{`1:["say \"hi\"" "\"" ""]`}},
		{"quoted commas", "\"a,b\",c\n", Options{}, []string{`1:["a,b" "c"]`}},
		{"blank lines skipped", "\n  \n\t\na\n\r\n \r\nb\n\n", Options{},
			[]string{`4:["a"]`, `7:["b"]`}},
		{"commas only is not blank", ",,\n", Options{}, []string{`1:["" "" ""]`}},
		{"quoted empty is not blank", "\"\"\n", Options{}, []string{`1:[""]`}},
		{"whitespace-only final line", "a\n   ", Options{}, []string{`1:["a"]`}},
		{"fields trimmed", " a ,\tb\t, c d ,\" e \" , \"f\"\n", Options{},
			[]string{`1:["a" "b" "c d" "e" "f"]`}},
		{"bare quote then next record", "a,b\"c,d\ne,f\n", Options{},
			[]string{`row: line 1, column 2: bare " in unquoted field`, `2:["e" "f"]`}},
		{"bare quote resyncs on this physical line", "x\na\"b,\"c\nd\",e\nf\n", Options{},
			[]string{`1:["x"]`, `row: line 2, column 1: bare " in unquoted field`,
				`row: line 3, column 1: bare " in unquoted field`, `4:["f"]`}},
		{"text after closing quote", "\"a\"b,c\nd\n", Options{},
			[]string{`row: line 1, column 1: unexpected text after closing quote`, `2:["d"]`}},
		{"quote after closing quote and blank", "\"a\" \"b\"\nd\n", Options{},
			[]string{`row: line 1, column 1: unexpected text after closing quote`, `2:["d"]`}},
		{"row error inside multi-line record", "\"a\nb\"x\nc\n", Options{},
			[]string{`row: line 2, column 1: unexpected text after closing quote`, `3:["c"]`}},
		{"unterminated quote", "a\nb,\"c\nd\ne\n", Options{},
			[]string{`1:["a"]`, `file malformed_csv: line 2, column 2: quoted field is never closed`}},
		{"NUL byte", "a,b\x00c\nd\n", Options{},
			[]string{`row: line 1, column 2: NUL byte in field`, `2:["d"]`}},
		{"NUL in quoted multi-line field keeps structure", "\"x\ny\x00\",z\nd\n", Options{},
			[]string{`row: line 2, column 1: NUL byte in field`, `3:["d"]`}},
		{"field at bound", "abcd,ef\n", Options{MaxFieldBytes: 4}, []string{`1:["abcd" "ef"]`}},
		{"field over bound", "a\nabcd,efghi\nz\n", Options{MaxFieldBytes: 4},
			[]string{`1:["a"]`, `file malformed_csv: line 2, column 2: field is longer than 4 bytes`}},
		{"quoted field over bound", "\"ab\n\"\"cd\",x\n", Options{MaxFieldBytes: 4},
			[]string{`file malformed_csv: line 1, column 1: field is longer than 4 bytes`}},
		{"columns at bound", "a,b,c\n", Options{MaxColumns: 3}, []string{`1:["a" "b" "c"]`}},
		{"columns over bound", "a,b,c\nd,e,f,g\n", Options{MaxColumns: 3},
			[]string{`1:["a" "b" "c"]`, `file malformed_csv: line 2, column 4: record has more than 3 columns`}},
		{"invalid UTF-8", "a\n\"b\nc\xe9\",d\n", Options{},
			[]string{`1:["a"]`, `file invalid_encoding: line 3, column 1: invalid UTF-8 byte`}},
		{"invalid UTF-8 sequence split by a comma", "\xef\xbb,\x91\n", Options{},
			[]string{`file invalid_encoding: line 1, column 1: invalid UTF-8 byte`}},
		{"valid UTF-8", "José,Zoë\n", Options{}, []string{`1:["José" "Zoë"]`}},
		{"Windows-1252", "Jos\xe9,\x80\n", Options{Encoding: Windows1252}, []string{`1:["José" "€"]`}},
		{"Windows-1252 forced on a BOM", "\xEF\xBB\xBFa\n", Options{Encoding: Windows1252}, []string{`1:["a"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tt.input)},
				{"byte by byte", iotest.OneByteReader(strings.NewReader(tt.input))},
			} {
				got := readAll(t, r.r, tt.opt)
				if !equal(got, tt.want) {
					t.Errorf("%s: read %q\ngot  %q\nwant %q", r.name, tt.input, got, tt.want)
				}
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadLongLinesAcrossBuffers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3*bufferSize)
	input := "\"" + long + "\n" + long + "\"," + long + "\r\n\r\nz\n"
	rd := NewReader(strings.NewReader(input), Options{MaxFieldBytes: 8 * bufferSize})
	rec, err := rd.Read()
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if rec.Line != 1 || len(rec.Fields) != 2 || rec.Fields[0] != long+"\n"+long || rec.Fields[1] != long {
		t.Fatalf("first record: line %d, %d fields", rec.Line, len(rec.Fields))
	}
	rec, err = rd.Read()
	if err != nil || rec.Line != 4 || len(rec.Fields) != 1 || rec.Fields[0] != "z" {
		t.Fatalf("second record = %d:%q, %v; want 4:[z]", rec.Line, rec.Fields, err)
	}
}

func TestReadReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	rd := NewReader(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom)), Options{})
	if rec, err := rd.Read(); err != nil || rec.Fields[0] != "a" {
		t.Fatalf("first Read = %q, %v", rec.Fields, err)
	}
	for range 2 {
		if _, err := rd.Read(); !errors.Is(err, boom) {
			t.Fatalf("Read = %v, want %v", err, boom)
		}
	}
}

func TestErrorStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&RowError{Line: 3, Column: 2, Msg: "bad"}, "line 3, column 2: bad"},
		{&FileError{Line: 4, Column: 1, Code: CodeMalformedCSV, Msg: "worse"}, "line 4, column 1: worse"},
		{&FileError{Line: 5, Code: CodeInvalidEncoding, Msg: "worst"}, "line 5: worst"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
