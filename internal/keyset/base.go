package keyset

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/bits"
	"slices"
	"sort"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
)

// Base is the diffing base of a file (docs/import-rules.md#diffing): per
// key of the base file (user_id for users, course_id for courses, course,
// section, user and role for enrollments), a digest of its row, and whether
// the new file lists it.
//
// A key's position is the number of keyed rows before it in the base.
// While the keys fit the run's budget, they stay in memory, a hash, check,
// position and digest each; past it, they all go to a table in the run's
// key spill, in the order of their positions, and the new file's rows look
// theirs up a batch at a time (a courses file's, a row at a time, as it is
// applied): first among the base's rows that follow the last one found,
// where a file in the base's order finds nearly all of them with one read
// of a range, then one by one by key. Either way, which keys the new file
// listed is one bit a position.
type Base struct {
	key    []string                                             // the columns whose cells key a row
	keyOf  func(cells []string) string                          // a row's key from those cells, "" for none
	open   func(context.Context) (io.ReadCloser, string, error) // the base file and its encoding
	failed map[int]bool                                         // lines of the base that failed there: they are tried again
	seed   maphash.Seed                                         // of the rows' digests
	hseed  maphash.Seed                                         // of the keys' hashes
	cseed  maphash.Seed                                         // of the keys' checks
	rows   int                                                  // the base's keyed rows
	mem    map[uint64]baseEntry                                 // by hash, a key's first row, while they fit
	order  []int64                                              // the hashes in mem, by position, while it loads
	table  string                                               // or the table of all of them
	next   int32                                                // in the table, the position after the last batch's last key found
	ranged int                                                  // in the table, the keys a batch needs to read a range first
	again  []int32                                              // in the table, in order, the rows whose key an earlier move may hold
	spill  *Spill                                               // nil: they stay in memory
	listed []uint64                                             // by position, the keys the new file listed
}

// NewBase is the diffing base of a file that open reads: key are its key
// columns, and keyOf makes a row's key from their cells ("" for a row
// without one); failed are the lines that failed in the base, which are
// tried again. With a spill, its keys move there past the spill's budget;
// a batch of ranged keys or more first reads a range of the base there.
// Load reads it.
func NewBase(open func(context.Context) (io.ReadCloser, string, error), key []string, keyOf func(cells []string) string,
	failed map[int]bool, spill *Spill, ranged int) *Base {
	b := &Base{open: open, key: key, keyOf: keyOf, failed: failed, seed: maphash.MakeSeed(), hseed: maphash.MakeSeed(),
		cseed: maphash.MakeSeed(), mem: map[uint64]baseEntry{}, ranged: ranged}
	if spill != nil && spill.budget > 0 {
		b.spill = spill
	}
	return b
}

// Seed is the seed of the rows' digests: a Digester of the new file takes
// it, so that its digests compare with the base's.
func (b *Base) Seed() maphash.Seed { return b.seed }

// Rows is how many keyed rows the base holds.
func (b *Base) Rows() int { return b.rows }

// baseEntry is a key's first row among those of a diffing base in memory
// (a key may be in more than one COPY to the table; its first row is the
// one of least position).
type baseEntry struct {
	check  uint32
	pos    int32
	digest uint64
}

// each calls fn for every row of the base file that did not fail there
// and has a key, with the key's position.
func (b *Base) each(ctx context.Context, fn func(pos int, key string, keyCells []string, digest uint64) error) error {
	stream, enc, err := b.open(ctx)
	if err != nil {
		return fmt.Errorf("open the diffing base: %w", err)
	}
	defer stream.Close()
	opt := csvread.Options{}
	if enc == "windows-1252" {
		opt.Encoding = csvread.Windows1252
	}
	rd := csvread.NewReader(stream, opt)
	head, err := rd.Read()
	if err != nil {
		return fmt.Errorf("read the diffing base's header: %w", err)
	}
	d := NewDigester(head.Fields, b.seed, b.key)
	for pos := 0; ; {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var rowErr *csvread.RowError
		if errors.As(err, &rowErr) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read the diffing base: %w", err)
		}
		if b.failed[rec.Line] || len(rec.Fields) != len(head.Fields) {
			continue
		}
		cells := d.KeyCells(rec.Fields)
		if key := b.keyOf(cells); key != "" {
			if err := fn(pos, key, cells, d.Digest(rec.Fields)); err != nil {
				return err
			}
			pos++
		}
	}
}

// digester hashes a row by its column names and cells, in name order, so
// that two files with their columns in another order compare equal, and
// reads its key.
type Digester struct {
	order  []int
	names  []string
	keyIdx []int // the key columns' positions, -1 when absent
	seed   maphash.Seed
}

