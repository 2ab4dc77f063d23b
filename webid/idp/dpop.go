package idp

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxProof bounds a DPoP proof before it is parsed.
const maxProof = 16 << 10

// proofClaims are the claims of a DPoP proof (RFC 9449 §4.2).
type proofClaims struct {
	JTI string   `json:"jti"`
	HTM string   `json:"htm"`
	HTU string   `json:"htu"`
	IAT *float64 `json:"iat"`
}

// checkProof checks the DPoP header values of a request to the endpoint
// at htu with method POST (RFC 9449 §4.3) and returns the RFC 7638
// thumbprint of the proof's key: the jkt that tokens are bound to.
func (p *Provider) checkProof(values []string, htu string) (string, error) {
	bad := func(desc string) (string, error) { return "", oauthErr(CodeInvalidDPoPProof, desc) }
	// 4.3 (1): exactly one DPoP header.
	switch {
	case len(values) == 0:
		return bad("a DPoP proof is required (Solid-OIDC §8, RFC 9449)")
	case len(values) > 1:
		return bad("more than one DPoP header")
	case values[0] == "" || len(values[0]) > maxProof:
		return bad("malformed DPoP proof")
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range dpopAlgs() {
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	// 4.3 (2, 5, 7): a JWS with an allowed asymmetric alg; go-jose refuses
	// "none", HMAC and a jwk holding private key material.
	jws, err := jose.ParseSignedCompact(values[0], algs)
	if err != nil {
		return bad("malformed DPoP proof, or its algorithm is not allowed")
	}
	h := jws.Signatures[0].Protected
	// 4.3 (4): typ dpop+jwt.
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "dpop+jwt") {
		return bad("DPoP proof typ is not dpop+jwt")
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.IsPublic() || !jwk.Valid() {
		return bad("DPoP proof has no public jwk")
	}
	if k, ok := jwk.Key.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
		return bad("DPoP proof RSA key too small")
	}
	// 4.3 (6): the signature verifies with the embedded key.
	payload, err := jws.Verify(jwk)
	if err != nil {
		return bad("DPoP proof signature does not verify")
	}
	var c proofClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return bad("malformed DPoP proof claims")
	}
	// §4.2: a jti; 4.3 (8, 9): htm and htu.
	if c.JTI == "" || len(c.JTI) > 256 {
		return bad("DPoP proof jti missing or too long")
	}
	if c.HTM != "POST" {
		return bad("DPoP proof htm does not match the request method")
	}
	if !sameHTU(c.HTU, htu) {
		return bad("DPoP proof htu does not match the endpoint URL")
	}
	// 4.3 (11): iat within the window.
	if c.IAT == nil {
		return bad("DPoP proof has no iat")
	}
	now := p.cfg.Now()
	iat := time.Unix(int64(*c.IAT), 0)
	if iat.Before(now.Add(-p.cfg.ProofMaxAge)) || iat.After(now.Add(p.cfg.ClockSkew)) {
		return bad("DPoP proof iat is outside the accepted window")
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("DPoP proof jwk has no thumbprint")
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)
	// §11.1: the jti was not seen within the window. The cache is this
	// process's: a proof replayed against another process redeems nothing,
	// as codes are single-use and refresh tokens rotate in shared storage.
	if !p.replay.add(sha256.Sum256([]byte(jkt+" "+c.JTI)), iat.Add(p.cfg.ProofMaxAge+p.cfg.ClockSkew), now) {
		return bad("DPoP proof was already used")
	}
	return jkt, nil
}

// sameHTU compares a proof's htu with the endpoint URL after RFC 3986
// §6.2.2 and §6.2.3 normalisation of scheme, host and port, ignoring
// query and fragment (RFC 9449 §4.3 (9)).
func sameHTU(got, want string) bool {
	g, err1 := url.Parse(got)
	w, err2 := url.Parse(want)
	if err1 != nil || err2 != nil {
		return false
	}
	norm := func(u *url.URL) string {
		scheme := strings.ToLower(u.Scheme)
		host, port := strings.ToLower(u.Hostname()), u.Port()
		if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
			port = ""
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if port != "" {
			host += ":" + port
		}
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		return scheme + "://" + host + path
	}
	return g.User == nil && norm(g) == norm(w)
}

// replayCache remembers proof jti values until their window closes; it
// holds at most max of them and refuses new proofs when full of unexpired
// ones rather than forget any.
type replayCache struct {
	max int

	mu   sync.Mutex
	seen map[[32]byte]time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: map[[32]byte]time.Time{}}
}

// add records key until until, reporting false when it was already there
// or there is no room.
func (r *replayCache) add(key [32]byte, until, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.seen[key]; ok && now.Before(t) {
		return false
	}
	if len(r.seen) >= r.max {
		for k, t := range r.seen {
			if !now.Before(t) {
				delete(r.seen, k)
			}
		}
		if len(r.seen) >= r.max {
			return false
		}
	}
	r.seen[key] = until
	return true
}

// keyMismatch is the error of a DPoP proof whose key is not the one a
// grant is bound to (RFC 9449 §5, §10): the grant does not hold.
func keyMismatch(what string) *Error {
	return oauthErr(CodeInvalidGrant, fmt.Sprintf("the DPoP proof key is not the one the %s is bound to", what))
}
