package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// keySet remembers which keys a file has shown, and on which line, for
// duplicate_in_file. It keeps 16 bytes a key instead of the key itself: a
// key is its 64-bit hash plus a second, independent 32-bit check, so two
// different keys are taken for one only with a chance of about 2^-96 a pair.
//
// Memory does not grow with the file: past the spill's budget, the set
// moves its entries to PostgreSQL (keySpill) and keeps of them only a
// filter of 2 bytes a key that says which keys may be there; a key the
// filter may hold is looked up there, about one key in a thousand that
// is not.
type keySet struct {
	seed, check maphash.Seed
	m           map[uint64]keyEntry
	spill       *keySpill // nil: everything stays in memory
	id          int       // the set's number in the spill, from its first flush
	filters     []keyFilter
}

type keyEntry struct {
	line  int32
	check uint32
}

func newKeySet() *keySet {
	return &keySet{seed: maphash.MakeSeed(), check: maphash.MakeSeed(), m: map[uint64]keyEntry{}}
}

// newKeySet makes a key set that spills past the run's budget.
func (ru *run) newKeySet() *keySet {
	k := newKeySet()
	k.spill = ru.spill
	return k
}

// find looks key up in memory, then in the spill.
func (k *keySet) find(key string) (h uint64, c uint32, e keyEntry, ok bool) {
	h = maphash.String(k.seed, key)
	c = uint32(maphash.String(k.check, key))
	if e, found := k.m[h]; found {
		return h, c, e, e.check == c
	}
	for _, f := range k.filters {
		if f.mayHold(h, c) {
			line, ok := k.spill.lookup(k.id, h, c)
			return h, c, keyEntry{line: line, check: c}, ok
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
// list, asking the spill once for all the keys its filters may hold.
func notListed[T any](k *keySet, items []T, key func(T) *string) []T {
	var ask []int
	var hs []int64
	var cs []int32
	listed := make([]bool, len(items))
	for i, it := range items {
		p := key(it)
		if p == nil {
			continue
		}
		h, c := maphash.String(k.seed, *p), uint32(maphash.String(k.check, *p))
		if e, found := k.m[h]; found {
			listed[i] = e.check == c
			continue
		}
		if slices.ContainsFunc(k.filters, func(f keyFilter) bool { return f.mayHold(h, c) }) {
			ask, hs, cs = append(ask, i), append(hs, int64(h)), append(cs, int32(c))
		}
	}
	if len(ask) > 0 {
		for _, j := range k.spill.holds(k.id, hs, cs) {
			listed[ask[j]] = true
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
		if e.line < 0 { // listed only: now seen (in memory, over what the spill holds)
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

// put stores an entry in memory, and moves memory to the spill when it
// reaches the budget.
func (k *keySet) put(h uint64, e keyEntry) {
	k.m[h] = e
	if k.spill == nil || len(k.m) < k.spill.budget {
		return
	}
	id, err := k.spill.write(k.id, k.m)
	if err != nil {
		return // the entries stay in memory; the run fails on the spill's error
	}
	k.id = id
	f := newKeyFilter(len(k.m))
	for h, e := range k.m {
		f.add(h, e.check)
	}
	k.filters = append(k.filters, f)
	clear(k.m)
}

// keySpill keeps the entries of a run's key sets that are past the budget,
// in a temporary table on a connection of its own, taken from the pool on
// the first spill and given back when the run ends. A temporary table
// goes with its connection: a worker that dies leaves nothing behind.
//
// Key sets are used by several stages at once, so the connection is
// locked; it is used only to move entries out and for the rare key the
// filters may hold. An error is kept, and fails the run (failed), as a key
// set cannot return one.
type keySpill struct {
	db     *pgxpool.Pool
	budget int // entries a key set keeps in memory

	mu   sync.Mutex
	conn *pgxpool.Conn
	sets int
	err  error
}

// defaultKeysInMemory is the budget when the Runner names none: about 7 MB
// of memory a key set.
const defaultKeysInMemory = 200_000

func (r *Runner) newKeySpill() *keySpill {
	budget := r.KeysInMemory
	if budget <= 0 {
		budget = defaultKeysInMemory
	}
	return &keySpill{db: r.DB, budget: budget}
}

// write copies entries to the spill under set id, numbering the set on
// its first write.
func (s *keySpill) write(id int, entries map[uint64]keyEntry) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return id, s.err
	}
	ctx := context.Background()
	if s.conn == nil {
		conn, err := s.db.Acquire(ctx)
		if err == nil {
			_, err = conn.Exec(ctx, `CREATE TEMPORARY TABLE import_keys (set int NOT NULL, h bigint NOT NULL, c int NOT NULL, pos int NOT NULL);
				CREATE INDEX ON import_keys (set, h)`)
			if err != nil {
				conn.Release()
			}
		}
		if err != nil {
			s.err = fmt.Errorf("spill keys: %w", err)
			return id, s.err
		}
		s.conn = conn
	}
	if id == 0 {
		s.sets++
		id = s.sets
	}
	// One row at a time from the map: a copy of the entries would cost as
	// much memory again as the budget.
	next, stop := iter.Pull2(func(yield func(uint64, keyEntry) bool) {
		for h, e := range entries {
			if !yield(h, e) {
				return
			}
		}
	})
	defer stop()
	row := make([]any, 4)
	src := pgx.CopyFromFunc(func() ([]any, error) {
		h, e, ok := next()
		if !ok {
			return nil, nil
		}
		row[0], row[1], row[2], row[3] = id, int64(h), int32(e.check), e.line
		return row, nil
	})
	if _, err := s.conn.CopyFrom(ctx, pgx.Identifier{"import_keys"}, []string{"set", "h", "c", "pos"}, src); err != nil {
		s.err = fmt.Errorf("spill keys: %w", err)
	}
	return id, s.err
}

// lookup finds a key's entry in the spill. A key seen after a row that
// only listed it has both entries there; the seen one wins.
func (s *keySpill) lookup(id int, h uint64, c uint32) (line int32, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.conn == nil {
		return 0, false
	}
	err := s.conn.QueryRow(context.Background(), `SELECT max(pos) FROM import_keys WHERE set = $1 AND h = $2 AND c = $3 HAVING count(*) > 0`,
		id, int64(h), int32(c)).Scan(&line)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false
	}
	if err != nil {
		s.err = fmt.Errorf("look up spilled keys: %w", err)
		return 0, false
	}
	return line, true
}

// holds says which of the keys (h, c) the spill holds, by their index.
func (s *keySpill) holds(id int, hs []int64, cs []int32) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.conn == nil {
		return nil
	}
	rows, err := s.conn.Query(context.Background(), `SELECT k.i - 1 FROM unnest($2::bigint[], $3::int[]) WITH ORDINALITY k(h, c, i)
		WHERE EXISTS (SELECT 1 FROM import_keys s WHERE s.set = $1 AND s.h = k.h AND s.c = k.c)`, id, hs, cs)
	var held []int
	if err == nil {
		held, err = pgx.CollectRows(rows, pgx.RowTo[int])
	}
	if err != nil {
		s.err = fmt.Errorf("look up spilled keys: %w", err)
	}
	return held
}

// failed is the error that made the spill unusable, if any: the key sets
// may have answered wrongly since, so the run must not commit.
func (s *keySpill) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// close drops the table and gives the connection back; a connection whose
// table could not be dropped is closed instead.
func (s *keySpill) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return
	}
	if _, err := s.conn.Exec(context.Background(), `DROP TABLE import_keys`); err != nil {
		s.conn.Conn().Close(context.Background())
	}
	s.conn.Release()
	s.conn = nil
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
