package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEConfig configures certificates obtained from an ACME authority.
type ACMEConfig struct {
	// Host is the name certificates are for: the base URL's host, without
	// a port.
	Host string
	// Email is the contact address given to the authority; optional.
	Email string
	// CacheDir holds the account key and the certificates between
	// restarts (created with mode 0700 when missing). Every process that
	// serves Host should have it, or each obtains certificates of its own.
	CacheDir string
	// DirectoryURL is the authority's directory; empty means Let's
	// Encrypt's production directory.
	DirectoryURL string
	// Subdomains, when set, is asked about names below Host
	// ("alice.pods.example" for "pods.example") and returns nil for those
	// this server serves, such as pods in a subdomain pod mode. It must
	// refuse names it does not know, or anyone could make the server ask
	// for certificates of arbitrary names. Nil refuses every subdomain.
	Subdomains func(ctx context.Context, host string) error
}

// ACME obtains and renews certificates through autocert.
type ACME struct {
	manager *autocert.Manager
}

// NewACME builds the certificate manager. It contacts no authority until
// the first TLS handshake (or http-01 challenge) needs a certificate.
func NewACME(cfg ACMEConfig) (*ACME, error) {
	if cfg.Host == "" {
		return nil, errors.New("certs: ACME needs a host name")
	}
	if cfg.CacheDir == "" {
		return nil, errors.New("certs: ACME needs a cache folder")
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cfg.CacheDir),
		HostPolicy: HostPolicy(cfg.Host, cfg.Subdomains),
		Email:      cfg.Email,
	}
	if cfg.DirectoryURL != "" {
		m.Client = &acme.Client{DirectoryURL: cfg.DirectoryURL}
	}
	return &ACME{manager: m}, nil
}

// HostPolicy accepts host itself, asks subdomains (when not nil) about
// names below host, and refuses every other name. Names are compared
// without regard to case or a final dot.
func HostPolicy(host string, subdomains func(ctx context.Context, host string) error) autocert.HostPolicy {
	want := normalHost(host)
	return func(ctx context.Context, name string) error {
		n := normalHost(name)
		if n == want {
			return nil
		}
		if subdomains != nil && strings.HasSuffix(n, "."+want) {
			return subdomains(ctx, n)
		}
		return fmt.Errorf("certs: no certificate for %q: this server is %q", name, host)
	}
}

func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// TLSConfig is a server configuration that obtains certificates on
// demand and answers tls-alpn-01 challenges.
func (a *ACME) TLSConfig() *tls.Config {
	c := a.manager.TLSConfig()
	c.MinVersion = tls.VersionTLS12
	return c
}

// HTTPHandler answers http-01 challenges and passes every other request
// to fallback.
func (a *ACME) HTTPHandler(fallback http.Handler) http.Handler {
	return a.manager.HTTPHandler(fallback)
}

// Redirect sends every request to the same path and query under base
// (its scheme and host), with 308 Permanent Redirect, which keeps the
// method and body. The target never comes from the request's Host header.
func Redirect(base *url.URL) http.Handler {
	origin := base.Scheme + "://" + base.Host
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, origin+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
