package importer

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sisimport/sisimport/internal/csvread"
)

// The seed corpora of FuzzHeader and FuzzZip live in testdata/fuzz and plain
// go test replays them; `make fuzz` runs every target of the repository.

// FuzzHeader reads arbitrary bytes as a CSV header the way openCSV does and
// checks that csvread.Columns and detectType never panic, name a known type or
// none, answer the same twice, and do not care about the order of the
// columns: the header shuffled by seed and written back as CSV must be
// detected the same.
func FuzzHeader(f *testing.F) {
	f.Add([]byte("user_id,login_id,status\n"), uint64(1))
	f.Fuzz(func(t *testing.T, line []byte, seed uint64) {
		for _, enc := range []csvread.Encoding{csvread.UTF8, csvread.Windows1252} {
			head, err := csvread.NewReader(bytes.NewReader(line), csvread.Options{Encoding: enc}).Read()
			if err != nil {
				continue // openCSV makes this a file error; no type is detected
			}
			checkHeader(t, head.Fields, seed)
		}
	})
}

// loginDefault is a default[login_id], which lets a users file go without
// a login_id column.
var loginDefault = map[string]string{"login_id": "%-1f%-l"}

func checkHeader(t *testing.T, fields []string, seed uint64) {
	t.Helper()
	cols, dup := csvread.Columns(fields)
	checkColumns(t, fields, cols, dup)
	if dup != "" {
		return // a file error: detection never runs
	}
	name, skipped := detected(cols, nil)
	checkTypeName(t, fields, name, skipped)
	withDefault, skippedWithDefault := detected(cols, loginDefault)
	checkTypeName(t, fields, withDefault, skippedWithDefault)
	// The default can only make a header users that was something else.
	if withDefault != name && withDefault != typeUsers {
		t.Fatalf("%q: %q without default[login_id] but %q with it", fields, name, withDefault)
	}
	if again, s := detected(cols, nil); again != name || s != skipped {
		t.Fatalf("%q: detected %q then %q", fields, name, again)
	}

	shuffled := slices.Clone(fields)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	head, err := csvread.NewReader(strings.NewReader(csvLine(shuffled)), csvread.Options{}).Read()
	if err != nil {
		t.Fatalf("%q shuffled to %q: reading it back: %v", fields, shuffled, err)
	}
	cols2, dup2 := csvread.Columns(head.Fields)
	if dup2 != "" || len(cols2) != len(cols) {
		t.Fatalf("%q shuffled to %q: columns %v, then %v (repeated %q)", fields, head.Fields, cols, cols2, dup2)
	}
	for c := range cols {
		if _, ok := cols2[c]; !ok {
			t.Fatalf("%q shuffled to %q: column %q lost", fields, head.Fields, c)
		}
	}
	if n, s := detected(cols2, nil); n != name || s != skipped {
		t.Fatalf("%q is %q but shuffled to %q it is %q", fields, name, head.Fields, n)
	}
	if n, _ := detected(cols2, loginDefault); n != withDefault {
		t.Fatalf("%q is %q with default[login_id] but shuffled to %q it is %q", fields, withDefault, head.Fields, n)
	}
}

// checkColumns checks csvread.Columns against a plain reading of its contract.
func checkColumns(t *testing.T, fields []string, cols map[string]int, dup string) {
	t.Helper()
	norm := make([]string, len(fields))
	count := map[string]int{}
	for i, f := range fields {
		norm[i] = strings.ToLower(strings.TrimSpace(f))
		if norm[i] != "" {
			count[norm[i]]++
		}
	}
	for c, i := range cols {
		if c == "" || i < 0 || i >= len(fields) || norm[i] != c {
			t.Fatalf("%q: column %q at %d", fields, c, i)
		}
	}
	if dup != "" {
		if count[dup] < 2 {
			t.Fatalf("%q: %q reported repeated", fields, dup)
		}
		return
	}
	if len(cols) != len(count) {
		t.Fatalf("%q: %d columns indexed, %d names", fields, len(cols), len(count))
	}
	for c, n := range count {
		if n > 1 {
			t.Fatalf("%q: %q appears %d times but no repeat was reported", fields, c, n)
		}
	}
}

