package importer

import "hash/maphash"

// keySet remembers which keys a file has shown, and on which line, for
// duplicate_in_file. It keeps 16 bytes a key instead of the key itself, so a
// million-row file costs tens of megabytes, not the text of every row: a key
// is its 64-bit hash plus a second, independent 32-bit check, so two
// different keys are taken for one only with a chance of about 2^-96 a pair.
type keySet struct {
	seed, check maphash.Seed
	m           map[uint64]keyEntry
}

type keyEntry struct {
	line  int32
	check uint32
}

func newKeySet() *keySet {
	return &keySet{seed: maphash.MakeSeed(), check: maphash.MakeSeed(), m: map[uint64]keyEntry{}}
}

// lookup reports the line that showed key, if any (a key only listed
// does not count).
func (k *keySet) lookup(key string) (line int, ok bool) {
	e, found := k.m[maphash.String(k.seed, key)]
	if found && e.check == uint32(maphash.String(k.check, key)) && e.line >= 0 {
		return int(e.line), true
	}
	return 0, false
}

// list records that the file names key, on a row that may fail: listed,
// for removal of what the file does not list, but not seen, for
// duplicate_in_file. One set serves both, so a listed key costs nothing
// more. Positions are never negative: a listed-only entry keeps -1-pos.
func (k *keySet) list(key string, pos int) {
	h := maphash.String(k.seed, key)
	if _, ok := k.m[h]; !ok {
		k.m[h] = keyEntry{line: int32(-1 - pos), check: uint32(maphash.String(k.check, key))}
	}
}

// listed reports whether the file listed or showed key.
func (k *keySet) listed(key string) bool {
	e, found := k.m[maphash.String(k.seed, key)]
	return found && e.check == uint32(maphash.String(k.check, key))
}

// add records key on line and reports the line that showed it first, if any.
func (k *keySet) add(key string, line int) (first int, dup bool) {
	h := maphash.String(k.seed, key)
	c := uint32(maphash.String(k.check, key))
	if e, ok := k.m[h]; ok && e.check == c {
		if e.line < 0 { // listed only: now seen
			k.m[h] = keyEntry{line: int32(line), check: c}
			return 0, false
		}
		return int(e.line), true
	}
	// A hash collision without a matching check keeps the first entry: the
	// later key is then never reported as a duplicate of anything.
	if _, ok := k.m[h]; !ok {
		k.m[h] = keyEntry{line: int32(line), check: c}
	}
	return 0, false
}
