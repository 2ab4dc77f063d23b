package fetch

import (
	"errors"
	"fmt"
)

// Errors of a fetch, found with errors.Is through the *url.Error that
// net/http wraps them in.
var (
	// ErrAddressNotAllowed means a connection would go to an address that
	// is not public (loopback, private, link-local, metadata, ...) and that
	// Config.Allow does not list.
	ErrAddressNotAllowed = errors.New("fetch: address not allowed")
	// ErrScheme means a URL, or a redirect, is not http or https.
	ErrScheme = errors.New("fetch: only http and https URLs are fetched")
	// ErrTooLarge means a response body is larger than Config.MaxBodyBytes.
	ErrTooLarge = errors.New("fetch: response body too large")
	// ErrTooManyRedirects means more than Config.MaxRedirects redirects.
	ErrTooManyRedirects = errors.New("fetch: too many redirects")
)

// StatusError is a response whose status is not 2xx.
type StatusError struct {
	URL        string
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("fetch: GET %s: status %d", e.URL, e.StatusCode)
}