// detected is the name of the type detectType finds, "" for none, and
// whether it is skipped.
func detected(cols map[string]int, defaults map[string]string) (string, bool) {
	t := detectType(header{cols: cols, defaults: defaults})
	if t == nil {
		return "", false
	}
	return t.name, t.skipped
}

func checkTypeName(t *testing.T, fields []string, name string, skipped bool) {
	t.Helper()
	if name == "" {
		return
	}
	ft := byName[name]
	if ft == nil {
		t.Fatalf("%q: unknown type %q", fields, name)
	}
	if skipped != ft.skipped {
		t.Fatalf("%q: type %q with skipped = %v", fields, name, skipped)
	}
}

// csvLine writes fields as one CSV line, every field quoted.
func csvLine(fields []string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strings.ReplaceAll(f, `"`, `""`) + `"`)
	}
	b.WriteString("\n")
	return b.String()
}

// FuzzZip opens arbitrary bytes as a zip upload and lists and reads it
// through listZip, the importer's own path, with a bound of 1 to 2^20
// bytes taken from limit.
func FuzzZip(f *testing.F) {
	f.Add(buildZip(f, zipMember{name: "users.csv", body: "user_id,login_id,status\nu1,l1,active\n"}), uint32(1<<16))
	f.Fuzz(func(t *testing.T, data []byte, limit uint32) {
		zr, err := newZipReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return // openZip makes this a file error
		}
		checkZip(t, zr, int64(limit%(1<<20))+1)
	})
}

// FuzzZipMembers builds well-formed zips that byte mutations rarely reach:
// one member per line of names, each holding body, stored or deflated by
// the bits of methods; the first member declares size and a CRC off by
// crcXor instead of the true ones when size is not 0.
func FuzzZipMembers(f *testing.F) {
	const users = "user_id,login_id,status\nu1,l1,active\n"
	f.Add("feed/users.csv\n__MACOSX/._users.csv\nfeed/.hidden.csv\nreadme.txt", []byte(users), uint64(0), uint32(0), uint8(1), uint32(1<<16))
	f.Add("../../etc/passwd.csv\n/abs.csv\nC:\\x.csv\nok.csv\nok.csv", []byte(users), uint64(0), uint32(0), uint8(2), uint32(1<<16))
	f.Add("short.csv\nnext.csv", []byte(users), uint64(5), uint32(0), uint8(0), uint32(1<<16))
	f.Add("long.csv", []byte(users), uint64(len(users)+1), uint32(0), uint8(1), uint32(1<<16))
	f.Add("crc.csv", []byte(users), uint64(len(users)), uint32(1), uint8(1), uint32(1<<16))
	f.Add("\x82l\x8aves.csv\nnul\x00.csv", []byte("u,Jos\xe9\n"), uint64(0), uint32(0), uint8(3), uint32(1<<16))
	f.Fuzz(func(t *testing.T, names string, body []byte, size uint64, crcXor uint32, methods uint8, limit uint32) {
		lines := strings.Split(names, "\n")
		if len(lines) > 8 {
			lines = lines[:8]
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i, name := range lines {
			method := zip.Store
			if methods>>i&1 == 1 {
				method = zip.Deflate
			}
			if err := writeMember(zw, name, method, body, i == 0 && size != 0, size, crcXor); err != nil {
				t.Skip(err) // archive/zip will not write it, e.g. a name over 64 KiB
			}
		}
		if err := zw.Close(); err != nil {
			t.Skip(err)
		}
		zr, err := newZipReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("a zip archive/zip wrote does not open: %v", err)
		}
		checkZip(t, zr, int64(limit%(1<<20))+1)
	})
}

