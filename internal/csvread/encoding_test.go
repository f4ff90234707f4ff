package csvread

import (
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSniffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		want    Encoding
		badLine int
	}{
		{"empty", "", UTF8, 0},
		{"ASCII", "id,name\n1,Jose\n", UTF8, 0},
		{"UTF-8 with é", "id,name\n1,José\n", UTF8, 0},
		{"UTF-8 with BOM", "\xEF\xBB\xBFid\n", UTF8, 0},
		{"four-byte sequence", "a,\xF0\x9F\x98\x80\n", UTF8, 0},
		{"Latin-1 bytes only", "id,name\n1,Jos\xe9\n2,Ren\xe9e\n", Windows1252, 0},
		{"Windows-1252 euro", "price\n\x80 5\n", Windows1252, 0},
		{"valid é then lone \\xe9", "h\nJosé\nx\nJos\xe9\n", Invalid, 4},
		{"lone \\xe9 then valid é", "h\r\nJos\xe9\r\nJosé\r\n", Invalid, 2},
		{"lines counted with lone CR and CRLF", "a\rb\r\nc\n\nJos\xe9,é", Invalid, 5},
		{"sequence cut by a line end", "é\n\xC3\nx", Invalid, 2},
		{"truncated at end", "é\n\xE2\x82", Invalid, 2},
		{"truncated at end without valid sequence", "a\xE2\x82", Windows1252, 0},
		{"overlong encoding is invalid", "é\xC0\xAF", Invalid, 1},
		{"surrogate is invalid", "é\n\xED\xA0\x80", Invalid, 2},
		{"above U+10FFFF is invalid", "é\n\n\xF4\x90\x80\x80", Invalid, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Every split point, so that sequences are cut across writes.
			for split := 0; split <= len(tt.input); split++ {
				var s Sniffer
				_, _ = s.Write([]byte(tt.input[:split]))
				_, _ = s.Write([]byte(tt.input[split:]))
				enc, line := s.Result()
				if enc != tt.want || line != tt.badLine {
					t.Fatalf("split at %d: Result() = %v, %d; want %v, %d", split, enc, line, tt.want, tt.badLine)
				}
			}
		})
	}
}

func TestSnifferByteByByte(t *testing.T) {
	t.Parallel()
	var s Sniffer
	for _, c := range []byte("ok\n\xE2\x82\xAC\n") {
		_, _ = s.Write([]byte{c})
	}
	if enc, _ := s.Result(); enc != UTF8 {
		t.Fatalf("Result() = %v, want %v", enc, UTF8)
	}
	_, _ = s.Write([]byte("\xE2\x82"))
	if enc, line := s.Result(); enc != Invalid || line != 3 {
		t.Fatalf("after a truncated sequence: Result() = %v, %d; want invalid, 3", enc, line)
	}
}

func TestSnifferAsTee(t *testing.T) {
	t.Parallel()
	var s Sniffer
	if _, err := io.Copy(io.Discard, io.TeeReader(strings.NewReader("a\nJosé\n"), &s)); err != nil {
		t.Fatal(err)
	}
	if enc, _ := s.Result(); enc != UTF8 {
		t.Fatalf("Result() = %v, want %v", enc, UTF8)
	}
}

func TestEncodingString(t *testing.T) {
	t.Parallel()
	for enc, want := range map[Encoding]string{UTF8: "utf-8", Windows1252: "windows-1252", Invalid: "invalid"} {
		if got := enc.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(enc), got, want)
		}
	}
}

// sniffReference classifies data with unicode/utf8, for comparison.
func sniffReference(data []byte) (Encoding, int) {
	validMulti, bad := false, -1
	for i := 0; i < len(data); {
		c, size := utf8.DecodeRune(data[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			if bad < 0 {
				bad = i
			}
		case size > 1:
			validMulti = true
		}
		i += size
	}
	switch {
	case bad < 0:
		return UTF8, 0
	case !validMulti:
		return Windows1252, 0
	}
	line := 1
	for i := 0; i < bad; i++ {
		if data[i] == '\r' || data[i] == '\n' && (i == 0 || data[i-1] != '\r') {
			line++
		}
	}
	return Invalid, line
}

func FuzzSniffer(f *testing.F) {
	for _, s := range []string{"a\nb", "Jos\xe9", "é\r\n\xe9", "\xF0\x9F\x98", "\xED\xA0\x80é"} {
		f.Add([]byte(s), uint(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint) {
		var s Sniffer
		cut := int(split % uint(len(data)+1))
		_, _ = s.Write(data[:cut])
		_, _ = s.Write(data[cut:])
		enc, line := s.Result()
		wantEnc, wantLine := sniffReference(data)
		if enc != wantEnc || line != wantLine {
			t.Fatalf("Sniffer(%q split %d) = %v, %d; want %v, %d", data, cut, enc, line, wantEnc, wantLine)
		}
		if (enc == UTF8) != utf8.Valid(data) {
			t.Fatalf("Sniffer(%q) = %v but utf8.Valid = %v", data, enc, utf8.Valid(data))
		}
	})
}
