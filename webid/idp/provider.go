package idp

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid/limit"
)

// Accounts is what the provider needs of the accounts of this server
// (webid/account implements it). Every error means "no": a session that
// does not hold, an unknown account or credential.
type Accounts interface {
	// SessionAccount returns the account logged in with the session token
	// of the account cookie; an error means no one is logged in.
	SessionAccount(ctx context.Context, token string) (Account, error)
	// Get returns the account with the id.
	Get(ctx context.Context, id string) (Account, error)
	// ClientCredential returns the client credential with the id, created
	// in an account for the client credentials grant.
	ClientCredential(ctx context.Context, id string) (Credential, error)
}

// SessionEnder is an Accounts that can end a session server-side, for
// RP-initiated logout. Without it, logout only tells the server to clear
// the cookie.
type SessionEnder interface {
	EndSession(ctx context.Context, token string) error
}

// Account is a person's account: its id, e-mail address and the WebIDs
// they may sign in as.
type Account struct {
	ID     string
	Email  string
	WebIDs []string
	// SignedOutAt, when not zero, is when every sign-in of the account
	// before it was ended (a password reset): grants that come from an
	// earlier sign-in (their auth_time), refresh tokens included, are
	// refused.
	SignedOutAt time.Time
}

// Credential is a client credential of an account (Solid-OIDC §10, CSS
// "client credentials"): a client_id and secret that a script trades for
// tokens naming WebID, one of the account's WebIDs.
type Credential struct {
	ID        string
	AccountID string
	WebID     string
	// Verify reports whether secret is the credential's secret, in
	// constant time.
	Verify func(secret string) bool
}

// FetchFunc dereferences a Client Identifier Document: it returns the body
// and media type at url, or an error. The server injects its guarded
// fetcher (webid/fetch); tests may use a plain HTTP client.
type FetchFunc func(ctx context.Context, url string) (body []byte, mediaType string, err error)

// Defaults of Config's durations.
const (
	DefaultKeyRotation          = 7 * 24 * time.Hour
	DefaultAccessTokenLifetime  = time.Hour
	DefaultIDTokenLifetime      = time.Hour
	DefaultRefreshTokenLifetime = 14 * 24 * time.Hour
	DefaultCodeLifetime         = time.Minute
	DefaultProofMaxAge          = time.Minute
	DefaultClockSkew            = time.Minute
	DefaultLoginPath            = "/.account/login"
)

// Paths of the provider's endpoints, relative to the issuer.
const (
	PathDiscovery    = ".well-known/openid-configuration"
	PathAuthorize    = ".oidc/auth"
	PathToken        = ".oidc/token"
	PathRegistration = ".oidc/reg"
	PathJWKS         = ".oidc/jwks"
	PathEndSession   = ".oidc/session/end"
	PathRevocation   = ".oidc/revoke"
)

// Config is what a Provider needs. Issuer, Store and Accounts are
// required; zero durations take the defaults above.
type Config struct {
	// Issuer is the issuer identifier: the server's public base URL,
	// ending in "/" (tokens carry it exactly as iss).
	Issuer string
	// Store holds keys, codes, refresh-token families and clients under
	// "sys/idp/".
	Store storage.Backend
	// Accounts finds logged-in accounts and client credentials.
	Accounts Accounts
	// FetchClient dereferences Client Identifier Documents; nil refuses
	// every client_id that is a URL.
	FetchClient FetchFunc
	// LoginPath is where a user agent without a session goes to log in,
	// with the authorization URL to come back to in the "return" query
	// parameter (default DefaultLoginPath).
	LoginPath string

	// KeyRotation is how long one key signs.
	KeyRotation time.Duration
	// AccessTokenLifetime, IDTokenLifetime bound the JWTs;
	// RefreshTokenLifetime bounds a refresh-token family from its first
	// token; CodeLifetime bounds an authorization code.
	AccessTokenLifetime  time.Duration
	IDTokenLifetime      time.Duration
	RefreshTokenLifetime time.Duration
	CodeLifetime         time.Duration
	// ProofMaxAge is how old a DPoP proof's iat may be, ClockSkew how far
	// in the future.
	ProofMaxAge time.Duration
	ClockSkew   time.Duration

	// SecretKey, when set (SecretKeySize random bytes), seals the
	// provider's secrets in storage (the signing keys and the CSRF key);
	// secrets found in the clear are sealed at their next read. Without
	// it they are stored in the clear. PreviousSecretKey, for a change of
	// key, only opens: what it sealed is sealed again with SecretKey.
	SecretKey         []byte
	PreviousSecretKey []byte

	// Clients bound dynamic client registration: body size, rate and
	// count per client address, a total, and how long clients are kept
	// (zero fields: the defaults of ClientLimits).
	Clients ClientLimits

	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives key rotations and refused replays (default: none).
	Logger *slog.Logger
}

