package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"github.com/weconomics/kluis/ldp"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/certs"
	"github.com/weconomics/kluis/server/metrics"
	"github.com/weconomics/kluis/server/tracing"
	"github.com/weconomics/kluis/storage"
)

// This file is what a deployment adds around the server: HTTPS from
// certificate files or ACME with a plain-HTTP redirect listener, trusted
// reverse proxies, Prometheus metrics on a listener of their own,
// OpenTelemetry tracing (tracing.go), and the
// -version and -healthcheck entry points (the health check is the
// container image's HEALTHCHECK: distroless images have no shell or curl).

// livenessPath is the server's liveness probe, which -healthcheck asks.
const livenessPath = "/.well-known/kluis/live"

// healthTimeout bounds the whole of -healthcheck.
const healthTimeout = 5 * time.Second

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

// hosting is what newHosting built for one run: the settings turned into
// values, and the listeners beside the main one, bound but not yet
// serving.
type hosting struct {
	proxies []netip.Prefix
	metrics *metrics.Metrics // nil without metrics
	tracing *tracing.Tracing // nil without tracing
	// tracingDone is set once the tracing has been shut down.
	tracingDone bool
	tls         *tls.Config // nil for plain HTTP
	sides       []*side
	logger      *slog.Logger
}

// side is a listener beside the main one.
type side struct {
	name string
	ln   net.Listener
	srv  *http.Server
	// line is printed to stdout once it serves; %s is its address.
	line string
}

// newHosting parses the hosting settings, loads the certificates and
// binds the metrics and redirect listeners. On error, nothing is left
// open.
func newHosting(ctx context.Context, cfg Config, base *url.URL, logger *slog.Logger, store storage.Backend) (*hosting, error) {
	h := &hosting{logger: logger}
	hc := cfg.Hosting
	var err error
	if h.proxies, err = server.ParseProxies(hc.TrustedProxies); err != nil {
		return nil, err // checked by Validate
	}

	var acmeManager *certs.ACME
	switch {
	case hc.TLSCert != "":
		files, err := certs.LoadFiles(hc.TLSCert, hc.TLSKey, logger)
		if err != nil {
			return nil, err
		}
		h.tls = files.TLSConfig()
	case hc.ACME:
		acmeManager, err = certs.NewACME(certs.ACMEConfig{
			Host: base.Hostname(), Email: hc.ACMEEmail, CacheDir: hc.ACMECache, DirectoryURL: hc.ACMEDirectory,
			// In subdomain pod mode, certificates for <pod>.<host> names
			// of registered pods only.
			Subdomains: podHostPolicy(cfg.PodMode == "subdomain", base.Hostname(), store),
		})
		if err != nil {
			return nil, err
		}
		h.tls = acmeManager.TLSConfig()
	}

	if hc.MetricsAddr != "" {
		h.metrics = metrics.New(version)
		if err := h.bind(ctx, "metrics", hc.MetricsAddr, h.metrics.Handler(),
			"Kluis serves metrics on http://%s"+metrics.Path+"\n"); err != nil {
			h.close()
			return nil, err
		}
	}
	if h.tracing, err = newTracing(ctx, cfg.Tracing, logger); err != nil { // tracing.go
		h.close()
		return nil, err
	}
	if hc.HTTPAddr != "" && h.tls != nil {
		var redirect http.Handler = certs.Redirect(base)
		line := "Kluis redirects http://%s/ to " + base.Scheme + "://" + base.Host + "/\n"
		if acmeManager != nil {
			redirect = acmeManager.HTTPHandler(redirect)
			line = "Kluis answers ACME challenges and redirects to HTTPS on http://%s/\n"
		}
		if err := h.bind(ctx, "http redirect", hc.HTTPAddr, redirect, line); err != nil {
			h.close()
			return nil, err
		}
	}
	return h, nil
}

// bind listens on addr for a side server.
func (h *hosting) bind(ctx context.Context, name, addr string, handler http.Handler, line string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for %s: %w", name, err)
	}
	h.sides = append(h.sides, &side{name: name, ln: ln, line: line, srv: &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(h.logger.Handler(), slog.LevelWarn),
	}})
	return nil
}

// store is b as the server should use it: metered when metrics are on,
// traced when tracing is on.
func (h *hosting) store(b storage.Backend, name string) storage.Backend {
	if h.metrics != nil {
		b = h.metrics.Storage(b, name)
	}
	if h.tracing != nil {
		b = h.tracing.Storage(b, name)
	}
	return b
}

// tracer is the server's Tracer: nil (not a nil *Tracing) without
// tracing.
func (h *hosting) tracer() server.Tracer {
	if h.tracing == nil {
		return nil
	}
	return h.tracing
}

// fetchTransport is the fetcher's transport wrapper: spans of outbound
// requests with tracing on, nil without.
func (h *hosting) fetchTransport() func(http.RoundTripper) http.RoundTripper {
	if h.tracing == nil {
		return nil
	}
	return h.tracing.Transport
}

// stopTracing exports the spans still queued, within ctx, and stops the
// tracing; it does so once.
func (h *hosting) stopTracing(ctx context.Context) {
	if h.tracing == nil || h.tracingDone {
		return
	}
	h.tracingDone = true
	if err := h.tracing.Shutdown(ctx); err != nil {
		h.logger.Warn("tracing: exporting the last spans", "error", err)
	}
}

