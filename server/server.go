package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/accounts"
	"github.com/weconomics/kluis/server/consent"
	"github.com/weconomics/kluis/server/databrowser"
	"github.com/weconomics/kluis/server/notifications"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/server/oidc"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/expiry"
	"github.com/weconomics/kluis/webid"
	"github.com/weconomics/kluis/webid/account"
	"github.com/weconomics/kluis/webid/fetch"
)

// DefaultReadinessTimeout bounds the backend check of the readiness probe
// when Config.ReadinessTimeout is zero.
const DefaultReadinessTimeout = 2 * time.Second

// Defaults of the limits that bound a request's work before and while it is
// done (Config).
const (
	// DefaultBodyTimeout is Config.BodyTimeout when zero.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultBodyMinRate is Config.BodyMinRate when zero: 1 KiB/s.
	DefaultBodyMinRate = 1 << 10
	// DefaultMaxPatchBytes is Config.MaxPatchBytes when zero.
	DefaultMaxPatchBytes = 1 << 20
	// DefaultMaxConnsPerClient is Config.MaxConnsPerClient when zero.
	DefaultMaxConnsPerClient = 100
)

// Config is what the server needs to know about its deployment.
type Config struct {
	// BaseURL is the public URL of the pod's root, ending in "/". The
	// Location of a created resource is built from it; when it is nil,
	// Locations are relative to the request.
	BaseURL *url.URL
	// MaxBodyBytes is the largest request body accepted; a larger one is
	// answered with 413 Content Too Large. Zero or less means no limit.
	MaxBodyBytes int64
	// BodyTimeout is the longest a request body may pause: a read of the
	// body waits at most this long for the client's next bytes. It is
	// also the head start before BodyMinRate applies. Zero means
	// DefaultBodyTimeout.
	BodyTimeout time.Duration
	// BodyMinRate is the least average rate, in bytes per second, at which
	// a request body must arrive once the server reads it, counted over
	// the time spent waiting for it after a head start of BodyTimeout: a
	// large upload may take as long as it needs, a trickle is cut (408).
	// Zero means DefaultBodyMinRate.
	BodyMinRate int64
	// MaxPatchBytes is the largest PATCH body (N3 Patch, SPARQL Update)
	// read and parsed, after the agent was found to hold Append on the
	// target; a larger one is answered 413. It bounds the work of parsing.
	// Zero means DefaultMaxPatchBytes.
	MaxPatchBytes int64
	// MaxConnsPerClient bounds the connections one client address holds at
	// once (an IPv6 address counts by its /64), through Server.Listener;
	// TrustedProxies are not bounded. Zero means
	// DefaultMaxConnsPerClient; less than zero, no bound.
	MaxConnsPerClient int
	// ReadinessTimeout bounds the backend check of the readiness probe.
	// Zero means DefaultReadinessTimeout.
	ReadinessTimeout time.Duration
	// MaxRDFBytes and MaxTriples bound the RDF documents that are parsed;
	// zero means the ldp defaults.
	MaxRDFBytes int64
	MaxTriples  int
	// Authenticator finds the agent of each request; nil means Solid-OIDC
	// (a webid.Verifier over Fetcher, NewOIDC).
	Authenticator Authenticator
	// ProofReplay, when set, shares the DPoP proofs that the built-in
	// Solid-OIDC authenticator accepts with the other processes of the
	// storage, and theirs with this one (natsbus.Bus), so that a proof is
	// refused as a replay on all; nil keeps the replay cache per process.
	ProofReplay ProofReplay
	// Permissions decides what an agent may do; nil means Web Access
	// Control over the store's ACL resources (NewWAC).
	Permissions Permissions
	// OriginPolicy is how acl:origin restricts requests from apps on
	// other origins (acl.OriginPolicy): by default only the authorizations
	// that name an origin; acl.OriginStrict is WAC 1.0 §5.3.2 as written,
	// with the pod owner's acl:trustedApp.
	OriginPolicy acl.OriginPolicy
	// FetchGroup fetches remote group documents for WAC; nil means they
	// go through Fetcher.
	FetchGroup FetchFunc
	// Fetcher is the safe fetcher for WebID profiles, issuers and group
	// documents (address allow-list, size and time limits); nil means a
	// default one that reaches public addresses only.
	Fetcher *fetch.Client
	// RootACL, when set, is Turtle stored as the root container's ACL if
	// it has none yet.
	RootACL []byte

	// IdP configures the built-in OpenID provider (server/oidc), served
	// when IdP.Accounts is set.
	IdP oidc.Config

	// --- Accounts and pods (server/accounts) ---

	// Pods makes the server root a space of pods, each /<name>/ a storage
	// of its own, and the root none (ldp.Config.Pods). When false, the
	// root is the one storage, as before pods.
	Pods bool
	// PodSubdomains, with Pods, serves each pod on a host of its own,
	// https://<name>.<base host>/ (podhosts.go).
	PodSubdomains bool
	// PodQuota is the most bytes a pod may hold unless it has a quota of
	// its own; 0 means no limit (ldp.Config.PodQuota). A write past it is
	// answered 507 Insufficient Storage.
	PodQuota int64
	// Accounts, when set, turns on accounts: the account API and pages
	// at /.account/, over the same backend. Its Fetch, when nil, reads the
	// WebID documents of ownership proofs from storage when they are on
	// this server, else through Fetcher (uncached). When IdP.Accounts is
	// nil, the OpenID provider logs people in with these accounts.
	Accounts *account.Options
	// Mail, when Mail.Sender is set, offers password reset by e-mail to
	// the accounts (server/accounts/forgot.go).
	Mail accounts.MailConfig

	// --- Hosting (proxy.go, observe.go) ---

	// TrustedProxies are the peers whose Forwarded and X-Forwarded-*
	// headers are believed, for the client address in logs and rate
	// limits (never for URLs, which come from BaseURL). Empty: nobody's,
	// and those headers are removed from every request.
	TrustedProxies []netip.Prefix
	// Observer, when set, is told of every request and authentication
	// failure, for metrics (server/metrics).
	Observer Observer
	// Tracer, when set, gives every request a trace span
	// (server/tracing); its trace id joins the request log line. An
	// incoming traceparent is continued only from TrustedProxies.
	Tracer Tracer

	// --- Notifications (notifications.go, server/notifications, server/notify) ---

	// Notifications configures Solid Notifications and the legacy
	// solid-0.1 WebSocket of Updates-Via; the zero value serves them.
	Notifications NotificationsConfig

	// --- People's browsers (server/databrowser) ---

	// DataBrowser is the SolidOS data browser, the page a browser that
	// prefers HTML gets for a pod's containers and RDF documents; the
	// zero value serves the embedded release.
	DataBrowser DataBrowserConfig

	// --- The access log (accesslog.go, ldp/accesslog) ---

	// AccessLog configures each pod's access log, kept with pods and Web
	// Access Control; the zero value keeps it with the defaults.
	AccessLog AccessLogConfig
}

