package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestIsUnavailable tells a database that is away, which answers 503 with
// Retry-After, from a bug of ours, which answers 500.
func TestIsUnavailable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("authenticate: %w", io.ErrUnexpectedEOF), true}, // the server killed mid-answer
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "57P02"}, true},
		{&pgconn.PgError{Code: "57P03"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{context.DeadlineExceeded, true},
		{&pgconn.PgError{Code: "23505"}, false}, // a unique violation is ours to answer
		{errors.New("a bug"), false},
	}
	for _, c := range cases {
		if got := isUnavailable(c.err); got != c.want {
			t.Errorf("isUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