// writeMember adds a member to zw; with lie set it declares size and a
// CRC xored with crcXor instead of the true ones.
func writeMember(zw *zip.Writer, name string, method uint16, body []byte, lie bool, size uint64, crcXor uint32) error {
	if strings.HasSuffix(name, "/") { // a folder holds nothing
		_, err := zw.CreateHeader(&zip.FileHeader{Name: name})
		return err
	}
	if !lie {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err == nil {
			_, err = w.Write(body)
		}
		return err
	}
	// Compress honestly, then copy the member raw under the lying header.
	var tmp bytes.Buffer
	tw := zip.NewWriter(&tmp)
	w, err := tw.CreateHeader(&zip.FileHeader{Name: "x", Method: method})
	if err == nil {
		_, err = w.Write(body)
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return err
	}
	tr, err := zip.NewReader(bytes.NewReader(tmp.Bytes()), int64(tmp.Len()))
	if err != nil {
		return err
	}
	raw, err := tr.File[0].OpenRaw()
	if err != nil {
		return err
	}
	h := tr.File[0].FileHeader
	h.Name, h.UncompressedSize64, h.CRC32 = name, size, h.CRC32^crcXor
	rw, err := zw.CreateRaw(&h)
	if err == nil {
		_, err = io.Copy(rw, raw)
	}
	return err
}

// checkZip lists zr and reads every listed member to its end, checking
// that nothing unsafe is listed, that every label can be stored, and that
// what is read is what archive/zip itself reads, never more than bound
// bytes in all, and that a member it cannot read is a file error.
func checkZip(t *testing.T, zr *zip.Reader, bound int64) {
	t.Helper()
	files, warnings, refused := listZip(zr, bound, 0)
	for _, w := range warnings {
		checkLabel(t, w[0])
	}
	if refused != nil {
		if files != nil || refused.Code != "file_unreadable" {
			t.Fatalf("refused with %v but %d files listed", refused, len(files))
		}
		return
	}
	unsafe := 0
	for _, m := range zr.File {
		if unsafeName(m.Name) {
			unsafe++
		}
	}
	if n := countWarnings(warnings, "unsafe path: ignored"); n != unsafe {
		t.Fatalf("%d unsafe names, %d warnings about them: %q", unsafe, n, warnings)
	}

	members := map[string]*zip.File{}
	for _, m := range zr.File {
		if label, _ := memberLabel(m.Name); members[label] == nil {
			members[label] = m
		}
	}
	var total int64
	seen := map[string]bool{}
	for _, f := range files {
		checkLabel(t, f.name)
		base := path.Base(f.name)
		if seen[f.name] || unsafeName(f.name) || strings.HasPrefix(f.name, "__MACOSX/") || strings.HasPrefix(base, ".") ||
			!strings.EqualFold(path.Ext(f.name), ".csv") {
			t.Fatalf("member %q listed", f.name)
		}
		seen[f.name] = true
		if !slices.Contains([]string{"utf-8", "windows-1252", "invalid"}, f.encoding) {
			t.Fatalf("member %q: encoding %q", f.name, f.encoding)
		}
		m := members[f.name]
		if m == nil {
			t.Fatalf("member %q listed but not in the zip", f.name)
		}
		got, err := readSource(f)
		total += int64(len(got))
		if uint64(len(got)) > m.UncompressedSize64 || total > bound {
			t.Fatalf("member %q: read %d bytes of %d declared, %d in all past the bound of %d", f.name, len(got), m.UncompressedSize64, total, bound)
		}
		// The bytes come from the archive, never from a path on disk.
		want, wantErr := readMember(m)
		var fe *fileError
		switch {
		case wantErr == nil && (err != nil || !bytes.Equal(got, want)):
			t.Fatalf("member %q: read %q, %v; archive/zip reads %q", f.name, got, err, want)
		case wantErr != nil && !errors.As(err, &fe):
			t.Fatalf("member %q: archive/zip fails with %v, listZip's reader with %v (want a file error)", f.name, wantErr, err)
		}
	}
}