// DataBrowserConfig chooses the data browser (server/databrowser).
type DataBrowserConfig struct {
	// Off serves no data browser: browsers get RDF, as other clients.
	Off bool
	// Source is "" for the embedded release, or a folder or URL of
	// another copy (databrowser.Config.Source).
	Source string
}

// ProofReplay carries used DPoP proofs between the processes of one
// storage: Share announces one accepted here (webid.ReplayShare), OnProof
// hands those of the others to seen.
type ProofReplay interface {
	Share(key [32]byte, iat, until time.Time)
	OnProof(seen func(key [32]byte, iat, until time.Time)) error
}

// Server is Kluis's HTTP front over one storage.Backend. It is safe for
// concurrent use.
type Server struct {
	handler http.Handler
	// notes serves notifications; nil when they are off.
	notes *notify.Service
	// wac is the access control in use, nil when Permissions were given.
	wac *WAC
	// fetcher is the safe fetcher.
	fetcher *fetch.Client
	// sweep removes expired records (the identity provider's codes and
	// refresh-token families, sessions, password resets, empty accounts);
	// nil when there is nothing to sweep.
	sweep func(ctx context.Context) (int, error)
	// lease lets one process of those sharing the storage sweep at a
	// time; now is the clock it is taken by.
	lease expiry.Lease
	now   func() time.Time
	// accounts serves /.account/; nil when accounts are off.
	accounts *accounts.Handler
	logger   *slog.Logger
	// conns bounds the connections per client address (Listener).
	conns connLimit
	// logs are the pods' access logs; nil when off.
	logs *accessLog
	// space is the resource space, whose usage counts outlive requests.
	space *ldp.Store
}

