package acl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Agent is who makes a request, as established by authentication. The
// zero Agent is the anonymous public without an Origin.
type Agent struct {
	// WebID identifies the agent; "" for an anonymous request.
	WebID string
	// ClientID is the client_id of the request's access token, "" when
	// there is none. acl:ClientCondition tests it (WAC ED §4.4).
	ClientID string
	// Issuer is the iss of the request's access token, "" when there is
	// none. acl:IssuerCondition tests it (WAC ED §4.4).
	Issuer string
	// Origin is the request's Origin header field value, "" when the
	// header is absent (WAC 1.0 §5.3.2 "Web Origin Authorization").
	Origin string
	// OriginModes are the modes the owner of the resource trusts Origin
	// with (acl:trustedApp in the owner's WebID profile, as Node Solid
	// Server reads it). Only OriginStrict consults them: an authorization
	// that matches the agent but not the origin still grants these modes.
	OriginModes Mode
}

// OriginPolicy says how acl:origin restricts a request that has an
// untrusted Origin header (WAC 1.0 §5.3.2 "Web Origin Authorization").
type OriginPolicy int

const (
	// OriginRestrictNamed, the default, restricts only the authorizations
	// that name an origin: one that lists acl:origin grants only to those
	// origins, one that lists none grants whatever the Origin. Which app
	// may act for an agent is said with acl:ClientCondition on the
	// token's client_id (WAC ED §4.4), which a browser app cannot forge
	// the way a non-browser client can forge Origin. This is how an app
	// on any origin works against a pod whose ACLs never heard of it.
	OriginRestrictNamed OriginPolicy = iota
	// OriginStrict is WAC 1.0 §5.3.2 as written: with an untrusted Origin,
	// an authorization grants only if it lists that origin, or is public
	// and lists none, or the resource's owner trusts the origin with the
	// mode (Agent.OriginModes).
	OriginStrict
)

// Source reads ACL resources. Kluis's server implements it over its
// storage, where the ACL resource of <r> is <r.acl> and that of a container
// <c/> is <c/.acl>. Implementations must be safe for concurrent use: the
// Evaluator calls ACLVersion for a resource and all its containers at once.
type Source interface {
	// ACLVersion returns an opaque version (such as an ETag) of the ACL
	// resource of the resource at resourceIRI, or an error wrapping ErrNoACL
	// when that resource has no ACL resource. Every change to the ACL
	// resource must change its version. It is called for every container
	// on every evaluation, so it must be cheap: one Stat.
	ACLVersion(ctx context.Context, resourceIRI string) (string, error)
	// ReadACL returns the Turtle of the ACL resource of the resource at
	// resourceIRI, the version of exactly those bytes, and the ACL
	// resource's own IRI (the base for relative IRIs), or an error wrapping
	// ErrNoACL when there is none.
	ReadACL(ctx context.Context, resourceIRI string) (turtle []byte, version, aclIRI string, err error)
}

// Groups resolves the groups of acl:agentGroup, acl:clientGroup and
// acl:issuerGroup (WAC 1.0 §4.3, WAC ED §4.4). Implementations may cache
// group documents; they must be safe for concurrent use.
type Groups interface {
	// Members returns the IRIs the group document lists with
	// vcard:hasMember for groupIRI (usually a fragment IRI inside the group
	// document), or an error. An error denies the authorizations that
	// need the group; it never fails the evaluation. Pass ctx on to any
	// access check the lookup itself makes: it carries the lookups in
	// progress, so that a group that needs itself is caught as a loop.
	Members(ctx context.Context, groupIRI string) ([]string, error)
}

// GroupsFunc adapts a function to the Groups interface.
type GroupsFunc func(ctx context.Context, groupIRI string) ([]string, error)

// Members calls f.
func (f GroupsFunc) Members(ctx context.Context, groupIRI string) ([]string, error) {
	return f(ctx, groupIRI)
}