// readSource reads a listed member as openCSV would.
func readSource(f source) ([]byte, error) {
	rc, err := f.open()
	if err != nil {
		return nil, &fileError{Code: "file_unreadable", Message: err.Error()} // as openCSV makes it
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// readMember reads a member with archive/zip alone, which checks its size
// and CRC; its declared size is within the bound, or listZip refused it.
func readMember(m *zip.File) ([]byte, error) {
	rc, err := m.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// unsafeName tells the names that must never reach a listing: absolute
// (with / or \ or a drive letter), climbing out with .., or holding a
// control character, whatever their encoding.
func unsafeName(name string) bool {
	s := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(s, "/") || len(s) >= 2 && s[1] == ':' {
		return true
	}
	for _, el := range strings.Split(s, "/") {
		if el == ".." {
			return true
		}
	}
	if !utf8.ValidString(name) { // CP437, whose controls are the ASCII ones
		return strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f })
	}
	return strings.ContainsFunc(name, unicode.IsControl)
}

// checkLabel checks that a file name can be stored in a text or jsonb
// column and shown: valid UTF-8 without control characters.
func checkLabel(t *testing.T, label string) {
	t.Helper()
	if !utf8.ValidString(label) || strings.ContainsFunc(label, unicode.IsControl) {
		t.Fatalf("label %q cannot be stored", label)
	}
}

func countWarnings(warnings [][2]string, msg string) int {
	n := 0
	for _, w := range warnings {
		if w[1] == msg {
			n++
		}
	}
	return n
}

// zipMember is one member of a zip built for a test. A member with raw
// set is written as is, with the sizes and CRC declared, true or not.
type zipMember struct {
	name   string
	body   string
	stored bool
	raw    *zip.FileHeader
}

func buildZip(tb testing.TB, members ...zipMember) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		var w io.Writer
		var err error
		switch {
		case m.raw != nil:
			h := *m.raw
			h.Name = m.name
			w, err = zw.CreateRaw(&h)
		default:
			method := zip.Deflate
			if m.stored {
				method = zip.Store
			}
			w, err = zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: method})
		}
		if err == nil {
			_, err = io.WriteString(w, m.body)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func listBytes(t *testing.T, data []byte, bound int64) ([]source, [][2]string, *fileError) {
	t.Helper()
	zr, err := newZipReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	checkZip(t, zr, bound)
	return listZip(zr, bound, 0)
}

func names(files []source) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.name)
	}
	return out
}