// Maintain runs the server's periodic housekeeping every interval until ctx
// ends: it deletes the identity provider's expired authorization codes and
// refresh-token families, and the accounts' expired sessions and password
// resets, which are otherwise only refused, never removed, and accounts
// left empty for a day (account.Store.Sweep). Each sweep reads only what
// expired, through expiry indexes (storage/expiry).
//
// Several processes may run it over one storage: at each tick, only the
// one that takes the sweep lease (sys/sweep-lease, a conditional write)
// sweeps, and holds it for nine tenths of the interval, so that the
// processes together sweep about once an interval, not once each. When
// the holder dies, the lease runs out and the next process to tick takes
// it over.
func (s *Server) Maintain(ctx context.Context, every time.Duration) {
	if s.sweep == nil {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		s.maintainOnce(ctx, every-every/10)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// maintainOnce sweeps if this process gets the lease, for hold.
func (s *Server) maintainOnce(ctx context.Context, hold time.Duration) {
	ok, err := s.lease.Acquire(ctx, s.now(), hold)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("housekeeping: taking the sweep lease", "error", err)
		}
		return
	}
	if !ok {
		return
	}
	if n, err := s.sweep(ctx); err != nil && ctx.Err() == nil {
		s.logger.Warn("housekeeping: sweeping expired identity records", "error", err)
	} else if n > 0 {
		s.logger.Info("housekeeping: expired identity records removed", "count", n)
	}
}

// sweepLeaseKey is the storage key of the sweep lease (Maintain), out of
// reach of LDP requests like every sys/ key.
const sweepLeaseKey = "sys/sweep-lease"

// Stats are counters and levels of the running server, for metrics.
type Stats struct {
	// Channels is how many notification channels and legacy connections
	// are open.
	Channels int
	// ACLCacheHits and ACLCacheMisses count lookups of compiled ACL
	// documents; FetchCacheHits and FetchCacheMisses those of fetched
	// documents (WebID profiles, issuers, groups).
	ACLCacheHits, ACLCacheMisses     uint64
	FetchCacheHits, FetchCacheMisses uint64
}

// Stats reads the server's counters; each is zero where the part is off.
func (s *Server) Stats() Stats {
	var st Stats
	if s.notes != nil {
		st.Channels = s.notes.Channels()
	}
	if s.wac != nil {
		st.ACLCacheHits, st.ACLCacheMisses = s.wac.eval.CacheStats()
	}
	if s.fetcher != nil {
		st.FetchCacheHits, st.FetchCacheMisses = s.fetcher.CacheStats()
	}
	return st
}

// mounter is a group of handlers that adds its routes to the router: the
// front's own (health, resources) and each audience's Handler. Each is a
// plain struct whose fields are its dependencies.
type mounter interface {
	Mount(e *echo.Echo)
}

