package keyset

import (
	"context"
	"fmt"
	"hash/maphash"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// TestKeySetListsAndSees checks that a key only listed (on a row that
// failed) counts for removal but not for duplicate_in_file.
func TestKeySetListsAndSees(t *testing.T) {
	k := New()
	k.List("A", 2)
	if _, ok := k.Lookup("A"); ok || !k.Listed("A") {
		t.Fatalf("a listed key: lookup %v, listed %v", ok, k.Listed("A"))
	}
	if first, dup := k.Add("A", 3); dup {
		t.Fatalf("a key listed by a failed row, then seen: a duplicate of line %d", first)
	}
	if first, dup := k.Add("A", 4); !dup || first != 3 {
		t.Fatalf("a key seen twice: dup %v, first %d, want line 3", dup, first)
	}
	k.List("A", 5)
	if first, _ := k.Lookup("A"); first != 3 {
		t.Fatalf("listing a seen key changed its line to %d", first)
	}
	if k.Listed("B") {
		t.Fatal("an unknown key is listed")
	}
}

// TestKeySetSpills checks that a key set past its budget answers as one
// kept whole in memory: duplicates name the first line, a listed key seen
// later is not a duplicate, and the entries left in memory stay under the
// budget.
func TestKeySetSpills(t *testing.T) {
	pool, _ := pgtest.New(t)
	sp := NewSpill(t.Context(), pool, 3)
	k := New()
	k.spill = sp
	for i := range 10 {
		if _, dup := k.Add(fmt.Sprintf("A%d", i), i+1); dup {
			t.Fatalf("A%d: a duplicate on first sight", i)
		}
	}
	k.List("B", 20)
	for i := range 5 {
		k.Add(fmt.Sprintf("C%d", i), 21+i)
	}
	if len(k.spilled) == 0 || len(k.m) >= sp.budget {
		t.Fatalf("%d tables, %d entries in memory: nothing spilled", len(k.spilled), len(k.m))
	}
	if first, dup := k.Add("A0", 40); !dup || first != 1 {
		t.Errorf("A0 again: dup %v, first %d, want line 1 (from the spill)", dup, first)
	}
	if line, ok := k.Lookup("A5"); !ok || line != 6 {
		t.Errorf("lookup A5: %d %v, want line 6", line, ok)
	}
	if _, ok := k.Lookup("B"); ok || !k.Listed("B") {
		t.Errorf("B, only listed: lookup %v, listed %v", ok, k.Listed("B"))
	}
	if _, dup := k.Add("B", 41); dup {
		t.Error("B, listed by a failed row and spilled, then seen: a duplicate")
	}
	for i := range 5 { // B's seen entry joins its listed one in the spill
		k.Add(fmt.Sprintf("D%d", i), 50+i)
	}
	if first, dup := k.Add("B", 60); !dup || first != 41 {
		t.Errorf("B seen twice: dup %v, first %d, want line 41", dup, first)
	}
	if k.Listed("nowhere") {
		t.Error("an unknown key is listed")
	}
	keys := []string{"A3", "B", "nowhere", "C4", "D4", "A9"}
	if got := NotListed(k, keys, func(s string) *string { return &s }); len(got) != 1 || got[0] != "nowhere" {
		t.Errorf("not listed among %v: %v, want [nowhere]", keys, got)
	}
	if err := sp.Failed(); err != nil {
		t.Fatal(err)
	}

	sp.Close()
	// A stage that outlives its run finds nothing more in the spill, and
	// opens no connection.
	for i := range 5 {
		k.Add(fmt.Sprintf("F%d", i), 70+i)
	}
	if _, ok := k.Lookup("A5"); ok || sp.conn != nil {
		t.Errorf("after close: A5 found %v, connection %v", ok, sp.conn)
	}

	// A spill that cannot write keeps the entries in memory and fails the run.
	broken := NewSpill(t.Context(), nowhere(t, pool), 2)
	defer broken.Close()
	k = New()
	k.spill = broken
	for i := range 4 {
		k.Add(fmt.Sprintf("E%d", i), i+1)
	}
	if broken.Failed() == nil {
		t.Fatal("a spill to a database that does not exist reported no error")
	}
	if first, dup := k.Add("E0", 9); !dup || first != 1 {
		t.Errorf("after a failed spill, E0 again: dup %v, first %d, want line 1", dup, first)
	}
}

// TestKeyFilterFalsePositives checks the filter never misses a key it holds
// and wrongly holds few others.
func TestKeyFilterFalsePositives(t *testing.T) {
	const n = 100_000
	k := New()
	f := newKeyFilter(n)
	hc := func(key string) (uint64, uint32) {
		return maphash.String(k.seed, key), uint32(maphash.String(k.check, key))
	}
	for i := range n {
		f.add(hc(strconv.Itoa(i)))
	}
	wrong := 0
	for i := range n {
		if !f.mayHold(hc(strconv.Itoa(i))) {
			t.Fatalf("key %d added but not held", i)
		}
		if f.mayHold(hc("x" + strconv.Itoa(i))) {
			wrong++
		}
	}
	if wrong > n/5000 {
		t.Errorf("%d of %d absent keys may be held: more than 0.02%%", wrong, n)
	}
	t.Logf("false positives: %d of %d", wrong, n)
}

// nowhere is a pool like pool's, to a database that does not exist: the
// spills that use it cannot connect.
func nowhere(t *testing.T, pool *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	cfg := pool.Config().Copy()
	cfg.ConnConfig.Database = "no_such_database"
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
