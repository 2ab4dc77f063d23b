package webid

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/webid/fetch"
)

// Identity is who made a request, as handed to access control: the agent's
// WebID, the client (application) they act through, and the issuer that
// vouched for them. The zero Identity is the anonymous agent.
type Identity struct {
	WebID    string
	ClientID string
	Issuer   string
}

// Anonymous reports whether no one is authenticated.
func (id Identity) Anonymous() bool { return id.WebID == "" }

// LocalProfiles reads the WebID profiles this Kluis hosts straight from
// storage, with no HTTP round trip. The server implements it.
type LocalProfiles interface {
	// Profile returns the profile document of webid, in Turtle, when this
	// server hosts it (ok true). ok false means webid is not hosted here
	// and is to be fetched over HTTP. An error is a failure of storage.
	Profile(ctx context.Context, webid string) (turtle []byte, ok bool, err error)
}

// Config tunes a Verifier. The zero Config is usable: remote fetches go
// through a default fetch.Client (public addresses only) and every
// duration has a default.
type Config struct {
	// Fetch fetches WebID profiles (through its cache) and issuer metadata
	// and keys (through its HTTPClient). Nil means fetch.New(fetch.Config{
	// Now: Now}). Share one Client with the rest of the server.
	Fetch *fetch.Client
	// Local reads the WebID profiles hosted by this server; nil means none.
	Local LocalProfiles

	// Now is the clock (default time.Now).
	Now func() time.Time
	// ClockSkew is the leeway on the access token's exp, nbf and iat and on
	// a proof's iat being in the future (default 60 s).
	ClockSkew time.Duration
	// ProofMaxAge is how old a proof's iat may be (default 60 s); a proof's
	// jti is remembered for as long.
	ProofMaxAge time.Duration
	// AllowedAlgs are the signature algorithms accepted for proofs and
	// access tokens, a subset of ES256, ES384, PS256, RS256 and EdDSA (the
	// default, all five). "none" and HMAC algorithms are never accepted.
	AllowedAlgs []string
	// ReplayCacheSize is how many proof jti values are remembered (default
	// 100 000). When it fills up before they expire, the oldest are
	// forgotten and every proof no newer than them is refused, so replay
	// stays impossible and the acceptance window shrinks under load.
	ReplayCacheSize int
	// JWKSRefreshInterval is the least time between two fetches of an
	// issuer's key set, and between two failed discoveries of an issuer
	// (default 10 s). A token with an unknown kid triggers a refresh at
	// most this often, so key rotation works and a flood of made-up kids
	// costs the issuer one request per interval.
	JWKSRefreshInterval time.Duration

	// Replay, when set, carries the proofs this verifier accepts to the
	// other processes that serve the same storage (and theirs back to
	// this one, through Seen), so that a proof used on one is refused on
	// all (RFC 9449 §11.1). Nil: the replay cache is this process's own.
	Replay ReplayShare

	// InsecureAllowBearer accepts `Authorization: Bearer` access tokens
	// that carry no cnf claim, without any proof of possession: whoever
	// holds such a token — a log, a proxy, a malicious pod — can act as the
	// agent until it expires. Off by default; leave it off except to serve
	// legacy clients on a trusted network. DPoP-bound tokens sent as
	// Bearer are refused either way.
	InsecureAllowBearer bool
}

// validate reports every problem of c at once.
func (c Config) validate() error {
	var errs []error
	if c.ClockSkew < 0 {
		errs = append(errs, errors.New("webid: ClockSkew is negative"))
	}
	if c.ProofMaxAge < 0 {
		errs = append(errs, errors.New("webid: ProofMaxAge is negative"))
	}
	if c.JWKSRefreshInterval < 0 {
		errs = append(errs, errors.New("webid: JWKSRefreshInterval is negative"))
	}
	if c.ReplayCacheSize < 0 {
		errs = append(errs, errors.New("webid: ReplayCacheSize is negative"))
	}
	known := strings.Fields(defaultAlgs)
	for _, a := range c.AllowedAlgs {
		if !slices.Contains(known, a) {
			errs = append(errs, fmt.Errorf("webid: algorithm %q is not one of %s", a, defaultAlgs))
		}
	}
	return errors.Join(errs...)
}

// ReplayShare tells the other processes of a storage that a DPoP proof
// was used. Share must not block: what it cannot deliver at once it may
// drop, at the cost of a window in which that proof could be replayed
// there.
type ReplayShare interface {
	// Share announces the replay cache key of a proof accepted here, its
	// iat, and the last instant it is acceptable.
	Share(key [32]byte, iat, until time.Time)
}

