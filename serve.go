package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Timeouts of the HTTP server. Bodies have no bound in total (uploads may
// be large and slow), but pauses and a minimum rate bound them
// (-body-timeout, -body-min-rate; server.Config).
const (
	// readHeaderTimeout bounds how long a client may take to send its
	// request headers.
	readHeaderTimeout = 10 * time.Second
	// idleTimeout is how long a kept-alive connection may wait for its
	// next request.
	idleTimeout = 2 * time.Minute
)

// listening is the open listener and the URLs it settles.
type listening struct {
	ln net.Listener
	// url is where the listener is reached; base is the public base URL,
	// url unless -base-url says otherwise.
	url, base string
	baseURL   *url.URL
}

// listen opens the listener of -addr; the base URL defaults to its
// address.
func listen(ctx context.Context, cfg Config) (listening, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return listening{}, fmt.Errorf("listening: %w", err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	l := listening{ln: ln, url: listenURL(host, port)}
	if cfg.Hosting.servesTLS() {
		l.url = "https" + strings.TrimPrefix(l.url, "http")
	}
	l.base = cfg.BaseURL
	if l.base == "" {
		l.base = l.url
	}
	if l.baseURL, err = parseBase(l.base); err != nil {
		ln.Close()
		return listening{}, err
	}
	return l, nil
}

// serve serves b's server on l until ctx is done, then shuts down
// gracefully: the listener closes at once, requests in flight get
// -shutdown-timeout to finish, and the background work is drained.
func serve(ctx context.Context, cfg Config, l listening, b *built, stdout io.Writer, logger *slog.Logger) error {
	srv, hosted, ln := b.srv, b.hosted, l.ln
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	httpSrv.RegisterOnShutdown(func() {
		// Shutdown calls this once the listener is closed.
		logger.Info("listener closed; waiting for requests in flight", "timeout", cfg.ShutdownTimeout)
	})
	// Notifications: WebSockets and streams would otherwise hold the
	// shutdown until its timeout.
	httpSrv.RegisterOnShutdown(srv.Close)
	served := make(chan error, 1)
	// At most -max-conns-per-client connections per client address, under
	// TLS if any.
	go func() { served <- hosted.serve(httpSrv, srv.Listener(ln)) }()
	// Housekeeping, hourly, until the process is told to stop.
	go srv.Maintain(ctx, time.Hour)

	if l.base == l.url {
		fmt.Fprintf(stdout, "Kluis is listening on %s\n", l.url)
	} else {
		fmt.Fprintf(stdout, "Kluis is listening on %s (public base URL %s)\n", l.url, l.base)
	}
	hosted.start(stdout)

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		httpSrv.Close()
		// The access log entries of the requests answered are still
		// written, within what is left of the timeout.
		_ = srv.Drain(sctx)
		return fmt.Errorf("shutting down: requests still in flight after %s: %w", cfg.ShutdownTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	if err := srv.Drain(sctx); err != nil {
		logger.Warn("password reset mails or access log entries still under way were given up", "error", err)
	}
	hosted.shutdown(sctx)
	logger.Info("stopped")
	return nil
}

// parseBase parses the base URL.
func parseBase(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	return u, nil
}