// observer is the server's Observer: nil (not a nil *Metrics) without
// metrics.
func (h *hosting) observer() server.Observer {
	if h.metrics == nil {
		return nil
	}
	return h.metrics
}

// serve serves srv on ln, over TLS when the hosting has certificates.
func (h *hosting) serve(srv *http.Server, ln net.Listener) error {
	if h.tls == nil {
		return srv.Serve(ln)
	}
	srv.TLSConfig = h.tls
	return srv.ServeTLS(ln, "", "")
}

// start serves the side listeners and prints their lines to stdout. A
// side server that fails is logged; the pods stay served.
func (h *hosting) start(stdout io.Writer) {
	for _, s := range h.sides {
		go func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				h.logger.Error("a side listener stopped", "listener", s.name, "error", err)
			}
		}()
		fmt.Fprintf(stdout, s.line, s.ln.Addr())
	}
}

// shutdown stops the side listeners gracefully, then exports the last
// spans: call it once the main server has shut down, so that the spans
// of its last requests are in.
func (h *hosting) shutdown(ctx context.Context) {
	for _, s := range h.sides {
		if err := s.srv.Shutdown(ctx); err != nil {
			s.srv.Close()
		}
	}
	h.stopTracing(ctx)
}

// close closes whatever is still open, after an error or a shutdown; the
// spans still queued get tracingFlushTimeout to go out.
func (h *hosting) close() {
	for _, s := range h.sides {
		s.srv.Close()
		s.ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
	defer cancel()
	h.stopTracing(ctx)
}

// hostingCommand runs -version or -healthcheck when args start with one,
// and tells whether it did.
func hostingCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (bool, error) {
	if len(args) == 0 {
		return false, nil
	}
	switch args[0] {
	case "-version", "--version":
		fmt.Fprintf(stdout, "kluis %s\n", version)
		return true, nil
	case "-healthcheck", "--healthcheck":
		return true, healthCheck(ctx, args[1:], getenv, stdout)
	}
	return false, nil
}

// healthCheck asks the liveness probe of the server that the same
// settings describe (its address on this machine, over TLS when it serves
// TLS) and returns nil only for 200. Its errors are never configErrors, so
// the process exits 1, which a container HEALTHCHECK reads as unhealthy
// (2 is reserved there).
func healthCheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return errors.New("usage: kluis -healthcheck [flags]: the flags and variables of the server it checks")
	}
	if err != nil {
		return fmt.Errorf("health check: invalid configuration: %v", err)
	}
	target, tlsConfig, err := cfg.healthTarget()
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, TLSClientConfig: tlsConfig, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %d", target, res.StatusCode)
	}
	fmt.Fprintf(stdout, "live: %s\n", target)
	return nil
}

// healthTarget is the liveness URL of the server on this machine, and
// the TLS client configuration to reach it: the base URL's host name is
// verified against the system roots, and against the configured
// certificate file too, so that a self-signed certificate passes.
func (c Config) healthTarget() (string, *tls.Config, error) {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || port == "0" {
		return "", nil, fmt.Errorf("-addr %q has no fixed port to check", c.Addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() && ip.To4() != nil {
		host = "127.0.0.1"
	} else if ip != nil && ip.IsUnspecified() {
		host = "::1"
	}
	if !c.Hosting.servesTLS() {
		return "http://" + net.JoinHostPort(host, port) + livenessPath, nil, nil
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || base.Hostname() == "" {
		return "", nil, errors.New("no base URL to verify the certificate against")
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if c.Hosting.TLSCert != "" {
		pem, err := os.ReadFile(c.Hosting.TLSCert)
		if err != nil {
			return "", nil, err
		}
		roots.AppendCertsFromPEM(pem)
	}
	return "https://" + net.JoinHostPort(host, port) + livenessPath,
		&tls.Config{ServerName: base.Hostname(), RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// podHostPolicy answers the ACME host policy for names below the base host:
// nil only for <pod>.<host> where the pod is registered, in subdomain pod
// mode; nil (no such names) otherwise.
func podHostPolicy(on bool, host string, store storage.Backend) func(context.Context, string) error {
	if !on {
		return nil
	}
	return func(ctx context.Context, name string) error {
		label, ok := strings.CutSuffix(strings.ToLower(name), "."+strings.ToLower(host))
		if !ok {
			return fmt.Errorf("kluis: %q is not below %s", name, host)
		}
		found, err := ldp.PodRegistered(ctx, store, label)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("kluis: no pod %q", label)
		}
		return nil
	}
}

// watch makes the metrics read the server's own counters (notification
// channels, cache lookups) at each scrape; nothing without metrics.
func (h *hosting) watch(srv *server.Server) {
	if h.metrics == nil {
		return
	}
	h.metrics.Watch(func() metrics.Levels {
		st := srv.Stats()
		return metrics.Levels{
			Channels:     st.Channels,
			ACLCacheHits: st.ACLCacheHits, ACLCacheMisses: st.ACLCacheMisses,
			FetchCacheHits: st.FetchCacheHits, FetchCacheMisses: st.FetchCacheMisses,
		}
	})
}