// Options tune an Evaluator. The zero Options are usable.
type Options struct {
	// MaxACLBytes is the largest ACL document the Evaluator parses; a larger
	// one is ErrInvalidACL. Zero means DefaultMaxACLBytes.
	MaxACLBytes int
	// MaxTriples is the most triples an ACL document may hold; more is
	// ErrInvalidACL. Zero means DefaultMaxTriples.
	MaxTriples int
	// MaxCacheEntries bounds the compiled documents kept in memory. Zero
	// means DefaultMaxCacheEntries.
	MaxCacheEntries int
	// TrustedOrigins are origins (such as "https://pod.example", the
	// server's own) whose requests are not restricted by acl:origin, as WAC
	// 1.0 §5.3.2 allows ("Implementations might implicitly allow a list of
	// origins, such as the same-origin").
	TrustedOrigins []string
	// OriginPolicy is how acl:origin restricts requests with another
	// Origin; the zero value is OriginRestrictNamed.
	OriginPolicy OriginPolicy
	// AcceptUntypedAuthorizations makes nodes with an acl:mode count as
	// authorizations without "a acl:Authorization". WAC 1.0 §5.2 requires
	// the type and the Community Solid Server ignores untyped nodes; this
	// leniency widens access to documents written for laxer servers, so it
	// is off by default.
	AcceptUntypedAuthorizations bool
	// Logger receives warnings about unusable ACL documents and failed group
	// lookups. Nil discards them.
	Logger *slog.Logger
}

// Defaults for the zero fields of Options.
const (
	DefaultMaxACLBytes     = 256 << 10
	DefaultMaxTriples      = 10_000
	DefaultMaxCacheEntries = 10_000
)

// Evaluator finds the effective ACL of a resource and the modes it grants
// an agent (WAC 1.0 §5 "Authorization Process"). It caches compiled ACL
// documents, checked against the Source on every call (see doc.go). It is
// safe for concurrent use.
type Evaluator struct {
	pace   pace // of src's lookups
	src    Source
	groups Groups
	opts   Options
	log    *slog.Logger
	cache  *cache
	walks  sync.Pool // of *walk, reused between evaluations
}

// NewEvaluator returns an Evaluator reading ACL documents from src and
// group documents through groups, which may be nil (then no group ever
// matches). It panics when src is nil.
func NewEvaluator(src Source, groups Groups, opts Options) *Evaluator {
	if src == nil {
		panic("acl: NewEvaluator with a nil Source")
	}
	if opts.MaxACLBytes <= 0 {
		opts.MaxACLBytes = DefaultMaxACLBytes
	}
	if opts.MaxTriples <= 0 {
		opts.MaxTriples = DefaultMaxTriples
	}
	if opts.MaxCacheEntries <= 0 {
		opts.MaxCacheEntries = DefaultMaxCacheEntries
	}
	opts.TrustedOrigins = slices.Clone(opts.TrustedOrigins)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Evaluator{src: src, groups: groups, opts: opts, log: log, cache: newCache(opts.MaxCacheEntries)}
}

// Modes returns the modes the agent holds on the resource at resourceIRI,
// by its effective ACL (WAC 1.0 §5.1). No ACL resource up to the root
// container grants nothing. Write always comes with Append.
//
// An ACL resource <x.acl> is controlled by <x>: an agent with acl:Control
// on <x> gets every mode on <x.acl>, others none (WAC 1.0 §5.3.1). A
// description resource <x.meta> has the modes of <x>.
//
// Errors come from the Source (wrapped), from an effective ACL document
// that cannot be used (ErrInvalidACL), from an IRI without a container
// hierarchy (ErrInvalidIRI), or from ctx.
func (e *Evaluator) Modes(ctx context.Context, resourceIRI string, a Agent) (Mode, error) {
	subject, kind := subjectOf(resourceIRI)
	w, err := e.resolve(ctx, subject)
	if err != nil {
		return 0, err
	}
	defer e.release(w)
	rules, err := e.rulesAt(ctx, w, 0)
	if err != nil {
		return 0, err
	}
	m := e.matcher(ctx, a, true)
	return auxModes(m.grant(rules), kind), nil
}

