package storage

import "errors"

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
