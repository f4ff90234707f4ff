package importer

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// keySet remembers which keys a file has shown, and on which line, for
// duplicate_in_file. It keeps 16 bytes a key instead of the key itself: a
// key is its 64-bit hash plus a second, independent 32-bit check, so two
// different keys are taken for one only with a chance of about 2^-96 a pair.
//
// Past the spill's budget, the set moves its entries to a table in
// PostgreSQL (keySpill) and keeps of them only a filter of 2 bytes a key
// that says which keys may be there, so its memory grows by those 2 bytes
// a key, not 35. A key a filter may hold is looked up in that table: the
// keys that are, and about one in a thousand of the others. The move runs
// in the background, while the rows go on; until it is done, its entries
// are looked up in memory.
type keySet struct {
	seed, check maphash.Seed
	m           map[uint64]keyEntry
	spill       *keySpill   // nil: everything stays in memory
	moving      *movingKeys // the entries being moved, if any
	spilled     []spilledKeys
}

// movingKeys are entries on their way to the spill.
type movingKeys struct {
	m    map[uint64]keyEntry // read, not written, until done
	done chan struct{}
	to   spilledKeys // when done without error
	err  error
}

type keyEntry struct {
	line  int32
	check uint32
}

// spilledKeys is one move of a key set's entries: its table and its filter.
type spilledKeys struct {
	table  string
	filter keyFilter
}

func newKeySet() *keySet {
	return &keySet{seed: maphash.MakeSeed(), check: maphash.MakeSeed(), m: map[uint64]keyEntry{}}
}

// newKeySet makes a key set that spills past the run's budget, if any.
func (ru *run) newKeySet() *keySet {
	k := newKeySet()
	if ru.KeysInMemory > 0 {
		k.spill = ru.spill
	}
	return k
}

func (k *keySet) hash(key string) (uint64, uint32) {
	return maphash.String(k.seed, key), uint32(maphash.String(k.check, key))
}

// inMemory looks a key up in memory and among the entries being moved.
func (k *keySet) inMemory(h uint64, c uint32) (keyEntry, bool) {
	k.settle(false)
	if e, found := k.m[h]; found && e.check == c {
		return e, true
	}
	if k.moving != nil {
		if e, found := k.moving.m[h]; found && e.check == c {
			return e, true
		}
	}
	return keyEntry{}, false
}

// find looks key up in memory, then in the tables its filters may hold it
// in, newest first: a key's newest entry is the one that counts, as a
// seen entry may follow a listed one but never the other way round.
func (k *keySet) find(key string) (h uint64, c uint32, e keyEntry, ok bool) {
	h, c = k.hash(key)
	if e, ok = k.inMemory(h, c); ok {
		return h, c, e, true
	}
	for i := len(k.spilled) - 1; i >= 0; i-- {
		sk := k.spilled[i]
		if !sk.filter.mayHold(h, c) {
			continue
		}
		if line, found := k.spill.lookup(sk.table, h, c); found {
			return h, c, keyEntry{line: line, check: c}, true
		}
	}
	return h, c, keyEntry{}, false
}

// lookup reports the line that showed key, if any (a key only listed
// does not count).
func (k *keySet) lookup(key string) (line int, ok bool) {
	_, _, e, found := k.find(key)
	if found && e.line >= 0 {
		return int(e.line), true
	}
	return 0, false
}

// list records that the file names key, on a row that may fail: listed,
// for removal of what the file does not list, but not seen, for
// duplicate_in_file. One set serves both, so a listed key costs nothing
// more. Positions are never negative: a listed-only entry keeps -1-pos.
func (k *keySet) list(key string, pos int) {
	h, c, _, found := k.find(key)
	if _, taken := k.m[h]; !found && !taken {
		k.put(h, keyEntry{line: int32(-1 - pos), check: c})
	}
}

// listed reports whether the file listed or showed key.
func (k *keySet) listed(key string) bool {
	_, _, _, found := k.find(key)
	return found
}

// notListed returns the items whose key (nil: none) the set does not
// list, asking each table once for all the keys its filter may hold.
func notListed[T any](k *keySet, items []T, key func(T) *string) []T {
	asks := make([][]spillKey, len(k.spilled))
	listed := make([]bool, len(items))
	for i, it := range items {
		p := key(it)
		if p == nil {
			continue
		}
		h, c := k.hash(*p)
		if _, listed[i] = k.inMemory(h, c); listed[i] {
			continue
		}
		for j, sk := range k.spilled {
			if sk.filter.mayHold(h, c) {
				asks[j] = append(asks[j], spillKey{h: int64(h), c: int32(c), item: i})
			}
		}
	}
	for j, keys := range asks {
		for _, i := range k.spill.holds(k.spilled[j].table, keys) {
			listed[i] = true
		}
	}
	out := items[:0:0]
	for i, it := range items {
		if !listed[i] {
			out = append(out, it)
		}
	}
	return out
}

