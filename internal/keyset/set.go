package keyset

import "hash/maphash"

// keySet remembers which keys a file has shown, and on which line, for
// duplicate_in_file. It keeps 16 bytes a key instead of the key itself: a
// key is its 64-bit hash plus a second, independent 32-bit check, so two
// different keys are taken for one only with a chance of about 2^-96 a pair.
//
// Past the spill's budget, the set moves its entries to a table in
// PostgreSQL (keySpill) and keeps of them only a filter of 3 bytes a key
// that says which keys may be there, so its memory grows by those 3 bytes
// a key, not 35. A key a filter may hold is looked up in that table: the
// keys that are, and about one in ten thousand of the others. The move runs
// in the background, while the rows go on; until it is done, its entries
// are looked up in memory.
type Set struct {
	seed, check maphash.Seed
	m           map[uint64]keyEntry
	spill       *Spill      // nil: everything stays in memory
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

// chunkSize is how many keys are asked of PostgreSQL at a time.
const chunkSize = 5000

// New makes a key set that keeps every key in memory; a spill's NewSet
// makes one that moves its keys there past the spill's budget.
func New() *Set {
	return &Set{seed: maphash.MakeSeed(), check: maphash.MakeSeed(), m: map[uint64]keyEntry{}}
}

func (k *Set) hash(key string) (uint64, uint32) {
	return maphash.String(k.seed, key), uint32(maphash.String(k.check, key))
}

// inMemory looks a key up in memory and among the entries of a move not
// yet settled, done or not, failed or not.
func (k *Set) inMemory(h uint64, c uint32) (keyEntry, bool) {
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
func (k *Set) find(key string) (h uint64, c uint32, e keyEntry, ok bool) {
	h, c = k.hash(key)
	k.settle(false) // a finished move leaves memory
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
func (k *Set) Lookup(key string) (line int, ok bool) {
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
func (k *Set) List(key string, pos int) {
	h, c, _, found := k.find(key)
	if _, taken := k.m[h]; !found && !taken {
		k.put(h, keyEntry{line: int32(-1 - pos), check: c})
	}
}

// listed reports whether the file listed or showed key.
func (k *Set) Listed(key string) bool {
	_, _, _, found := k.find(key)
	return found
}

// notListed returns the items whose key the set does not list (an item
// whose key is nil counts as not listed), asking each table once for all the keys its filter may hold.
func NotListed[T any](k *Set, items []T, key func(T) *string) []T {
	k.settle(false) // before asks is sized from k.spilled
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

// unlisted gathers the items whose key a set does not list as they come,
// a chunk at a time, so that the keys moved to PostgreSQL are asked for
// together (a nil set lists nothing).
type Unlisted[T any] struct {
	set   *Set
	key   func(T) *string
	chunk []T
	found []T
}

// NewUnlisted gathers the items whose key, as key gives it, set does not
// list.
func NewUnlisted[T any](set *Set, key func(T) *string) *Unlisted[T] {
	return &Unlisted[T]{set: set, key: key}
}

// Add takes an item.
func (u *Unlisted[T]) Add(it T) {
	if u.chunk = append(u.chunk, it); len(u.chunk) == chunkSize {
		u.flush()
	}
}

func (u *Unlisted[T]) flush() {
	if u.set != nil {
		u.chunk = NotListed(u.set, u.chunk, u.key)
	}
	u.found = append(u.found, u.chunk...)
	u.chunk = u.chunk[:0]
}

// Items are the items not listed, once every one was added.
func (u *Unlisted[T]) Items() []T {
	u.flush()
	return u.found
}

// add records key on line and reports the line that showed it first, if any.
func (k *Set) Add(key string, line int) (first int, dup bool) {
	h, c, e, found := k.find(key)
	if found {
		if e.line < 0 { // listed only: now seen (in memory, over what a table holds)
			k.put(h, keyEntry{line: int32(line), check: c})
			return 0, false
		}
		return int(e.line), true
	}
	// A hash collision without a matching check keeps the first entry while
	// it is in memory: the later key is then never reported as a duplicate
	// of anything. Once the first has moved, both are kept.
	if _, taken := k.m[h]; !taken {
		k.put(h, keyEntry{line: int32(line), check: c})
	}
	return 0, false
}

// put stores an entry in memory and, when memory reaches the budget,
// starts moving it to the spill (once the move before it has ended). Once
// the spill has failed or closed, new entries stay in memory, and what
// earlier moves wrote is no longer found: the run fails, or has ended.
func (k *Set) put(h uint64, e keyEntry) {
	k.m[h] = e
	if k.spill == nil || len(k.m) < k.spill.budget {
		return
	}
	if k.settle(true); !k.spill.begin() {
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
		mv.to.filter = filterOf(mv.m, func(e keyEntry) uint32 { return e.check })
	}()
}

// settle ends a move that is done (with wait, once it is): its table and
// filter join the set's, and its entries leave memory. A move that failed
// gives its entries back to memory; the run fails on the spill's error.
// Callers settle before they size anything from k.spilled (find and
// notListed first thing, put at the budget); a move not yet settled is
// still found in k.moving.
func (k *Set) settle(wait bool) {
	mv := k.moving
	if mv == nil {
		return
	}
	if wait {
		<-mv.done
	} else {
		select {
		case <-mv.done:
		default:
			return
		}
	}
	k.moving = nil
	if mv.err == nil {
		k.spilled = append(k.spilled, mv.to)
		return
	}
	for h, e := range mv.m {
		if _, newer := k.m[h]; !newer {
			k.m[h] = e
		}
	}
}
