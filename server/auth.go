package server

import (
	"context"
	"net/http"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/problem"
)

// Agent is who makes a request, as authentication established it: the
// WebID, the client (app) through which they act, and the issuer of their
// token. The zero Agent is anonymous.
type Agent struct {
	WebID    string
	ClientID string
	Issuer   string
	// Grant, when set, is the access grant a UMA access token is scoped
	// to: the request is judged by that grant alone (grants.go).
	Grant string
}

// Anonymous reports whether no one is authenticated.
func (a Agent) Anonymous() bool { return a.WebID == "" }

// Authenticator finds the agent of a request. An error means the request
// carried credentials that do not hold (401); no credentials at all is the
// anonymous agent and no error.
type Authenticator interface {
	Authenticate(r *http.Request) (Agent, error)
}

// Operation is what a request does, for the permission seam: the method,
// the target, whether it exists, and for PATCH what the patch needs.
type Operation struct {
	Method string
	Path   ldp.Path
	// Exists tells whether the target exists before the request. GET and
	// HEAD leave it false: reading needs the same modes either way.
	Exists bool
	// Ancestor is, for a write to a target that does not exist, the
	// nearest container above it that exists: the one that gains a member
	// when the write creates the target and the missing containers on the
	// way (acl.Operation.Ancestor). "" when unknown or not a write.
	Ancestor ldp.Path
	// Patch is what a PATCH needs (read, append, write), or nil.
	Patch *rdfx.Access
	// Origin is the request's Origin header, "" when none.
	Origin string
}

// Grant is what Permissions.Check tells of an allowed request.
type Grant struct {
	// WACAllow is the value of the WAC-Allow header for GET and HEAD
	// (WAC 1.0 §6.1), "" when unknown.
	WACAllow string
	// Authorization is the ACL authorization that allowed the request,
	// when the access log asks (WAC.by); "" otherwise.
	Authorization string
	// AccessGrant is the access grant that allowed the request, with its
	// Purposes; "" when none did.
	AccessGrant string
	Purposes    []string
}

// Permissions is the seam where access control decides. Check returns nil
// to allow, ErrUnauthenticated (401) or ErrForbidden (403) to refuse.
type Permissions interface {
	Check(ctx context.Context, a Agent, op Operation) (Grant, error)
}

// The refusals of Permissions.Check.
var (
	ErrUnauthenticated = problem.ErrUnauthenticated
	ErrForbidden       = problem.ErrForbidden
)

// OpenPermissions allow everything to everyone, for tests and benchmarks
// that are not about access control. A real server uses WAC; to open a
// development server, give its root an ACL that grants foaf:Agent every
// mode (KLUIS_ROOT_ACL).
type OpenPermissions struct{}

// Check allows.
func (OpenPermissions) Check(context.Context, Agent, Operation) (Grant, error) {
	all := "read write append control"
	return Grant{WACAllow: `user="` + all + `",public="` + all + `"`}, nil
}
