package keyset

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// keySpill keeps the entries of a run's key sets that are past the budget,
// and its diffing bases that are, in temporary tables on a connection of
// its own, opened on the first spill and closed when the run ends.
// Temporary tables go with their connection: a worker that dies leaves
// nothing behind.
//
// Each move of a key set is a table of its own, indexed after it is
// filled: that costs PostgreSQL a fifth of what adding to one indexed
// table does, and a key a filter may hold is looked up only in the table
// of that filter. A diffing base is read whole before it is looked up, so
// it is one table, filled by several COPYs, then indexed once.
//
// Key sets are used by several stages at once, so the connection is
// locked: a lookup waits while another set's move writes. An error is
// kept, and fails the run (failed), as a key set cannot return one.
type Spill struct {
	db     *pgxpool.Pool
	budget int // entries a key set keeps in memory
	ctx    context.Context
	cancel context.CancelFunc

	err   atomic.Pointer[error] // the first error, or errSpillClosed
	gate  sync.Mutex            // orders begin against close
	moves sync.WaitGroup        // the moves under way

	mu     sync.Mutex // the connection's
	conn   *pgx.Conn
	tables int
}

var errSpillClosed = errors.New("the import's key spill is closed")

// NewSpill makes the spill of one import's attempt, which keeps budget keys
// of each set in memory (0: all of them); its queries end with ctx (the
// attempt fails then anyway) or when it is closed.
func NewSpill(ctx context.Context, db *pgxpool.Pool, budget int) *Spill {
	ctx, cancel := context.WithCancel(ctx)
	return &Spill{db: db, budget: budget, ctx: ctx, cancel: cancel}
}

// NewSet makes a key set that moves its keys to the spill past its budget;
// with no budget, it keeps them all in memory.
func (s *Spill) NewSet() *Set {
	k := New()
	if s.budget > 0 {
		k.spill = s
	}
	return k
}

// fail keeps the first error.
func (s *Spill) fail(err error) error {
	s.err.CompareAndSwap(nil, &err)
	return *s.err.Load()
}

// failed is the error that made the spill unusable, if any: the key sets
// may have answered wrongly since, so the run must not commit.
func (s *Spill) Failed() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// begin counts a move in, unless the spill failed or closed.
func (s *Spill) begin() bool {
	s.gate.Lock()
	defer s.gate.Unlock()
	if s.Failed() != nil {
		return false
	}
	s.moves.Add(1)
	return true
}

// close stops the moves under way (nothing will read their tables), then
// closes the connection, and with it the tables. A key set that outlives
// the run (a stage still winding down) then finds nothing more here.
func (s *Spill) Close() {
	s.gate.Lock()
	_ = s.fail(errSpillClosed) // the first error stays: Failed reports it
	s.gate.Unlock()
	s.cancel()
	s.moves.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.conn.Close(ctx)
		s.conn = nil
	}
}

// write copies entries to a new table and returns its name.
func (s *Spill) write(entries map[uint64]keyEntry) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	table, err := s.newTable("import_keys", "h bigint NOT NULL, c int NOT NULL, pos int NOT NULL")
	if err == nil {
		err = s.copy(table, "h, c, pos", newEntryCopy(entries, byHash(entries), 3, func(buf []byte, e keyEntry) []byte {
			buf = binary.BigEndian.AppendUint32(buf, 4)
			buf = binary.BigEndian.AppendUint32(buf, e.check)
			buf = binary.BigEndian.AppendUint32(buf, 4)
			return binary.BigEndian.AppendUint32(buf, uint32(e.line))
		}))
	}
	if err == nil {
		_, err = s.conn.Exec(s.ctx, `CREATE INDEX ON `+table+` (h)`)
	}
	if err != nil {
		return "", s.fail(fmt.Errorf("spill keys: %w", err))
	}
	return table, nil
}

// newTable connects, on the first call, and makes a temporary table of
// the given columns, named after prefix; the caller holds s.mu.
func (s *Spill) newTable(prefix, columns string) (string, error) {
	if err := s.Failed(); err != nil {
		return "", err
	}
	if s.conn == nil {
		// A connection of its own, outside the pool, with room in
		// temp_buffers (PostgreSQL's default is 8 MB) for the newest
		// tables, about 13 MB each; closing it drops them. SET, not a
		// startup parameter, which PgBouncer would refuse.
		conn, err := pgx.ConnectConfig(s.ctx, s.db.Config().ConnConfig)
		if err == nil {
			// Without statistics, the planner takes a bitmap scan to find
			// one row by its index; a plain index scan costs less. No
			// lookup may read a table whole (plans.go).
			if _, err = conn.Exec(s.ctx, `SET temp_buffers = '64MB'; SET enable_bitmapscan = off; SET enable_seqscan = off; SET jit = off`); err != nil {
				conn.Close(context.Background())
			}
		}
		if err != nil {
			return "", err
		}
		s.conn = conn
	}
	s.tables++
	table := fmt.Sprintf("%s_%d", prefix, s.tables)
	_, err := s.conn.Exec(s.ctx, `CREATE TEMPORARY TABLE `+table+` (`+columns+`)`)
	return table, err
}

