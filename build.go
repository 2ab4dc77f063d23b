package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/accounts"
	"github.com/weconomics/kluis/server/mail"
	"github.com/weconomics/kluis/server/notify/natsbus"
	"github.com/weconomics/kluis/server/oidc"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid/account"
	"github.com/weconomics/kluis/webid/fetch"
)

// built is the server and what it runs on: the hosting (TLS, proxies,
// metrics, tracing, the other listeners) and the connections it opened,
// closed in reverse by close.
type built struct {
	srv     *server.Server
	hosted  *hosting
	closers []func()
}

// close closes what build opened, last first.
func (b *built) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
}

// build turns the settings into a server over store, whose public URL is
// baseURL: the hosting, the safe fetcher, the NATS bus, the mailer, and
// server.New. On error, what it opened is closed.
func build(ctx context.Context, cfg Config, baseURL *url.URL, store storage.Backend, logger *slog.Logger) (_ *built, err error) {
	b := &built{}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	var rootACL []byte
	if cfg.RootACL != "" {
		if rootACL, err = os.ReadFile(cfg.RootACL); err != nil {
			return nil, fmt.Errorf("root ACL: %w", err)
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
		return nil, err
	}
	b.hosted = hosted
	b.closers = append(b.closers, hosted.close)
	fetcher, err := fetch.New(fetch.Config{Allow: allow, Transport: hosted.fetchTransport()})
	if err != nil {
		return nil, err
	}
	// Notifications across processes (KLUIS_NATS_URL): change events
	// travel over NATS; without it they stay in this process.
	var notes server.NotificationsConfig
	var proofs server.ProofReplay
	if cfg.NATS.URL != "" {
		bus, err := natsbus.Open(natsbus.Config{URL: string(cfg.NATS.URL), Prefix: cfg.NATS.Prefix, Name: "kluis " + baseURL.Host, Logger: logger})
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, func() {
			if err := bus.Close(); err != nil {
				logger.Warn("closing the NATS connection", "error", err)
			}
		})
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
			return nil, err
		}
		mailCfg.Sender = sender
		logger.Info("password reset by e-mail: on", "smtp", sender.String(), "from", cfg.Mail.From)
	}
	srv, err := server.New(ctx, server.Config{
		BaseURL: baseURL, MaxBodyBytes: cfg.MaxBody, RootACL: rootACL, Fetcher: fetcher,
		// Bounds on each request's work and connections (issue 13).
		BodyTimeout: cfg.BodyTimeout, BodyMinRate: cfg.BodyMinRate, MaxPatchBytes: cfg.MaxPatch,
		MaxConnsPerClient: connsPerClient(cfg.MaxConnsPerClient),
		MaxRDFBytes:       cfg.MaxRDF, MaxTriples: cfg.MaxTriples,
		// Accounts and pods (/.account/); the OpenID provider logs in with
		// the same accounts.
		Pods: cfg.PodMode == "path" || cfg.PodMode == "subdomain", PodSubdomains: cfg.PodMode == "subdomain",
		PodQuota: cfg.PodQuota,
		// Each pod's access log (issue 17).
		AccessLog: server.AccessLogConfig{Off: !cfg.AccessLog, IncludeOwners: cfg.AccessLogOwners,
			MaxAge: cfg.AccessLogMaxAge, MaxBytes: cfg.AccessLogMaxSize},
		// Web Access Control.
		OriginPolicy: originPolicy(cfg.WACOrigin),
		// The data browser (server/databrowser).
		DataBrowser: dataBrowser(cfg.DataBrowser),
		Accounts:    &account.Options{},
		IdP:         oidc.Config{SecretKey: secretKey, PreviousSecretKey: previousKey},
		// Hosting.
		TrustedProxies: hosted.proxies, Observer: hosted.observer(), Tracer: hosted.tracer(),
		Notifications: notes,
		ProofReplay:   proofs,
		Mail:          mailCfg,
	}, hosted.store(store, cfg.Storage), logger)
	if err != nil {
		return nil, err
	}
	hosted.watch(srv)
	b.srv = srv
	return b, nil
}

// connsPerClient is server.Config.MaxConnsPerClient for a validated
// -max-conns-per-client, whose 0 means no bound.
func connsPerClient(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// dataBrowser is the server.DataBrowserConfig of a validated -data-browser.
func dataBrowser(s string) server.DataBrowserConfig {
	switch s {
	case "off":
		return server.DataBrowserConfig{Off: true}
	case "embedded":
		return server.DataBrowserConfig{}
	}
	return server.DataBrowserConfig{Source: s}
}

// originPolicy is the acl.OriginPolicy of a validated -wac-origin.
func originPolicy(s string) acl.OriginPolicy {
	if s == "strict" {
		return acl.OriginStrict
	}
	return acl.OriginRestrictNamed
}
