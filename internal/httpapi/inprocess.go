package httpapi

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/auth"
)

// AsToken makes ctx the context of an in-process API request on behalf of
// t, which the caller has authenticated (internal/console, by its session).
// requireToken takes the token as given, and the API applies its own
// roles, reach and rules to it, as to a request with that token. Only code
// in this binary can set it: no header or parameter reaches it.
// The request starts routing afresh, outside any router it came through.
func AsToken(ctx context.Context, t auth.Token) context.Context {
	ctx = context.WithValue(ctx, chi.RouteCtxKey, nil)
	return context.WithValue(ctx, tokenKey, t)
}

// MountConsole serves h at /console, beside the API (docs/console.md).
func (s *Server) MountConsole(h http.Handler) {
	s.console = h
}