// New builds the server: the resource space over the backend, the
// middleware chain, the error responder and every route, wired here and
// nowhere else. A nil logger discards logs. It makes sure the root
// container exists, so it needs the backend reachable.
//
// It reads as a list: build the shared parts (the resource space with
// its notifications, the authentication and authorization seams), build
// each audience's handler, then the router, and mount them.
func New(ctx context.Context, cfg Config, store storage.Backend, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BaseURL == nil {
		return nil, errors.New("server: no base URL")
	}
	if cfg.Fetcher == nil {
		f, err := fetch.New(fetch.Config{})
		if err != nil {
			return nil, err
		}
		cfg.Fetcher = f
	}

	// The shared parts.
	sh, err := newShared(ctx, cfg, store, logger)
	if err != nil {
		return nil, err
	}

	// Each audience's handler.
	var sweeps []func(context.Context) (int, error)
	accountPages, accountStore := newAccounts(cfg, store, sh.space, sh.browser != nil, sh.grants != nil, logger)
	if accountStore != nil {
		// Expired sessions and resets, and accounts left empty.
		sweeps = append(sweeps, accountStore.Sweep)
		if cfg.IdP.Accounts == nil {
			// The OpenID provider logs people in with these accounts.
			cfg.IdP.Accounts = oidc.Accounts(accountStore)
		}
	}
	provider, err := newProvider(ctx, cfg, store, sh, logger)
	if err != nil {
		return nil, err
	}
	if provider != nil {
		// Expired codes and refresh-token families.
		sweeps = append(sweeps, provider.Provider().Sweep)
	}

	if sh.grants != nil {
		// Records of expired grants and requests (credential).
		sweeps = append(sweeps, sh.grants.SweepExpired)
	}
	if sh.logs != nil {
		// Access log segments past their retention.
		sweeps = append(sweeps, sh.logs.sweep)
	}

	readiness := cfg.ReadinessTimeout
	if readiness <= 0 {
		readiness = DefaultReadinessTimeout
	}
	// The router, and everything mounted on it. The audiences' routes
	// are static paths (/.notifications/, /.account/, /.oidc/,
	// /.well-known/), which win over the resource routes' wildcard.
	e := newRouter(cfg, sh, logger)
	mounts := []mounter{
		&health{store: store, timeout: readiness, logger: logger},
		&resources{store: sh.space, authn: sh.authn, perms: sh.perms, wac: sh.wac, welcome: welcomeOf(cfg, accountPages), browser: sh.browser, updatesVia: updatesVia(sh.notes), tickets: sh.tickets, tracer: cfg.Tracer, logs: sh.logs,
			maxPatch: cmp.Or(cfg.MaxPatchBytes, DefaultMaxPatchBytes)},
	}
	if sh.notes != nil {
		nh := &notifications.Handler{Service: sh.notes, Store: sh.space,
			Access: notificationAccess{store: sh.space, authn: sh.authn, perms: sh.perms, tickets: sh.tickets, logs: sh.logs}}
		if sh.grants != nil && accountStore != nil {
			nh.Describe = wellKnownConsentUI(strings.TrimSuffix(cfg.BaseURL.String(), "/") + consent.PagePath)
		}
		mounts = append(mounts, nh)
	}
	if accountPages != nil {
		mounts = append(mounts, accountPages)
	}
	if sh.grants != nil {
		mounts = append(mounts, &consent.Handler{Service: sh.grants, Origin: strings.TrimSuffix(cfg.BaseURL.String(), "/"),
			Authenticate: consentAuthn(sh.oidc), Session: accountSession(accountStore), Space: sh.space, Log: cmp.Or(cfg.AccessLog.Reader, sh.logs.view())})
	}
	if provider != nil {
		if sh.sender != nil && sh.notes != nil {
			// The webhook sender's WebID document.
			mounts = append(mounts, sh.sender)
		}
		mounts = append(mounts, provider)
	}
	if sh.browser != nil {
		mounts = append(mounts, sh.browser)
	}
	for _, m := range mounts {
		m.Mount(e)
	}

	var handler http.Handler = e
	if cfg.Tracer != nil {
		// Outermost, so that the span covers the whole request and the
		// trust rule sees the TCP peer.
		handler = cfg.Tracer.Handler(e, trustedPeer(cfg.TrustedProxies), isProbe)
	}
	now := time.Now
	switch {
	case cfg.Accounts != nil && cfg.Accounts.Now != nil:
		now = cfg.Accounts.Now
	case cfg.IdP.Now != nil:
		now = cfg.IdP.Now
	}
	var holder [12]byte
	_, _ = rand.Read(holder[:])
	lease := expiry.Lease{Backend: store, Key: sweepLeaseKey, Holder: hex.EncodeToString(holder[:])}
	return &Server{handler: handler, notes: sh.notes, wac: sh.wac, fetcher: cfg.Fetcher, sweep: sweepAll(sweeps), logger: logger,
		lease: lease, now: now,
		accounts: accountPages, logs: sh.logs, space: sh.space,
		conns: connLimit{max: cmp.Or(cfg.MaxConnsPerClient, DefaultMaxConnsPerClient), exempt: cfg.TrustedProxies}}, nil
}

// shared are the parts every request passes through: the resource space,
// the notifications it feeds, and the authentication and authorization
// seams.
type shared struct {
	space *ldp.Store
	// notes serves notifications; nil when they are off.
	notes *notify.Service
	// sender is the server's identity as the sender of webhook
	// notifications; nil without an identity provider.
	sender *senderIdentity
	authn  Authenticator
	perms  Permissions
	// wac is the access control in use, nil when Permissions were given.
	wac *WAC
	// browser is the data browser; nil when it is off.
	browser *databrowser.Handler
	// tickets name the agent of an authenticated answer in its
	// Updates-Via (legacyticket.go).
	tickets *legacyTickets
	// grants are the access requests and grants (grants.go); nil when
	// Permissions were given.
	grants *credential.Service
	// oidc authenticates by Solid-OIDC alone, without UMA tokens.
	oidc Authenticator
	// logs are the pods' access logs; nil when off.
	logs *accessLog
}

