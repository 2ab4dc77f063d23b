package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/weconomics/kluis/server"
)

// This file reads the hosting settings (HostingConfig): TLS from files or
// ACME, the plain-HTTP listener, trusted proxies and the metrics listener,
// checked by Validate with the rest. hosting.go does the work.

// HostingConfig is the part of Config about how the server is reached.
type HostingConfig struct {
	// TLSCert and TLSKey are PEM files of the certificate chain and its
	// key; with both, Kluis serves HTTPS itself (-tls-cert, KLUIS_TLS_CERT;
	// -tls-key, KLUIS_TLS_KEY). They are read again when they change.
	TLSCert, TLSKey string
	// ACME obtains certificates for the base URL's host from an ACME
	// authority, Let's Encrypt by default (-acme, KLUIS_ACME).
	ACME bool
	// ACMEEmail is the contact address given to the authority
	// (-acme-email, KLUIS_ACME_EMAIL).
	ACMEEmail string
	// ACMECache is the folder of the ACME account key and certificates
	// (-acme-cache, KLUIS_ACME_CACHE; default: "acme" in the data folder).
	ACMECache string
	// ACMEDirectory is the authority's directory URL (-acme-directory,
	// KLUIS_ACME_DIRECTORY; default: Let's Encrypt production).
	ACMEDirectory string
	// HTTPAddr is the address of a plain-HTTP listener that redirects to
	// the base URL and answers ACME http-01 challenges (-http-addr,
	// KLUIS_HTTP_ADDR; default ":80" with ACME, none otherwise; "off" for
	// none).
	HTTPAddr string
	// TrustedProxies lists the CIDR ranges or addresses of the reverse
	// proxies whose Forwarded and X-Forwarded-* headers are believed
	// (-trusted-proxies, KLUIS_TRUSTED_PROXIES).
	TrustedProxies string
	// MetricsAddr is the address of the Prometheus metrics listener; empty
	// means no metrics (-metrics-addr, KLUIS_METRICS_ADDR).
	MetricsAddr string
}

// declareHosting declares the flags of HostingConfig.
func declareHosting(l *loader, h *HostingConfig) {
	l.str(&h.TLSCert, "tls-cert", "KLUIS_TLS_CERT", "",
		"PEM `file` of the TLS certificate chain; with -tls-key, Kluis serves HTTPS itself")
	l.str(&h.TLSKey, "tls-key", "KLUIS_TLS_KEY", "", "PEM `file` of the TLS private key")
	parsedVar(l, &h.ACME, "acme", "KLUIS_ACME", false, parseBool, strconv.FormatBool,
		"obtain TLS certificates for the base URL's host from an ACME authority (Let's Encrypt)")
	l.str(&h.ACMEEmail, "acme-email", "KLUIS_ACME_EMAIL", "", "contact `address` given to the ACME authority")
	l.str(&h.ACMECache, "acme-cache", "KLUIS_ACME_CACHE", "",
		"`folder` of the ACME account key and certificates (default: acme in the data folder)")
	l.str(&h.ACMEDirectory, "acme-directory", "KLUIS_ACME_DIRECTORY", "",
		"ACME directory `URL` (default: Let's Encrypt production)")
	l.str(&h.HTTPAddr, "http-addr", "KLUIS_HTTP_ADDR", "",
		"`address` of a plain-HTTP listener redirecting to HTTPS (default: :80 with -acme; off for none)")
	l.str(&h.TrustedProxies, "trusted-proxies", "KLUIS_TRUSTED_PROXIES", "",
		"comma-separated CIDR `ranges` of reverse proxies whose X-Forwarded-* and Forwarded headers are believed")
	l.str(&h.MetricsAddr, "metrics-addr", "KLUIS_METRICS_ADDR", "",
		"`address` of the Prometheus metrics listener, e.g. :9090 (default: no metrics)")
}

// servesTLS tells whether Kluis terminates TLS itself.
func (h HostingConfig) servesTLS() bool { return h.ACME || h.TLSCert != "" }

// normaliseHosting fills the defaults that depend on other settings. A
// base URL derived from the address (derivedBase) is https when Kluis
// serves TLS.
func (c *Config) normaliseHosting(derivedBase bool) {
	h := &c.Hosting
	if derivedBase && h.servesTLS() && strings.HasPrefix(c.BaseURL, "http://") {
		c.BaseURL = "https://" + strings.TrimPrefix(c.BaseURL, "http://")
	}
	if h.ACME && h.ACMECache == "" {
		h.ACMECache = filepath.Join(c.Data, "acme")
	}
	switch strings.TrimSpace(h.HTTPAddr) {
	case "":
		if h.ACME {
			h.HTTPAddr = ":80"
		}
	case "off":
		h.HTTPAddr = ""
	}
}

