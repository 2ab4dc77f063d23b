package server

import (
	"bytes"
	"context"
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

// maxGroupDocument bounds a group document.
const maxGroupDocument = 1 << 20

// Groups resolves vcard:Group documents for acl:agentGroup and the group
// conditions. Documents on this server are read from storage and cached by
// ETag, so a changed group takes effect on the next request; remote ones go
// through fetch (nil: remote groups never match).
type Groups struct {
	store *ldp.Store
	fetch FetchFunc

	mu    sync.Mutex
	local map[string]groupDoc // document IRI -> parsed document
}

type groupDoc struct {
	etag string
	g    *rdfx.Graph
}

// maxCachedGroups bounds the cache of local group documents.
const maxCachedGroups = 1000

// NewGroups resolves groups stored in store, and remote ones through fetch.
func NewGroups(store *ldp.Store, fetch FetchFunc) *Groups {
	return &Groups{store: store, fetch: fetch, local: make(map[string]groupDoc)}
}

// Members lists the vcard:hasMember of groupIRI.
func (gs *Groups) Members(ctx context.Context, groupIRI string) ([]string, error) {
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
	g, err := rdfx.Parse(io.LimitReader(body, maxGroupDocument), rdfx.Turtle, doc, rdfx.ParseOptions{MaxTriples: 50_000})
	if err != nil {
		return nil, fmt.Errorf("server: group document %s: %w", p, err)
	}
	gs.mu.Lock()
	if len(gs.local) >= maxCachedGroups {
		for k := range gs.local { // drop one at random
			delete(gs.local, k)
			break
		}
	}
	gs.local[doc] = groupDoc{etag: info.ETag, g: g}
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
	return rdfx.Parse(bytes.NewReader(body), mt, doc, rdfx.ParseOptions{MaxTriples: 50_000})
}