// newShared builds the resource space over store, its notifications, and
// the seams: cfg's Authenticator and Permissions, or Solid-OIDC and Web
// Access Control over the space.
func newShared(ctx context.Context, cfg Config, store storage.Backend, logger *slog.Logger) (*shared, error) {
	sh := &shared{tickets: newLegacyTickets(cfg.IdP.SecretKey)}
	if !cfg.DataBrowser.Off {
		b, err := databrowser.New(databrowser.Config{Source: cfg.DataBrowser.Source, BaseURL: cfg.BaseURL})
		if err != nil {
			return nil, err
		}
		sh.browser = b
	}
	aclOpts := acl.Options{
		TrustedOrigins: []string{strings.TrimSuffix(cfg.BaseURL.String(), "/")},
		OriginPolicy:   cfg.OriginPolicy,
		Logger:         logger,
	}
	// ACL documents are checked before every write, whatever Permissions
	// are in use, so no write leaves an ACL that access control would
	// refuse to use.
	validator := acl.NewEvaluator(noACLs{}, nil, aclOpts)
	spaceCfg := ldp.Config{
		BaseURL: cfg.BaseURL.String(), MaxRDFBytes: cfg.MaxRDFBytes, MaxTriples: cfg.MaxTriples,
		ValidateACL: validator.Validate, Pods: cfg.Pods, PodSubdomains: cfg.PodSubdomains,
	}
	spaceCfg.PodQuota = cfg.PodQuota // quotas (ldp/quota.go)

	// Notifications (notifications.go): the Service is made before the
	// store, whose writes it hears of and whose storage descriptions list
	// its subscription services; it reads the store through sh.space.
	if cfg.Accounts != nil || cfg.IdP.Accounts != nil {
		// The server's own identity as the sender of webhook
		// notifications, when it runs its identity provider (accounts on).
		sh.sender = &senderIdentity{
			webid:  strings.TrimSuffix(cfg.BaseURL.String(), "/") + senderPath + "#it",
			issuer: cfg.BaseURL.String(),
		}
	}
	notes, err := newNotifications(cfg, &sh.space, sh.sender)
	if err != nil {
		return nil, err
	}
	if notes != nil {
		sh.notes = notes
		spaceCfg.OnChange = onChange(notes, &sh.space)
		spaceCfg.Describe = describeServices(notes)
	}
	if cfg.Accounts != nil && cfg.Permissions == nil {
		// Storage descriptions name the consent page, which needs the
		// accounts' sessions (grants.go).
		spaceCfg.Describe = describeConsentUI(spaceCfg.Describe, strings.TrimSuffix(cfg.BaseURL.String(), "/")+consent.PagePath)
	}
	if !cfg.AccessLog.Off && cfg.Pods && cfg.Permissions == nil {
		// Storage descriptions link the access log (accesslog.go).
		spaceCfg.Describe = describeAccessLog(spaceCfg.Describe)
	}
	// The versions of ACL resources are kept between requests: while the
	// processes of the storage hear each other's changes, and otherwise
	// under the ACL generation (aclversions.go). Container markers'
	// versions (with a Feed only; read again while it does not hear) and
	// container listings (for GET, ldp/listings.go) are kept only while
	// they hear.
	var versions *aclVersions
	feed, hearing := cfg.Notifications.Broadcaster.(notify.Feed)
	hearing = hearing && notes != nil
	if hearing {
		spaceCfg.Hearing = feed.Hearing
	}
	if cfg.Permissions == nil {
		generation := func(ctx context.Context) (string, error) { return sh.space.ACLGeneration(ctx) }
		if hearing {
			versions = newACLVersions(feed, generation, nil)
			spaceCfg.KeepVersion = versions.markerVersion
		} else {
			versions = newACLVersions(nil, generation, nil)
		}
		publish := spaceCfg.OnChange
		spaceCfg.OnChange = func(c ldp.Change) {
			versions.changed(c.Path, c.Type)
			if publish != nil {
				publish(c)
			}
		}
	}

	if sh.space, err = ldp.New(ctx, store, spaceCfg); err != nil {
		return nil, err
	}
	fetchGroup := cfg.FetchGroup
	if fetchGroup == nil {
		fetchGroup = fetchRDF(cfg.Fetcher)
	}
	sh.authn, sh.perms = cfg.Authenticator, cfg.Permissions
	if sh.authn == nil {
		verifier, err := webid.NewVerifier(webid.Config{Fetch: cfg.Fetcher, Local: LocalProfiles{Store: sh.space}, Replay: cfg.ProofReplay})
		if err != nil {
			return nil, err
		}
		if cfg.ProofReplay != nil {
			if err := cfg.ProofReplay.OnProof(verifier.Seen); err != nil {
				return nil, err
			}
		}
		sh.authn = NewOIDC(verifier, cfg.BaseURL.String())
	}
	if len(cfg.RootACL) > 0 {
		if err := seedRootACL(ctx, sh.space, cfg.RootACL); err != nil {
			return nil, err
		}
	}
	if hearing {
		space := sh.space
		feed.Watch(func(e notify.Event) {
			if p, ok := space.PathOf(e.Object); ok {
				space.Heard(p)
			}
			if versions != nil {
				versions.heard(space, e)
			}
		})
	}
	sh.oidc = sh.authn
	if sh.perms == nil {
		sh.wac = newWAC(sh.space, NewGroups(sh.space, fetchGroup), aclOpts, versions)
		sh.perms = sh.wac
		// Access grants (grants.go) widen WAC by what a person grants.
		if sh.grants, err = newGrants(cfg, sh, logger); err != nil {
			return nil, err
		}
		// As for the identity provider's: a wrong or missing secret key
		// is told at start, not at the first credential.
		if _, err := sh.grants.Keys(ctx); err != nil {
			return nil, fmt.Errorf("access grants' signing keys: %w", err)
		}
		// Credentials of a storage written before the live index: indexed
		// once, at the first start.
		if err := sh.grants.IndexEarlier(ctx); err != nil {
			return nil, fmt.Errorf("access grants: indexing earlier credentials: %w", err)
		}
		sh.authn = grantAuthn{inner: sh.authn, grants: sh.grants}
		sh.perms = grantPermissions{inner: sh.perms, grants: sh.grants, space: sh.space, wac: sh.wac}
		sh.logs = newAccessLog(cfg, sh, logger)
	}
	return sh, nil
}

