package keyset

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// TestDiffBaseSpills reads the same base in memory and, with a budget of
// two keys, into a table of the spill: a key's first row counts, a row
// that failed in the base is left out, and a key dropped is dropped once.
func TestDiffBaseSpills(t *testing.T) {
	pool, _ := pgtest.New(t)
	const base = "user_id,name\nU1,a\nU2,b\nU3,c\nU1,again\nU4,d\nU5,e\nU6,f\n" // U5, on line 7, failed there
	load := func(t *testing.T, db *pgxpool.Pool, budget int) (*Base, error) {
		open := func(context.Context) (io.ReadCloser, string, error) {
			return io.NopCloser(strings.NewReader(base)), "utf-8", nil
		}
		spill := NewSpill(t.Context(), db, budget)
		t.Cleanup(spill.Close)
		b := NewBase(open, []string{"user_id"}, func(c []string) string { return c[0] }, map[int]bool{7: true}, spill, 1)
		return b, b.Load(t.Context())
	}
	for _, budget := range []int{0, 2, 4} {
		t.Run(fmt.Sprintf("budget %d", budget), func(t *testing.T) {
			b, err := load(t, pool, budget)
			if err != nil {
				t.Fatal(err)
			}
			if spilled := b.table != ""; spilled != (budget > 0) || b.rows != 6 {
				t.Fatalf("table %q, %d rows: want a table with a budget, and 6 rows", b.table, b.rows)
			}
			d := NewDigester([]string{"name", "user_id"}, b.Seed(), []string{"user_id"})
			type item struct{ key, name string }
			var same []string
			mark := func(items ...item) {
				t.Helper()
				err := MarkBase(b, items, func(it *item) (string, uint64) { return it.key, d.Digest([]string{it.name, it.key}) },
					func(it *item) { same = append(same, it.key) })
				if err != nil {
					t.Fatal(err)
				}
			}
			// The second batch reads the rows after U1's first: U1's second
			// row is among them, but U1's first row counts.
			mark(item{"U1", "a"})
			mark(item{"U2", "B"}, item{"U6", "f"}, item{"U7", "x"}, item{"U5", "e"}, item{"U1", "a"})
			if !slices.Equal(same, []string{"U1", "U6", "U1"}) {
				t.Errorf("rows as in the base: %v, want [U1 U6 U1] (U1's first row; U5 failed there)", same)
			}
			if gone := goneIDs(t, b); !slices.Equal(gone, []string{"U3", "U4"}) {
				t.Errorf("gone: %v, want [U3 U4]", gone)
			}
			fresh, err := load(t, pool, budget)
			if err != nil {
				t.Fatal(err)
			}
			if gone := goneIDs(t, fresh); !slices.Equal(gone, []string{"U1", "U2", "U3", "U4", "U6"}) {
				t.Errorf("gone when nothing is listed: %v, want each key once, in the base's order", gone)
			}
		})
	}

	// A spill that ends after the base loaded fails its lookups.
	b, err := load(t, pool, 2)
	if err != nil {
		t.Fatal(err)
	}
	b.spill.Close()
	if _, err := b.Mark("U1", 0); err == nil {
		t.Error("a lookup in a closed spill gave no error")
	}
	if _, err := b.Gone(t.Context()); err == nil {
		t.Error("drops from a closed spill gave no error")
	}

	// A base whose spill cannot write fails to load.
	if _, err := load(t, nowhere(t, pool), 2); err == nil {
		t.Error("a base spilled to a database that does not exist loaded")
	}
}

func goneIDs(t *testing.T, b *Base) []string {
	t.Helper()
	gone, err := b.Gone(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, cells := range gone {
		ids = append(ids, cells[0])
	}
	return ids
}

func TestLastUnlisted(t *testing.T) {
	for _, rows := range []int{1, 63, 64, 65, 130} {
		b := &Base{rows: rows, listed: make([]uint64, (rows+63)/64)}
		if got := b.lastUnlisted(); got != rows-1 {
			t.Errorf("%d rows, none listed: %d, want %d", rows, got, rows-1)
		}
		for p := range rows {
			b.list(int32(p))
		}
		if got := b.lastUnlisted(); got != -1 {
			t.Errorf("%d rows, all listed: %d, want -1", rows, got)
		}
		b.listed[0] &^= 1
		if got := b.lastUnlisted(); got != 0 {
			t.Errorf("%d rows, all but the first listed: %d, want 0", rows, got)
		}
	}
}
