package importer

import (
	"context"
	"fmt"
	"slices"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/keyset"
	"github.com/sisimport/sisimport/internal/result"
)

// typedFile is one file of an upload as its type applies it: the header
// read and checked, each column of the type's layout found in it, and the
// type's stream of files in this upload.
type typedFile struct {
	typ      *fileType
	view     view              // how the file names the type's columns
	columnOf map[string]string // each field of the row struct's column, as the file names it
	name     string            // the file's name, as its results name it
	head     csvread.Record
	cols     map[string]int                 // the header's columns by name
	width    int                            // fields in the header
	idx      []int                          // where each column of the layout is, -1 when absent
	derive   []func(fields []string) string // each column of the layout the view derives, nil for the others
	rd       recordReader
	stream   *fileStream
	digester *keyset.Digester // of this file's rows, when its stream has a diffing base
	// same: the row being applied a row at a time (eachRow) equals its
	// diffing base's row, so it is unchanged without a look at the directory.
	same bool
}

// readCSV reads a file's header and hands the file to its type, after the
// preamble every type shares: the type detected, the required columns
// checked, the columns it does not read reported once, its stream and
// diffing base found.
func (at *attempt) readCSV(ctx context.Context, r reading) error {
	src := r.src
	rd, head, cols, err := at.openCSV(src, true)
	if err != nil {
		return err
	}
	defer rd.close()
	if hasSecretColumn(cols) && !at.secrets {
		// Marked at once, outside the import's transaction, so that the
		// scrubber finds the upload however the import ends; only by the
		// attempt that holds the import, so that an attempt which lost it
		// cannot mark an upload another attempt has already scrubbed.
		at.secrets = true
		if _, err := at.DB.Exec(ctx, `UPDATE sis_imports SET file_secrets = true
			WHERE id = $1 AND attempt = $2 AND workflow_state = 'importing'`, at.job.ID, at.job.Attempt); err != nil {
			return fmt.Errorf("mark secrets: %w", err)
		}
	}
	t := r.view.typ
	switch {
	case t == nil:
		return &fileError{Code: "unknown_file_type", Message: fmt.Sprintf("line %d: the header matches no known file type (users need user_id, login_id and status)", head.Line)}
	case t.skipped:
		at.warn(src.name, fmt.Sprintf("%s files are not imported by sisimport; the file was skipped", t.name))
		return nil
	}
	if !slices.Contains(at.types, t) {
		at.types = append(at.types, t)
	}
	at.files = append(at.files, result.FileInfo{File: src.name, Type: t.name, Header: head.Fields})
	f := newTypedFile(src.name, head, cols, r.view, rd.Reader)
	if err := at.checkColumns(f); err != nil {
		return err
	}
	for _, n := range r.view.notes {
		at.warn(src.name, n)
	}
	if f.stream, err = at.stream(ctx, r.view, src.name); err != nil {
		return err
	}
	if base := f.stream.base; base != nil {
		f.digester = keyset.NewDigester(head.Fields, base.Seed(), r.view.columnsOf(t.diffKey))
	}
	return t.apply(ctx, at, f)
}

// newTypedFile is the file name, whose header is head (its columns cols),
// read through v from rd.
func newTypedFile(name string, head csvread.Record, cols map[string]int, v view, rd *csvread.Reader) *typedFile {
	t := v.typ
	f := &typedFile{typ: t, view: v, name: name, head: head, cols: cols, width: len(head.Fields), idx: t.layout.positions(cols, v), rd: rd,
		columnOf: map[string]string{}}
	if v.expand != nil {
		f.rd = &expandingReader{rd: rd, expand: v.expand}
	}
	for field, c := range t.layout.columnOf {
		f.columnOf[field] = v.column(c)
	}
	if len(v.derived) > 0 {
		f.derive = make([]func([]string) string, len(t.layout.columns))
		for i, c := range t.layout.columns {
			d, ok := v.derived[c]
			if !ok {
				continue
			}
			at := make([]int, len(d.from))
			for j, from := range d.from {
				at[j] = -1
				if p, ok := cols[from]; ok {
					at[j] = p
				}
			}
			f.derive[i] = func(fields []string) string {
				cells := make([]string, len(at))
				for j, p := range at {
					cells[j] = cell(fields, p)
				}
				return d.value(cells)
			}
		}
	}
	return f
}

