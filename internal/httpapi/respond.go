package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/sisimport/sisimport/internal/errs"
)

// status maps each error kind to its HTTP status (docs/api.md#error-responses).
var status = map[errs.Kind]int{
	errs.Internal:     http.StatusInternalServerError,
	errs.Invalid:      http.StatusBadRequest,
	errs.Unauthorized: http.StatusUnauthorized,
	errs.Forbidden:    http.StatusForbidden,
	errs.NotFound:     http.StatusNotFound,
	errs.Conflict:     http.StatusConflict,
	errs.TooLarge:     http.StatusRequestEntityTooLarge,
	errs.Unsupported:  http.StatusUnsupportedMediaType,
	errs.Unavailable:  http.StatusServiceUnavailable,
	errs.RateLimited:  http.StatusForbidden,
}

type errorBody struct {
	Errors []errorItem `json:"errors"`
}

type errorItem struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError is the one place that answers a failed request. Internal errors
// are logged with their detail and shown as "internal error" only.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *errs.Error
	if !errors.As(err, &e) {
		if isUnavailable(err) {
			e = errs.New(errs.Unavailable, "unavailable", "The database is unavailable; try again shortly.")
		} else if r.Context().Err() != nil {
			// The client hung up (an upload cut off): nothing of ours failed.
			s.log.InfoContext(r.Context(), "request abandoned by the client", slog.String("method", r.Method),
				slog.String("path", r.URL.Path))
			e = errs.New(errs.Invalid, "malformed_request", "the request was cut off")
		} else {
			s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.Any("err", err))
			e = errs.New(errs.Internal, "internal_error", "internal error")
		}
	}
	if (e.Kind == errs.Unavailable || e.Kind == errs.RateLimited) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status[e.Kind], errorBody{Errors: []errorItem{{Message: e.Message, Code: e.Code}}})
}
