// Package httpapi is the HTTP layer: routes, authentication, parameters and
// JSON/CSV answers. It stores uploads and enqueues them; workers do the rest.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/metrics"
)

// Server answers the HTTP API.
type Server struct {
	db             *pgxpool.Pool
	log            *slog.Logger
	metrics        *metrics.Metrics
	maxUploadBytes int64
	withAPI        bool
	// limiter is the per-token rate limit (nil: none); see LimitRate.
	limiter *limiter
	// csvBounds are checked while a CSV upload streams in; see BoundCSV.
	csvBounds csvread.Options
	// maxUnzipped and maxZipRatio are checked when a zip upload ends; see BoundZip.
	maxUnzipped int64
	maxZipRatio int
	// MetricsElsewhere drops /metrics from this handler: it is served on a
	// listener of its own (SISIMPORT_METRICS_ADDR).
	MetricsElsewhere bool
	// console is the browser console, mounted at /console (see MountConsole).
	console http.Handler
}

// New makes a Server; without withAPI it serves only the operations routes
// (a worker-only process).
func New(db *pgxpool.Pool, log *slog.Logger, m *metrics.Metrics, maxUploadBytes int64, withAPI bool) *Server {
	return &Server{db: db, log: log, metrics: m, maxUploadBytes: maxUploadBytes, withAPI: withAPI}
}

// BoundCSV makes CSV uploads that go past a bound a 400 (a field too long,
// too many columns) or a 413 (too many rows) before anything is stored.
func (s *Server) BoundCSV(maxFieldBytes, maxColumns, maxRows int) {
	s.csvBounds = csvread.Options{MaxFieldBytes: maxFieldBytes, MaxColumns: maxColumns, MaxRows: maxRows}
}

// BoundZip makes zip uploads whose central directory says they expand past
// maxUnzipped bytes, or have a CSV past maxRatio times its compressed size,
// a 413 before anything is stored.
func (s *Server) BoundZip(maxUnzipped int64, maxRatio int) {
	s.maxUnzipped, s.maxZipRatio = maxUnzipped, maxRatio
}

type ctxKey int

const tokenKey ctxKey = 1

// tokenOf is the authenticated caller of a request behind requireToken.
func tokenOf(r *http.Request) auth.Token {
	t, _ := r.Context().Value(tokenKey).(auth.Token)
	return t
}

// requireToken authenticates the request by its Bearer token or Canvas's
// access_token query parameter (which is never logged), unless it is an
// in-process request that already carries its token (AsToken).
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(tokenKey).(auth.Token); ok {
			next.ServeHTTP(w, r) // in-process (AsToken): its caller authenticated it
			return
		}
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			secret = r.URL.Query().Get("access_token")
		}
		t, err := auth.Authenticate(r.Context(), s.db, strings.TrimSpace(secret))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey, t)))
	})
}

// normalizePath folds Canvas clients' variants of a path: a ".json" suffix
// and a trailing slash are dropped, and a ".csv" suffix asks for CSV.
func normalizePath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasSuffix(p, ".csv") {
			p = strings.TrimSuffix(p, ".csv")
			r.Header.Set("Accept", "text/csv")
		}
		p = strings.TrimSuffix(p, ".json")
		if len(p) > 1 {
			p = strings.TrimRight(p, "/")
		}
		if p != r.URL.Path {
			r.URL.Path, r.URL.RawPath = p, ""
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				rctx.RoutePath = p
			}
		}
		next.ServeHTTP(w, r)
	})
}

var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times requests by route pattern (never by raw path,
// so no label grows without bound) and logs them without the query string,
// which may carry an access_token.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		route := "unmatched"
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePattern() != "" && !strings.HasSuffix(rctx.RoutePattern(), "/*") {
			route = rctx.RoutePattern()
		}
		method := r.Method
		if !knownMethods[method] {
			method = "other"
		}
		elapsed := time.Since(start)
		s.metrics.HTTPRequests.WithLabelValues(method, route, strconv.Itoa(rec.code)).Inc()
		s.metrics.HTTPDuration.WithLabelValues(method, route).Observe(elapsed.Seconds())
		if route != "/healthz" && route != "/metrics" {
			s.log.Debug("http", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.code), slog.Duration("elapsed", elapsed))
		}
	})
}
