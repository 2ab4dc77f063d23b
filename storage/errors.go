package storage

import (
	"context"
	"errors"
)

// The errors every backend returns, wrapped with context. Test for them with
// errors.Is.
var (
	// ErrNotFound means no object exists at the key.
	ErrNotFound = errors.New("storage: not found")
	// ErrPreconditionFailed means an If-Match or If-None-Match condition did
	// not hold.
	ErrPreconditionFailed = errors.New("storage: precondition failed")
	// ErrInvalidKey means the key breaks the rules of ValidateKey.
	ErrInvalidKey = errors.New("storage: invalid key")
	// ErrInvalidMetadata means user metadata breaks the rules of
	// ValidateMetadata.
	ErrInvalidMetadata = errors.New("storage: invalid metadata")
	// ErrInvalidRange means a requested byte range starts beyond the object.
	ErrInvalidRange = errors.New("storage: invalid range")
	// ErrConflict means the key cannot be written because of the keys around
	// it, for example a backend that cannot hold both "a" and "a/b".
	ErrConflict = errors.New("storage: conflict")
	// ErrUnavailable means the backend could not be reached.
	ErrUnavailable = errors.New("storage: unavailable")
)

// ErrorKind names the sentinel that err wraps, in one word fit for a metric
// label or a trace attribute: "not_found", "precondition_failed",
// "invalid" (key or metadata), "invalid_range", "conflict", "unavailable",
// "canceled" (the context ended), or "other". The set is fixed, so that
// whatever counts by it stays bounded; "" means no error.
func ErrorKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrPreconditionFailed):
		return "precondition_failed"
	case errors.Is(err, ErrInvalidKey), errors.Is(err, ErrInvalidMetadata):
		return "invalid"
	case errors.Is(err, ErrInvalidRange):
		return "invalid_range"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "other"
}
