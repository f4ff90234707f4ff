package httpapi

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/auth"
)

// inProcessKey carries the token of a request that the console makes to
// the API in-process for a signed-in session: the API then applies its own
// roles, reach and rules to it, as to a request with that token.
const inProcessKey ctxKey = 2

// AsToken makes ctx the context of an in-process API request on behalf of
// t, which the caller has authenticated (internal/console, by its session).
// Only code in this binary can set it: no header or parameter reaches it.
// The request starts routing afresh, outside any router it came through.
func AsToken(ctx context.Context, t auth.Token) context.Context {
	ctx = context.WithValue(ctx, chi.RouteCtxKey, nil)
	return context.WithValue(ctx, inProcessKey, t)
}

// MountConsole serves h at /console, beside the API (docs/console.md).
func (s *Server) MountConsole(h http.Handler) {
	s.console = h
}