// NewDigester is the digester of the rows under header, whose keys are
// the cells of keyColumns.
func NewDigester(header []string, seed maphash.Seed, keyColumns []string) *Digester {
	cols, _ := csvread.Columns(header)
	d := &Digester{seed: seed}
	for _, c := range keyColumns {
		i, ok := cols[c]
		if !ok {
			i = -1
		}
		d.keyIdx = append(d.keyIdx, i)
	}
	for name := range cols {
		d.names = append(d.names, name)
	}
	sort.Strings(d.names)
	for _, n := range d.names {
		d.order = append(d.order, cols[n])
	}
	return d
}

// KeyCells are the row's key cells, trimmed.
func (d *Digester) KeyCells(fields []string) []string {
	out := make([]string, len(d.keyIdx))
	for i, idx := range d.keyIdx {
		out[i] = strings.TrimSpace(cellAt(fields, idx))
	}
	return out
}

// Digest is the row's digest.
func (d *Digester) Digest(fields []string) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	for i, idx := range d.order {
		h.WriteString(d.names[i])
		h.WriteByte(0)
		h.WriteString(cellAt(fields, idx))
		h.WriteByte(0)
	}
	return h.Sum64()
}

// load reads the base's keys, into memory and, past the budget, into a
// table of the spill: each time memory holds the budget, its keys move
// there while the next ones are read (as a key set's do, but a base is
// looked up only once it is loaded). A key's first row counts: a row whose
// key is in memory already is left out, and one whose key an earlier move
// may hold (by the moves' filters, 3 bytes a key while it loads) is noted,
// so that it is looked up by key, never in a range.
func (b *Base) Load(ctx context.Context) error {
	var moved []keyFilter
	var moving chan error // the move under way, if any
	wait := func() error {
		if moving == nil {
			return nil
		}
		err := <-moving
		moving = nil
		return err
	}
	err := b.each(ctx, func(pos int, key string, _ []string, digest uint64) error {
		b.rows = pos + 1
		h, c := b.hash(key)
		if _, taken := b.mem[h]; taken { // a hash collision keeps the first key
			return nil
		}
		for _, f := range moved {
			if f.mayHold(h, c) {
				b.again = append(b.again, int32(pos))
				break
			}
		}
		b.mem[h] = baseEntry{check: c, pos: int32(pos), digest: digest}
		if b.spill == nil {
			return nil
		}
		if b.order = append(b.order, int64(h)); len(b.mem) < b.spill.budget {
			return nil
		}
		moved = append(moved, filterOf(b.mem, func(e baseEntry) uint32 { return e.check }))
		if err := wait(); err != nil {
			return err
		}
		var err error
		moving, err = b.moveOut()
		return err
	})
	if werr := wait(); err == nil {
		err = werr
	}
	if err == nil && b.table != "" {
		if err = b.spill.writeBase(b.table, b.mem, b.order); err == nil {
			err = b.spill.indexBase(b.table)
		}
		b.mem = nil // all in the table
	}
	b.order = nil
	b.listed = make([]uint64, (b.rows+63)/64)
	return err
}

// moveOut starts moving the keys in memory to the base's table, made on
// the first move, and returns the channel that tells how it ended.
func (b *Base) moveOut() (chan error, error) {
	if b.table == "" {
		table, err := b.spill.newBase()
		if err != nil {
			return nil, err
		}
		b.table = table
	}
	done := make(chan error, 1)
	go func(table string, entries map[uint64]baseEntry, hs []int64) {
		done <- b.spill.writeBase(table, entries, hs)
	}(b.table, b.mem, b.order)
	b.mem, b.order = make(map[uint64]baseEntry, b.spill.budget), make([]int64, 0, b.spill.budget)
	return done, nil
}

func (b *Base) hash(key string) (uint64, uint32) {
	return maphash.String(b.hseed, key), uint32(maphash.String(b.cseed, key))
}

func (b *Base) list(pos int32)           { b.listed[pos/64] |= 1 << (pos % 64) }
func (b *Base) wasListed(pos int32) bool { return b.listed[pos/64]&(1<<(pos%64)) != 0 }

