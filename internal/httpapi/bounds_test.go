package httpapi

import (
	"archive/zip"
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestBoundsCheckSplitsAsTheReaderDoes feeds the upload scan quoted fields,
// escaped quotes, CR/LF/CRLF line ends and blank lines, split at every
// byte, and checks the bounds it finds.
func TestBoundsCheckSplitsAsTheReaderDoes(t *testing.T) {
	s := &Server{}
	s.BoundCSV(8, 3, 2)
	for _, c := range []struct {
		name, in, err string
	}{
		{"fits", "a,b,c\r\n\"x,y\",\"q\"\"\"\n\n   \n1,2,3\r", ""},
		{"a quoted newline is not a record", "a,b\n\"1\n2\n3\",x\n4,5\n", ""},
		{"a field too long", "a,b\n123456789,x\n", "line 2, column 1: field is longer than 8 bytes"},
		{"a quoted field too long", "a\n\"1,2,3,4,5\"\n", "line 2, column 1: field is longer than 8 bytes"},
		{"too many columns", "a,b,c,d\n", "line 1, column 4: record has more than 3 columns"},
		{"too many rows", "h\n1\n2\n3\n", "line 4: the file has more than 2 rows"},
		{"too many rows, the last without a line end", "h\n1\r\n2\r3", "the file has more than 2 rows"},
	} {
		for split := 1; split <= len(c.in); split++ {
			b := s.checkBounds()
			var err error
			for i := 0; i < len(c.in) && err == nil; i += split {
				_, err = b.Write([]byte(c.in[i:min(i+split, len(c.in))]))
			}
			if err == nil {
				err = b.close()
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (c.err == "") != (got == "") || !strings.Contains(got, c.err) {
				t.Errorf("%s, written %d bytes at a time: %q, want %q", c.name, split, got, c.err)
				break
			}
		}
	}
}

// TestCheckZipReadsTheDirectoryFromTheTail writes a zip larger than the
// kept tail through the tail buffer, in uneven pieces, and checks that its
// directory is still read.
func TestCheckZipReadsTheDirectoryFromTheTail(t *testing.T) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"users.csv", "enrollments.csv"} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		for range 3 << 20 / 8 {
			fmt.Fprintf(w, "%08x", rnd.Uint32())
		}
	}
	zw.Close()
	for _, c := range []struct {
		maxUnzipped int64
		want        string
	}{{10 << 20, ""}, {5 << 20, "SISIMPORT_MAX_UNZIPPED_BYTES"}} {
		s := &Server{}
		s.BoundZip(c.maxUnzipped, 1000)
		tail := &tailBuffer{keep: 1 << 20}
		data := b.Bytes()
		for i := 0; i < len(data); i += 70001 {
			if _, err := tail.Write(data[i:min(i+70001, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		err := s.checkZip(tail, int64(len(data)))
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("maxUnzipped %d: %v, want %q", c.maxUnzipped, err, c.want)
		}
	}
}
