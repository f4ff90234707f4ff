package httpapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sisimport/sisimport/internal/postgres"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the database answers and its schema is the one
// this binary was built for.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var version int64
	var dirty bool
	err := s.db.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations`).Scan(&version, &dirty)
	if err != nil {
		// Load balancers and clients alike may come back shortly.
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	want, _ := postgres.LatestVersion()
	if dirty || uint(version) != want {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "schema not current", "version": version, "want": want})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "schema_version": version})
}

// isUnavailable tells a database that is away from a bug of ours.
func isUnavailable(err error) bool {
	var netErr net.Error
	var connErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect
		// now, 08xxx connection exceptions.
		return pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" || pgErr.Code[:2] == "08"
	}
	// A server killed mid-answer leaves the connection at an end of file.
	return errors.As(err, &netErr) || errors.As(err, &connErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
