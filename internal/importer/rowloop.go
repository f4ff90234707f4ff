package importer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/result"
)

// batchSize rows are read, matched and written together, and results are
// recorded a batch at a time.
const batchSize = 5000

// applyRow applies one row whose field count matches the header, filling
// res (SISID, ObjectID, Action, Changes). A returned rowFailure fails or
// skips the row; an error stops the import.
type applyRow func(ctx context.Context, rec csvread.Record, res *result.Result) (*rowFailure, error)

// eachRow applies a file a row at a time, in file order: the way of the
// small files (accounts, terms, courses, sections, groups), whose rows may
// refer to rows earlier in the same file.
func (at *attempt) eachRow(ctx context.Context, f *typedFile, apply applyRow) error {
	var results []result.Result
	width, secret := f.width, f.secretColumns()
	for {
		rec, err := f.read()
		if errors.Is(err, io.EOF) {
			break
		}
		res := result.Result{File: f.name, Entity: f.typ.entity}
		var rowErr *csvread.RowError
		var fail *rowFailure
		switch {
		case errors.As(err, &rowErr):
			res.Row, fail, rec.Fields = rowErr.Line, malformed(rowErr), nil
		case err != nil:
			return csvFileError(err)
		case len(rec.Fields) != width:
			res.Row, fail = rec.Line, wrongWidth(len(rec.Fields), width)
		default:
			res.Row = rec.Line
			if f.same, err = at.listInBase(f, rec); err != nil {
				return err
			}
			if fail, err = apply(ctx, rec, &res); err != nil {
				return err
			}
		}
		if fail != nil {
			failResult(&res, fail, rec.Fields, secret, width)
		}
		results = append(results, res)
		if len(results) == batchSize {
			at.record(f.typ.name, results)
			results = nil
			if err := at.progress(ctx); err != nil {
				return err
			}
		}
	}
	at.record(f.typ.name, results)
	if err := at.progress(ctx); err != nil {
		return err
	}
	return at.dropGone(ctx, f)
}

// listInBase marks a row of a diffed file in its diffing base
// (file.markBase), and counts the rows that differ.
func (at *attempt) listInBase(f *typedFile, rec csvread.Record) (bool, error) {
	if f.stream.base == nil {
		return false, nil
	}
	same, err := f.markBase(rec)
	if !same {
		f.stream.changed++
	}
	return same, err
}

// readBatches reads a file to its end and hands apply its rows a batch at
// a time, never an empty one: the way of the big files (users,
// enrollments, memberships, deactivations). item makes a row of a record;
// fail is set when the record could not be split (its Fields are nil) or
// has another field count than the header. apply may keep the batch.
func readBatches[T any](f *typedFile, item func(rec csvread.Record, fail *rowFailure) T, apply func([]T) error) error {
	batch, width := make([]T, 0, batchSize), f.width
	for {
		rec, err := f.read()
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
	res     result.Result
	fields  []string
	settled bool // the result is known: nothing to write
}

func newBatchRow(f *typedFile, rec csvread.Record) batchRow {
	return batchRow{res: result.Result{File: f.name, Entity: f.typ.entity, Row: rec.Line}, fields: rec.Fields}
}

// fail gives the row its failure; a skip keeps no copy of the row.
func (b *batchRow) fail(f *rowFailure) {
	b.settled = true
	failResult(&b.res, f, b.fields, nil, len(b.fields)) // no secret cells
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

// notFound skips a deleted row for an object that does not exist.
func notFound(entity, key string) *rowFailure {
	return &rowFailure{code: "not_found", skip: true, message: fmt.Sprintf("%s %q does not exist, so it cannot be deleted", entity, key)}
}

// skipDelete is the skip of a row that would delete an object while
// skip_deletes is set, or nil.
func (at *attempt) skipDelete(entity, from, to string) *rowFailure {
	if to != "deleted" || from == "deleted" || !at.opts.SkipDeletes {
		return nil
	}
	return &rowFailure{code: "skip_deletes", skip: true, message: "skip_deletes is set: the " + entity + " was not deleted"}
}
