package webid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/weconomics/kluis/webid/internal/lru"
)

// maxIssuers bounds how many issuers' metadata and keys are kept.
const maxIssuers = 1000

// errRefreshLimited is the error of a key set fetch refused because the
// previous one was less than Config.JWKSRefreshInterval ago.
var errRefreshLimited = errors.New("webid: key set refreshed too recently")

// issuers holds, per issuer, the key set found by OpenID Connect Discovery
// (Solid-OIDC #id-token-validation: "the verifying party MUST follow OpenID
// Connect Discovery 1.0 [[!OIDC-DISCOVERY]] to find an OP's signing keys").
type issuers struct {
	hc    *http.Client
	now   func() time.Time
	every time.Duration

	mu sync.Mutex
	m  *lru.Cache[string, *issuer]
}

// issuer is one OpenID Provider: its remote key set once discovered, and
// the last failed discovery, which is not retried for a while.
type issuer struct {
	url string

	mu         sync.Mutex // serialises discovery
	client     *http.Client
	jwksURI    string
	keys       oidc.KeySet
	discovered time.Time
	failed     time.Time
	lastErr    error
}

// rediscoverAfter is how long an issuer's metadata is trusted before it is
// fetched again (a changed jwks_uri is followed; on failure the known key
// set stays in use).
const rediscoverAfter = time.Hour

func newIssuers(hc *http.Client, now func() time.Time, every time.Duration) *issuers {
	return &issuers{hc: hc, now: now, every: every, m: lru.New[string, *issuer](maxIssuers)}
}

// get returns the issuer entry for iss (exactly as the token says it).
func (is *issuers) get(iss string) *issuer {
	is.mu.Lock()
	defer is.mu.Unlock()
	e, ok := is.m.Get(iss)
	if !ok {
		// go-oidc's RemoteKeySet refetches the key set on every signature
		// it cannot verify, with no rate limit of its own (it only shares
		// a fetch in flight); limit wraps its client so that it fetches at
		// most once per interval, per issuer.
		hc := *is.hc
		hc.Transport = &limit{next: is.hc.Transport, now: is.now, every: is.every}
		e = &issuer{url: iss, client: &hc}
		is.m.Add(iss, e)
	}
	return e
}

// keySet returns the key set of iss, discovering it the first time and
// every rediscoverAfter. go-oidc checks that the metadata's issuer is iss
// exactly.
func (is *issuers) keySet(ctx context.Context, iss string) (oidc.KeySet, error) {
	e := is.get(iss)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := is.now()
	if e.keys != nil && now.Sub(e.discovered) < rediscoverAfter {
		return e.keys, nil
	}
	if e.lastErr != nil && now.Sub(e.failed) < is.every {
		if e.keys != nil {
			return e.keys, nil
		}
		return nil, e.lastErr
	}
	// The discovery serves every request waiting for this issuer, so one
	// caller giving up does not cancel it; Config.Timeout of the fetch
	// client bounds it.
	jwksURI, err := is.discover(context.WithoutCancel(ctx), iss)
	if err != nil {
		e.failed, e.lastErr = now, clip(fmt.Errorf("discovery of %s: %w", iss, err))
		if e.keys != nil {
			return e.keys, nil
		}
		return nil, e.lastErr
	}
	if e.keys == nil || jwksURI != e.jwksURI {
		e.keys = oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), e.client), jwksURI)
		e.jwksURI = jwksURI
	}
	e.discovered, e.lastErr = now, nil
	return e.keys, nil
}

// discover fetches the metadata of iss (OpenID Connect Discovery 1.0 §4)
// and returns its jwks_uri.
func (is *issuers) discover(ctx context.Context, iss string) (string, error) {
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, is.hc), iss)
	if err != nil {
		return "", err
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil {
		return "", err
	}
	if u, err := url.Parse(meta.JWKSURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("metadata has no http(s) jwks_uri")
	}
	return meta.JWKSURI, nil
}

// limit is the RoundTripper of an issuer's key set fetches: at most one
// per interval. Redirect hops of an allowed fetch pass.
type limit struct {
	next  http.RoundTripper
	now   func() time.Time
	every time.Duration

	mu   sync.Mutex
	last time.Time
	used bool
}