// recordReader reads a file's records, one at a time, io.EOF at its end.
type recordReader interface {
	Read() (csvread.Record, error)
}

// expandingReader reads each record as the records its view's expand
// makes of it; a record that cannot be read is handed on as it is.
type expandingReader struct {
	rd      recordReader
	expand  func(csvread.Record) []csvread.Record
	pending []csvread.Record
}

func (r *expandingReader) Read() (csvread.Record, error) {
	for len(r.pending) == 0 {
		rec, err := r.rd.Read()
		if err != nil {
			return rec, err
		}
		r.pending = r.expand(rec)
	}
	rec := r.pending[0]
	r.pending = r.pending[1:]
	return rec, nil
}

// read is the file's next record that is a row of its view: a view with
// a column only reads the rows whose cell of it is filled.
func (f *typedFile) read() (csvread.Record, error) {
	for {
		rec, err := f.rd.Read()
		if err != nil || f.view.only == "" {
			return rec, err
		}
		if p, ok := f.cols[f.view.only]; ok && cell(rec.Fields, p) != "" {
			return rec, nil
		}
	}
}

// has says whether the file has the type's column c: for a derived one,
// any of the columns it reads.
func (f *typedFile) has(c string) bool {
	if d, ok := f.view.derived[c]; ok {
		return slices.ContainsFunc(d.from, func(from string) bool { _, ok := f.cols[from]; return ok })
	}
	_, ok := f.cols[f.view.column(c)]
	return ok
}

// secretColumns are the places of the file's password columns, whose
// cells results and errors blank.
func (f *typedFile) secretColumns() []int {
	var secret []int
	for _, c := range secretColumns {
		if i, ok := f.cols[f.view.column(c)]; ok {
			secret = append(secret, i)
		}
	}
	return secret
}

// fill copies a record's cells into the row struct row points to.
func (f *typedFile) fill(row any, rec csvread.Record) {
	f.typ.layout.fill(row, rec, f.idx, f.derive)
}

// validate checks a row struct against its validate tags and explains the
// first problem in the words of the file's columns.
func (f *typedFile) validate(row any) *rowFailure {
	return validateRow(row, f.columnOf)
}

// check runs the checks every row of every type goes through, in one
// order, once the type has filled it and put its values in their usual
// form: the row is validated by its tags, then its key claimed. A row that
// fails lists its key all the same (a key on any row counts as listed, for
// removals) but does not claim it: the first valid row with a key wins,
// and a later one fails duplicate_in_file naming where the first is.
// what describes the key for that message; an empty key claims nothing.
func (f *typedFile) check(row any, line int, key, what string) *rowFailure {
	st := f.stream
	if fail := f.validate(row); fail != nil {
		if key != "" {
			st.seen.List(key, st.pos(line))
		}
		return fail
	}
	if key == "" {
		return nil
	}
	if first, dup := st.seen.Add(key, st.pos(line)); dup {
		return &rowFailure{code: "duplicate_in_file", message: fmt.Sprintf("%s already appears on %s; the first row wins", what, st.where(first))}
	}
	return nil
}

// markBase lists the row's key (its diffKey cells) in the diffing base,
// whether or not the row will apply: only what a file leaves out is
// dropped. It reports whether the row equals its base row.
func (f *typedFile) markBase(rec csvread.Record) (bool, error) {
	key := f.typ.keyOf(f.digester.KeyCells(rec.Fields))
	if key == "" {
		return false, nil
	}
	return f.stream.base.Mark(key, f.digester.Digest(rec.Fields))
}