func TestListZip(t *testing.T) {
	t.Parallel()
	const header = "user_id,login_id,status\n"
	data := buildZip(t,
		zipMember{name: "feed/"},
		zipMember{name: "feed/2024/users.csv", body: header},
		zipMember{name: "feed/courses.CSV", body: "course_id,short_name\n", stored: true},
		zipMember{name: "__MACOSX/feed/._users.csv", body: "junk"},
		zipMember{name: "feed/.hidden.csv", body: header},
		zipMember{name: "feed/empty.csv"},
		zipMember{name: "feed/readme.txt", body: "hello"},
		zipMember{name: "../../etc/passwd", body: "root:x:0:0\n"},
		zipMember{name: "feed/../../up.csv", body: header},
		zipMember{name: "/etc/abs.csv", body: header},
		zipMember{name: `..\..\win.csv`, body: header},
		zipMember{name: "C:/drive.csv", body: header},
		zipMember{name: "nul\x00.csv", body: header},
		zipMember{name: "feed/2024/users.csv", body: "second"},
		zipMember{name: "\x82l\x8aves.csv", body: header}, // CP437, no UTF-8 flag
	)
	files, warnings, refused := listBytes(t, data, 1<<20)
	if refused != nil {
		t.Fatal(refused)
	}
	if got, want := names(files), []string{"feed/2024/users.csv", "feed/courses.CSV", "élèves.csv"}; !slices.Equal(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
	want := [][2]string{
		{"feed/readme.txt", "not a CSV file: ignored"},
		{"../../etc/passwd", "unsafe path: ignored"},
		{"feed/../../up.csv", "unsafe path: ignored"},
		{"/etc/abs.csv", "unsafe path: ignored"},
		{`..\..\win.csv`, "unsafe path: ignored"},
		{"C:/drive.csv", "unsafe path: ignored"},
		{"nul\uFFFD.csv", "unsafe path: ignored"},
		{"feed/2024/users.csv", "duplicate name: ignored"},
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
	got, err := readSource(files[0])
	if err != nil || string(got) != header {
		t.Errorf("users.csv reads %q, %v; want the first member's %q", got, err, header)
	}
}

// TestListZipNamesAreLabels puts a file on disk and names it, absolutely
// and relatively, in a zip: the zip's members are ignored and the file is
// neither read nor touched.
func TestListZipNamesAreLabels(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	onDisk := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(onDisk, []byte("on disk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, onDisk)
	if err != nil {
		t.Fatal(err)
	}
	data := buildZip(t,
		zipMember{name: filepath.ToSlash(onDisk), body: "in zip\n"},
		zipMember{name: filepath.ToSlash(rel), body: "in zip\n"},
		zipMember{name: "users.csv", body: "in zip\n"},
	)
	files, warnings, _ := listBytes(t, data, 1<<20)
	if got := names(files); !slices.Equal(got, []string{"users.csv"}) {
		t.Errorf("listed %q, want users.csv alone", got)
	}
	if n := countWarnings(warnings, "unsafe path: ignored"); n != 2 {
		t.Errorf("warnings %q, want two unsafe paths", warnings)
	}
	if got, err := readSource(files[0]); err != nil || string(got) != "in zip\n" {
		t.Errorf("users.csv reads %q, %v", got, err)
	}
	if got, err := os.ReadFile(onDisk); err != nil || string(got) != "on disk\n" {
		t.Errorf("the file on disk is now %q, %v", got, err)
	}
}

func TestListZipSizes(t *testing.T) {
	t.Parallel()
	body := "user_id,login_id,status\nu1,l1,active\n"
	deflated := buildZip(t, zipMember{name: "x.csv", body: body})
	zr, err := zip.NewReader(bytes.NewReader(deflated), int64(len(deflated)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := zr.File[0].OpenRaw()
	if err != nil {
		t.Fatal(err)
	}
	compressed, err := io.ReadAll(raw)
	if err != nil {
		t.Fatal(err)
	}
	honest := zr.File[0].FileHeader
	lying := func(size uint64, crc uint32) zipMember {
		h := honest
		h.UncompressedSize64, h.CRC32 = size, crc
		return zipMember{name: "users.csv", body: string(compressed), raw: &h}
	}
	for _, c := range []struct {
		name    string
		zip     zipMember
		bound   int64
		refused bool
		readErr bool
	}{
		{"honest", lying(honest.UncompressedSize64, honest.CRC32), 1 << 20, false, false},
		{"declared shorter", lying(10, honest.CRC32), 1 << 20, false, true},
		{"declared longer", lying(honest.UncompressedSize64+10, honest.CRC32), 1 << 20, false, true},
		{"bad CRC", lying(honest.UncompressedSize64, honest.CRC32+1), 1 << 20, false, true},
		{"over the bound", lying(honest.UncompressedSize64, honest.CRC32), int64(honest.UncompressedSize64) - 1, true, false},
		{"2^64-1 bytes", lying(1<<64-1, honest.CRC32), 1 << 20, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := buildZip(t, zipMember{name: "small.csv", body: body}, c.zip)
			files, _, refused := listBytes(t, data, c.bound)
			if (refused != nil) != c.refused {
				t.Fatalf("refused: %v, want %v", refused, c.refused)
			}
			if c.refused {
				return
			}
			got, err := readSource(files[1])
			var fe *fileError
			if c.readErr != errors.As(err, &fe) || !c.readErr && string(got) != body {
				t.Errorf("read %q, %v; want an error: %v", got, err, c.readErr)
			}
		})
	}
}