// Verifier checks Solid-OIDC credentials: DPoP-bound access tokens from
// any issuer that a WebID profile trusts. It is safe for concurrent use;
// make one per server.
type Verifier struct {
	cfg       Config
	algs      []jose.SignatureAlgorithm
	algsText  string
	fetch     *fetch.Client
	issuers   *issuers
	profiles  *profiles
	replay    *replayCache
	verified  *verifiedTokens
	proofKeys *proofKeys
}

// NewVerifier returns a Verifier for cfg, or every problem of cfg.
func NewVerifier(cfg Config) (*Verifier, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = 60 * time.Second
	}
	if cfg.ProofMaxAge == 0 {
		cfg.ProofMaxAge = 60 * time.Second
	}
	if cfg.ReplayCacheSize == 0 {
		cfg.ReplayCacheSize = 100_000
	}
	if cfg.JWKSRefreshInterval == 0 {
		cfg.JWKSRefreshInterval = 10 * time.Second
	}
	if len(cfg.AllowedAlgs) == 0 {
		cfg.AllowedAlgs = strings.Fields(defaultAlgs)
	}
	cfg.AllowedAlgs = slices.Clone(cfg.AllowedAlgs)
	if cfg.Fetch == nil {
		f, err := fetch.New(fetch.Config{Now: cfg.Now})
		if err != nil {
			return nil, err
		}
		cfg.Fetch = f
	}
	v := &Verifier{
		cfg:       cfg,
		algsText:  strings.Join(cfg.AllowedAlgs, " "),
		fetch:     cfg.Fetch,
		issuers:   newIssuers(cfg.Fetch.HTTPClient(), cfg.Now, cfg.JWKSRefreshInterval),
		profiles:  newProfiles(),
		replay:    newReplayCache(cfg.ReplayCacheSize),
		verified:  newVerifiedTokens(),
		proofKeys: newProofKeys(),
	}
	for _, a := range cfg.AllowedAlgs {
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
	}
	return v, nil
}

// Seen records a proof another process accepted (ReplayShare): the same
// proof is then refused here as a replay until it leaves the window.
func (v *Verifier) Seen(key [32]byte, iat, until time.Time) {
	v.replay.record(key, iat, until, v.cfg.Now())
}

// Challenge is the WWW-Authenticate value of a 401 answer, like the
// package's Challenge, with this verifier's algorithms.
func (v *Verifier) Challenge(realm string, err error) string {
	return challenge(realm, err, v.algsText)
}

// Verify checks the credentials of a request: authorization is its
// Authorization header value, dpop all its DPoP header values, method its
// method and u its public URL (scheme://host[:port]/path as clients see
// it, behind any proxy; a query or fragment is ignored).
//
// No Authorization header is the anonymous agent: the zero Identity and
// no error. Credentials that do not hold give an *AuthError, for a 401
// with Challenge. An error of another type is a failure of LocalProfiles.
//
// The checks (Solid-OIDC #dpop-validation, #id-token-validation and
// #oidc-issuer-discovery; RFC 9449 §4.3 and §7):
//   - Authorization: DPoP <token> with exactly one DPoP header;
//   - the proof: typ dpop+jwt, an allowed asymmetric alg, a public jwk,
//     a valid signature, htm = method, htu = u (normalised), a fresh iat,
//     ath = hash of the token when present, a jti not seen before;
//   - the token: signed by its issuer's current keys (OpenID discovery),
//     aud includes "solid", exp, nbf and iat in range, cnf.jkt = the
//     proof key's thumbprint (RFC 7638), a webid (or an http(s) sub);
//   - the WebID profile lists the token's iss as a solid:oidcIssuer.
func (v *Verifier) Verify(ctx context.Context, method, u string, authorization string, dpop []string) (Identity, error) {
	if authorization == "" {
		if len(dpop) > 0 {
			return Identity{}, authErr("DPoP proof without an access token", ErrMalformed)
		}
		return Identity{}, nil
	}
	scheme, raw, err := parseAuthorization(authorization)
	if err != nil {
		return Identity{}, err
	}
	now := v.cfg.Now()

	var tok *token
	switch scheme {
	case schemeDPoP:
		if len(dpop) != 1 {
			if len(dpop) == 0 {
				return Identity{}, authErr("DPoP header missing", ErrMalformed)
			}
			return Identity{}, authErr("more than one DPoP header", ErrMalformed)
		}
		p, err := v.checkProof(dpop[0], method, u, raw, now)
		if err != nil {
			return Identity{}, err
		}
		if tok, err = v.token(raw, now); err != nil {
			return Identity{}, err
		}
		if tok.claims.Cnf == nil || tok.claims.Cnf.JKT == "" {
			return Identity{}, authErr("access token is not DPoP-bound", fmt.Errorf("%w: no cnf.jkt", ErrBinding))
		}
		if tok.claims.Cnf.JKT != p.pk.jkt {
			return Identity{}, authErr("access token is bound to another key than the DPoP proof's", fmt.Errorf("%w: cnf.jkt differs from the jwk thumbprint", ErrBinding))
		}
		if err := v.trust(ctx, tok); err != nil {
			return Identity{}, err
		}
		// Remember the jti last, once everything holds, so that only
		// authenticated agents take room in the replay cache.
		until := p.iat.Add(v.cfg.ProofMaxAge)
		if err := v.replay.check(p.key, p.iat, until, now); err != nil {
			return Identity{}, err
		}
		if v.cfg.Replay != nil {
			v.cfg.Replay.Share(p.key, p.iat, until)
		}
		v.proofKeys.add(p)
	case schemeBearer:
		if !v.cfg.InsecureAllowBearer {
			return Identity{}, authErr("Bearer tokens are not accepted; use DPoP", ErrBearer)
		}
		if len(dpop) > 0 {
			return Identity{}, authErr("DPoP proof sent with a Bearer token", ErrMalformed)
		}
		if tok, err = v.token(raw, now); err != nil {
			return Identity{}, err
		}
		if tok.claims.Cnf != nil {
			return Identity{}, authErr("DPoP-bound access token sent as Bearer", fmt.Errorf("%w: cnf in a Bearer token", ErrBinding))
		}
		if err := v.trust(ctx, tok); err != nil {
			return Identity{}, err
		}
	}
	return Identity{WebID: tok.webid, ClientID: tok.clientID, Issuer: tok.claims.Iss}, nil
}