// Allowed returns the modes of the agent and of the public (the anonymous
// agent, without client, issuer or Origin) on the resource at resourceIRI,
// for the WAC-Allow header (WAC 1.0 §6.1, §5.3.4 "Access Privileges"). Both
// come from one resolution of the effective ACL, and user is exactly what
// Modes returns for a: never wider than what a request would be granted.
func (e *Evaluator) Allowed(ctx context.Context, resourceIRI string, a Agent) (user, public Mode, err error) {
	user, public, _, err = e.allowed(ctx, resourceIRI, a, 0)
	return user, public, err
}

// AllowedBy is Allowed that also names the authorization that grants
// the agent need on the resource (the first in its ACL document), "" when
// none does: what allowed a request, for the access log. It costs one
// more pass over the authorizations already resolved.
func (e *Evaluator) AllowedBy(ctx context.Context, resourceIRI string, a Agent, need Mode) (user, public Mode, by string, err error) {
	return e.allowed(ctx, resourceIRI, a, need)
}

func (e *Evaluator) allowed(ctx context.Context, resourceIRI string, a Agent, need Mode) (user, public Mode, by string, err error) {
	subject, kind := subjectOf(resourceIRI)
	w, err := e.resolve(ctx, subject)
	if err != nil {
		return 0, 0, "", err
	}
	defer e.release(w)
	rules, err := e.rulesAt(ctx, w, 0)
	if err != nil {
		return 0, 0, "", err
	}
	if kind == aclAux && need != 0 {
		need = Control // WAC 1.0 §5.3.1: Control on the subject gives the ACL
	}
	// The public's modes are for the request's own origin, as the agent's
	// are, so that neither promises what that origin would be refused.
	anon := Agent{Origin: a.Origin, OriginModes: a.OriginModes}
	pm := e.matcher(ctx, anon, true)
	public = auxModes(pm.grant(rules), kind)
	if a == anon {
		if need != 0 {
			by = pm.grantedBy(rules, need)
		}
		return public, public, by, nil
	}
	um := e.matcher(ctx, a, true)
	user = auxModes(um.grant(rules), kind)
	if need != 0 {
		by = um.grantedBy(rules, need)
	}
	return user, public, by, nil
}

// Check returns nil when the agent satisfies every requirement (as from
// Required), and otherwise a *DeniedError for the first one it does not.
// Requirements on a resource and on its containers (a PUT that creates a
// resource) share one resolution of the ACL documents. Other errors are
// those of Modes.
//
// The server answers a *DeniedError with 401 when the agent is anonymous
// and 403 otherwise; DeniedError.Origin tells when only the Origin was
// refused.
func (e *Evaluator) Check(ctx context.Context, reqs []Requirement, a Agent) error {
	return e.check(ctx, reqs, a, nil)
}

// CheckBy is Check that also names the authorization that satisfied the
// first requirement (the request's target), "" when none is known: what
// allowed a request, for the access log.
func (e *Evaluator) CheckBy(ctx context.Context, reqs []Requirement, a Agent) (string, error) {
	var by string
	err := e.check(ctx, reqs, a, &by)
	return by, err
}

func (e *Evaluator) check(ctx context.Context, reqs []Requirement, a Agent, by *string) error {
	var w *walk
	defer func() {
		if w != nil {
			e.release(w)
		}
	}()
	m := e.matcher(ctx, a, true) // shared, so groups are looked up once
	for _, r := range reqs {
		subject, kind := subjectOf(r.IRI)
		i := -1
		if w != nil {
			i = slices.Index(w.chain, subject)
		}
		if i < 0 {
			if w != nil {
				e.release(w)
			}
			var err error
			if w, err = e.resolve(ctx, subject); err != nil {
				return err
			}
			i = 0
		}
		rules, err := e.rulesAt(ctx, w, i)
		if err != nil {
			return err
		}
		granted := auxModes(m.grant(rules), kind)
		if r.SatisfiedBy(granted) {
			if by != nil && *by == "" {
				need := r.Modes
				if kind == aclAux {
					need = Control
				}
				*by = m.grantedBy(rules, need)
			}
			continue
		}
		denied := &DeniedError{Requirement: r, Granted: granted}
		if m.origin != "" {
			// WAC 1.0 §5.3.2, note "Access Subject and Origin Rejection
			// Reason": tell an origin refusal from a subject refusal.
			free := e.matcher(ctx, a, false)
			denied.Origin = r.SatisfiedBy(auxModes(free.grant(rules), kind))
		}
		if !denied.Origin && a.WebID != "" {
			// Likewise a refusal for the token's client or issuer (WAC ED
			// §5.3.2 "Condition Evaluation").
			free := e.matcher(ctx, a, true)
			free.noConds = true
			denied.Conditions = r.SatisfiedBy(auxModes(free.grant(rules), kind))
		}
		return denied
	}
	return nil
}

