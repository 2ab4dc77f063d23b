// Package problem is the one place where an error becomes an HTTP status:
// Classify maps every error a handler of the HTTP front may return (the
// sentinels and struct errors of ldp, acl, storage, webid, the account
// store and notify, and the few request errors declared here) to a
// Problem, its status, headers and the reason told to the client.
//
// Package server writes the Problem (its error responder: logging with
// the request id, WWW-Authenticate, text or JSON bodies); the audiences'
// subpackages (server/account, server/oidc, ...) return errors and never
// choose a status of their own for them. They all import problem, and
// problem imports none of them: it may import echo (for echo's own
// errors) and the domain packages whose errors it knows, never server or
// a sibling. To teach Kluis a new error, add a case to Classify.
package problem
