package ldp

import (
	"errors"
	"strings"
)

// The errors of this package, wrapped with context. storage.ErrNotFound,
// storage.ErrPreconditionFailed and storage.ErrConflict are used as they
// are, and the rdfx errors pass through.
var (
	// ErrUnsupportedMediaType means the body's media type cannot be stored
	// or applied as asked (415).
	ErrUnsupportedMediaType = errors.New("ldp: unsupported media type")
	// ErrNotAcceptable means no representation matches the Accept header
	// (406).
	ErrNotAcceptable = errors.New("ldp: no acceptable representation")
	// ErrTooLarge means an RDF body is larger than the configured limits
	// (413).
	ErrTooLarge = errors.New("ldp: RDF document too large")
	// ErrInvalidPatch means an N3 Patch breaks the rules of Solid Protocol
	// §5.3.1 "Modifying Resources Using N3 Patches" (422).
	ErrInvalidPatch = errors.New("ldp: invalid N3 patch")
	// ErrNotModified means a conditional GET or HEAD found the client's copy
	// current (304).
	ErrNotModified = errors.New("ldp: not modified")
)

// NotModifiedError is a conditional GET or HEAD that found the client's
// copy current (304). It carries what a 304 response must still send (RFC
// 9110 §15.4.5: the ETag and the other headers a 200 would have sent): the
// representation's metadata, without a body. It unwraps to ErrNotModified.
type NotModifiedError struct {
	Rep Representation
}

func (e *NotModifiedError) Error() string {
	return "ldp: " + string(e.Rep.Path) + " not modified"
}

// Unwrap returns ErrNotModified.
func (e *NotModifiedError) Unwrap() error { return ErrNotModified }

// notModified turns ErrNotModified from the conditions of rep into a
// *NotModifiedError carrying rep's validators; other errors pass.
func notModified(err error, rep *Representation) error {
	if errors.Is(err, ErrNotModified) {
		m := *rep
		m.Body = nil
		return &NotModifiedError{Rep: m}
	}
	return err
}

// BadRequestError is a request the server cannot make sense of (400), with
// a short reason for the client.
type BadRequestError struct {
	Reason string
	Err    error
}

func (e *BadRequestError) Error() string {
	if e.Err != nil {
		return "ldp: bad request: " + e.Reason + ": " + e.Err.Error()
	}
	return "ldp: bad request: " + e.Reason
}

// Unwrap returns the underlying error, if any.
func (e *BadRequestError) Unwrap() error { return e.Err }

// ConflictError is a request that conflicts with the state of the
// resource (409), with a short reason. It unwraps to storage.ErrConflict's
// peer ErrConflict.
type ConflictError struct {
	Reason string
}

func (e *ConflictError) Error() string { return "ldp: conflict: " + e.Reason }

// MethodNotAllowedError is a method the target does not support (405); Allow
// lists those it does.
type MethodNotAllowedError struct {
	Method string
	Allow  []string
}

func (e *MethodNotAllowedError) Error() string {
	return "ldp: " + e.Method + " not allowed; allowed: " + strings.Join(e.Allow, ", ")
}
