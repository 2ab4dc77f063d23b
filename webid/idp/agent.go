package idp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// ServiceAgent is the server acting on its own behalf, as the sender of
// webhook notifications (WebhookChannel2023 §3: the sender "MUST perform
// authenticated request to sendTo webhook endpoint, using identity provided
// as sender"). Its WebID document (served by the server) names this
// provider as its solid:oidcIssuer; the provider issues it DPoP-bound access
// tokens directly, bound to a key the agent makes at start, so any Solid
// resource server can verify its requests like any other agent's. It is
// safe for concurrent use.
type ServiceAgent struct {
	p        *Provider
	webid    string
	clientID string
	key      *ecdsa.PrivateKey
	signer   jose.Signer
	jkt      string

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// ServiceAgent makes the agent with the given WebID and client id.
func (p *Provider) ServiceAgent(webid, clientID string) (*ServiceAgent, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("idp: service agent key: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, fmt.Errorf("idp: service agent signer: %w", err)
	}
	jwk := jose.JSONWebKey{Key: key.Public(), Algorithm: string(jose.ES256)}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("idp: service agent thumbprint: %w", err)
	}
	return &ServiceAgent{
		p: p, webid: webid, clientID: clientID, key: key, signer: signer,
		jkt: base64.RawURLEncoding.EncodeToString(tp),
	}, nil
}

// WebID is the agent's WebID.
func (a *ServiceAgent) WebID() string { return a.webid }

// accessToken returns a current access token, minting a new one when the
// last is past the first half of its life.
func (a *ServiceAgent) accessToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.p.cfg.Now()
	if a.token != "" && now.Before(a.renewAt) {
		return a.token, nil
	}
	life := a.p.cfg.AccessTokenLifetime
	// Solid-OIDC §8.1, as for every access token of this provider.
	at := accessClaims{
		Iss: a.p.issuer, Aud: []string{"solid", a.clientID}, Sub: a.webid, WebID: a.webid,
		ClientID: a.clientID, Azp: a.clientID, Iat: now.Unix(), Exp: now.Add(life).Unix(),
		Jti: randomToken(16), Cnf: cnf{JKT: a.jkt}, Scope: "webid",
	}
	tok, err := a.p.sign(ctx, jose.ES256, "at+jwt", at)
	if err != nil {
		return "", err
	}
	a.token, a.renewAt = tok, now.Add(life/2)
	return tok, nil
}

// Headers returns the Authorization and DPoP headers of one request the
// agent makes (RFC 9449 §4 and §7.1): a fresh proof for method and url,
// bound to the access token by ath.
func (a *ServiceAgent) Headers(ctx context.Context, method, url string) (http.Header, error) {
	tok, err := a.accessToken(ctx)
	if err != nil {
		return nil, err
	}
	// RFC 9449 §4.2: htu is the URL without query and fragment.
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url = url[:i]
	}
	ath := sha256.Sum256([]byte(tok))
	claims, err := json.Marshal(map[string]any{
		"htm": method, "htu": url, "iat": a.p.cfg.Now().Unix(), "jti": randomToken(16),
		"ath": base64.RawURLEncoding.EncodeToString(ath[:]),
	})
	if err != nil {
		return nil, err
	}
	jws, err := a.signer.Sign(claims)
	if err != nil {
		return nil, fmt.Errorf("idp: service agent proof: %w", err)
	}
	proof, err := jws.CompactSerialize()
	if err != nil {
		return nil, err
	}
	return http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {proof}}, nil
}
