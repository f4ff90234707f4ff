package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
)

// A fileType is one kind of CSV file an import reads. Each type declares
// itself once, in its own file (users.go, courses.go, …), with register;
// the rest of the importer asks the registry rather than naming types.
// Adding a type is its file, its migration and its tests
// (docs/import-rules.md#files).
type fileType struct {
	// name is the type's name, in data.files; counts, when set, is its key
	// in data.counts (Canvas's plural), else the name.
	name   string
	counts string
	// batch is Canvas's name of the type in data.supplied_batches.
	batch string
	// entity is what the type's rows are, as their results name it.
	entity string
	// detect recognises the type's header. Types are tried in detectRank
	// order, lowest first, and the first that matches wins.
	detect     func(h header) bool
	detectRank int
	// applyRank is the type's place in Canvas's order of applying the
	// files of an upload, lowest first; restores go the other way.
	applyRank int
	// layout is the type's row struct: its csv tags name the columns, its
	// validate tags check them. required are the columns a file must have
	// besides those its detection needs (a default[<column>] parameter may
	// stand in for one).
	layout   *layout
	required []string
	// optional, when set, says whether an import may leave out the
	// required columns: an update_only import's users keep what it lacks.
	optional func(o *Options) bool
	// ownColumns, when set, says which columns outside the layout the type
	// reads itself (users' property.<name>), so that they are not reported
	// as ignored.
	ownColumns func(name string) bool
	// apply applies one file of the type, its header checked (file.go).
	apply func(ctx context.Context, at *attempt, f *typedFile) error
	// emptyDateClears: an empty start_date or end_date cell clears the
	// stored date, as on Canvas for terms, sections and enrollments
	// (courses keep it, and clear it with <delete>).
	emptyDateClears bool
	// diffKey are the columns whose cells key a row of a diffed file
	// (docs/import-rules.md#diffing); nil: the type is never diffed.
	// diffRowKey makes the key from those cells as the type's rows key
	// themselves; nil: the one cell.
	diffKey    []string
	diffRowKey func(cells []string) string
	// drop, for a type applied a row at a time (whose apply treats f.same
	// rows as unchanged), says how the objects of the base's rows a diffed
	// file no longer lists are deleted (diffing.go); nil: none are.
	drop *dropRule
	// restore says how a restore puts the type's objects back
	// (restore_roster.go); nil: the type restores otherwise or not at all.
	restore *rosterTable
	// ids are where change_sis_id finds the type's ids; nil: none.
	ids *idTarget
	// skipped marks a Canvas type this version does not import: its files
	// are skipped with a warning.
	skipped bool
}

// countKey is the type's key in data.counts.
func (t *fileType) countKey() string {
	if t.counts != "" {
		return t.counts
	}
	return t.name
}

// keyOf is the key of a row of a diffed file from its diffKey cells, ""
// for a row without one.
func (t *fileType) keyOf(cells []string) string {
	if t.diffRowKey != nil {
		return t.diffRowKey(cells)
	}
	return cells[0]
}

// A view is how a file is read as one of the types: the type, and where
// each column of the type's layout is in the file's own header. Canvas's
// files are read as their type under their own column names; a format of
// another system names the columns otherwise, or says the same thing in
// other words (derived). The type's rules apply unchanged, and every
// result still names the file and line the administrator sent.
type view struct {
	typ     *fileType
	columns map[string]string  // a layout column → the file's column of it; absent: the same name
	derived map[string]derived // a layout column the file says in other words
	// expand, when set, reads each record of the file as the records it
	// returns, under the record's own line (none: this view skips it):
	// OneRoster's agentSourcedIds lists several links in one cell.
	expand func(rec csvread.Record) []csvread.Record
	// quiet: the view does not report the file's ignored columns, which
	// another view of the same file reports (sharing).
	quiet bool
	// alsoReads are the file's columns its format reads itself, beside the
	// type (OneRoster's dateLastModified).
	alsoReads []string
	// prefixes: columns the type reads by a prefix (users' property.<name>)
	// that the file names with another (Moodle's profile_field_<name>).
	prefixes map[string]string
	// notes are said once, as warnings on the file, when it is read: what
	// the format carries that this import does not apply.
	notes []string
	// only, when set, is the file's column whose empty cell says the row
	// has nothing for this view (a users row without a course1 is no
	// enrollment): such rows are not read through it, and have no result.
	only string
	// shared are the file's columns the other views of the same file read,
	// which this one does not report as ignored.
	shared map[string]bool
}