// add records key on line and reports the line that showed it first, if any.
func (k *keySet) add(key string, line int) (first int, dup bool) {
	h, c, e, found := k.find(key)
	if found {
		if e.line < 0 { // listed only: now seen (in memory, over what a table holds)
			k.put(h, keyEntry{line: int32(line), check: c})
			return 0, false
		}
		return int(e.line), true
	}
	// A hash collision without a matching check keeps the first entry: the
	// later key is then never reported as a duplicate of anything.
	if _, taken := k.m[h]; !taken {
		k.put(h, keyEntry{line: int32(line), check: c})
	}
	return 0, false
}

// put stores an entry in memory and, when memory reaches the budget,
// starts moving it to the spill (once the move before it has ended). Once
// the spill has failed, everything stays in memory until the run fails.
func (k *keySet) put(h uint64, e keyEntry) {
	k.m[h] = e
	if k.spill == nil || len(k.m) < k.spill.budget {
		return
	}
	if k.settle(true) != nil || !k.spill.begin() {
		return
	}
	mv := &movingKeys{m: k.m, done: make(chan struct{})}
	k.m, k.moving = make(map[uint64]keyEntry, k.spill.budget), mv
	go func() {
		defer k.spill.moves.Done()
		defer close(mv.done)
		if mv.to.table, mv.err = k.spill.write(mv.m); mv.err != nil {
			return
		}
		mv.to.filter = newKeyFilter(len(mv.m))
		for h, e := range mv.m {
			mv.to.filter.add(h, e.check)
		}
	}()
}

// settle ends a move that is done (with wait, once it is): its table and
// filter join the set's, and its entries leave memory. A move that failed
// gives its entries back to memory and returns its error; the run fails
// on the spill's.
func (k *keySet) settle(wait bool) error {
	mv := k.moving
	if mv == nil {
		return nil
	}
	if wait {
		<-mv.done
	} else {
		select {
		case <-mv.done:
		default:
			return nil
		}
	}
	k.moving = nil
	if mv.err == nil {
		k.spilled = append(k.spilled, mv.to)
		return nil
	}
	for h, e := range mv.m {
		if _, newer := k.m[h]; !newer {
			k.m[h] = e
		}
	}
	return mv.err
}

// keySpill keeps the entries of a run's key sets that are past the budget,
// in temporary tables on a connection of its own, opened on the first
// spill and closed when the run ends. Temporary tables go with their
// connection: a worker that dies leaves nothing behind.
//
// Each move is a table of its own, indexed after it is filled: that costs
// PostgreSQL a fifth of what adding to one indexed table does, and a key a
// filter may hold is looked up only in the table of that filter.
//
// Key sets are used by several stages at once, so the connection is
// locked: a lookup waits while another set's move writes. An error is
// kept, and fails the run (failed), as a key set cannot return one.
type keySpill struct {
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

func (r *Runner) newKeySpill() *keySpill {
	ctx, cancel := context.WithCancel(context.Background())
	return &keySpill{db: r.DB, budget: r.KeysInMemory, ctx: ctx, cancel: cancel}
}

// fail keeps the first error.
func (s *keySpill) fail(err error) error {
	s.err.CompareAndSwap(nil, &err)
	return *s.err.Load()
}

// failed is the error that made the spill unusable, if any: the key sets
// may have answered wrongly since, so the run must not commit.
func (s *keySpill) failed() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// begin counts a move in, unless the spill failed or closed.
func (s *keySpill) begin() bool {
	s.gate.Lock()
	defer s.gate.Unlock()
	if s.failed() != nil {
		return false
	}
	s.moves.Add(1)
	return true
}

// close stops the moves under way (nothing will read their tables), then
// closes the connection, and with it the tables. A key set that outlives
// the run (a stage still winding down) then finds nothing more here.
func (s *keySpill) close() {
	s.gate.Lock()
	s.fail(errSpillClosed)
	s.gate.Unlock()
	s.cancel()
	s.moves.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close(context.Background())
		s.conn = nil
	}
}