// validate reports every problem of c at once.
func (c Config) validate() error {
	var errs []error
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") ||
		u.Host == "" || !strings.HasSuffix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("idp: Issuer %q is not an http(s) URL ending in /", c.Issuer))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("idp: no Store"))
	}
	if c.Accounts == nil {
		errs = append(errs, errors.New("idp: no Accounts"))
	}
	if c.SecretKey != nil && len(c.SecretKey) != SecretKeySize {
		errs = append(errs, fmt.Errorf("idp: SecretKey has %d bytes, not %d", len(c.SecretKey), SecretKeySize))
	}
	if c.PreviousSecretKey != nil && len(c.PreviousSecretKey) != SecretKeySize {
		errs = append(errs, fmt.Errorf("idp: PreviousSecretKey has %d bytes, not %d", len(c.PreviousSecretKey), SecretKeySize))
	}
	if c.PreviousSecretKey != nil && c.SecretKey == nil {
		errs = append(errs, errors.New("idp: PreviousSecretKey without SecretKey"))
	}
	for name, d := range map[string]time.Duration{
		"KeyRotation": c.KeyRotation, "AccessTokenLifetime": c.AccessTokenLifetime,
		"IDTokenLifetime": c.IDTokenLifetime, "RefreshTokenLifetime": c.RefreshTokenLifetime,
		"CodeLifetime": c.CodeLifetime, "ProofMaxAge": c.ProofMaxAge, "ClockSkew": c.ClockSkew,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("idp: %s is negative", name))
		}
	}
	return errors.Join(errs...)
}

// Provider is the OpenID Provider. It is safe for concurrent use, and
// several processes may run one each over the same storage.
type Provider struct {
	cfg    Config
	issuer string
	keys   map[jose.SignatureAlgorithm]*keyring // one per signingAlgs
	secret *secret
	replay *replayCache
	// clients are the registration limits with their defaults;
	// registrations and pending count registrations per client address.
	clients       ClientLimits
	registrations *limit.Buckets
	pending       *limit.Pending
	pages         *template.Template
	logger        *slog.Logger
	endpoint      endpoints
	// indexed is set once the codes and refresh tokens stored before
	// their expiry index are known to be indexed (sweep.go).
	indexed atomic.Bool
}

// endpoints are the absolute URLs of the provider's endpoints.
type endpoints struct {
	authorize, token, registration, jwks, endSession, revocation string
}

// New returns a Provider for cfg, or every problem of cfg. It does not
// touch storage: keys are made on first use.
func New(cfg Config) (*Provider, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.KeyRotation, DefaultKeyRotation)
	def(&cfg.AccessTokenLifetime, DefaultAccessTokenLifetime)
	def(&cfg.IDTokenLifetime, DefaultIDTokenLifetime)
	def(&cfg.RefreshTokenLifetime, DefaultRefreshTokenLifetime)
	def(&cfg.CodeLifetime, DefaultCodeLifetime)
	def(&cfg.ProofMaxAge, DefaultProofMaxAge)
	def(&cfg.ClockSkew, DefaultClockSkew)
	if cfg.LoginPath == "" {
		cfg.LoginPath = DefaultLoginPath
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	iss := cfg.Issuer
	seal := sealer{current: cfg.SecretKey, previous: cfg.PreviousSecretKey}
	// Tokens live until the latest of their exp, plus the skew verifiers
	// allow: a retired key stays published that long.
	tokenLife := max(cfg.AccessTokenLifetime, cfg.IDTokenLifetime) + cfg.ClockSkew
	keys := make(map[jose.SignatureAlgorithm]*keyring, len(signingAlgs))
	for _, alg := range signingAlgs {
		keys[alg] = newKeyring(alg, cfg.Store, seal, cfg.Now, cfg.KeyRotation, tokenLife, logger)
	}
	cl := cfg.Clients.withDefaults()
	// A client outlives the refresh tokens of its last login.
	cl.UsedLifetime = max(cl.UsedLifetime, cfg.RefreshTokenLifetime)
	p := &Provider{
		cfg:           cfg,
		issuer:        iss,
		keys:          keys,
		secret:        &secret{store: cfg.Store, sealer: seal},
		replay:        newReplayCache(100_000),
		clients:       cl,
		registrations: limit.NewBuckets(cl.Burst, cl.Every, cl.MaxTracked),
		pending:       limit.NewPending(cl.MaxPendingPerAddress, cl.MaxPending),
		pages:         pages,
		logger:        logger,
		endpoint: endpoints{
			authorize:    iss + PathAuthorize,
			token:        iss + PathToken,
			registration: iss + PathRegistration,
			jwks:         iss + PathJWKS,
			endSession:   iss + PathEndSession,
			revocation:   iss + PathRevocation,
		},
	}
	return p, nil
}

// Issuer is the issuer identifier.
func (p *Provider) Issuer() string { return p.issuer }

// CheckSecrets reads the signing keys and the CSRF key from storage,
// making them when no process has yet and sealing those found in the
// clear when a SecretKey is configured. Run at start, it makes a wrong or
// missing SecretKey an error at once (ErrSecretKey), not at the first
// login.
func (p *Provider) CheckSecrets(ctx context.Context) error {
	for _, alg := range signingAlgs {
		if _, err := p.keys[alg].current(ctx); err != nil {
			return err
		}
	}
	_, err := p.secret.get(ctx)
	return err
}
