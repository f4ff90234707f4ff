// Package result is what an import says of each row: the Result of a row,
// its actions, the writer that streams results beside the import's
// transaction, and the reading of stored results and errors for the API
// (docs/api.md#results-and-errors).
package result

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The actions a result can have (docs/import-rules.md#row-outcomes).
const (
	Created     = "created"
	Updated     = "updated"
	Unchanged   = "unchanged"
	Deactivated = "deactivated"
	Reactivated = "reactivated"
	Deleted     = "deleted"
	Skipped     = "skipped"
	Failed      = "failed"
)

// Transition names a change of state from → to as an import's action
// (restores, drops, and every file type; "available" groups and "accepted"
// memberships are those types' active state).
func Transition(from, to string, changed bool) string {
	switch {
	case from != to && to == "deleted":
		return Deleted
	case from != to && (to == "active" || to == "available" || to == "accepted"):
		return Reactivated
	case from != to && from != "deleted" && (to == "suspended" || to == "inactive"):
		return Deactivated
	case changed:
		return Updated
	}
	return Unchanged
}

// Result is the outcome of one row (or of one object the import touched by
// itself, with Row 0 shown as null).
type Result struct {
	File     string
	Row      int
	Entity   string
	SISID    string
	ObjectID int64
	Action   string
	Code     string
	Message  string
	Changes  map[string][2]any
	RowInfo  string // the row as CSV, secret cells blanked, for a failed row
}

// FileInfo is what data.files says of each file an import read: its type
// and header, from which format=original rebuilds failed rows.
type FileInfo struct {
	File   string   `json:"file"`
	Type   string   `json:"type"`
	Header []string `json:"header"`
}

// Writer streams results into sis_import_results with one COPY on a
// connection of its own, beside the import's transaction: results become
// visible only when the import's final state names their attempt.
type Writer struct {
	ch     chan []Result
	done   chan error
	n      int64
	closed bool
}

// StartWriter starts the writer of an attempt's results.
func StartWriter(ctx context.Context, db *pgxpool.Pool, importID int64, attempt int) *Writer {
	w := &Writer{ch: make(chan []Result, 4), done: make(chan error, 1)}
	go func() {
		src := &resultSource{ch: w.ch, importID: importID, attempt: attempt}
		_, err := db.CopyFrom(ctx, pgx.Identifier{"sis_import_results"},
			[]string{"import_id", "attempt", "file", "row", "entity", "sis_id", "object_id", "action", "code", "message", "changes", "row_info"}, src)
		if err != nil {
			// Keep draining so the importer never blocks on a dead writer.
			for range w.ch {
			}
			w.done <- fmt.Errorf("write results: %w", err)
			return
		}
		w.done <- nil
	}()
	return w
}

// Add queues a batch of results; the writer owns the slice afterwards.
func (w *Writer) Add(rs []Result) {
	if len(rs) > 0 {
		w.n += int64(len(rs))
		w.ch <- rs
	}
}

// Written is how many results were queued.
func (w *Writer) Written() int64 { return w.n }

// Close waits until every result is written; it may be called again.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	close(w.ch)
	return <-w.done
}

type resultSource struct {
	ch       <-chan []Result
	batch    []Result
	i        int
	importID int64
	attempt  int
	vals     []any
}

func (s *resultSource) Next() bool {
	s.i++
	for s.i >= len(s.batch) {
		b, ok := <-s.ch
		if !ok {
			return false
		}
		s.batch, s.i = b, 0
	}
	return true
}

func (s *resultSource) Values() ([]any, error) {
	r := &s.batch[s.i]
	var changes []byte
	if len(r.Changes) > 0 {
		var err error
		if changes, err = json.Marshal(r.Changes); err != nil {
			return nil, err
		}
	}
	if s.vals == nil {
		s.vals = make([]any, 12)
	}
	v := s.vals
	v[0], v[1], v[2] = s.importID, s.attempt, r.File
	v[3] = nullInt(int64(r.Row))
	v[4], v[5] = r.Entity, NullString(r.SISID)
	v[6] = nullInt(r.ObjectID)
	v[7], v[8], v[9] = r.Action, NullString(r.Code), NullString(r.Message)
	if changes != nil {
		v[10] = changes
	} else {
		v[10] = nil
	}
	v[11] = NullString(r.RowInfo)
	return v, nil
}

func (s *resultSource) Err() error { return nil }

// NullString is s, or NULL when it is empty.
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullInt is n, or NULL when it is 0.
func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}