// copy runs a binary COPY into table; the caller holds s.mu.
func (s *Spill) copy(table, columns string, r io.Reader) error {
	_, err := s.conn.PgConn().CopyFrom(s.ctx, r, `COPY `+table+` (`+columns+`) FROM STDIN BINARY`)
	return err
}

// entryCopy reads entries keyed by hash as COPY's binary format, the hash
// first, then the fields row writes, in the order of hs: a key set's by
// hash, in which PostgreSQL builds its index in about half the time and
// reads a probe's pages once; a diffing base's by position, so that a
// range of positions is a range of pages. It encodes a few thousand rows
// at a time, and none costs an allocation.
type entryCopy[E any] struct {
	entries map[uint64]E
	hs      []int64
	fields  uint16
	row     func(buf []byte, e E) []byte
	buf     []byte
	done    bool
}

func newEntryCopy[E any](entries map[uint64]E, hs []int64, fields uint16, row func(buf []byte, e E) []byte) *entryCopy[E] {
	return &entryCopy[E]{entries: entries, hs: hs, fields: fields, row: row,
		buf: append(make([]byte, 0, 64<<10+64), "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)}
}

// byHash is the order of a key set's entries in their table.
func byHash[E any](entries map[uint64]E) []int64 {
	hs := make([]int64, 0, len(entries))
	for h := range entries {
		hs = append(hs, int64(h))
	}
	slices.Sort(hs)
	return hs
}

func (r *entryCopy[E]) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && !r.done {
		if len(r.hs) == 0 {
			r.buf = binary.BigEndian.AppendUint16(r.buf, 0xffff) // the trailer
			r.done = true
			break
		}
		h := r.hs[0]
		r.hs = r.hs[1:]
		r.buf = binary.BigEndian.AppendUint16(r.buf, r.fields)
		r.buf = binary.BigEndian.AppendUint32(r.buf, 8)
		r.buf = binary.BigEndian.AppendUint64(r.buf, uint64(h))
		r.buf = r.row(r.buf, r.entries[uint64(h)])
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

// lookup finds a key's entry in table (a table holds a hash once).
func (s *Spill) lookup(table string, h uint64, c uint32) (line int32, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Failed() != nil {
		return 0, false
	}
	err := s.conn.QueryRow(s.ctx, `SELECT pos FROM `+table+` WHERE h = $1 AND c = $2`, int64(h), int32(c)).Scan(&line)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false
	}
	if err != nil {
		_ = s.fail(fmt.Errorf("look up spilled keys: %w", err)) // Failed reports it; the run fails
		return 0, false
	}
	return line, true
}

// spillKey is a key to look for in a table, and the item it is the key of.
type spillKey struct {
	h    int64
	c    int32
	item int
}

// holds returns the items whose keys table holds.
func (s *Spill) holds(table string, keys []spillKey) []int {
	var held []int
	for _, p := range probe(s, table, "", "", keys, func(row pgx.CollectableRow) (i int, _ struct{}, err error) {
		err = row.Scan(&i)
		return i, struct{}{}, err
	}) {
		held = append(held, p.item)
	}
	return held
}

// probed is a key a table holds: its item, and what was read of its row.
type probed[R any] struct {
	item int
	row  R
}

// probe looks keys up in table, one index probe a key, and returns the
// keys it holds. Of each, scan reads the key's index in keys and the
// columns cols (none for "") of its first row in order (for a table that
// may hold a key more than once). The keys go in the order of the index,
// so that PostgreSQL reads each of its pages once (and a key set's table's
// too, whose rows were written by hash).
func probe[R any](s *Spill, table, cols, order string, keys []spillKey, scan func(pgx.CollectableRow) (int, R, error)) []probed[R] {
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b spillKey) int { return cmp.Compare(a.h, b.h) })
	hs, cs := make([]int64, len(keys)), make([]int32, len(keys))
	for i, k := range keys {
		hs[i], cs[i] = k.h, k.c
	}
	if cols != "" {
		cols = ", " + cols
	}
	if order != "" {
		order = " ORDER BY " + order
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Failed() != nil {
		return nil
	}
	// The LIMIT keeps the planner from turning the LATERAL into a join
	// that reads the whole table for each batch (the table has no
	// statistics).
	rows, err := s.conn.Query(s.ctx, `SELECT k.i - 1`+cols+` FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY k(h, c, i)
		CROSS JOIN LATERAL (SELECT * FROM `+table+` t WHERE t.h = k.h AND t.c = k.c`+order+` LIMIT 1) s`, hs, cs)
	var found []probed[R]
	if err == nil {
		found, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (probed[R], error) {
			i, r, err := scan(row)
			return probed[R]{item: keys[i].item, row: r}, err
		})
	}
	if err != nil {
		_ = s.fail(fmt.Errorf("look up spilled keys: %w", err)) // Failed reports it; the run fails
		return nil
	}
	return found
}