// hostingProblems are the bad hosting settings, for Validate.
func (c Config) hostingProblems() []error {
	h := c.Hosting
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if (h.TLSCert == "") != (h.TLSKey == "") {
		bad("-tls-cert ($KLUIS_TLS_CERT) and -tls-key ($KLUIS_TLS_KEY) go together: give both or neither")
	}
	for _, f := range []struct{ name, value string }{
		{"-tls-cert ($KLUIS_TLS_CERT)", h.TLSCert}, {"-tls-key ($KLUIS_TLS_KEY)", h.TLSKey},
	} {
		if f.value == "" {
			continue
		}
		if st, err := os.Stat(f.value); err != nil || !st.Mode().IsRegular() {
			bad("%s: %q is not a readable file", f.name, f.value)
		}
	}
	if h.ACME && h.TLSCert != "" {
		bad("-acme ($KLUIS_ACME) and -tls-cert ($KLUIS_TLS_CERT): choose certificate files or ACME, not both")
	}
	base, _ := url.Parse(c.BaseURL) // checked by Validate
	if h.servesTLS() && base != nil && base.Scheme == "http" {
		bad("-base-url ($KLUIS_BASE_URL): %q must be https when Kluis serves TLS itself "+
			"(behind a proxy that terminates TLS, leave -tls-cert and -acme unset)", base.Redacted())
	}
	if h.ACME {
		switch {
		case base == nil || c.BaseURL == "" || base.Hostname() == "":
			bad("-acme ($KLUIS_ACME) needs -base-url ($KLUIS_BASE_URL) with the public host name, e.g. https://pods.example/")
		case loopbackHost(base.Hostname()) || net.ParseIP(base.Hostname()) != nil || !strings.Contains(base.Hostname(), "."):
			bad("-acme ($KLUIS_ACME): an ACME authority issues certificates for public DNS names only, not %q", base.Hostname())
		}
		if h.ACMEEmail != "" {
			if a, err := mail.ParseAddress(h.ACMEEmail); err != nil || a.Address != h.ACMEEmail {
				bad("-acme-email ($KLUIS_ACME_EMAIL): %q is not an e-mail address", h.ACMEEmail)
			}
		}
		if h.ACMEDirectory != "" {
			if u, err := url.Parse(h.ACMEDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
				bad("-acme-directory ($KLUIS_ACME_DIRECTORY): %q is not an https URL", h.ACMEDirectory)
			}
		}
	} else if h.ACMEEmail != "" || h.ACMEDirectory != "" {
		bad("-acme-email and -acme-directory ($KLUIS_ACME_EMAIL, $KLUIS_ACME_DIRECTORY) need -acme ($KLUIS_ACME)")
	}
	if h.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(h.HTTPAddr); err != nil {
			bad("-http-addr ($KLUIS_HTTP_ADDR): %q is not host:port, :port or off", h.HTTPAddr)
		} else if !h.servesTLS() {
			bad("-http-addr ($KLUIS_HTTP_ADDR) redirects to HTTPS: it needs -tls-cert or -acme")
		} else if sameAddr(h.HTTPAddr, c.Addr) {
			bad("-http-addr ($KLUIS_HTTP_ADDR) and -addr ($KLUIS_ADDR) must differ")
		}
	}
	if h.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(h.MetricsAddr); err != nil {
			bad("-metrics-addr ($KLUIS_METRICS_ADDR): %q is not host:port or :port", h.MetricsAddr)
		} else if sameAddr(h.MetricsAddr, c.Addr) || sameAddr(h.MetricsAddr, h.HTTPAddr) {
			bad("-metrics-addr ($KLUIS_METRICS_ADDR) needs a port of its own: metrics are never served with the pods")
		}
	}
	if _, err := server.ParseProxies(h.TrustedProxies); err != nil {
		bad("-trusted-proxies ($KLUIS_TRUSTED_PROXIES): %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return errs
}

// sameAddr tells whether two listening addresses take the same port
// (port 0, chosen at listening time, never clashes).
func sameAddr(a, b string) bool {
	_, pa, errA := net.SplitHostPort(a)
	_, pb, errB := net.SplitHostPort(b)
	return errA == nil && errB == nil && pa == pb && pa != "0"
}

// hostingAttrs are the hosting settings for the log. None is a secret:
// the TLS key is named by its file, never shown.
func (h HostingConfig) hostingAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("tls_cert", h.TLSCert),
		slog.String("tls_key", h.TLSKey),
		slog.Bool("acme", h.ACME),
		slog.String("acme_email", h.ACMEEmail),
		slog.String("acme_cache", h.ACMECache),
		slog.String("acme_directory", h.ACMEDirectory),
		slog.String("http_addr", h.HTTPAddr),
		slog.String("trusted_proxies", h.TrustedProxies),
		slog.String("metrics_addr", h.MetricsAddr),
	}
}

// loopbackHost reports whether host names this machine: localhost or a
// loopback address.
func loopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
