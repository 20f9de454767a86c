package hashdrop

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that transports can map it to a status without
// inspecting messages. The set is small and stable on purpose.
type Kind string

// The error kinds. httpapi maps each to exactly one HTTP status.
const (
	KindInvalid         Kind = "invalid"         // 400: malformed or unacceptable input
	KindUnauthenticated Kind = "unauthenticated" // 401: missing, wrong or expired credentials
	KindForbidden       Kind = "forbidden"       // 403
	KindNotFound        Kind = "not_found"       // 404
	KindConflict        Kind = "conflict"        // 409: e.g. an ambiguous ID prefix
	KindQuotaExceeded   Kind = "quota_exceeded"  // 403: the caller's own quota is spent
	KindTooLarge        Kind = "too_large"       // 413
	KindRateLimited     Kind = "rate_limited"    // 429
	KindUnavailable     Kind = "unavailable"     // 503: e.g. the global quota is spent
	KindInternal        Kind = "internal"        // 500: never shown to the client in detail
)

// Error is the one error type of the domain. Message is safe to show to the
// client; Err (if any) is the internal cause and is only logged.
type Error struct {
	Kind    Kind
	Message string
	Err     error
	// RetryAfter, when non-zero, tells a rate-limited client when to come back
	// (in seconds).
	RetryAfter int
}

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return e.Message + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	default:
		return e.Message
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a client-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure. The cause is logged, never shown.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Message: "internal error", Err: err}
}

// ErrorKind returns the kind of the first *Error in err's chain, or
// KindInternal for any other non-nil error.
func ErrorKind(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorMessage returns the client-safe message of err: the Message of the
// first *Error in its chain, or "internal error" for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// IsKind reports whether err carries the given kind.
func IsKind(err error, kind Kind) bool { return ErrorKind(err) == kind }
