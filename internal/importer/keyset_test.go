package importer

import "testing"

// TestKeySetListsAndSees checks that a key only listed (on a row that
// failed) counts for removal but not for duplicate_in_file.
func TestKeySetListsAndSees(t *testing.T) {
	k := newKeySet()
	k.list("A", 2)
	if _, ok := k.lookup("A"); ok || !k.listed("A") {
		t.Fatalf("a listed key: lookup %v, listed %v", ok, k.listed("A"))
	}
	if first, dup := k.add("A", 3); dup {
		t.Fatalf("a key listed by a failed row, then seen: a duplicate of line %d", first)
	}
	if first, dup := k.add("A", 4); !dup || first != 3 {
		t.Fatalf("a key seen twice: dup %v, first %d, want line 3", dup, first)
	}
	k.list("A", 5)
	if first, _ := k.lookup("A"); first != 3 {
		t.Fatalf("listing a seen key changed its line to %d", first)
	}
	if k.listed("B") {
		t.Fatal("an unknown key is listed")
	}
}
