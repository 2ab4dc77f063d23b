package webidtest

import (
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a Solid-OIDC OpenID Provider on an httptest.Server: it serves
// /.well-known/openid-configuration and its key set at /jwks, and mints
// access tokens signed with its current ES256 key.
type Issuer struct {
	// URL is the issuer identifier, http://127.0.0.1:port, no trailing
	// slash; tokens carry it as iss.
	URL    string
	Server *httptest.Server
	// Now is the clock of Token's defaults (default time.Now). Set it
	// before minting tokens.
	Now func() time.Time

	t         testing.TB
	mu        sync.Mutex
	kid       string
	key       *ecdsa.PrivateKey
	jwks      atomic.Int64
	discovery atomic.Int64
}

// NewIssuer starts an Issuer with a fresh key; it stops at the end of the
// test.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	i := &Issuer{Now: time.Now, t: t}
	i.Rotate()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		i.discovery.Add(1)
		writeJSON(w, map[string]any{
			"issuer":                                i.URL,
			"jwks_uri":                              i.URL + "/jwks",
			"authorization_endpoint":                i.URL + "/authorize",
			"token_endpoint":                        i.URL + "/token",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"scopes_supported":                      []string{"openid", "webid", "offline_access"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
			"dpop_signing_alg_values_supported":     []string{"ES256", "ES384", "PS256", "RS256", "EdDSA"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		i.jwks.Add(1)
		i.mu.Lock()
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: i.key.Public(), KeyID: i.kid, Algorithm: "ES256", Use: "sig"}}}
		i.mu.Unlock()
		writeJSON(w, set)
	})
	i.Server = httptest.NewServer(mux)
	i.URL = i.Server.URL
	t.Cleanup(i.Server.Close)
	return i
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Rotate replaces the signing key with a new one under a new kid; the key
// set no longer holds the old one.
func (i *Issuer) Rotate() {
	k, err := newKey("ES256")
	if err != nil {
		i.t.Fatalf("webidtest: %v", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.key, i.kid = k.(*ecdsa.PrivateKey), randomID()
}

// KeyID is the kid of the current signing key.
func (i *Issuer) KeyID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.kid
}

// JWKSFetches is how many times the key set was fetched.
func (i *Issuer) JWKSFetches() int { return int(i.jwks.Load()) }

// DiscoveryFetches is how many times the metadata was fetched.
func (i *Issuer) DiscoveryFetches() int { return int(i.discovery.Load()) }

// TokenOptions describe an access token. The zero value of a field takes
// the default said; knobs that make bad tokens are marked so.
type TokenOptions struct {
	// WebID is the webid claim (none when empty), Subject the sub claim
	// (default "user").
	WebID   string
	Subject string
	// ClientID is the client_id and azp claim.
	ClientID string
	// JKT is cnf.jkt, the thumbprint of the client's DPoP key
	// (Client.Thumbprint); empty means no cnf claim.
	JKT string
	// Audience is aud (default ["solid", ClientID]).
	Audience []string
	// IssuedAt is iat (default Now()), Expiry exp (default IssuedAt + 5
	// min); NotBefore is nbf (none when zero).
	IssuedAt  time.Time
	Expiry    time.Time
	NotBefore time.Time
	// Issuer is iss (default the Issuer's URL).
	Issuer string
	// KeyID is the kid header (default the current key's); the token is
	// signed with the current key whatever it says.
	KeyID string
	// Alg, when set, makes a bad token: "none" is unsigned; "HS256" is
	// HMAC-signed with the issuer's public JWK as the secret (algorithm
	// confusion).
	Alg string
	// Claims are set last, over the others.
	Claims map[string]any
}

// Token mints an access token.
func (i *Issuer) Token(o TokenOptions) string {
	i.t.Helper()
	i.mu.Lock()
	key, kid := i.key, i.kid
	i.mu.Unlock()
	if o.KeyID != "" {
		kid = o.KeyID
	}
	iat := o.IssuedAt
	if iat.IsZero() {
		iat = i.Now()
	}
	exp := o.Expiry
	if exp.IsZero() {
		exp = iat.Add(5 * time.Minute)
	}
	aud := o.Audience
	if aud == nil {
		aud = []string{"solid"}
		if o.ClientID != "" {
			aud = append(aud, o.ClientID)
		}
	}
	claims := map[string]any{
		"iss": i.URL, "sub": "user", "aud": aud,
		"iat": iat.Unix(), "exp": exp.Unix(), "jti": randomID(),
	}
	if o.Issuer != "" {
		claims["iss"] = o.Issuer
	}
	if o.Subject != "" {
		claims["sub"] = o.Subject
	}
	if o.WebID != "" {
		claims["webid"] = o.WebID
	}
	if o.ClientID != "" {
		claims["client_id"], claims["azp"] = o.ClientID, o.ClientID
	}
	if o.JKT != "" {
		claims["cnf"] = map[string]any{"jkt": o.JKT}
	}
	if !o.NotBefore.IsZero() {
		claims["nbf"] = o.NotBefore.Unix()
	}
	for k, v := range o.Claims {
		claims[k] = v
	}
	switch o.Alg {
	case "", "ES256":
		// The well-behaved path goes through go-jose, a second
		// implementation next to the hand-made JWS of the bad paths.
		signer, err := jose.NewSigner(
			jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			i.t.Fatalf("webidtest: %v", err)
		}
		payload, err := json.Marshal(claims)
		if err != nil {
			i.t.Fatalf("webidtest: %v", err)
		}
		jws, err := signer.Sign(payload)
		if err != nil {
			i.t.Fatalf("webidtest: %v", err)
		}
		tok, err := jws.CompactSerialize()
		if err != nil {
			i.t.Fatalf("webidtest: %v", err)
		}
		return tok
	}
	var hmacKey []byte
	if o.Alg == "HS256" {
		pub, err := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: kid, Algorithm: "ES256", Use: "sig"})
		if err != nil {
			i.t.Fatalf("webidtest: %v", err)
		}
		hmacKey = pub
	}
	tok, err := signCompact(map[string]any{"alg": o.Alg, "typ": "at+jwt", "kid": kid}, claims, o.Alg, key, hmacKey)
	if err != nil {
		i.t.Fatalf("webidtest: %v", err)
	}
	return tok
}

// Loopback are the address ranges of httptest servers, for the Allow of
// a fetch.Client in tests.
func Loopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}
