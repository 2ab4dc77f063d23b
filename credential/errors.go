package credential

import "errors"

// The errors of the package; server/problem gives each its status.
var (
	// ErrInvalid is a credential or request that does not hold together
	// (400).
	ErrInvalid = errors.New("credential: invalid")
	// ErrTooLarge is a credential over the size or statement limits (413).
	ErrTooLarge = errors.New("credential: too large")
	// ErrNotFound is an unknown credential (404).
	ErrNotFound = errors.New("credential: not found")
	// ErrForbidden is an agent acting on a credential or a resource it
	// may not (403).
	ErrForbidden = errors.New("credential: not allowed")
	// ErrUnauthenticated is an anonymous agent where one is needed (401).
	ErrUnauthenticated = errors.New("credential: authentication needed")
	// ErrTooMany is a party that has reached a bound on its live
	// credentials (429).
	ErrTooMany = errors.New("credential: too many live credentials")
	// ErrProof is a proof that does not verify with a key of this issuer.
	ErrProof = errors.New("credential: proof does not verify")
)
