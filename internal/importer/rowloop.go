package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
)

// applyRow applies one row whose field count matches the header, filling
// res (SISID, ObjectID, Action, Changes). A returned rowFailure fails or
// skips the row; an error stops the import.
type applyRow func(ctx context.Context, rec csvread.Record, res *Result) (*rowFailure, error)

// eachRow applies a file a row at a time, in file order: the way of the
// small files (accounts, terms, courses, sections, groups), whose rows may
// refer to rows earlier in the same file.
func (ru *run) eachRow(ctx context.Context, file, typ, entity string, width int, rd *csvread.Reader, apply applyRow) error {
	var results []Result
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		res := Result{File: file, Entity: entity}
		var rowErr *csvread.RowError
		var f *rowFailure
		switch {
		case errors.As(err, &rowErr):
			res.Row, f, rec.Fields = rowErr.Line, malformed(rowErr), nil
		case err != nil:
			return csvFileError(err)
		case len(rec.Fields) != width:
			res.Row, f = rec.Line, wrongWidth(len(rec.Fields), width)
		default:
			res.Row = rec.Line
			if f, err = apply(ctx, rec, &res); err != nil {
				return err
			}
		}
		if f != nil {
			res.fail(f, rec.Fields, nil, width)
		}
		results = append(results, res)
		if len(results) == batchSize {
			ru.record(typ, results)
			results = nil
			if err := ru.progress(ctx); err != nil {
				return err
			}
		}
	}
	ru.record(typ, results)
	return ru.progress(ctx)
}

// readBatches reads a file to its end and hands apply its rows a batch at
// a time, never an empty one: the way of the big files (users,
// enrollments, memberships, deactivations). item makes a row of a record;
// fail is set when the record could not be split (its Fields are nil) or
// has another field count than the header. apply may keep the batch.
func readBatches[T any](rd *csvread.Reader, width int, item func(rec csvread.Record, fail *rowFailure) T, apply func([]T) error) error {
	batch := make([]T, 0, batchSize)
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *csvread.RowError
		switch {
		case errors.As(err, &rowErr):
			batch = append(batch, item(csvread.Record{Line: rowErr.Line}, malformed(rowErr)))
		case err != nil:
			return csvFileError(err)
		case len(rec.Fields) != width:
			batch = append(batch, item(rec, wrongWidth(len(rec.Fields), width)))
		default:
			batch = append(batch, item(rec, nil))
		}
		if len(batch) == batchSize {
			if err := apply(batch); err != nil {
				return err
			}
			batch = make([]T, 0, batchSize)
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return apply(batch)
}

// batchRow is what a row of a file without secret cells (enrollments,
// memberships) carries through a batch: its result, its cells, and
// whether the result is known.
type batchRow struct {
	res     Result
	fields  []string
	settled bool // the result is known: nothing to write
}

func newBatchRow(file, entity string, rec csvread.Record) batchRow {
	return batchRow{res: Result{File: file, Entity: entity, Row: rec.Line}, fields: rec.Fields}
}

// fail gives the row its failure; a skip keeps no copy of the row.
func (b *batchRow) fail(f *rowFailure) {
	b.settled = true
	b.res.fail(f, b.fields, nil, len(b.fields)) // no secret cells
}

// checkColumns makes sure a file has its type's required columns, and warns
// once about columns the type does not use (Canvas ignores them too).
func (ru *run) checkColumns(file, typ string, head csvread.Record, cols map[string]int, known, required []string) error {
	for _, c := range required {
		if _, ok := cols[c]; !ok && ru.opts.Defaults[c] == "" {
			return &fileError{Code: "missing_column", Message: fmt.Sprintf("line %d: a %s file needs the column %s", head.Line, typ, c)}
		}
	}
	var ignored []string
	for name := range cols {
		if !slices.Contains(known, name) {
			ignored = append(ignored, name)
		}
	}
	if len(ignored) > 0 {
		sort.Strings(ignored)
		ru.warn(file, "columns ignored: "+strings.Join(ignored, ", "))
	}
	return nil
}

// handOn sends v to the next stage of a pipeline, unless ctx ends first.
func handOn[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fillRow copies a record's cells into a row struct's fields, in the order
// of idx, trimming them.
func fillRow(fields []*string, rec csvread.Record, idx []int) {
	for i, f := range fields {
		*f = strings.TrimSpace(cell(rec.Fields, idx[i]))
	}
}

// duplicate is the failure of a key seen earlier in the same file.
// A key is listed on the first row that shows it, failed or not.
func (st *fileStream) duplicate(col, key string, line int) *rowFailure {
	if key == "" {
		return nil // validation says what is missing
	}
	if where, dup := st.firstSeen(key, line); dup {
		return &rowFailure{code: "duplicate_in_file", message: fmt.Sprintf("%s %q already appears on %s; the first row wins", col, key, where)}
	}
	return nil
}

// firstSeen records key on line and says where it was seen first, if before.
func (st *fileStream) firstSeen(key string, line int) (where string, dup bool) {
	first, dup := st.seen.add(key, st.pos(line))
	if !dup {
		return "", false
	}
	return st.where(first), true
}

// notFound skips a deleted row for an object that does not exist.
func notFound(entity, key string) *rowFailure {
	return &rowFailure{code: "not_found", skip: true, message: fmt.Sprintf("%s %q does not exist, so it cannot be deleted", entity, key)}
}

// skipDelete is the skip of a row that would delete an object while
// skip_deletes is set, or nil.
func (ru *run) skipDelete(entity, from, to string) *rowFailure {
	if to != "deleted" || from == "deleted" || !ru.opts.SkipDeletes {
		return nil
	}
	return &rowFailure{code: "skip_deletes", skip: true, message: "skip_deletes is set: the " + entity + " was not deleted"}
}