// markBase notes that the new file lists the keys of a batch of its
// items, and calls same for each item whose row equals its key's first
// row in the base. key gives an item's key ("" for none) and its row's
// digest.
func MarkBase[T any](b *Base, items []T, key func(*T) (string, uint64), same func(*T)) error {
	var digests []uint64 // by item, of the keys asked for
	var asks []spillKey
	if b.table != "" {
		digests = make([]uint64, len(items))
	}
	for i := range items {
		k, digest := key(&items[i])
		if k == "" {
			continue
		}
		h, c := b.hash(k)
		if b.table != "" {
			digests[i], asks = digest, append(asks, spillKey{h: int64(h), c: int32(c), item: i})
		} else if e, ok := b.mem[h]; ok && e.check == c {
			b.list(e.pos)
			if e.digest == digest {
				same(&items[i])
			}
		}
	}
	if len(asks) == 0 {
		return nil
	}
	last := -1 // the last item found
	found := func(i int, pos int32, digest uint64) {
		b.list(pos)
		if i > last {
			last, b.next = i, pos+1
		}
		if digests[i] == digest {
			same(&items[i])
		}
	}
	if len(asks) >= b.ranged {
		var err error
		if asks, err = b.inRange(asks, found); err != nil {
			return err
		}
	}
	return b.spill.firstInBase(b.table, asks, found)
}

// inRange looks asks up among the rows of the base's table that follow the
// last one found, as many as there are asks and a few more, and returns
// the asks not found there.
func (b *Base) inRange(asks []spillKey, found func(i int, pos int32, digest uint64)) ([]spillKey, error) {
	rows, err := b.spill.baseRange(b.table, b.next, len(asks)+len(asks)/8+64)
	if err != nil {
		return nil, err
	}
	inRange := make(map[uint64]baseEntry, len(rows))
	for _, r := range rows {
		if _, again := slices.BinarySearch(b.again, r.pos); !again {
			inRange[r.h] = r.baseEntry
		}
	}
	var rest []spillKey
	for _, a := range asks {
		if e, ok := inRange[uint64(a.h)]; ok && e.check == uint32(a.c) {
			found(a.item, e.pos, e.digest)
		} else {
			rest = append(rest, a)
		}
	}
	return rest, nil
}

// mark notes that the new file lists key and reports whether its row
// equals the base's.
func (b *Base) Mark(key string, digest uint64) (same bool, err error) {
	err = MarkBase(b, []string{key}, func(k *string) (string, uint64) { return *k, digest }, func(*string) { same = true })
	return same, err
}

// gone lists the key cells of the base's rows whose keys the new file did
// not list, in the base's order, once each (at the key's first row). It
// reads the base up to its last row not listed, if any.
func (b *Base) Gone(ctx context.Context) ([][]string, error) {
	last := b.lastUnlisted()
	if last < 0 {
		return nil, nil
	}
	var out [][]string
	type unseen struct {
		pos   int32
		cells []string
	}
	var chunk []unseen
	var asks []spillKey
	ask := func() error {
		first := make([]bool, len(chunk))
		err := b.spill.firstInBase(b.table, asks, func(i int, pos int32, _ uint64) { first[i] = pos == chunk[i].pos })
		for i, u := range chunk {
			if first[i] {
				out = append(out, u.cells)
			}
		}
		chunk, asks = chunk[:0], asks[:0]
		return err
	}
	err := b.each(ctx, func(pos int, key string, cells []string, _ uint64) error {
		if pos > last {
			return errReadEnough
		}
		if b.wasListed(int32(pos)) {
			return nil
		}
		h, c := b.hash(key)
		if b.table == "" {
			if e, ok := b.mem[h]; ok && e.check == c && e.pos == int32(pos) {
				out = append(out, cells)
			}
			return nil
		}
		chunk, asks = append(chunk, unseen{int32(pos), cells}), append(asks, spillKey{h: int64(h), c: int32(c), item: len(chunk)})
		if len(chunk) == chunkSize {
			return ask()
		}
		return nil
	})
	if errors.Is(err, errReadEnough) {
		err = nil
	}
	if err == nil && len(chunk) > 0 {
		err = ask()
	}
	return out, err
}

// errReadEnough ends a read of the base that has read what it needed.
var errReadEnough = errors.New("read enough of the diffing base")

// lastUnlisted is the last position the new file did not list, or -1.
func (b *Base) lastUnlisted() int {
	for i := len(b.listed) - 1; i >= 0; i-- {
		Unlisted := ^b.listed[i]
		if n := b.rows - 64*i; n < 64 {
			Unlisted &= 1<<n - 1 // past the last row
		}
		if Unlisted != 0 {
			return 64*i + 63 - bits.LeadingZeros64(Unlisted)
		}
	}
	return -1
}

// cellAt is the cell at idx, "" when the row has none there.
func cellAt(fields []string, idx int) string {
	if idx < 0 || idx >= len(fields) {
		return ""
	}
	return fields[idx]
}