// write copies entries to a new table and returns its name.
func (s *keySpill) write(entries map[uint64]keyEntry) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.failed(); err != nil {
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
			// one row by its index; a plain index scan costs less.
			if _, err = conn.Exec(s.ctx, `SET temp_buffers = '64MB'; SET enable_bitmapscan = off`); err != nil {
				conn.Close(context.Background())
			}
		}
		if err != nil {
			return "", s.fail(fmt.Errorf("spill keys: %w", err))
		}
		s.conn = conn
	}
	s.tables++
	table := fmt.Sprintf("import_keys_%d", s.tables)
	_, err := s.conn.Exec(s.ctx, `CREATE TEMPORARY TABLE `+table+` (h bigint NOT NULL, c int NOT NULL, pos int NOT NULL)`)
	if err == nil {
		_, err = s.conn.PgConn().CopyFrom(s.ctx, newKeyCopy(entries), `COPY `+table+` (h, c, pos) FROM STDIN BINARY`)
	}
	if err == nil {
		_, err = s.conn.Exec(s.ctx, `CREATE INDEX ON `+table+` (h)`)
	}
	if err != nil {
		return "", s.fail(fmt.Errorf("spill keys: %w", err))
	}
	return table, nil
}

// keyCopy reads entries as COPY's binary format, in the order of their
// hash, in which PostgreSQL builds the index in about half the time; it
// encodes a few thousand rows at a time, and none costs an allocation.
type keyCopy struct {
	entries map[uint64]keyEntry
	hs      []int64
	buf     []byte
	done    bool
}

func newKeyCopy(entries map[uint64]keyEntry) *keyCopy {
	hs := make([]int64, 0, len(entries))
	for h := range entries {
		hs = append(hs, int64(h))
	}
	slices.Sort(hs)
	return &keyCopy{entries: entries, hs: hs, buf: append(make([]byte, 0, 64<<10), "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)}
}

func (r *keyCopy) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && !r.done {
		if len(r.hs) == 0 {
			r.buf = binary.BigEndian.AppendUint16(r.buf, 0xffff) // the trailer
			r.done = true
			break
		}
		h := r.hs[0]
		r.hs = r.hs[1:]
		e := r.entries[uint64(h)]
		r.buf = binary.BigEndian.AppendUint16(r.buf, 3)
		r.buf = binary.BigEndian.AppendUint32(r.buf, 8)
		r.buf = binary.BigEndian.AppendUint64(r.buf, uint64(h))
		r.buf = binary.BigEndian.AppendUint32(r.buf, 4)
		r.buf = binary.BigEndian.AppendUint32(r.buf, e.check)
		r.buf = binary.BigEndian.AppendUint32(r.buf, 4)
		r.buf = binary.BigEndian.AppendUint32(r.buf, uint32(e.line))
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

// lookup finds a key's entry in table (a table holds a hash once).
func (s *keySpill) lookup(table string, h uint64, c uint32) (line int32, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed() != nil {
		return 0, false
	}
	err := s.conn.QueryRow(s.ctx, `SELECT pos FROM `+table+` WHERE h = $1 AND c = $2`, int64(h), int32(c)).Scan(&line)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false
	}
	if err != nil {
		s.fail(fmt.Errorf("look up spilled keys: %w", err))
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

// holds returns the items whose keys table holds. The keys go in the
// order of the table (its rows were written by hash), so that PostgreSQL
// reads each of its pages once.
func (s *keySpill) holds(table string, keys []spillKey) []int {
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b spillKey) int { return cmp.Compare(a.h, b.h) })
	hs, cs := make([]int64, len(keys)), make([]int32, len(keys))
	for i, k := range keys {
		hs[i], cs[i] = k.h, k.c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed() != nil {
		return nil
	}
	// One index probe a key: the LIMIT keeps the planner from turning the
	// LATERAL into a join that reads the whole table for each batch (the
	// table has no statistics).
	rows, err := s.conn.Query(s.ctx, `SELECT k.i - 1 FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY k(h, c, i)
		CROSS JOIN LATERAL (SELECT FROM `+table+` s WHERE s.h = k.h AND s.c = k.c LIMIT 1) s`, hs, cs)
	var held []int
	if err == nil {
		held, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (int, error) {
			var i int
			err := row.Scan(&i)
			return keys[i].item, err
		})
	}
	if err != nil {
		s.fail(fmt.Errorf("look up spilled keys: %w", err))
	}
	return held
}

// keyFilter is a split-block Bloom filter of the entries a key set moved to
// the spill: 16 bits a key, one 512-bit block a key and one bit of each of
// its eight words, which wrongly answers "may hold" for about one key in a
// thousand.
type keyFilter [][8]uint64

func newKeyFilter(n int) keyFilter {
	return make(keyFilter, max(1, n*16/512))
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
