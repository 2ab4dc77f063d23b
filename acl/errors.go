package acl

import (
	"errors"
	"fmt"
)

// The errors acl returns, wrapped with context. Test for them with
// errors.Is.
var (
	// ErrNoACL means a resource has no ACL resource of its own (WAC 1.0
	// §5.1: its ACL resource "does not have a representation"). A Source
	// returns it, wrapped, from ACLVersion and ReadACL; the Evaluator then
	// looks at the container above.
	ErrNoACL = errors.New("acl: no ACL resource")
	// ErrInvalidACL means an ACL document cannot be used: it is not
	// well-formed Turtle, it is larger than Options.MaxACLBytes or has more
	// triples than Options.MaxTriples, or (Validate only) a root ACL grants
	// no acl:Control. When the effective ACL of a resource is invalid the
	// Evaluator returns this error rather than guess.
	ErrInvalidACL = errors.New("acl: invalid ACL document")
	// ErrDenied means an agent lacks the modes a request needs. It is
	// wrapped by *DeniedError, which says which requirement failed.
	ErrDenied = errors.New("acl: access denied")
	// ErrUnknownMethod means Required was given a method it has no rule
	// for. Such a request must be refused, never let through.
	ErrUnknownMethod = errors.New("acl: no access rule for method")
	// ErrInvalidIRI means a resource IRI is not an absolute hierarchical
	// IRI with a path ("https://host/..."), so its containers are unknown.
	ErrInvalidIRI = errors.New("acl: not an absolute resource IRI")
)

// DeniedError reports the first requirement of a request that the agent
// does not meet. It unwraps to ErrDenied.
type DeniedError struct {
	// Requirement is the unmet requirement.
	Requirement Requirement
	// Granted is what the agent holds on Requirement.IRI.
	Granted Mode
	// Origin is true when the agent would have met the requirement but
	// for the request's Origin (WAC 1.0 §5.3.2 "Web Origin Authorization",
	// note "Access Subject and Origin Rejection Reason"), so the server can
	// tell the two reasons apart.
	Origin bool
	// Conditions is true when the agent would have met the requirement
	// but for the access conditions (WAC ED §4.4): the app (client) or the
	// identity provider (issuer) of its token is not one an authorization
	// accepts.
	Conditions bool
}

// Error describes the missing modes.
func (e *DeniedError) Error() string {
	need := "all of"
	if e.Requirement.AnyOf {
		need = "one of"
	}
	msg := fmt.Sprintf("acl: access denied: %s needs %s [%s], agent has [%s]",
		e.Requirement.IRI, need, ModeString(e.Requirement.Modes), ModeString(e.Granted))
	switch {
	case e.Origin:
		msg += " (the request's origin is not allowed)"
	case e.Conditions:
		msg += " (the app or identity provider of the token is not allowed)"
	}
	return msg
}

// Unwrap returns ErrDenied.
func (e *DeniedError) Unwrap() error { return ErrDenied }
