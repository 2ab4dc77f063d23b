package webid

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/webid/internal/lru"
)

// SolidOIDCIssuer is the predicate by which a WebID profile names the
// OpenID Providers it trusts (Solid-OIDC #oidc-issuer-discovery).
const SolidOIDCIssuer = "http://www.w3.org/ns/solid/terms#oidcIssuer"

// profileAccept prefers the two formats every Solid server serves RDF
// documents in (Solid Protocol 0.11: "text/turtle or application/ld+json"),
// then the other formats rdfx reads.
const profileAccept = "text/turtle, application/ld+json;q=0.9, application/n-triples;q=0.5, application/rdf+xml;q=0.3"

// Bounds of profile handling: the triples and the bytes of terms a profile
// may parse to (ldp/rdfx.ParseOptions), and the profiles cached.
const (
	maxProfileTriples = 10_000
	maxProfileBytes   = 4 << 20
	maxProfiles       = 10_000
)

// profiles caches, per WebID, the issuers its profile lists: remote
// profiles until their fetch.Response expires, local ones while their
// bytes are unchanged. A remote profile fetched again is parsed again only
// if its bytes changed: a profile served without an expiry, or with a
// short one, costs its fetch, not its parse, on every request.
type profiles struct {
	mu sync.Mutex
	m  *lru.Cache[string, profileEntry]
}

type profileEntry struct {
	issuers []string  // normalised (normalizeIssuer)
	expires time.Time // remote profiles
	sum     [32]byte  // hash of the document (remote: with its URL and media type)
	local   bool
}

func newProfiles() *profiles {
	return &profiles{m: lru.New[string, profileEntry](maxProfiles)}
}

func (p *profiles) get(webid string) (profileEntry, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m.Get(webid)
}

func (p *profiles) put(webid string, e profileEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m.Add(webid, e)
}

// issuersOf returns the normalised issuers the profile of webid lists
// (Solid-OIDC #oidc-issuer-discovery: statements ?webid solid:oidcIssuer ?iss). A profile
// hosted here is read through Config.Local; any other is fetched.
func (v *Verifier) issuersOf(ctx context.Context, webid string) ([]string, error) {
	doc, _, _ := strings.Cut(webid, "#")
	if v.cfg.Local != nil {
		turtle, ok, err := v.cfg.Local.Profile(ctx, webid)
		if err != nil {
			return nil, fmt.Errorf("webid: local profile %s: %w", webid, err)
		}
		if ok {
			sum := sha256.Sum256(turtle)
			if e, ok := v.profiles.get(webid); ok && e.local && e.sum == sum {
				return e.issuers, nil
			}
			iss, err := profileIssuers(ctx, turtle, rdfx.Turtle, doc, webid)
			if err != nil {
				return nil, err
			}
			v.profiles.put(webid, profileEntry{issuers: iss, sum: sum, local: true})
			return iss, nil
		}
	}
	now := v.cfg.Now()
	e, cached := v.profiles.get(webid)
	cached = cached && !e.local
	if cached && now.Before(e.expires) {
		return e.issuers, nil
	}
	resp, err := v.fetch.Get(ctx, doc, profileAccept)
	if err != nil {
		return nil, authErr("the WebID profile could not be fetched", fmt.Errorf("%w: %w", ErrUnavailable, clip(err)))
	}
	if !rdfx.Supports(resp.MediaType) {
		return nil, authErr("the WebID profile is not RDF", fmt.Errorf("%w: %s is %.60q", ErrUnavailable, resp.URL, resp.MediaType))
	}
	h := sha256.New()
	h.Write([]byte(resp.URL + "\x00" + resp.MediaType + "\x00"))
	h.Write(resp.Body)
	var sum [32]byte
	h.Sum(sum[:0])
	if cached && e.sum == sum {
		e.expires = resp.Expires
		v.profiles.put(webid, e)
		return e.issuers, nil
	}
	iss, err := profileIssuers(ctx, resp.Body, resp.MediaType, resp.URL, webid)
	if err != nil {
		return nil, err
	}
	v.profiles.put(webid, profileEntry{issuers: iss, expires: resp.Expires, sum: sum})
	return iss, nil
}

// profileIssuers parses a profile document and returns the normalised
// objects of webid solid:oidcIssuer. The parse stops when ctx is done: a
// profile is read before the request is authenticated.
func profileIssuers(ctx context.Context, doc []byte, mediaType, base, webid string) ([]string, error) {
	g, err := rdfx.ParseContext(ctx, bytes.NewReader(doc), mediaType, base, rdfx.ParseOptions{MaxTriples: maxProfileTriples, MaxBytes: maxProfileBytes})
	if err != nil {
		desc := "the WebID profile cannot be parsed"
		if errors.Is(err, rdfx.ErrTooManyTriples) || errors.Is(err, rdfx.ErrTooLarge) {
			desc = "the WebID profile is too large"
		}
		return nil, authErr(desc, fmt.Errorf("%w: profile of %s: %w", ErrUnavailable, webid, clip(err)))
	}
	var iss []string
	for t := range g.Match(rdfx.IRI(webid), rdfx.IRI(SolidOIDCIssuer), rdfx.Term{}) {
		if t.O.IsIRI() {
			iss = append(iss, normalizeIssuer(t.O.Value()))
		}
	}
	if len(iss) == 0 {
		return nil, authErr("the WebID profile lists no solid:oidcIssuer",
			fmt.Errorf("%w: profile of %s lists no issuer", ErrUntrustedIssuer, webid))
	}
	slices.Sort(iss)
	return slices.Compact(iss), nil
}
