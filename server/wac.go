package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/storage"
)

// WAC enforces Web Access Control (../shared/specs/web-access-control.txt)
// over the ACL resources of the store: the Permissions of a real server.
type WAC struct {
	store  *ldp.Store
	eval   *acl.Evaluator
	source aclSource
	// profiles reads the pod owners' WebID profiles for their trusted
	// apps, under acl.OriginStrict only; nil otherwise.
	profiles *Groups
	trusted  []string // origins acl:origin never restricts (the server's)
	logger   *slog.Logger
	// by names the authorization that allowed a request in its Grant,
	// for the access log; set before the first request.
	by bool
}

// NewWAC builds the access control of store. groups resolves
// acl:agentGroup, acl:clientGroup and acl:issuerGroup documents; under
// acl.OriginStrict it also reads the acl:trustedApp of pod owners' WebID
// profiles.
func NewWAC(store *ldp.Store, groups *Groups, opts acl.Options) *WAC {
	return newWAC(store, groups, opts, nil)
}

// newWAC is NewWAC with the ACL versions kept between requests, when
// versions is not nil (aclversions.go).
func newWAC(store *ldp.Store, groups *Groups, opts acl.Options, versions *aclVersions) *WAC {
	src := aclSource{store, versions}
	w := &WAC{store: store, eval: acl.NewEvaluator(src, groups, opts), source: src, trusted: opts.TrustedOrigins, logger: opts.Logger}
	if opts.OriginPolicy == acl.OriginStrict {
		w.profiles = groups
	}
	if w.logger == nil {
		w.logger = slog.New(slog.DiscardHandler)
	}
	return w
}

// warm asks, for a request about p, the first question the check will
// ask of storage: the version of p's own ACL, answered from the versions
// kept, or remembered for the request (ldp.Store.Prefetch).
func (w *WAC) warm(ctx context.Context, p ldp.Path) {
	if kind, _ := p.Aux(); kind == ldp.NotAux {
		ctx = withGeneration(ctx)
		_, _ = w.source.ACLVersion(ctx, w.store.IRI(p))
	}
}

// originModes returns the modes the owner of the pod holding p trusts
// origin with (acl.TrustedModes of the owner's WebID profile), under
// acl.OriginStrict and for an origin that is not trusted anyway; 0
// otherwise. A profile that cannot be read trusts nothing: the request is
// judged by the ACLs alone.
func (w *WAC) originModes(ctx context.Context, p ldp.Path, origin string) acl.Mode {
	if w.profiles == nil || origin == "" || slices.ContainsFunc(w.trusted, func(o string) bool { return strings.EqualFold(o, origin) }) {
		return 0
	}
	root, ok, err := w.store.StorageOf(ctx, p)
	if err != nil || !ok {
		return 0
	}
	owner, ok, err := w.store.Owner(ctx, root)
	if err != nil || !ok {
		return 0
	}
	g, err := w.profiles.document(ctx, owner)
	if err != nil {
		w.logger.Debug("trusted apps: the owner's profile cannot be read", "webid", owner, "error", err)
		return 0
	}
	return acl.TrustedModes(g, owner, origin)
}

// Check finds the modes the operation needs (acl.Required) and whether the
// agent holds them. For GET and HEAD it also computes the WAC-Allow header
// from the same evaluation (WAC 1.0 §6.1).
func (w *WAC) Check(ctx context.Context, a Agent, op Operation) (Grant, error) {
	iri := w.store.IRI(op.Path)
	// Groups may rely on group documents in the pod of the resource whose
	// access is decided (groups.go, groupUsable). The ACL generation, when
	// it tells which ACL versions kept still hold, is asked once
	// (aclversions.go).
	ctx = withGroupScope(withGeneration(ctx), iri)
	aop := acl.Operation{Method: op.Method, Target: iri, Exists: op.Exists}
	if op.Ancestor != "" && !op.Exists {
		aop.Ancestor = w.store.IRI(op.Ancestor)
	}
	if op.Patch != nil {
		aop.PatchRead, aop.PatchAppend, aop.PatchWrite = op.Patch.Read, op.Patch.Append, op.Patch.Write
	}
	reqs, err := acl.Required(aop)
	if errors.Is(err, acl.ErrUnknownMethod) {
		allow, aerr := w.store.Allow(ctx, op.Path, op.Exists)
		if aerr != nil {
			return Grant{}, aerr
		}
		return Grant{}, &problem.MethodNotAllowedError{Allow: allow}
	}
	if err != nil {
		return Grant{}, err
	}
	agent := acl.Agent{WebID: a.WebID, ClientID: a.ClientID, Issuer: a.Issuer, Origin: op.Origin,
		OriginModes: w.originModes(ctx, op.Path, op.Origin)}
	if op.Method == http.MethodGet || op.Method == http.MethodHead {
		// One resolution of the ACLs answers both the decision and
		// WAC-Allow; Check runs only where Allowed cannot decide (a
		// requirement on another resource, an ACL's subject) or to say
		// why a request is refused.
		var need acl.Mode
		if w.by {
			need = acl.Read
		}
		user, public, by, err := w.eval.AllowedBy(ctx, iri, agent, need)
		if err != nil {
			return Grant{}, err
		}
		g := Grant{WACAllow: acl.WACAllow(user, public), Authorization: by}
		for _, r := range reqs {
			if r.IRI != iri || !r.SatisfiedBy(user) {
				g.Authorization, err = w.check(ctx, a, agent, reqs)
				return g, err
			}
		}
		return g, nil
	}
	if by, err := w.check(ctx, a, agent, reqs); err != nil {
		// A refusal says what the agent may do here, for the request's
		// origin, so that an app can act on it (WAC 1.0 §6.1).
		g := Grant{}
		if errors.Is(err, acl.ErrDenied) {
			if user, public, aerr := w.eval.Allowed(ctx, iri, agent); aerr == nil {
				g.WACAllow = acl.WACAllow(user, public)
			}
		}
		return g, err
	} else {
		return Grant{Authorization: by}, nil
	}
}