// ownName is the type's name of the file's column name: the same, or
// with the type's prefix for the file's (prefixes).
func (v view) ownName(name string) string {
	for ours, theirs := range v.prefixes {
		if rest, ok := strings.CutPrefix(name, theirs); ok {
			return ours + rest
		}
	}
	return name
}

// reads are the file's columns the view reads.
func (v view) reads() []string {
	var cols []string
	for _, c := range v.typ.layout.columns {
		cols = append(cols, v.column(c))
		cols = append(cols, v.derived[c].from...)
	}
	return append(cols, v.alsoReads...)
}

// sharing makes a file read through several views report its ignored
// columns once: the first view reports them, leaving out the columns the
// others read, and the others are quiet.
func sharing(vs []view) []view {
	if len(vs) < 2 {
		return vs
	}
	vs[0].shared = map[string]bool{}
	for i, o := range vs {
		if i == 0 {
			continue
		}
		vs[i].quiet = true
		if o.typ != nil && !o.typ.skipped {
			for _, c := range o.reads() {
				vs[0].shared[c] = true
			}
		}
	}
	return vs
}

// A derived column is one of the type's columns made from the file's own
// cells: Moodle's suspended=1 is status suspended, OneRoster's
// enabledUser=false too. A format's meanings live in its views this way,
// and the type's rules read them as if the file had said them in Canvas's
// words.
type derived struct {
	from  []string                    // the file's columns it reads
	value func(cells []string) string // the type's cell from the cells of from, in order ("" for a column the file lacks)
}

// column is the file's name of the type's column c: for a derived one,
// the first of the file's columns it reads.
func (v view) column(c string) string {
	if d, ok := v.derived[c]; ok && len(d.from) > 0 {
		return d.from[0]
	}
	if name, ok := v.columns[c]; ok {
		return name
	}
	return c
}

// columnsOf are the file's names of the type's columns cs.
func (v view) columnsOf(cs []string) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = v.column(c)
	}
	return out
}

// A format is a family of files an upload may hold, named by import_type:
// Canvas's own (instructure_csv), or another system's read through views of
// the file types. views says how a file with a header is read: none when
// the format does not recognise it. detect, when set, says whether a
// header is the format's beyond doubt, so that an upload of the default
// import_type whose file is no Canvas type is read as that format.
type format struct {
	name   string
	views  func(file string, h header) []view
	detect func(h header) bool
	// pack, when set, reads an upload as one package before its files, as
	// OneRoster's manifest says what each file of the package is: ok says
	// whether files are the format's package; if so, it returns the files
	// to read and how this upload reads each of them, or a file error that
	// refuses the package whole.
	pack func(at *attempt, files []source) (p *pack, ok bool, err error)
	// matchOn, when set, is the format's own key for users, which
	// user_match_on defaults to when the import reads the format.
	matchOn string
}

// A pack is an upload read as one package (format.pack): the files to read
// and how each is read.
type pack struct {
	files []source
	views func(file string, h header) []view
	// finish runs once every file is applied (a package's removals).
	finish func(ctx context.Context) error
	// listEnrollments: finish removes the enrollments the package did not
	// list, so their batches remember the ones they named (batchmode.go).
	listEnrollments bool
}

// openPack reads the upload as a package when the import's format has
// one, or, for the default import_type, when a format recognises its files
// as its package; the files come back as the package says. A refused
// package is a file error and nothing of it is read.
func (at *attempt) openPack(files []source) ([]source, error) {
	names := []string{at.opts.ImportType}
	if formats[at.opts.ImportType] == nil || formats[at.opts.ImportType] == canvas {
		names = formatNames()
	}
	for _, name := range names {
		f := formats[name]
		if f == nil || f.pack == nil {
			continue
		}
		p, ok, err := f.pack(at, files)
		var fe *fileError
		switch {
		case errors.As(err, &fe):
			at.addFileError(at.job.FileName, fe)
			return nil, nil
		case err != nil:
			return nil, err
		case ok:
			at.pack = p
			return p.files, nil
		}
	}
	return files, nil
}

// canvas is Canvas's format: a file is the type its header shows.
var canvas = registerFormat(&format{name: "instructure_csv", views: func(_ string, h header) []view {
	t := detectType(h)
	switch {
	case t == nil:
		return nil
	case t.name == typeUsers && h.has("group"):
		// A group column: the users join groups by name (docs/import-rules.md#group-columns).
		return []view{{typ: t}, groupJoinView("user_id", "login_id", "group", "")}
	}
	return []view{{typ: t}}
}})