// keyFilter is a split-block Bloom filter of the entries a key set moved to
// the spill: 24 bits a key, one 512-bit block a key and one bit of each of
// its eight words, which wrongly answers "may hold" for about one key in
// ten thousand (16 bits: one in a thousand; a set of 10,000,000 keys has 50
// filters, so each one counts).
type keyFilter [][8]uint64

func newKeyFilter(n int) keyFilter {
	return make(keyFilter, max(1, n*24/512))
}

// filterOf is the filter of entries keyed by hash.
func filterOf[E any](entries map[uint64]E, check func(E) uint32) keyFilter {
	f := newKeyFilter(len(entries))
	for h, e := range entries {
		f.add(h, check(e))
	}
	return f
}

// bits gives key (h, c) its block and a 64-bit value whose eight 6-bit
// fields choose a bit of each word.
func (f keyFilter) bits(h uint64, c uint32) (*[8]uint64, uint64) {
	b := &f[(h>>32)*uint64(len(f))>>32]
	return b, (uint64(c)*0x9e3779b97f4a7c15 ^ h) * 0xff51afd7ed558ccd
}

func (f keyFilter) add(h uint64, c uint32) {
	b, v := f.bits(h, c)
	for i := range b {
		b[i] |= 1 << (v >> (6 * i) & 63)
	}
}

func (f keyFilter) mayHold(h uint64, c uint32) bool {
	b, v := f.bits(h, c)
	for i := range b {
		if b[i]&(1<<(v>>(6*i)&63)) == 0 {
			return false
		}
	}
	return true
}

// newBase makes the table of a diffing base.
func (s *Spill) newBase() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	table, err := s.newTable("import_base", "h bigint NOT NULL, c int NOT NULL, pos int NOT NULL, digest bigint NOT NULL")
	if err != nil {
		return "", s.fail(fmt.Errorf("spill the diffing base: %w", err))
	}
	return table, nil
}

// writeBase adds entries of a diffing base to its table, in the order of
// hs, their hashes by position.
func (s *Spill) writeBase(table string, entries map[uint64]baseEntry, hs []int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.Failed()
	if err == nil {
		err = s.copy(table, "h, c, pos, digest", newEntryCopy(entries, hs, 4, func(buf []byte, e baseEntry) []byte {
			buf = binary.BigEndian.AppendUint32(buf, 4)
			buf = binary.BigEndian.AppendUint32(buf, e.check)
			buf = binary.BigEndian.AppendUint32(buf, 4)
			buf = binary.BigEndian.AppendUint32(buf, uint32(e.pos))
			buf = binary.BigEndian.AppendUint32(buf, 8)
			return binary.BigEndian.AppendUint64(buf, e.digest)
		}))
	}
	if err != nil {
		return s.fail(fmt.Errorf("spill the diffing base: %w", err))
	}
	return nil
}

// indexBase indexes a diffing base's table once every entry is in it: by
// key, a key's first row first, and by position.
func (s *Spill) indexBase(table string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Failed(); err != nil {
		return err
	}
	if _, err := s.conn.Exec(s.ctx, `CREATE INDEX ON `+table+` (h, c, pos); CREATE INDEX ON `+table+` (pos)`); err != nil {
		return s.fail(fmt.Errorf("spill the diffing base: %w", err))
	}
	return nil
}

// firstInBase finds the keys' first rows in a diffing base's table and
// calls found with each key's item, the row's position and its digest.
func (s *Spill) firstInBase(table string, keys []spillKey, found func(item int, pos int32, digest uint64)) error {
	type first struct {
		pos    int32
		digest int64
	}
	for _, p := range probe(s, table, "s.pos, s.digest", "t.pos", keys, func(row pgx.CollectableRow) (i int, f first, err error) {
		err = row.Scan(&i, &f.pos, &f.digest)
		return i, f, err
	}) {
		found(p.item, p.row.pos, uint64(p.row.digest))
	}
	return s.Failed()
}

// baseRow is a row of a diffing base's table.
type baseRow struct {
	h uint64
	baseEntry
}

// baseRange reads up to n rows of a diffing base's table, in the order of
// their positions, from position from on.
func (s *Spill) baseRange(table string, from int32, n int) ([]baseRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Failed(); err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(s.ctx, `SELECT h, c, pos, digest FROM `+table+` WHERE pos >= $1 ORDER BY pos LIMIT $2`, from, n)
	var out []baseRow
	if err == nil {
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (baseRow, error) {
			var h, digest int64
			var c int32
			var r baseRow
			err := row.Scan(&h, &c, &r.pos, &digest)
			r.h, r.check, r.digest = uint64(h), uint32(c), uint64(digest)
			return r, err
		})
	}
	if err != nil {
		return nil, s.fail(fmt.Errorf("read the diffing base: %w", err))
	}
	return out, nil
}