// trust checks the token's signature with its issuer's keys and that its
// WebID trusts that issuer. The profile comes first: an issuer is
// discovered only once some WebID names it.
func (v *Verifier) trust(ctx context.Context, tok *token) error {
	trusted, err := v.issuersOf(ctx, tok.webid)
	if err != nil {
		return err
	}
	if !slices.Contains(trusted, normalizeIssuer(tok.claims.Iss)) {
		return authErr("the WebID profile does not list the token's issuer as solid:oidcIssuer",
			fmt.Errorf("%w: %s not in the profile of %s", ErrUntrustedIssuer, tok.claims.Iss, tok.webid))
	}
	if tok.verified {
		return nil
	}
	return v.verifySignature(ctx, tok)
}

// token returns the access token raw: the one verified earlier when it is
// remembered and unexpired, or else raw parsed, its claims checked and
// its signature not yet verified.
func (v *Verifier) token(raw string, now time.Time) (*token, error) {
	sum := sha256.Sum256([]byte(raw))
	if t := v.verified.get(sum, now); t != nil {
		return t, nil
	}
	return v.parseToken(raw, sum, now)
}

func authErr(desc string, err error) *AuthError {
	return &AuthError{Description: desc, Err: err}
}

// Authorization schemes.
const (
	schemeDPoP   = "DPoP"
	schemeBearer = "Bearer"
)

// maxCredential bounds the access token and the proof, before any parsing.
const maxCredential = 16 << 10

// parseAuthorization reads `scheme SP token68` (RFC 9110 §11.4; RFC 9449
// §7.1), with the scheme compared case-insensitively.
func parseAuthorization(h string) (scheme, token string, err error) {
	s, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return "", "", authErr("malformed Authorization header", fmt.Errorf("%w: no credentials after the scheme", ErrMalformed))
	}
	switch {
	case strings.EqualFold(s, schemeDPoP):
		scheme = schemeDPoP
	case strings.EqualFold(s, schemeBearer):
		scheme = schemeBearer
	default:
		return "", "", authErr("unsupported authorization scheme; use DPoP", fmt.Errorf("%w: scheme %.20q", ErrMalformed, s))
	}
	token = strings.TrimLeft(rest, " ")
	if token == "" || len(token) > maxCredential || !isToken68(token) {
		return "", "", authErr("malformed Authorization header", fmt.Errorf("%w: credentials are not a token68", ErrMalformed))
	}
	return scheme, token, nil
}

// isToken68 reports whether s is a token68: 1*( ALPHA / DIGIT / "-" / "."
// / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
