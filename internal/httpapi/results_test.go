package httpapi

import (
	"slices"
	"testing"
)

// TestOriginalRowKeepsTheColumns: a failed row comes back under its file's
// header with its error in the column after it, whatever its width was.
func TestOriginalRowKeepsTheColumns(t *testing.T) {
	s := func(v string) *string { return &v }
	cases := []struct {
		name    string
		rowInfo *string
		want    []string
	}{
		{"as wide as the header", s(`P1,p1,"Ann, B",active`), []string{"P1", "p1", "Ann, B", "active", "bad"}},
		{"shorter", s("P2,p2"), []string{"P2", "p2", "", "", "bad"}},
		{"wider: the surplus after the error", s("P3,p3,Cy,active,extra"), []string{"P3", "p3", "Cy", "active", "bad", "extra"}},
		{"not split by the reader", nil, []string{"", "", "", "", "bad"}},
	}
	for _, c := range cases {
		if got := originalRow(4, c.rowInfo, "bad"); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