func (l *limit) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Response == nil { // not a redirect hop
		l.mu.Lock()
		now := l.now()
		if l.used && now.Sub(l.last) < l.every {
			l.mu.Unlock()
			return nil, errRefreshLimited
		}
		l.used, l.last = true, now
		l.mu.Unlock()
	}
	return l.next.RoundTrip(req)
}

// verifySignature checks the token's signature with its issuer's keys and
// that the signed payload is the one whose claims were checked, then
// remembers the token as verified until it expires.
//
// Tokens are reused for many requests, so a verified token is remembered
// (by its SHA-256, with its parsed claims): its signature is checked and
// its claims are parsed once. A key the issuer later drops from its key
// set is thus trusted for the tokens already seen until they expire, as
// their holders already had them.
func (v *Verifier) verifySignature(ctx context.Context, t *token) error {
	if err := v.checkSignature(ctx, t); err != nil {
		return err
	}
	// t is this request's own until it is added; shared, it never changes.
	t.verified = true
	v.verified.add(t.sum, t, t.claims.Exp.time().Add(v.cfg.ClockSkew))
	return nil
}

// verifiedTokens remembers tokens whose signature verified, by the
// SHA-256 of their compact form, until they expire.
type verifiedTokens struct {
	mu sync.Mutex
	m  *lru.Cache[[32]byte, verifiedToken]
}

type verifiedToken struct {
	tok     *token
	expires time.Time // exp plus the clock skew
}

// maxVerified bounds how many verified tokens are remembered.
const maxVerified = 10_000

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{m: lru.New[[32]byte, verifiedToken](maxVerified)}
}

// get returns the verified token whose hash is sum, or nil when there is
// none or it has expired.
func (vt *verifiedTokens) get(sum [32]byte, now time.Time) *token {
	vt.mu.Lock()
	defer vt.mu.Unlock()
	e, ok := vt.m.Get(sum)
	if !ok {
		return nil
	}
	if !now.Before(e.expires) {
		vt.m.Remove(sum)
		return nil
	}
	return e.tok
}

func (vt *verifiedTokens) add(sum [32]byte, t *token, expires time.Time) {
	vt.mu.Lock()
	defer vt.mu.Unlock()
	vt.m.Add(sum, verifiedToken{tok: t, expires: expires})
}

// checkSignature verifies the token with its issuer's key set.
func (v *Verifier) checkSignature(ctx context.Context, t *token) error {
	ks, err := v.issuers.keySet(ctx, t.claims.Iss)
	if err != nil {
		return authErr("the token's issuer could not be reached", fmt.Errorf("%w: %w", ErrUnavailable, err))
	}
	payload, err := ks.VerifySignature(ctx, t.raw)
	switch {
	case err == nil && bytes.Equal(payload, t.payload):
		return nil
	case err == nil:
		return authErr("access token signature does not verify", fmt.Errorf("%w: payload mismatch", ErrToken))
	case errors.Is(err, errRefreshLimited):
		return authErr("access token signed with a key unknown to its issuer", fmt.Errorf("%w: unknown key, key set refreshed recently", ErrToken))
	}
	// go-oidc's key set errors are untyped and may quote the key set
	// document; only a transport failure (a *url.Error, from the fetch
	// Client) is passed on.
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return authErr("the token issuer's keys could not be fetched", fmt.Errorf("%w: %w", ErrUnavailable, ue))
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return authErr("the token issuer's keys could not be fetched", fmt.Errorf("%w: %w", ErrUnavailable, err))
	}
	return authErr("access token signature does not verify", fmt.Errorf("%w: no key of the issuer verifies the signature, or its key set is unusable", ErrToken))
}

// clipped is an error whose text is cut short: go-oidc puts whole response
// bodies in its errors.
type clipped struct {
	msg string
	err error
}

func (c *clipped) Error() string { return c.msg }
func (c *clipped) Unwrap() error { return c.err }

// clip bounds the text of err, keeping it for errors.Is and errors.As.
func clip(err error) error {
	const max = 300
	if err == nil || len(err.Error()) <= max {
		return err
	}
	return &clipped{msg: err.Error()[:max] + "...", err: err}
}
