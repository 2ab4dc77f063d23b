// Command kluis is a Solid pod server.
//
// It reads its settings from flags, each defaulting from a KLUIS_*
// environment variable (run kluis -h for the list), opens the storage
// backend, serves HTTP until SIGINT or SIGTERM, and then shuts down
// gracefully: the listener closes at once, and requests in flight get
// -shutdown-timeout to finish.
//
// Package main wires the parts together and holds no logic of its own; it
// is the only importer of server.
package main

import (
	"context"
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
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/accounts"
	"github.com/weconomics/kluis/server/mail"
	"github.com/weconomics/kluis/server/notify/natsbus"
	"github.com/weconomics/kluis/server/oidc"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/s3"
	"github.com/weconomics/kluis/webid/account"
	"github.com/weconomics/kluis/webid/fetch"
)

// version is the Kluis release, set by .ci/build with
// -ldflags "-X main.version=..."; a plain go build leaves "dev".
var version = "dev"

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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one stops the process at once.
		<-ctx.Done()
		stop()
	}()
	var err error
	if isCommand(os.Args[1:]) {
		// kluis account create, kluis pod list (cli.go).
		err = runCommand(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	} else {
		err = run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kluis: %v\n", err)
		var ce *configError
		if errors.As(err, &ce) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// configError is a configuration that cannot be used.
type configError struct {
	err error
}

func (e *configError) Error() string {
	return "invalid configuration:\n\t" + strings.ReplaceAll(e.err.Error(), "\n", "\n\t") +
		"\n(kluis -h lists the settings)"
}

func (e *configError) Unwrap() error { return e.err }

// run is the whole program: it loads the settings from args and getenv,
// serves until ctx is done, then shuts down gracefully and closes the
// backend. It prints a line with the URL it listens on to stdout once it
// accepts connections, and logs to stderr.
//
// When args start with a command (cli.go), run runs it instead, with no
// standard input.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if isCommand(args) {
		return runCommand(ctx, args, getenv, nil, stdout, stderr)
	}
	// kluis -version, kluis -healthcheck (hosting.go).
	if done, err := hostingCommand(ctx, args, getenv, stdout); done {
		return err
	}
	cfg, err := loadConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stderr, getenv)
		return nil
	}
	if err != nil {
		return &configError{err: err}
	}
	logger := newLogger(cfg, stderr)
	logger.Info("starting Kluis", "version", version, "config", cfg)

	store, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if c, ok := store.(io.Closer); ok {
			if err := c.Close(); err != nil {
				logger.Error("closing the storage backend", "error", err)
			}
		}
	}()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	listening := listenURL(host, port)
	if cfg.Hosting.servesTLS() {
		listening = "https" + strings.TrimPrefix(listening, "http")
	}
	base := cfg.BaseURL
	if base == "" {
		base = listening
	}
	baseURL, err := parseBase(base)
	if err != nil {
		ln.Close()
		return err
	}

	var rootACL []byte
	if cfg.RootACL != "" {
		if rootACL, err = os.ReadFile(cfg.RootACL); err != nil {
			ln.Close()
			return fmt.Errorf("root ACL: %w", err)
		}
	}
	allow, _ := fetch.ParseAllowList(cfg.FetchAllow) // checked by Validate
	if loopbackHost(baseURL.Hostname()) {
		// A server whose public URL is on this machine (development) is its
		// own identity provider there: let it fetch its own issuer and
		// WebIDs over loopback, and nothing else private.
		allow = append(allow, netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
		logger.Info("the base URL is on loopback: WebID and issuer fetches may reach loopback addresses")
	}
	// Hosting (hosting.go): TLS, trusted proxies, metrics, tracing, and
	// the listeners beside this one.
	hosted, err := newHosting(ctx, cfg, baseURL, logger, store)
	if err != nil {
		ln.Close()
		return err
	}
	defer hosted.close()
	fetcher, err := fetch.New(fetch.Config{Allow: allow, Transport: hosted.fetchTransport()})
	if err != nil {
		ln.Close()
		return err
	}
	// Notifications across processes (KLUIS_NATS_URL): change events
	// travel over NATS; without it they stay in this process.
	var notes server.NotificationsConfig
	var proofs server.ProofReplay
	if cfg.NATS.URL != "" {
		bus, err := natsbus.Open(natsbus.Config{URL: string(cfg.NATS.URL), Prefix: cfg.NATS.Prefix, Name: "kluis " + baseURL.Host, Logger: logger})
		if err != nil {
			ln.Close()
			return err
		}
		defer func() {
			if err := bus.Close(); err != nil {
				logger.Warn("closing the NATS connection", "error", err)
			}
		}()
		notes.Broadcaster = bus
		// The DPoP proofs each process accepts too, so that a proof used on
		// one is a replay on the others.
		proofs = bus
		logger.Info("notifications: change events travel over NATS", "subject", natsbus.Subject(cfg.NATS.Prefix),
			"dpop_subject", natsbus.ProofSubject(cfg.NATS.Prefix))
	}
	// Validate checked both keys.
	secretKey, _ := cfg.SecretKey.bytes()
	previousKey, _ := cfg.PreviousSecretKey.bytes()
	// Password reset by e-mail (KLUIS_SMTP_URL, KLUIS_MAIL_FROM).
	var mailCfg accounts.MailConfig
	if cfg.Mail.on() {
		sender, err := mail.New(mail.Config{URL: string(cfg.Mail.SMTPURL), From: cfg.Mail.From, HelloName: baseURL.Hostname()})
		if err != nil {
			ln.Close()
			return err
		}
		mailCfg.Sender = sender
		logger.Info("password reset by e-mail: on", "smtp", sender.String(), "from", cfg.Mail.From)
	}
	srv, err := server.New(ctx, server.Config{
		BaseURL: baseURL, MaxBodyBytes: cfg.MaxBody, RootACL: rootACL, Fetcher: fetcher,
		// Bounds on each request's work and connections (issue 13).
		BodyTimeout: cfg.BodyTimeout, BodyMinRate: cfg.BodyMinRate, MaxPatchBytes: cfg.MaxPatch,
		MaxConnsPerClient: connsPerClient(cfg.MaxConnsPerClient),
		// Accounts and pods (/.account/); the OpenID provider logs in with
		// the same accounts.
		Pods: cfg.PodMode == "path" || cfg.PodMode == "subdomain", PodSubdomains: cfg.PodMode == "subdomain",
		PodQuota: cfg.PodQuota,
		// Web Access Control.
		OriginPolicy: originPolicy(cfg.WACOrigin),
		Accounts:     &account.Options{},
		IdP:          oidc.Config{SecretKey: secretKey, PreviousSecretKey: previousKey},
		// Hosting.
		TrustedProxies: hosted.proxies, Observer: hosted.observer(), Tracer: hosted.tracer(),
		Notifications: notes,
		ProofReplay:   proofs,
		Mail:          mailCfg,
	}, hosted.store(store, cfg.Storage), logger)
	if err != nil {
		ln.Close()
		return err
	}
	hosted.watch(srv)
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

	if base == listening {
		fmt.Fprintf(stdout, "Kluis is listening on %s\n", listening)
	} else {
		fmt.Fprintf(stdout, "Kluis is listening on %s (public base URL %s)\n", listening, base)
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
		return fmt.Errorf("shutting down: requests still in flight after %s: %w", cfg.ShutdownTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	if err := srv.Drain(sctx); err != nil {
		logger.Warn("password reset mails still under way were given up", "error", err)
	}
	hosted.shutdown(sctx)
	logger.Info("stopped")
	return nil
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

// newLogger builds the one logger of the process.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openBackend opens the configured storage backend. The caller closes it
// when it is an io.Closer.
func openBackend(ctx context.Context, cfg Config) (storage.Backend, error) {
	switch cfg.Storage {
	case "s3":
		b, err := s3.New(ctx, s3.Config{
			Endpoint:  cfg.S3.Endpoint,
			Bucket:    cfg.S3.Bucket,
			Prefix:    cfg.S3.Prefix,
			Region:    cfg.S3.Region,
			PathStyle: cfg.S3.PathStyle,
			TLS:       cfg.S3.TLS,
			AccessKey: string(cfg.S3.AccessKey),
			SecretKey: string(cfg.S3.SecretKey),
		})
		if err != nil {
			return nil, fmt.Errorf("opening S3 bucket %q at %s: %w", cfg.S3.Bucket, cfg.S3.Endpoint, err)
		}
		return b, nil
	default:
		b, err := filesystem.New(cfg.Data)
		if err != nil {
			return nil, fmt.Errorf("opening data folder %s: %w", cfg.Data, err)
		}
		return b, nil
	}
}

// parseBase parses the base URL.
func parseBase(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	return u, nil
}

// connsPerClient is server.Config.MaxConnsPerClient for a validated
// -max-conns-per-client, whose 0 means no bound.
func connsPerClient(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// originPolicy is the acl.OriginPolicy of a validated -wac-origin.
func originPolicy(s string) acl.OriginPolicy {
	if s == "strict" {
		return acl.OriginStrict
	}
	return acl.OriginRestrictNamed
}
