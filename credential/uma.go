package credential

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The kinds of tokens the service signs; the "typ" claim keeps a ticket
// from being used as an access token and the other way round.
const (
	typTicket = "uma-ticket"
	typToken  = "uma-access"
)

type umaClaims struct {
	Typ      string `json:"typ"`
	Resource string `json:"res,omitempty"`
	Subject  string `json:"sub,omitempty"`
	Client   string `json:"azp,omitempty"`
	Issuer   string `json:"idp,omitempty"`
	Grant    string `json:"grant,omitempty"`
	Expires  int64  `json:"exp"`
}

// ErrToken is a ticket or access token that does not hold.
var ErrToken = errors.New("credential: invalid UMA ticket or token")

func (s *Service) signClaims(ctx context.Context, c umaClaims) (string, error) {
	set, err := s.keys.current(ctx)
	if err != nil {
		return "", err
	}
	key := set.signing(s.now())
	if key == nil {
		return "", errors.New("credential: no signing key")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key.priv},
		(&jose.SignerOptions{}).WithHeader("kid", key.ID))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func (s *Service) readClaims(ctx context.Context, token, typ string) (*umaClaims, error) {
	if len(token) > 8192 {
		return nil, ErrToken
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, ErrToken
	}
	set, err := s.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	key := set.find(jws.Signatures[0].Header.KeyID)
	if key == nil || key.priv == nil {
		return nil, ErrToken // unknown, or imported: it signs no token here
	}
	payload, err := jws.Verify(key.pub)
	if err != nil {
		return nil, ErrToken
	}
	var c umaClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Typ != typ {
		return nil, ErrToken
	}
	if !s.now().Before(time.Unix(c.Expires, 0)) {
		return nil, fmt.Errorf("%w: expired", ErrToken)
	}
	return &c, nil
}

// Ticket is a short-lived UMA permission ticket bound to the resource iri
// (UMA 2.0 Grant §3.2, "permission ticket").
func (s *Service) Ticket(ctx context.Context, iri string) (string, error) {
	return s.signClaims(ctx, umaClaims{Typ: typTicket, Resource: iri, Expires: s.now().Add(s.cfg.TokenTTL).Unix()})
}

// Token is what an access token from Exchange stands for.
type Token struct {
	Agent Agent
	// Grant is the grant the token is scoped to.
	Grant string
}

// Exchange is the UMA token endpoint's decision (UMA 2.0 Grant §3.3.1,
// grant_type urn:ietf:params:oauth:grant-type:uma-ticket, with the grant
// pushed as a claim token): a, authenticated by Solid-OIDC, presents a
// verifiable presentation (the base64 of its JSON) holding a grant issued
// here to a, valid, not revoked, that covers the ticket's resource. It
// returns a bearer token scoped to that grant, and its lifetime.
func (s *Service) Exchange(ctx context.Context, a Agent, ticket, claimToken string) (string, time.Duration, error) {
	if a.WebID == "" {
		return "", 0, ErrUnauthenticated
	}
	t, err := s.readClaims(ctx, ticket, typTicket)
	if err != nil {
		return "", 0, err
	}
	if len(claimToken) > 2*MaxCredentialBytes {
		return "", 0, ErrTooLarge
	}
	raw, err := base64.StdEncoding.DecodeString(claimToken)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(claimToken); err != nil {
			return "", 0, fmt.Errorf("%w: claim_token is not base64", ErrInvalid)
		}
	}
	var vp struct {
		Type                 any              `json:"type"`
		VerifiableCredential []map[string]any `json:"verifiableCredential"`
	}
	if err := decode(raw, &vp); err != nil {
		return "", 0, err
	}
	if len(vp.VerifiableCredential) == 0 || len(vp.VerifiableCredential) > 10 {
		return "", 0, fmt.Errorf("%w: the presentation holds no credential", ErrInvalid)
	}
	var last error = ErrForbidden
	for _, vc := range vp.VerifiableCredential {
		acc, err := s.Valid(ctx, vc)
		if err != nil {
			last = err
			continue
		}
		switch {
		case acc.Kind != Grant || acc.Status != StatusGiven:
			last = fmt.Errorf("%w: not an access grant", ErrForbidden)
		case acc.Requestor != a.WebID:
			last = fmt.Errorf("%w: the grant is not for this agent", ErrForbidden)
		case !acc.Covers(t.Resource):
			last = fmt.Errorf("%w: the grant does not cover the ticket's resource", ErrForbidden)
		case !acc.Admits(a.ClientID, a.Issuer):
			last = fmt.Errorf("%w: the grant is for another app or identity provider", ErrForbidden)
		default:
			ttl := s.cfg.TokenTTL
			if left := acc.Expires.Sub(s.now()); left < ttl {
				ttl = left
			}
			tok, err := s.signClaims(ctx, umaClaims{Typ: typToken, Subject: a.WebID, Client: a.ClientID, Issuer: a.Issuer,
				Grant: acc.ID, Expires: s.now().Add(ttl).Unix()})
			return tok, ttl, err
		}
	}
	return "", 0, last
}

// ReadToken returns what an access token from Exchange stands for. The
// grant's status is not checked here: the caller checks it at every use.
func (s *Service) ReadToken(ctx context.Context, token string) (*Token, error) {
	c, err := s.readClaims(ctx, token, typToken)
	if err != nil {
		return nil, err
	}
	return &Token{Agent: Agent{WebID: c.Subject, ClientID: c.Client, Issuer: c.Issuer}, Grant: c.Grant}, nil
}