// check runs the evaluator's Check and turns a denial into a refusal; it
// names the authorization that allowed when the access log asks.
func (w *WAC) check(ctx context.Context, a Agent, agent acl.Agent, reqs []acl.Requirement) (string, error) {
	var by string
	var err error
	if w.by {
		by, err = w.eval.CheckBy(ctx, reqs, agent)
	} else {
		err = w.eval.Check(ctx, reqs, agent)
	}
	if err == nil || !errors.Is(err, acl.ErrDenied) {
		return by, err
	}
	return "", refusal(a, err)
}

// refusal turns a denial into 401 for an anonymous agent, 403 otherwise
// (WAC 1.0 §5.3: "401 ... when the agent is not authenticated"). The
// *acl.DeniedError stays inside, for the reason server/problem words.
func refusal(a Agent, err error) error {
	if a.Anonymous() {
		return fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return fmt.Errorf("%w: %w", ErrForbidden, err)
}

// Validate checks an ACL document before it is stored, for ldp.
func (w *WAC) Validate(turtle []byte, aclIRI string) error {
	return w.eval.Validate(turtle, aclIRI)
}

// aclSource reads ACL resources from the store: the ACL of <r> is the
// object of <r>.acl, of a container <c/> that of <c/>.acl.
type aclSource struct {
	store *ldp.Store
	// versions keeps ACL versions between requests; nil: none are kept.
	versions *aclVersions
}

// maxACLRead bounds what ReadACL reads; acl refuses larger documents.
const maxACLRead = acl.DefaultMaxACLBytes + 1

func (s aclSource) aclPath(resourceIRI string) (ldp.Path, error) {
	p, ok := s.store.PathOf(resourceIRI)
	if !ok {
		return "", fmt.Errorf("server: %q is not on this server: %w", resourceIRI, acl.ErrNoACL)
	}
	return p.ACL(), nil
}

// ACLVersion is a Stat of the ACL's object, or its version kept from an
// earlier one (aclversions.go).
func (s aclSource) ACLVersion(ctx context.Context, resourceIRI string) (string, error) {
	p, err := s.aclPath(resourceIRI)
	if err != nil {
		return "", err
	}
	if s.versions == nil {
		return s.version(ctx, p)
	}
	v, err := s.versions.version(ctx, p.Key(), s.read)
	return v, s.noACL(p, err)
}

// read is the backend's cheap Version when it has one, else the ETag.
func (s aclSource) read(ctx context.Context, key string) (string, error) {
	return storage.VersionOf(ctx, s.store.Backend(), key)
}

// version is read, with a missing ACL resource as acl.ErrNoACL.
func (s aclSource) version(ctx context.Context, p ldp.Path) (string, error) {
	v, err := s.read(ctx, p.Key())
	return v, s.noACL(p, err)
}

// noACL turns a missing ACL resource into acl.ErrNoACL.
func (s aclSource) noACL(p ldp.Path, err error) error {
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrInvalidKey) {
		// A key that cannot be stored holds no ACL: a resource named so
		// long, before such names were refused, that "<name>.acl" is over
		// the key limit inherits its container's ACL.
		return fmt.Errorf("server: %s: %w", p, acl.ErrNoACL)
	}
	return err
}

// ReadACL reads the ACL's object.
func (s aclSource) ReadACL(ctx context.Context, resourceIRI string) ([]byte, string, string, error) {
	p, err := s.aclPath(resourceIRI)
	if err != nil {
		return nil, "", "", err
	}
	// The version is taken before the read: if the ACL changes in
	// between, the cache holds newer content under an older version, and
	// the next check reads it again; never the other way round.
	version, err := s.version(ctx, p)
	if err != nil {
		return nil, "", "", err
	}
	body, _, err := s.store.Backend().Get(ctx, p.Key(), storage.GetOptions{})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, "", "", fmt.Errorf("server: %s: %w", p, acl.ErrNoACL)
	}
	if err != nil {
		return nil, "", "", err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxACLRead))
	if err != nil {
		return nil, "", "", err
	}
	return data, version, s.store.IRI(p), nil
}

// noACLs is a Source with no ACL documents, for an Evaluator that only
// validates.
type noACLs struct{}

func (noACLs) ACLVersion(context.Context, string) (string, error) { return "", acl.ErrNoACL }

func (noACLs) ReadACL(context.Context, string) ([]byte, string, string, error) {
	return nil, "", "", acl.ErrNoACL
}
