package importer

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/keyset"
)

// TestAViewReadsAnotherSystemsColumns reads a file of another system's
// shape through a view of one of the types, as a format does: BenchPrep's
// bulk-deactivation template names the user_deactivations columns
// otherwise. The type's rules apply unchanged, and what a row's result says
// names the file's own columns.
func TestAViewReadsAnotherSystemsColumns(t *testing.T) {
	v := view{typ: byName[typeUserDeactivation], columns: map[string]string{"login_id": "username", "user_id": "sis_id",
		"account_id": "institution", "remove_from_groups": "remove_from_group"}}
	file := "Email,UserName,SIS_ID,Institution,Remove_From_Group,Nickname\n" +
		"ann@example.edu,ann,S1,east,y\n" +
		"ben@example.edu,ben,S2,east,maybe\n" +
		"ANN@example.edu,ann2,S3,east,\n"
	rd := csvread.NewReader(strings.NewReader(file), csvread.Options{})
	head, err := rd.Read()
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := csvread.Columns(head.Fields)
	at := &attempt{file: newTally(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f := newTypedFile("bp.csv", head, cols, v, rd)
	f.stream = &fileStream{seen: keyset.New(), files: []string{"bp.csv"}}
	if err := at.checkColumns(f); err != nil {
		t.Fatal(err)
	}
	if got := at.file.warnings; len(got) != 1 || got[0][1] != "columns ignored: nickname" {
		t.Errorf("warnings %v, want the one column no view reads", got)
	}
	var rows []deactivationRow
	var fails []string
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		var r deactivationRow
		f.fill(&r, rec)
		rows = append(rows, r)
		fail := f.check(&r, rec.Line, strings.ToLower(r.Email), "email "+r.Email)
		if fail == nil {
			fails = append(fails, "")
			continue
		}
		fails = append(fails, fail.code+": "+fail.message)
	}
	if r := rows[0]; r.Email != "ann@example.edu" || r.LoginID != "ann" || r.UserID != "S1" || r.AccountID != "east" || r.RemoveFromGroups != "y" {
		t.Errorf("row 1 read as %+v", r)
	}
	want := []string{"", "invalid_value: column remove_from_group: \"maybe\" is not one of y, Y",
		"duplicate_in_file: email ANN@example.edu already appears on line 2; the first row wins"}
	for i := range want {
		if fails[i] != want[i] {
			t.Errorf("row %d: %q, want %q", i+1, fails[i], want[i])
		}
	}
	missing := newTypedFile("people.csv", csvread.Record{Line: 1, Fields: []string{"idnumber", "status"}},
		map[string]int{"idnumber": 0, "status": 1}, view{typ: byName[typeUsers], columns: map[string]string{"login_id": "username", "user_id": "idnumber"}}, nil)
	if err := at.checkColumns(missing); err == nil || !strings.Contains(err.Error(), "needs the column username") {
		t.Errorf("a missing column is named as the file names it: %v", err)
	}
}

// TestADerivedColumnSaysTheSameInOtherWords reads a column the type needs
// from cells of the file's own: the way a format carries another system's
// meanings (Moodle's suspended and deleted flags are a users status).
func TestADerivedColumnSaysTheSameInOtherWords(t *testing.T) {
	status := derived{from: []string{"suspended", "deleted"}, value: func(c []string) string {
		switch {
		case c[1] == "1":
			return "deleted"
		case c[0] == "1":
			return "Suspended" // the layout's lower option still applies
		}
		return "active"
	}}
	v := view{typ: byName[typeUsers], columns: map[string]string{"login_id": "username", "user_id": "idnumber"},
		derived: map[string]derived{"status": status}}
	head := csvread.Record{Line: 1, Fields: []string{"username", "idnumber", "suspended"}}
	cols, _ := csvread.Columns(head.Fields)
	f := newTypedFile("moodle.csv", head, cols, v, nil)
	if !f.has("status") || f.has("email") {
		t.Errorf("has(status) %v, has(email) %v: a derived column is there when a column it reads is", f.has("status"), f.has("email"))
	}
	at := &attempt{file: newTally(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := at.checkColumns(f); err != nil || len(at.file.warnings) != 0 {
		t.Errorf("the columns a derivation reads are read: %v %v", err, at.file.warnings)
	}
	for _, c := range []struct {
		fields []string
		want   string
	}{{[]string{"ann", "S1", "0"}, "active"}, {[]string{"ben", "S2", "1"}, "suspended"}, {[]string{"cy", "S3"}, "active"}} {
		var r userRow
		f.fill(&r, csvread.Record{Line: 2, Fields: c.fields})
		if r.Status != c.want || r.LoginID != c.fields[0] || r.UserID != c.fields[1] {
			t.Errorf("%v read as %+v, want status %s", c.fields, r, c.want)
		}
	}
	if got := f.view.column("status"); got != "suspended" {
		t.Errorf("a derived column is named by the first column it reads, got %q", got)
	}
}