// newAccounts builds the account API and pages (server/accounts) over
// the account store, which the OpenID provider shares; both nil when
// accounts are off.
func newAccounts(cfg Config, store storage.Backend, space *ldp.Store, dataBrowser, accessPage bool, logger *slog.Logger) (*accounts.Handler, *account.Store) {
	if cfg.Accounts == nil {
		return nil, nil
	}
	opts := *cfg.Accounts
	if opts.Fetch == nil {
		opts.Fetch = fetchProof(LocalProfiles{Store: space}, cfg.Fetcher)
	}
	accountStore := account.New(store, opts)
	return accounts.New(accounts.Config{
		BaseURL: cfg.BaseURL, Accounts: accountStore, Space: space, Pods: cfg.Pods,
		Mail: cfg.Mail, ResetTTL: opts.ResetTTL, DataBrowser: dataBrowser, Logger: logger,
		AccessPage: map[bool]string{true: consent.AccessPath}[accessPage],
	}), accountStore
}

// newProvider builds the built-in OpenID provider's routes (server/oidc),
// nil when it has no accounts, and gives the webhook sender its service
// agent.
func newProvider(ctx context.Context, cfg Config, store storage.Backend, sh *shared, logger *slog.Logger) (*oidc.Handler, error) {
	if cfg.IdP.Accounts == nil {
		return nil, nil
	}
	idpCfg := cfg.IdP
	idpCfg.SessionCookie = cmp.Or(idpCfg.SessionCookie, accounts.DefaultSessionCookie)
	provider, err := oidc.New(idpCfg, cfg.BaseURL, store, cfg.Fetcher, logger)
	if err != nil {
		return nil, err
	}
	op := provider.Provider()
	// A wrong or missing secret key is told at start, not at the first
	// login.
	if err := op.CheckSecrets(ctx); err != nil {
		return nil, fmt.Errorf("identity provider: %w", err)
	}
	if sh.sender != nil && sh.notes != nil {
		if sh.sender.agent, err = op.ServiceAgent(sh.sender.webid, sh.sender.webid); err != nil {
			return nil, err
		}
	}
	return provider, nil
}