// auxModes derives the modes on an auxiliary resource from those on the
// resource it belongs to.
func auxModes(m Mode, kind auxKind) Mode {
	if kind == aclAux {
		if m&Control != 0 {
			return All
		}
		return 0
	}
	return m
}

// matcher returns a matcher for a. restrict applies acl:origin when a has
// an untrusted Origin.
func (e *Evaluator) matcher(ctx context.Context, a Agent, restrict bool) matcher {
	m := matcher{ctx: ctx, groups: e.groups, log: e.log, agent: a, strict: e.opts.OriginPolicy == OriginStrict}
	if restrict && a.Origin != "" && !slices.ContainsFunc(e.opts.TrustedOrigins, func(o string) bool { return sameOrigin(o, a.Origin) }) {
		m.origin = a.Origin
	}
	return m
}

// lookup is the result of one ACLVersion call.
type lookup struct {
	version string
	err     error
}

// inlineDepth is the chain length a walk holds without a second
// allocation: a resource seven levels below the root.
const inlineDepth = 8

// walk is the state of the ACL resources of a resource and of all its
// containers, as read at the start of one evaluation.
type walk struct {
	chain []string // the resource, then its containers up to the root
	look  []lookup // ACLVersion of each, same index
	wg    sync.WaitGroup

	chainBuf [inlineDepth]string
	lookBuf  [inlineDepth]lookup
}

// askInline is how long a lookup may take, on average, for resolve to
// ask lookups one after another.
const askInline = 200 * time.Microsecond

// pace is the mean time of a Source's lookups, as an exponentially
// weighted moving average in nanoseconds.
type pace struct{ ewma atomic.Int64 }

func (p *pace) quick() bool { return p.ewma.Load() < int64(askInline) }

// observe adds one lookup's time. Updates racing each other may lose one:
// it is an estimate.
func (p *pace) observe(d time.Duration) {
	old := p.ewma.Load()
	p.ewma.Store(old + (int64(d)-old)/8)
}

// resolve asks the Source for the version of the ACL resource of iri and
// of each of its containers.
//
// A lookup answered from memory or a local disk takes microseconds; one
// that goes over the network (a HEAD on S3) takes a millisecond or more.
// Asked on goroutines of their own, the quick ones wait for a processor
// behind every other runnable goroutine: with 32 requests on 2 cores,
// milliseconds, most of the time a PATCH on the filesystem spent in access
// control (issue 18). So while the Source's lookups have been quick
// (pace), they are asked one after another on this goroutine, until that
// takes longer than askInline; the rest, or all of them when the Source is
// slow, are asked at once, so that a slow evaluation waits for about its
// slowest lookup, not for their sum.
func (e *Evaluator) resolve(ctx context.Context, iri string) (*walk, error) {
	w, _ := e.walks.Get().(*walk)
	if w == nil {
		w = new(walk)
	}
	var err error
	if w.chain, err = appendChain(w.chainBuf[:0], iri); err != nil {
		e.release(w)
		return nil, err
	}
	if n := len(w.chain); n <= inlineDepth {
		w.look = w.lookBuf[:n]
	} else {
		w.look = make([]lookup, n)
	}
	i := 0
	if e.pace.quick() {
		start := time.Now()
		for ; i < len(w.chain) && time.Since(start) < askInline; i++ {
			e.stat(ctx, w, i)
		}
	}
	if i < len(w.chain) {
		w.wg.Add(len(w.chain) - i - 1)
		for j := i + 1; j < len(w.chain); j++ {
			go func() {
				defer w.wg.Done()
				e.stat(ctx, w, j)
			}()
		}
		e.stat(ctx, w, i) // on this goroutine
		w.wg.Wait()
	}
	return w, nil
}

