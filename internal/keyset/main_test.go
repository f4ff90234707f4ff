package keyset

import (
	"testing"

	"github.com/sisimport/sisimport/internal/pgtest"
)

// TestMain gives the tests that need one a PostgreSQL of their own.
func TestMain(m *testing.M) { pgtest.Main(m) }
