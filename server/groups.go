package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// FetchFunc fetches a remote RDF document for group resolution: the body, its
// media type, or an error. It must apply the safe-fetching rules (address
// allow-list, size and time limits).
type FetchFunc func(ctx context.Context, url string) (body []byte, mediaType string, err error)

// Bounds of group documents: the bytes read, and what rdfx may make of
// them (ldp/rdfx.ParseOptions).
const (
	maxGroupDocument = 1 << 20
	maxGroupTriples  = 50_000
	maxGroupBytes    = 8 << 20
)

func groupParseOptions() rdfx.ParseOptions {
	return rdfx.ParseOptions{MaxTriples: maxGroupTriples, MaxBytes: maxGroupBytes}
}

// ErrGroupNotShared means a group document on this server is in another
// pod than the resource whose access is decided, and is not public: it is
// not used, so the group has no members there.
var ErrGroupNotShared = errors.New("server: the group document is in another pod and not public")

// Groups resolves vcard:Group documents for acl:agentGroup and the group
// conditions.
//
// Documents on this server are read from storage and cached by ETag, so a
// changed group takes effect on the next request. They are read without
// the ACL of the request's agent, by the server itself, so a rule decides
// which ones an ACL may rely on: a group document in the same pod as the
// resource whose access is decided (its owner controls both), or one that
// anyone may read (the anonymous agent has acl:Read on it, as a remote
// server would serve it to Kluis's unauthenticated fetch). A private group
// in someone else's pod is not read for an ACL in another pod: its
// members would otherwise decide access, and leak, at the will of a
// stranger. See the decision in groupUsable.
//
// Remote documents go through fetch (nil: remote groups never match); the
// parsed graph is kept, in a bounded cache, for as long as fetch returns
// the same bytes (the safe fetcher caches a response until it expires), so
// a remote group is parsed once per response, not once per request.
type Groups struct {
	store *ldp.Store
	fetch FetchFunc

	mu            sync.Mutex
	local         map[string]groupDoc  // document IRI -> parsed document
	remote        map[string]remoteDoc // document URL -> parsed response
	localTriples  int                  // held by the graphs of local
	remoteTriples int                  // held by the graphs of remote

	publicOnce sync.Once
	public     *acl.Evaluator // decides whether anyone may read a document
}

type groupDoc struct {
	etag string
	g    *rdfx.Graph
}

type remoteDoc struct {
	sum [32]byte // of the body
	mt  string
	g   *rdfx.Graph
}

// Bounds of each cache of group documents: the documents, and the triples
// they hold together (a graph is some hundred bytes a triple), so that ACLs
// naming many large groups cannot make the caches hold gigabytes.
const (
	maxCachedGroups       = 1000
	maxCachedGroupTriples = 500_000
)

// cacheGraph stores v under key in m, whose graphs hold *triples triples
// together, dropping entries at random to stay within the bounds. A graph
// larger than the whole bound is not kept.
func cacheGraph[V interface{ graph() *rdfx.Graph }](m map[string]V, triples *int, key string, v V) {
	n := v.graph().Len()
	if n > maxCachedGroupTriples {
		return
	}
	if old, ok := m[key]; ok {
		*triples -= old.graph().Len()
		delete(m, key)
	}
	for k, old := range m {
		if len(m) < maxCachedGroups && *triples+n <= maxCachedGroupTriples {
			break
		}
		*triples -= old.graph().Len()
		delete(m, k)
	}
	m[key] = v
	*triples += n
}

func (d groupDoc) graph() *rdfx.Graph  { return d.g }
func (d remoteDoc) graph() *rdfx.Graph { return d.g }

// NewGroups resolves groups stored in store, and remote ones through fetch.
func NewGroups(store *ldp.Store, fetch FetchFunc) *Groups {
	return &Groups{store: store, fetch: fetch, local: make(map[string]groupDoc), remote: make(map[string]remoteDoc)}
}

// groupScopeKey carries, in a context, the IRI of the resource whose
// access is decided.
type groupScopeKey struct{}

// withGroupScope returns ctx saying that access to resourceIRI is being
// decided, for the rule of groupUsable.
func withGroupScope(ctx context.Context, resourceIRI string) context.Context {
	return context.WithValue(ctx, groupScopeKey{}, resourceIRI)
}

// Members lists the vcard:hasMember of groupIRI.
func (gs *Groups) Members(ctx context.Context, groupIRI string) ([]string, error) {
	doc, _, _ := strings.Cut(groupIRI, "#")
	if p, ok := gs.store.PathOf(doc); ok {
		if err := gs.groupUsable(ctx, doc, p); err != nil {
			return nil, err
		}
	}
	g, err := gs.document(ctx, groupIRI)
	if err != nil {
		return nil, err
	}
	var out []string
	for t := range g.Match(rdfx.IRI(groupIRI), rdfx.IRI(acl.VCardHasMember), rdfx.Term{}) {
		if t.O.IsIRI() {
			out = append(out, t.O.Value())
		}
	}
	return out, nil
}