// stat is w.stat, timed for pace.
func (e *Evaluator) stat(ctx context.Context, w *walk, i int) {
	start := time.Now()
	w.stat(ctx, e.src, i)
	e.pace.observe(time.Since(start))
}

// release clears w, so that it keeps no IRI or error alive, and returns it
// to the pool. Every lookup of w has finished: resolve waited for them.
func (e *Evaluator) release(w *walk) {
	clear(w.chainBuf[:])
	clear(w.lookBuf[:])
	w.chain, w.look = nil, nil
	e.walks.Put(w)
}

// stat fills w.look[i]. A panicking Source becomes an error: a panic on
// this goroutine could not be recovered by the server.
func (w *walk) stat(ctx context.Context, src Source, i int) {
	defer func() {
		if p := recover(); p != nil {
			w.look[i] = lookup{err: fmt.Errorf("acl: ACLVersion panicked: %v", p)}
		}
	}()
	v, err := src.ACLVersion(ctx, w.chain[i])
	w.look[i] = lookup{version: v, err: err}
}

// rulesAt returns the authorizations that apply to w.chain[i] (WAC 1.0
// §5.1 "Effective ACL Resource Algorithm"): those with acl:accessTo it in
// its own ACL document, when it has one; otherwise those with acl:default
// the nearest container above it that has an ACL document. acl:accessTo
// authorizations of a container's document never apply to its members,
// nor acl:default ones to the container itself. Nil means no ACL resource
// up to the root: nothing is granted.
func (e *Evaluator) rulesAt(ctx context.Context, w *walk, i int) ([]*rule, error) {
	for j := i; j < len(w.chain); j++ {
		l := w.look[j]
		if l.err != nil {
			if errors.Is(l.err, ErrNoACL) {
				continue
			}
			return nil, fmt.Errorf("acl: version of the ACL of %s: %w", w.chain[j], l.err)
		}
		pol, err := e.policy(ctx, w.chain[j], l.version)
		if errors.Is(err, ErrNoACL) {
			continue // deleted since ACLVersion: look further up
		}
		if err != nil {
			return nil, err
		}
		if j == i {
			return pol.own, nil
		}
		return pol.inherited, nil
	}
	return nil, nil
}

// policy returns the compiled ACL document of resource at version, from
// the cache or freshly read. A document that cannot be used is cached as
// its error, for that version only.
func (e *Evaluator) policy(ctx context.Context, resource, version string) (*policy, error) {
	if version != "" {
		if en := e.cache.get(resource, version); en != nil {
			return en.pol, en.err
		}
	}
	turtle, version, aclIRI, err := e.src.ReadACL(ctx, resource)
	if err != nil {
		if errors.Is(err, ErrNoACL) {
			return nil, err
		}
		return nil, fmt.Errorf("acl: read the ACL of %s: %w", resource, err)
	}
	pol, err := e.load(turtle, resource, aclIRI)
	if err != nil {
		e.log.Warn("acl: unusable ACL document denies access below it", "acl", aclIRI, "err", err)
	}
	if version != "" {
		e.cache.put(resource, &entry{version: version, pol: pol, err: err})
	}
	return pol, err
}

// CacheStats tells how often a compiled ACL document was found in the cache
// at the version its Source reported (hits), and how often it had to be
// read and compiled (misses), since the Evaluator was made.
func (e *Evaluator) CacheStats() (hits, misses uint64) {
	return e.cache.hits.Load(), e.cache.misses.Load()
}