// formats are the registered formats, by import_type.
var formats = map[string]*format{}

// registerFormat adds a format; each format's file calls it once.
func registerFormat(f *format) *format {
	if formats[f.name] != nil {
		panic("importer: format " + f.name + " registered twice")
	}
	formats[f.name] = f
	return f
}

// formatNames are the import_type values, sorted.
func formatNames() []string {
	names := make([]string, 0, len(formats))
	for name := range formats {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// viewsOf says how an import reads a file: by the format its import_type
// names; for the default, Canvas's, as the Canvas type its header shows or
// else as the one other format that recognises the header.
func (at *attempt) viewsOf(file string, h header) []view {
	if at.pack != nil {
		return sharing(at.pack.views(file, h))
	}
	f := formats[at.opts.ImportType]
	if f == nil {
		f = canvas
	}
	if vs := f.views(file, h); len(vs) > 0 || f != canvas {
		return sharing(vs)
	}
	for _, name := range formatNames() {
		if other := formats[name]; other.detect != nil && other.detect(h) {
			if other.matchOn != "" && !at.opts.MatchOnGiven {
				at.opts.UserMatchOn = other.matchOn
			}
			return sharing(other.views(file, h))
		}
	}
	return nil
}

// header is what detection sees of a file's first line: its columns, and
// the default[<column>] parameters that stand in for missing ones.
type header struct {
	cols     map[string]int
	defaults map[string]string
	opts     *Options // the import's; nil when only the type is asked
}

func (h header) has(c string) bool { _, ok := h.cols[c]; return ok }

// updateOnly says whether the import only updates users it finds
// (user_upload_type=update_only): a users file then needs no more than the
// column it matches them on, since a matched user keeps what the file
// leaves out.
func (h header) updateOnly() bool { return h.opts != nil && h.opts.UserUploadType == "update_only" }

var (
	byDetection []*fileType              // in detectRank order
	byName      = map[string]*fileType{} // by name
)

// register adds a type to the registry; each type's file calls it once,
// from init.
func register(t *fileType) {
	if byName[t.name] != nil {
		panic("importer: file type " + t.name + " registered twice")
	}
	if !t.skipped && (t.apply == nil || t.layout == nil) {
		panic("importer: file type " + t.name + " has no apply or no layout")
	}
	byName[t.name] = t
	i, _ := slices.BinarySearchFunc(byDetection, t, func(a, b *fileType) int { return cmp.Compare(a.detectRank, b.detectRank) })
	byDetection = slices.Insert(byDetection, i, t)
}

// detectType names the type of a file from its header, nil when no type
// matches.
func detectType(h header) *fileType {
	for _, t := range byDetection {
		if t.detect(h) {
			return t
		}
	}
	return nil
}

// applyOrder compares two types by their place in the apply order, a nil
// type (a file that matched nothing) last.
func applyOrder(a, b *fileType) int {
	rank := func(t *fileType) int {
		if t == nil {
			return 1 << 30
		}
		return t.applyRank
	}
	return cmp.Compare(rank(a), rank(b))
}

// typesApplied are the registered types that are imported, in apply order.
func typesApplied() []*fileType {
	var ts []*fileType
	for _, t := range byName {
		if !t.skipped {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, applyOrder)
	return ts
}

// checkColumns makes sure a file has its type's required columns, and
// warns once about the columns the type does not read (Canvas ignores them
// too).
func (at *attempt) checkColumns(f *typedFile) error {
	t := f.typ
	optional := t.optional != nil && t.optional(&at.opts)
	for _, c := range t.required {
		if _, derived := f.view.derived[c]; !derived && !optional && !f.has(c) && at.opts.Defaults[c] == "" {
			return &fileError{Code: "missing_column", Message: fmt.Sprintf("line %d: a %s file needs the column %s", f.head.Line, t.name, f.view.column(c))}
		}
	}
	if f.view.quiet {
		return nil
	}
	read := map[string]bool{}
	for _, c := range f.view.reads() {
		read[c] = true
	}
	var ignored []string
	for name := range f.cols {
		if !read[name] && !f.view.shared[name] && (t.ownColumns == nil || !t.ownColumns(f.view.ownName(name))) {
			ignored = append(ignored, name)
		}
	}
	if len(ignored) > 0 {
		slices.Sort(ignored)
		at.warn(f.name, "columns ignored: "+strings.Join(ignored, ", "))
	}
	return nil
}
