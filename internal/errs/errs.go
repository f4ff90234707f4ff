// Package errs holds the one error type that crosses package boundaries and
// is mapped to an HTTP status in one place (httpapi).
package errs

import (
	"errors"
	"fmt"
)

// Kind is a small, closed set of failure classes.
type Kind int

// The kinds of Error.
const (
	Internal Kind = iota
	Invalid
	Unauthorized
	Forbidden
	NotFound
	Conflict
	TooLarge
	Unsupported
	Unavailable
	RateLimited
)

// Error is a failure the client may be told about: Message is safe to show.
// Code is a stable machine-readable word (an docs/errors.md code where one fits).
type Error struct {
	Kind    Kind
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// New builds an Error with a formatted message.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// KindOf reports the Kind of err, Internal when err carries no *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// ErrNotFound is the plain "no such object" answer, also for objects outside a token's reach.
var ErrNotFound = &Error{Kind: NotFound, Code: "not_found", Message: "The specified resource does not exist."}