// groupUsable decides whether an ACL may rely on the group document doc,
// stored here at p (issue 13: "a group document in another person's pod
// is read without that person's ACL being consulted, so any ACL can rely
// on someone's private group").
//
// The decision: it may if the document is in the same pod (storage) as
// the resource whose access is decided, or if the anonymous agent may read
// it. The first keeps a pod's private groups working for the pod's own
// ACLs, which is how Solid apps use them; the second treats a group in
// another pod as Kluis treats one on another server, which it fetches
// without credentials. Otherwise Members fails with ErrGroupNotShared and
// the group matches no one (acl logs the failed lookup). Without a scope
// in ctx only public documents are used.
func (gs *Groups) groupUsable(ctx context.Context, doc string, p ldp.Path) error {
	if scope, ok := ctx.Value(groupScopeKey{}).(string); ok {
		if sp, ok := gs.store.PathOf(scope); ok {
			a, aok, aerr := gs.store.StorageOf(ctx, sp)
			b, bok, berr := gs.store.StorageOf(ctx, p)
			if aerr == nil && berr == nil && aok && bok && a == b {
				return nil
			}
		}
	}
	gs.publicOnce.Do(func() {
		// No groups: a public document is one the anonymous agent may
		// read, and the anonymous agent is in no group.
		gs.public = acl.NewEvaluator(aclSource{store: gs.store}, nil, acl.Options{})
	})
	m, err := gs.public.Modes(ctx, doc, acl.Agent{})
	if err != nil {
		return fmt.Errorf("server: group document %s: %w", p, err)
	}
	if !m.Has(acl.Read) {
		return fmt.Errorf("server: group document %s: %w", p, ErrGroupNotShared)
	}
	return nil
}

// document returns the graph of the RDF document holding iri (a group, or
// a WebID profile), read as a group document is.
func (gs *Groups) document(ctx context.Context, iri string) (*rdfx.Graph, error) {
	doc, _, _ := strings.Cut(iri, "#")
	if p, ok := gs.store.PathOf(doc); ok {
		return gs.localDoc(ctx, doc, p)
	}
	return gs.remoteDoc(ctx, doc)
}

func (gs *Groups) localDoc(ctx context.Context, doc string, p ldp.Path) (*rdfx.Graph, error) {
	info, err := gs.store.Backend().Stat(ctx, p.Key())
	if err != nil {
		return nil, fmt.Errorf("server: group document %s: %w", p, err)
	}
	gs.mu.Lock()
	cached, ok := gs.local[doc]
	gs.mu.Unlock()
	if ok && cached.etag == info.ETag {
		return cached.g, nil
	}
	body, info, err := gs.store.Backend().Get(ctx, p.Key(), storage.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("server: group document %s: %w", p, err)
	}
	defer body.Close()
	if !strings.HasPrefix(info.ContentType, rdfx.Turtle) {
		return nil, fmt.Errorf("server: group document %s is not RDF", p)
	}
	g, err := rdfx.ParseContext(ctx, io.LimitReader(body, maxGroupDocument), rdfx.Turtle, doc, groupParseOptions())
	if err != nil {
		return nil, fmt.Errorf("server: group document %s: %w", p, err)
	}
	gs.mu.Lock()
	cacheGraph(gs.local, &gs.localTriples, doc, groupDoc{etag: info.ETag, g: g})
	gs.mu.Unlock()
	return g, nil
}

func (gs *Groups) remoteDoc(ctx context.Context, doc string) (*rdfx.Graph, error) {
	if gs.fetch == nil {
		return nil, errors.New("server: remote group documents are not enabled")
	}
	body, mt, err := gs.fetch(ctx, doc)
	if err != nil {
		return nil, fmt.Errorf("server: group document %s: %w", doc, err)
	}
	if len(body) > maxGroupDocument {
		return nil, fmt.Errorf("server: group document %s is too large", doc)
	}
	// The fetcher returns its cached response until it expires: the same
	// bytes, parsed once.
	sum := sha256.Sum256(body)
	gs.mu.Lock()
	cached, ok := gs.remote[doc]
	gs.mu.Unlock()
	if ok && cached.sum == sum && cached.mt == mt {
		return cached.g, nil
	}
	g, err := rdfx.ParseContext(ctx, bytes.NewReader(body), mt, doc, groupParseOptions())
	if err != nil {
		return nil, fmt.Errorf("server: group document %s: %w", doc, err)
	}
	gs.mu.Lock()
	cacheGraph(gs.remote, &gs.remoteTriples, doc, remoteDoc{sum: sum, mt: mt, g: g})
	gs.mu.Unlock()
	return g, nil
}
