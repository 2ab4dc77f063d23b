package account

import (
	"errors"
	"fmt"
	"time"
)

// The errors of this package, wrapped with context; test for them with
// errors.Is. Storage errors (storage.ErrUnavailable...) pass through.
var (
	// ErrNotFound means no such account, client credential or WebID link.
	ErrNotFound = errors.New("account: not found")
	// ErrBadCredentials means the e-mail address and password do not
	// match an account, or the old password given to change it is wrong.
	// It does not tell which.
	ErrBadCredentials = errors.New("account: invalid e-mail address or password")
	// ErrNoSession means a session token is unknown, expired or ended.
	ErrNoSession = errors.New("account: no such session")
	// ErrEmailTaken means another account already logs in with the
	// address.
	ErrEmailTaken = errors.New("account: e-mail address already in use")
	// ErrLoginExists means the account already has its password login
	// (Kluis keeps one per account).
	ErrLoginExists = errors.New("account: the account already has a password login")
	// ErrNoLogin means the account has no login method yet, which
	// creating a pod needs, or that its only one cannot be removed.
	ErrNoLogin = errors.New("account: an account needs at least 1 login method")
	// ErrAlreadyLinked means the WebID is already linked to the account.
	ErrAlreadyLinked = errors.New("account: WebID already linked to this account")
	// ErrNotLinked means the WebID is not linked to the account.
	ErrNotLinked = errors.New("account: WebID not linked to this account")
	// ErrTooMany means the account holds as many WebIDs, pods or client
	// credentials as it may.
	ErrTooMany = errors.New("account: limit reached")
	// ErrResetInvalid means a password reset token is unknown, used
	// already, expired, or made for a password that has changed since.
	ErrResetInvalid = errors.New("account: the password reset link is invalid, used or expired")
	// ErrInvalidInput is unwrapped from every *InputError.
	ErrInvalidInput = errors.New("account: invalid input")
	// ErrRateLimited is unwrapped from every *RateLimitedError.
	ErrRateLimited = errors.New("account: too many attempts")
	// ErrProofRequired is unwrapped from every *ProofRequiredError.
	ErrProofRequired = errors.New("account: proof of WebID control required")
)

// InputError is input that breaks a rule: a weak password, a malformed
// e-mail address or WebID. Field names the input, Reason says what is
// wrong in words for the person who typed it.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string { return "account: " + e.Field + ": " + e.Reason }

// Unwrap returns ErrInvalidInput.
func (e *InputError) Unwrap() error { return ErrInvalidInput }

// RateLimitedError is an attempt refused because too many came before it
// from the same client address or for the same account. RetryAfter is
// when the next attempt may succeed.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("account: too many attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// ProofRequiredError asks the owner of a WebID outside the account's pods
// to prove control of it, as the Community Solid Server does: add Triple
// to the WebID's profile document, then link again. Err, when set, is why
// the document could not be checked.
type ProofRequiredError struct {
	WebID string
	// Token is the random value of the triple.
	Token string
	// Triple is the N-Triples line to add:
	// <webid> <http://www.w3.org/ns/solid/terms#oidcIssuerRegistrationToken> "token".
	Triple string
	// Expires is when the token stops being accepted.
	Expires time.Time
	Err     error
}

func (e *ProofRequiredError) Error() string {
	msg := "Verification token not found. Please add the RDF triple " + e.Triple +
		" to the WebID document at " + documentOf(e.WebID) +
		" to prove it belongs to you. You can remove this triple again after validation."
	if e.Err != nil {
		msg += " (The document could not be checked: " + e.Err.Error() + ")"
	}
	return msg
}

// Unwrap returns ErrProofRequired.
func (e *ProofRequiredError) Unwrap() error { return ErrProofRequired }
