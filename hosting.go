package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/certs"
	"github.com/weconomics/kluis/server/metrics"
	"github.com/weconomics/kluis/server/tracing"
	"github.com/weconomics/kluis/storage"
)

// This file is what a deployment adds around the server: HTTPS from
// certificate files or ACME with a plain-HTTP redirect listener, trusted
// reverse proxies, Prometheus metrics on a listener of their own,
// OpenTelemetry tracing (newTracing below; its settings in
// config_tracing.go), and the
// -version and -healthcheck entry points (the health check is the
// container image's HEALTHCHECK: distroless images have no shell or curl).

// The settings of hosting (HostingConfig) are in config_hosting.go.

// tracingFlushTimeout bounds the export of the last spans when the server
// stops without a graceful shutdown (an error, or requests that outlived
// -shutdown-timeout).
const tracingFlushTimeout = 5 * time.Second

// livenessPath is the server's liveness probe, which -healthcheck asks.
const livenessPath = "/.well-known/kluis/live"

// healthTimeout bounds the whole of -healthcheck.
const healthTimeout = 5 * time.Second

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
	if h.tracing, err = newTracing(ctx, cfg.Tracing, logger); err != nil {
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

// newTracing builds the tracing of a run, or nil when it is off (no
// exporter, no wrapper, nothing on the request path).
func newTracing(ctx context.Context, t TracingConfig, logger *slog.Logger) (*tracing.Tracing, error) {
	if t.Mode != tracingOTLP {
		if t.EndpointVar != "" {
			logger.Info("tracing is off although $" + t.EndpointVar + " is set: set KLUIS_TRACING=otlp to export spans")
		}
		return nil, nil
	}
	headers, _ := tracing.ParseHeaders(string(t.Headers)) // checked by Validate
	tr, err := tracing.New(ctx, tracing.Config{
		Endpoint: t.Endpoint, Headers: headers, ServiceName: t.ServiceName,
		Version: version, Sampler: t.Sampler, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("tracing: spans are exported over OTLP/HTTP", "endpoint", t.redactedEndpoint())
	return tr, nil
}