// newRouter is the router with the error responder and the middleware
// every request passes through.
func newRouter(cfg Config, sh *shared, logger *slog.Logger) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	errs := &errorResponder{logger: logger, challenge: challengeOf(sh.authn, cfg.BaseURL.String()), browser: sh.browser}
	if sh.grants != nil {
		errs.uma = umaChallenge(sh.grants, strings.TrimSuffix(cfg.BaseURL.String(), "/"))
	}
	e.HTTPErrorHandler = errs.respond

	// Hosting: the client behind trusted proxies (proxy.go) and metrics
	// (observe.go), outside the request log so that it sees the client's
	// address and they see the final status.
	// RealIP is the RemoteAddr that proxies.middleware leaves.
	// Pods on subdomains: a pod's host is mapped to its path before
	// routing (podhosts.go).
	e.Pre(podHosts(sh.space, cfg.BaseURL.Scheme, sh.browser))
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(proxies{trusted: cfg.TrustedProxies}.middleware())
	if cfg.Observer != nil {
		errs.observer = cfg.Observer
		e.Use(observeRequests(cfg.Observer))
	}

	// Outermost first: the id is known to every later step, the log line
	// sees the final status (errors are answered inside it), panics become
	// errors before they reach the log, and the limit guards the handlers.
	chain := []echo.MiddlewareFunc{requestID()}
	if cfg.Tracer != nil {
		// Tracing (observe.go): the span is named once the id is known,
		// and its trace id goes to the log line.
		chain = append(chain, traceRequest(cfg.Tracer))
	}
	e.Use(append(chain,
		requestLog(logger),
		recoverPanic(),
		cors(),
		// Before limitBody, so that it sees the body as the client sends it.
		guardBody(cmp.Or(cfg.BodyTimeout, DefaultBodyTimeout), cmp.Or(cfg.BodyMinRate, DefaultBodyMinRate)),
		limitBody(cfg.MaxBodyBytes),
	)...)
	return e
}

// sweepAll runs every sweep in turn and adds up what they removed; nil
// when there are none. Each runs even when one before it failed; the
// first error is returned.
func sweepAll(sweeps []func(context.Context) (int, error)) func(context.Context) (int, error) {
	if len(sweeps) == 0 {
		return nil
	}
	return func(ctx context.Context) (int, error) {
		total := 0
		var first error
		for _, sweep := range sweeps {
			n, err := sweep(ctx)
			total += n
			if first == nil {
				first = err
			}
		}
		return total, first
	}
}

// Drain waits until the work that requests left running in the background
// is done, or ctx ends (then it returns ctx's error): the password reset
// mails being sent, each within its MailConfig.Timeout, the access log
// entries still in memory, which it writes (then the log takes no more),
// and the pods' usage counts that answered writes queued (ldp/usage.go).
// Call it after the HTTP server has shut down, so that no mail asked for
// is lost.
func (s *Server) Drain(ctx context.Context) error {
	err := s.SettleUsage(ctx)
	if s.accounts != nil {
		err = errors.Join(err, s.accounts.Drain(ctx))
	}
	if s.logs != nil {
		// The access log entries still in memory (accesslog.go).
		err = errors.Join(err, s.logs.close(ctx))
	}
	return err
}

// SettleUsage waits until the pods' usage counters hold every write
// answered so far, or ctx ends: a write is counted in its pod's counter
// just after it is answered (ldp/usage.go), so another process reading the
// counter, or recounting it, may need to wait for this one first.
func (s *Server) SettleUsage(ctx context.Context) error {
	return s.space.Drain(ctx)
}

// Handler returns the http.Handler that serves every request.
func (s *Server) Handler() http.Handler {
	return s.handler
}

// Close ends every notification channel and connection (WebSockets,
// streams, webhook deliveries), so that a graceful shutdown does not wait
// for them; give it to http.Server.RegisterOnShutdown. Requests in flight
// are otherwise served as before.
func (s *Server) Close() {
	if s.notes != nil {
		s.notes.Close()
	}
}
