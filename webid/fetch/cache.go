package fetch

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Response is a successful (2xx) response read whole. Responses may be
// shared between callers through the cache: treat them as read-only.
type Response struct {
	// URL is where the body came from, after redirects: the base IRI of
	// the document.
	URL string
	// StatusCode is the status, 2xx.
	StatusCode int
	// MediaType is the Content-Type without parameters, lower case.
	MediaType string
	Header    http.Header
	Body      []byte
	// Expires is when the cached copy goes stale; zero when the response
	// was not cached.
	Expires time.Time
}

// call is one fetch in flight, shared by every Get of the same key.
type call struct {
	done chan struct{}
	resp *Response
	err  error
}

// Get fetches rawURL (its fragment dropped) with the given Accept header,
// from the cache when a fresh copy is there. A status other than 2xx is a
// *StatusError; the errors of the package documentation otherwise.
// Concurrent Gets of the same URL and Accept share one request, which is
// not cancelled when one caller gives up but is bounded by
// Config.Timeout.
func (c *Client) Get(ctx context.Context, rawURL, accept string) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %q", ErrScheme, u.Scheme)
	}
	u.Fragment, u.RawFragment = "", ""
	target := u.String()
	key := accept + " " + target

	c.mu.Lock()
	if c.cache != nil {
		if r, ok := c.cache.Get(key); ok {
			if c.cfg.Now().Before(r.Expires) {
				c.mu.Unlock()
				c.hits.Add(1)
				return r, nil
			}
			c.cache.Remove(key)
		}
		c.misses.Add(1)
	}
	cl, ok := c.inflight[key]
	if !ok {
		cl = &call{done: make(chan struct{})}
		c.inflight[key] = cl
		go c.do(context.WithoutCancel(ctx), key, target, accept, cl)
	}
	c.mu.Unlock()

	select {
	case <-cl.done:
		return cl.resp, cl.err
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch: GET %s: %w", target, ctx.Err())
	}
}

// do runs one fetch for Get, stores a cacheable result and wakes the
// callers.
func (c *Client) do(ctx context.Context, key, target, accept string, cl *call) {
	resp, err := c.get(ctx, target, accept)
	c.mu.Lock()
	delete(c.inflight, key)
	if err == nil && c.cache != nil {
		c.store(key, resp)
	}
	c.mu.Unlock()
	cl.resp, cl.err = resp, err
	close(cl.done)
}

func (c *Client) get(ctx context.Context, target, accept string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, err // a *url.Error naming the URL
	}
	defer hr.Body.Close()
	if hr.StatusCode < 200 || hr.StatusCode > 299 {
		return nil, &StatusError{URL: hr.Request.URL.String(), StatusCode: hr.StatusCode}
	}
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch: GET %s: %w", hr.Request.URL, err)
	}
	mt, _, _ := mime.ParseMediaType(hr.Header.Get("Content-Type"))
	return &Response{
		URL:        hr.Request.URL.String(),
		StatusCode: hr.StatusCode,
		MediaType:  strings.ToLower(mt),
		Header:     hr.Header,
		Body:       body,
	}, nil
}

// store caches r under key when its headers allow, for their freshness
// lifetime clamped to [CacheMinTTL, CacheMaxTTL]. c.mu is held.
func (c *Client) store(key string, r *Response) {
	if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusNonAuthoritativeInfo {
		return
	}
	now := c.cfg.Now()
	ttl, ok := freshness(r.Header, now)
	if !ok || int64(len(r.Body)) > c.cfg.CacheBytes {
		return
	}
	ttl = min(max(ttl, c.cfg.CacheMinTTL), c.cfg.CacheMaxTTL)
	r.Expires = now.Add(ttl)
	c.cache.Remove(key)
	c.cache.Add(key, r)
	c.bytes += int64(len(r.Body))
	for c.bytes > c.cfg.CacheBytes && c.cache.RemoveOldest() {
	}
}

// freshness is the freshness lifetime of a response by its headers (RFC
// 9111 §4.2.1: Cache-Control max-age, else Expires minus Date, less Age),
// and whether it may be stored at all: not with no-store, and not with
// no-cache either, since this cache does not revalidate. A response with
// no freshness information gets 0, which the caller raises to its floor.
func freshness(h http.Header, now time.Time) (time.Duration, bool) {
	var (
		maxAge    = -1
		directive = false
	)
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0, false
			case "max-age":
				n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
				if err != nil || n < 0 {
					n = 0 // an invalid max-age means stale (RFC 9111 §4.2.1)
				}
				if !directive {
					maxAge, directive = n, true
				}
			}
		}
	}
	var ttl time.Duration
	switch {
	case directive:
		ttl = time.Duration(maxAge) * time.Second
	case h.Get("Expires") != "":
		exp, err := http.ParseTime(h.Get("Expires"))
		if err != nil {
			break // an invalid Expires means stale
		}
		date := now
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			date = d
		}
		ttl = exp.Sub(date)
	}
	if age, err := strconv.Atoi(h.Get("Age")); err == nil && age > 0 {
		ttl -= time.Duration(age) * time.Second
	}
	return max(ttl, 0), true
}

// CacheStats tells how many cacheable GETs were answered from the cache
// (hits) and how many went to the network (misses).
func (c *Client) CacheStats() (hits, misses uint64) {
	return c.hits.Load(), c.misses.Load()
}
