package webidtest

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Client is a Solid client's DPoP key: it makes proofs (RFC 9449 §4) and
// knows the thumbprint its access tokens are bound to.
type Client struct {
	// ID is the client identifier put in tokens (default
	// "https://app.example/id").
	ID string
	// Now is the clock of proofs' iat (default time.Now).
	Now func() time.Time

	t   testing.TB
	alg string
	key crypto.Signer
	jkt string
}

// NewClient makes a client with a fresh key for alg: ES256 (when empty),
// ES384, PS256, RS256 or EdDSA.
func NewClient(t testing.TB, alg string) *Client {
	t.Helper()
	if alg == "" {
		alg = "ES256"
	}
	k, err := newKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := (&jose.JSONWebKey{Key: k.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{
		ID: "https://app.example/id", Now: time.Now,
		t: t, alg: alg, key: k, jkt: base64.RawURLEncoding.EncodeToString(tp),
	}
}

// Alg is the signature algorithm of the client's proofs.
func (c *Client) Alg() string { return c.alg }

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the client's public
// key, base64url: the cnf.jkt of its tokens.
func (c *Client) Thumbprint() string { return c.jkt }

// Proof makes a fresh, valid proof for a request: a new jti, iat Now(),
// and ath when accessToken is not empty.
func (c *Client) Proof(method, url, accessToken string) string {
	return c.ProofWith(ProofOptions{Method: method, URL: url, AccessToken: accessToken})
}

// ProofOptions describe a proof. Zero fields take the default said; the
// rest are knobs that make bad proofs.
type ProofOptions struct {
	// Method and URL are htm and htu.
	Method string
	URL    string
	// AccessToken gives ath (none when empty); ATH, when set, replaces it.
	AccessToken string
	ATH         string
	// IssuedAt is iat (default Now()).
	IssuedAt time.Time
	// JTI is jti (default random); set it to reuse one.
	JTI string
	// Alg replaces the alg header: "none" is unsigned; "HS256" is
	// HMAC-signed with the public JWK as the secret (algorithm confusion).
	Alg string
	// Typ is the typ header (default "dpop+jwt"; "-" leaves it out).
	Typ string
	// OmitJWK leaves the jwk header out; EmbedPrivateKey puts the private
	// key in it; JWK, when set, embeds that client's public key instead
	// of this one's (the signature stays this client's).
	OmitJWK         bool
	EmbedPrivateKey bool
	JWK             *Client
	// Claims are set last, over the others.
	Claims map[string]any
}

// ProofWith makes a proof as o says.
func (c *Client) ProofWith(o ProofOptions) string {
	c.t.Helper()
	iat := o.IssuedAt
	if iat.IsZero() {
		iat = c.Now()
	}
	jti := o.JTI
	if jti == "" {
		jti = randomID()
	}
	claims := map[string]any{"htm": o.Method, "htu": o.URL, "iat": iat.Unix(), "jti": jti}
	if o.AccessToken != "" {
		sum := sha256.Sum256([]byte(o.AccessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if o.ATH != "" {
		claims["ath"] = o.ATH
	}
	for k, v := range o.Claims {
		claims[k] = v
	}
	alg := c.alg
	if o.Alg != "" {
		alg = o.Alg
	}
	header := map[string]any{"alg": alg, "typ": "dpop+jwt"}
	switch o.Typ {
	case "":
	case "-":
		delete(header, "typ")
	default:
		header["typ"] = o.Typ
	}
	pub := c.key.Public()
	if o.JWK != nil {
		pub = o.JWK.key.Public()
	}
	jwk := jose.JSONWebKey{Key: pub}
	if o.EmbedPrivateKey {
		jwk = jose.JSONWebKey{Key: c.key}
	}
	jwkJSON, err := json.Marshal(jwk)
	if err != nil {
		c.t.Fatal(err)
	}
	if !o.OmitJWK {
		header["jwk"] = json.RawMessage(jwkJSON)
	}
	var hmacKey []byte
	if alg == "HS256" {
		hmacKey = jwkJSON
	}
	p, err := signCompact(header, claims, alg, c.key, hmacKey)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}
