package fetch

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weconomics/kluis/webid/internal/lru"
)

// Config tunes a Client. The zero Config is a safe default: public
// addresses only, 5 s to connect, 10 s per request, 1 MiB per body, 3
// redirects, 1000 cached responses of at most 16 MiB in all, kept 30 s to
// 1 h.
type Config struct {
	// Allow lists address ranges a Client may connect to although they are
	// not public, such as 127.0.0.0/8 and ::1/128 for a test or a
	// development setup (see ParseAllowList). A listed range is allowed
	// whatever it holds, cloud-metadata addresses included, so list only
	// what must be reached.
	Allow []netip.Prefix

	// DialTimeout bounds connecting, and the TLS handshake (default 5 s).
	DialTimeout time.Duration
	// Timeout bounds a request as a whole: connecting, redirects, headers
	// and reading the body (default 10 s).
	Timeout time.Duration
	// MaxBodyBytes is the largest response body read (default 1 MiB).
	MaxBodyBytes int64
	// MaxRedirects is how many redirects are followed (default 3; a
	// negative value follows none).
	MaxRedirects int

	// CacheEntries is how many responses Get keeps (default 1000; a
	// negative value disables the cache), CacheBytes the most body bytes
	// they may hold together (default 16 MiB).
	CacheEntries int
	CacheBytes   int64
	// CacheMinTTL and CacheMaxTTL bound how long a response is kept,
	// whatever its caching headers say (default 30 s and 1 h).
	CacheMinTTL time.Duration
	CacheMaxTTL time.Duration

	// Now is the clock of the cache (default time.Now).
	Now func() time.Time
	// UserAgent is sent with every request (default "Kluis").
	UserAgent string

	// Transport, when set, wraps the transport under the guards, so that
	// it sees every request that passed them, on every redirect hop, from
	// Get, HTTPClient and CredentialedHTTPClient alike: main gives it
	// server/tracing's, which makes a span of each request.
	Transport func(http.RoundTripper) http.RoundTripper
}

// validate reports every problem of c at once.
func (c Config) validate() error {
	var errs []error
	for name, d := range map[string]time.Duration{
		"DialTimeout": c.DialTimeout, "Timeout": c.Timeout,
		"CacheMinTTL": c.CacheMinTTL, "CacheMaxTTL": c.CacheMaxTTL,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("fetch: %s is negative", name))
		}
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("fetch: MaxBodyBytes is negative"))
	}
	if c.CacheBytes < 0 {
		errs = append(errs, errors.New("fetch: CacheBytes is negative"))
	}
	if c.CacheMaxTTL > 0 && c.CacheMinTTL > c.CacheMaxTTL {
		errs = append(errs, errors.New("fetch: CacheMinTTL is above CacheMaxTTL"))
	}
	for _, p := range c.Allow {
		if !p.IsValid() {
			errs = append(errs, errors.New("fetch: Allow holds an invalid range"))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	switch {
	case c.MaxRedirects == 0:
		c.MaxRedirects = 3
	case c.MaxRedirects < 0:
		c.MaxRedirects = 0
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = 1000
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = 16 << 20
	}
	if c.CacheMinTTL == 0 {
		c.CacheMinTTL = 30 * time.Second
	}
	if c.CacheMaxTTL == 0 {
		c.CacheMaxTTL = time.Hour
	}
	if c.CacheMaxTTL < c.CacheMinTTL {
		c.CacheMaxTTL = c.CacheMinTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.UserAgent == "" {
		c.UserAgent = "Kluis"
	}
	c.Allow = append([]netip.Prefix(nil), c.Allow...)
	return c
}

// Client fetches documents from the web under the rules in the package
// documentation. It is safe for concurrent use; make one per process and
// share it.
type Client struct {
	cfg Config
	hc  *http.Client
	// authed is hc keeping Authorization (CredentialedHTTPClient).
	authed *http.Client

	mu       sync.Mutex
	cache    *lru.Cache[string, *Response] // nil when disabled
	bytes    int64                         // body bytes in cache
	inflight map[string]*call

	// hits and misses count cache lookups, for metrics.
	hits, misses atomic.Uint64
}

// New returns a Client for cfg, or the problems of cfg.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{cfg: cfg, inflight: make(map[string]*call)}
	dialer := &net.Dialer{
		Timeout:   cfg.DialTimeout,
		KeepAlive: 30 * time.Second,
		Control:   control(cfg.Allow, blockedRanges()),
	}
	tr := &http.Transport{
		Proxy:                  nil, // never a proxy from the environment: it would dial for us
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    cfg.DialTimeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	var next http.RoundTripper = tr
	if cfg.Transport != nil {
		next = cfg.Transport(tr)
	}
	c.hc = &http.Client{
		Transport:     &guard{next: next, max: cfg.MaxBodyBytes, userAgent: cfg.UserAgent},
		CheckRedirect: c.checkRedirect,
		Timeout:       cfg.Timeout,
	}
	c.authed = &http.Client{
		Transport:     &guard{next: next, max: cfg.MaxBodyBytes, userAgent: cfg.UserAgent, keepAuthorization: true},
		CheckRedirect: c.checkRedirect,
		Timeout:       cfg.Timeout,
	}
	if cfg.CacheEntries > 0 {
		c.cache = lru.New[string, *Response](cfg.CacheEntries)
		c.cache.OnEvict = func(_ string, r *Response) { c.bytes -= int64(len(r.Body)) }
	}
	return c, nil
}

// HTTPClient returns the guarded *http.Client of c, without the cache of
// Get: schemes, addresses, redirects, timeouts and body size are checked.
// Give it to libraries that fetch for Kluis, such as go-oidc through
// oidc.ClientContext. Do not change it; copy it to wrap its Transport.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// CredentialedHTTPClient is HTTPClient for requests that carry the
// server's own credentials (webhook notifications made as their sender): it
// keeps the Authorization header the caller sets, with every other guard.
// net/http drops that header on a redirect to another host.
func (c *Client) CredentialedHTTPClient() *http.Client { return c.authed }

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.cfg.MaxRedirects {
		return fmt.Errorf("%w (more than %d)", ErrTooManyRedirects, c.cfg.MaxRedirects)
	}
	return checkScheme(req)
}

func checkScheme(req *http.Request) error {
	switch req.URL.Scheme {
	case "http", "https":
		return nil
	}
	return fmt.Errorf("%w: %q", ErrScheme, req.URL.Scheme)
}

// guard is the RoundTripper of a Client: it refuses other schemes, sets
// the User-Agent, drops credentials and caps the body.
type guard struct {
	next      http.RoundTripper
	max       int64
	userAgent string
	// keepAuthorization keeps the Authorization header the caller set.
	keepAuthorization bool
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkScheme(req); err != nil {
		return nil, err
	}
	// A RoundTripper must not change the request it is given.
	req = req.Clone(req.Context())
	req.URL.User = nil
	if !g.keepAuthorization {
		req.Header.Del("Authorization")
	}
	req.Header.Del("Cookie")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", g.userAgent)
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > g.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, resp.ContentLength, g.max)
	}
	resp.Body = &capped{rc: resp.Body, left: g.max, max: g.max}
	return resp, nil
}

// capped is a response body that fails with ErrTooLarge past max bytes.
type capped struct {
	rc   io.ReadCloser
	left int64
	max  int64
}

func (b *capped) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("%w: limit %d bytes", ErrTooLarge, b.max)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = -1
		return n, fmt.Errorf("%w: limit %d bytes", ErrTooLarge, b.max)
	}
	b.left -= int64(n)
	return n, err
}

func (b *capped) Close() error { return b.rc.Close() }
