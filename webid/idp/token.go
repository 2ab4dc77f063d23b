package idp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/storage"
)

// maxRefreshWrites bounds the retries of a refresh that lost a race.
const maxRefreshWrites = 5

// TokenRequest is a request to the token or revocation endpoint.
type TokenRequest struct {
	// Form is the request body's parameters.
	Form url.Values
	// HasBasic tells that HTTP Basic credentials came with the request;
	// BasicUser and BasicPassword are them, still form-encoded (RFC 6749
	// §2.3.1).
	HasBasic      bool
	BasicUser     string
	BasicPassword string
	// DPoP are the values of the request's DPoP header.
	DPoP []string
}

// TokenResponse is a successful token response (RFC 6749 §5.1, RFC 9449
// §5: token_type DPoP).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// refreshFamily is every refresh token issued from one authorization, as
// stored: only the hash of the current token is kept. Presenting any other
// token of the family revokes it (replay of a rotated token: RFC 9700
// §4.14.2).
type refreshFamily struct {
	ClientID  string    `json:"client_id"`
	AccountID string    `json:"account_id"`
	WebID     string    `json:"webid"`
	Scope     []string  `json:"scope"`
	JKT       string    `json:"jkt,omitempty"` // bound DPoP key, public clients
	AuthTime  time.Time `json:"auth_time"`
	Expires   time.Time `json:"expires"`
	Current   string    `json:"current"` // hash of the live token's secret
	Revoked   bool      `json:"revoked"`
}

// grant is what a token response is made from.
type grant struct {
	clientID  string
	accountID string
	webid     string
	scope     []string
	nonce     string
	authTime  time.Time
	jkt       string
	idToken   bool
	idAlg     jose.SignatureAlgorithm // the client's id_token_signed_response_alg
	family    string                  // refresh-token family, "" for none
	refresh   string                  // the refresh token to return
}

// Token answers the token endpoint (RFC 6749 §3.2) for the
// authorization_code, refresh_token and client_credentials grants. Every
// grant needs a DPoP proof for the token endpoint; the access token is
// bound to its key (RFC 9449 §5). Failures are *Error values.
func (p *Provider) Token(ctx context.Context, r TokenRequest) (*TokenResponse, error) {
	for k, v := range r.Form {
		if len(v) > 1 {
			return nil, oauthErr(CodeInvalidRequest, k+" is given more than once")
		}
	}
	switch gt := r.Form.Get("grant_type"); gt {
	case GrantAuthorizationCode:
		return p.codeGrant(ctx, &r)
	case GrantRefreshToken:
		return p.refreshGrant(ctx, &r)
	case GrantClientCredentials:
		return p.credentialsGrant(ctx, &r)
	case "":
		return nil, oauthErr(CodeInvalidRequest, "grant_type is required")
	default:
		return nil, oauthErr(CodeUnsupportedGrantType, "grant_type is not supported")
	}
}

// codeGrant redeems an authorization code (RFC 6749 §4.1.3, RFC 7636
// §4.6). The code is marked used by a conditional write, so exactly one
// redemption wins; presenting it again revokes what it was redeemed for.
func (p *Provider) codeGrant(ctx context.Context, r *TokenRequest) (*TokenResponse, error) {
	c, err := p.authenticateClient(ctx, r)
	if err != nil {
		return nil, err
	}
	if !c.allows(GrantAuthorizationCode) {
		return nil, oauthErr(CodeUnauthorizedClient, "the client may not use this grant")
	}
	jkt, err := p.checkProof(r.DPoP, p.endpoint.token)
	if err != nil {
		return nil, err
	}
	code := r.Form.Get("code")
	if code == "" || len(code) > 100 {
		return nil, oauthErr(CodeInvalidRequest, "code is required")
	}
	key := prefixCodes + hashKey(code)
	var rec codeRecord
	etag, err := getJSON(ctx, p.cfg.Store, key, &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, oauthErr(CodeInvalidGrant, "unknown authorization code")
	} else if err != nil {
		return nil, fmt.Errorf("idp: reading code: %w", err)
	}
	now := p.cfg.Now()
	switch {
	case rec.Used:
		return nil, p.codeReused(ctx, &rec)
	case !now.Before(rec.Expires):
		return nil, oauthErr(CodeInvalidGrant, "the authorization code has expired")
	case rec.ClientID != c.ID:
		return nil, oauthErr(CodeInvalidGrant, "the authorization code was issued to another client")
	case r.Form.Get("redirect_uri") != rec.RedirectURI:
		return nil, oauthErr(CodeInvalidGrant, "redirect_uri differs from the authorization request's")
	case !pkceHolds(r.Form.Get("code_verifier"), rec.Challenge):
		return nil, oauthErr(CodeInvalidGrant, "code_verifier does not match the code_challenge")
	case rec.DPoPJKT != "" && rec.DPoPJKT != jkt:
		return nil, keyMismatch("authorization code")
	}
	g := &grant{
		clientID: c.ID, accountID: rec.AccountID, webid: rec.WebID, scope: rec.Scope, nonce: rec.Nonce,
		authTime: rec.AuthTime, jkt: jkt, idToken: true, idAlg: c.idTokenAlg(),
	}
	if err := p.checkAccount(ctx, g.accountID, g.webid, g.authTime); err != nil {
		return nil, err
	}
	// A login keeps its client: it lives at least as long as the refresh
	// tokens given now.
	if err := p.keepClient(ctx, c); err != nil {
		return nil, err
	}
	rec.Used = true
	rec.Family = randomToken(16)
	if slices.Contains(rec.Scope, ScopeOfflineAccess) && c.allows(GrantRefreshToken) {
		// The family is stored before the code is marked used, so that
		// whoever finds the code used finds the family to revoke.
		fam := refreshFamily{
			ClientID: c.ID, AccountID: rec.AccountID, WebID: rec.WebID, Scope: rec.Scope,
			AuthTime: rec.AuthTime, Expires: now.Add(p.cfg.RefreshTokenLifetime).UTC(),
		}
		// RFC 9449 §5: a public client's refresh tokens are bound to
		// the DPoP key; a confidential client authenticates instead.
		if c.public() {
			fam.JKT = jkt
		}
		secret := randomToken(32)
		fam.Current = hashKey(secret)
		if err := p.indexExpiring(ctx, markerRefresh+rec.Family, fam.Expires); err != nil {
			return nil, err
		}
		if _, err := putJSON(ctx, p.cfg.Store, prefixRefresh+rec.Family, fam, storage.PutOptions{IfNoneMatch: true}); err != nil {
			return nil, fmt.Errorf("idp: storing refresh token: %w", err)
		}
		g.family, g.refresh = rec.Family, rec.Family+"."+secret
	}
	if _, err := putJSON(ctx, p.cfg.Store, key, rec, storage.PutOptions{IfMatch: etag}); errors.Is(err, storage.ErrPreconditionFailed) {
		// Another request redeemed it first; the family stored above
		// was never handed out.
		var again codeRecord
		if _, err := getJSON(ctx, p.cfg.Store, key, &again); err == nil && again.Used {
			return nil, p.codeReused(ctx, &again)
		}
		return nil, oauthErr(CodeInvalidGrant, "the authorization code was already used")
	} else if err != nil {
		return nil, fmt.Errorf("idp: redeeming code: %w", err)
	}
	return p.issue(ctx, g)
}

// codeReused answers a code presented again, revoking the refresh-token
// family it was redeemed for (RFC 6749 §4.1.2: "SHOULD revoke (when
// possible) all tokens previously issued based on that authorization
// code").
func (p *Provider) codeReused(ctx context.Context, rec *codeRecord) error {
	if rec.Family != "" {
		if err := p.revokeFamily(ctx, rec.Family); err != nil {
			return err
		}
	}
	p.logger.Warn("idp: authorization code presented again; its tokens are revoked", "client_id", rec.ClientID)
	return oauthErr(CodeInvalidGrant, "the authorization code was already used")
}

// pkceHolds checks a code_verifier against an S256 code_challenge (RFC
// 7636 §4.1, §4.6).
func pkceHolds(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// refreshGrant trades a refresh token for new tokens and a new refresh
// token (RFC 6749 §6). The old one is spent: presented again, it revokes
// the family. A public client must prove the DPoP key the family is bound
// to.
func (p *Provider) refreshGrant(ctx context.Context, r *TokenRequest) (*TokenResponse, error) {
	c, err := p.authenticateClient(ctx, r)
	if err != nil {
		return nil, err
	}
	if !c.allows(GrantRefreshToken) {
		return nil, oauthErr(CodeUnauthorizedClient, "the client may not use this grant")
	}
	jkt, err := p.checkProof(r.DPoP, p.endpoint.token)
	if err != nil {
		return nil, err
	}
	family, secret, ok := splitRefreshToken(r.Form.Get("refresh_token"))
	if !ok {
		return nil, oauthErr(CodeInvalidGrant, "malformed refresh token")
	}
	key := prefixRefresh + family
	for range maxRefreshWrites {
		var rec refreshFamily
		etag, err := getJSON(ctx, p.cfg.Store, key, &rec)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, oauthErr(CodeInvalidGrant, "unknown refresh token")
		} else if err != nil {
			return nil, fmt.Errorf("idp: reading refresh token: %w", err)
		}
		now := p.cfg.Now()
		switch {
		case rec.Revoked:
			return nil, oauthErr(CodeInvalidGrant, "the refresh token was revoked")
		case subtle.ConstantTimeCompare([]byte(hashKey(secret)), []byte(rec.Current)) != 1:
			// A spent token: someone holds a copy. End the family.
			rec.Revoked = true
			if _, err := putJSON(ctx, p.cfg.Store, key, rec, storage.PutOptions{IfMatch: etag}); errors.Is(err, storage.ErrPreconditionFailed) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("idp: revoking refresh tokens: %w", err)
			}
			p.logger.Warn("idp: a spent refresh token was presented; its family is revoked", "client_id", rec.ClientID)
			return nil, oauthErr(CodeInvalidGrant, "the refresh token was already used")
		case !now.Before(rec.Expires):
			return nil, oauthErr(CodeInvalidGrant, "the refresh token has expired")
		case rec.ClientID != c.ID:
			return nil, oauthErr(CodeInvalidGrant, "the refresh token was issued to another client")
		case rec.JKT != "" && rec.JKT != jkt:
			return nil, keyMismatch("refresh token")
		}
		scope := rec.Scope
		if s := r.Form.Get("scope"); s != "" {
			// RFC 6749 §6: a narrower scope may be asked for.
			scope = nil
			for _, x := range strings.Fields(s) {
				if !slices.Contains(rec.Scope, x) {
					return nil, oauthErr(CodeInvalidScope, "scope exceeds the original grant")
				}
				if !slices.Contains(scope, x) {
					scope = append(scope, x)
				}
			}
		}
		if err := p.checkAccount(ctx, rec.AccountID, rec.WebID, rec.AuthTime); err != nil {
			return nil, err
		}
		next := randomToken(32)
		rec.Current = hashKey(next)
		if _, err := putJSON(ctx, p.cfg.Store, key, rec, storage.PutOptions{IfMatch: etag}); errors.Is(err, storage.ErrPreconditionFailed) {
			// Another request changed the family: look again, which finds
			// this token spent if that request used it.
			continue
		} else if err != nil {
			return nil, fmt.Errorf("idp: rotating refresh token: %w", err)
		}
		g := &grant{
			clientID: c.ID, accountID: rec.AccountID, webid: rec.WebID, scope: scope,
			authTime: rec.AuthTime, jkt: jkt, idToken: slices.Contains(scope, ScopeOpenID), idAlg: c.idTokenAlg(),
			family: family, refresh: family + "." + next,
		}
		return p.issue(ctx, g)
	}
	return nil, oauthErr(CodeInvalidGrant, "the refresh token is being used concurrently")
}

// splitRefreshToken reads "<family>.<secret>".
func splitRefreshToken(t string) (family, secret string, ok bool) {
	family, secret, ok = strings.Cut(t, ".")
	if !ok || len(family) != 22 || !isTokenChars(family) || len(secret) != 43 || !isTokenChars(secret) {
		return "", "", false
	}
	return family, secret, true
}

// revokeFamily marks a refresh-token family revoked; a missing one is
// fine.
func (p *Provider) revokeFamily(ctx context.Context, family string) error {
	key := prefixRefresh + family
	for range maxRefreshWrites {
		var rec refreshFamily
		etag, err := getJSON(ctx, p.cfg.Store, key, &rec)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("idp: reading refresh tokens: %w", err)
		}
		if rec.Revoked {
			return nil
		}
		rec.Revoked = true
		_, err = putJSON(ctx, p.cfg.Store, key, rec, storage.PutOptions{IfMatch: etag})
		if !errors.Is(err, storage.ErrPreconditionFailed) {
			return err
		}
	}
	return errors.New("idp: revoking refresh tokens: too many concurrent updates")
}

// credentialsGrant is the client credentials grant for a credential made
// in an account (Solid-OIDC §10, RFC 6749 §4.4): the client_id is the
// credential's id, and the token names the credential's WebID.
func (p *Provider) credentialsGrant(ctx context.Context, r *TokenRequest) (*TokenResponse, error) {
	id, secret, err := clientCredentials(r)
	if err != nil {
		return nil, err
	}
	if id == "" || secret == "" || len(id) > 256 {
		return nil, oauthErr(CodeInvalidClient, "client credentials required")
	}
	cred, err := p.cfg.Accounts.ClientCredential(ctx, id)
	// Solid-OIDC §10.1: "the OP MUST validate the client's
	// authentication credentials".
	if err != nil || cred.Verify == nil || !cred.Verify(secret) {
		return nil, oauthErr(CodeInvalidClient, "client authentication failed")
	}
	jkt, err := p.checkProof(r.DPoP, p.endpoint.token)
	if err != nil {
		return nil, err
	}
	if err := p.checkAccount(ctx, cred.AccountID, cred.WebID, p.cfg.Now()); err != nil {
		return nil, err
	}
	// Solid-OIDC §10: the client is bound to the user who made it, whose
	// WebID the token carries.
	g := &grant{
		clientID: cred.ID, accountID: cred.AccountID, webid: cred.WebID,
		scope: []string{ScopeWebID}, authTime: p.cfg.Now(), jkt: jkt,
	}
	return p.issue(ctx, g)
}

// checkAccount makes sure the account still exists and still has the
// WebID, so that a removed WebID or account stops every grant for it, and
// that the sign-in at authTime was not ended since (Account.SignedOutAt).
func (p *Provider) checkAccount(ctx context.Context, accountID, webid string, authTime time.Time) error {
	acct, err := p.cfg.Accounts.Get(ctx, accountID)
	if err != nil || !slices.Contains(acct.WebIDs, webid) {
		return oauthErr(CodeInvalidGrant, "the account or its WebID no longer exists")
	}
	if authTime.Before(acct.SignedOutAt) {
		return oauthErr(CodeInvalidGrant, "the sign-in was ended (the account's password was reset); sign in again")
	}
	return nil
}

// accessClaims are the claims of an access token: Solid-OIDC §8.1 as
// Solid resource servers read them, RFC 9068 names and RFC 9449 §6 cnf.
type accessClaims struct {
	Iss      string   `json:"iss"`
	Aud      []string `json:"aud"`
	Sub      string   `json:"sub"`
	WebID    string   `json:"webid"`
	ClientID string   `json:"client_id"`
	Azp      string   `json:"azp"`
	Iat      int64    `json:"iat"`
	Exp      int64    `json:"exp"`
	Jti      string   `json:"jti"`
	Cnf      cnf      `json:"cnf"`
	Scope    string   `json:"scope"`
}

type cnf struct {
	JKT string `json:"jkt"`
}

// idClaims are the claims of an ID token (OpenID Connect Core §2,
// Solid-OIDC §8.1).
type idClaims struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      []string `json:"aud"`
	Azp      string   `json:"azp"`
	WebID    string   `json:"webid"`
	Iat      int64    `json:"iat"`
	Exp      int64    `json:"exp"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce,omitempty"`
	AtHash   string   `json:"at_hash"`
	Jti      string   `json:"jti"`
	Cnf      cnf      `json:"cnf"`
}

// issue signs the tokens of a grant.
func (p *Provider) issue(ctx context.Context, g *grant) (*TokenResponse, error) {
	now := p.cfg.Now()
	// Solid-OIDC §8.1: aud includes "solid" and the client; the WebID is
	// the subject.
	at := accessClaims{
		Iss: p.issuer, Aud: []string{"solid", g.clientID}, Sub: g.webid, WebID: g.webid,
		ClientID: g.clientID, Azp: g.clientID, Iat: now.Unix(),
		Exp: now.Add(p.cfg.AccessTokenLifetime).Unix(), Jti: randomToken(16),
		Cnf: cnf{JKT: g.jkt}, Scope: strings.Join(g.scope, " "),
	}
	// Access tokens are always ES256: Solid resource servers read them,
	// and no client metadata names their algorithm.
	access, err := p.sign(ctx, jose.ES256, "at+jwt", at)
	if err != nil {
		return nil, err
	}
	resp := &TokenResponse{
		AccessToken: access, TokenType: "DPoP",
		ExpiresIn: int64(p.cfg.AccessTokenLifetime / time.Second), Scope: at.Scope,
	}
	if g.idToken {
		// OpenID Connect Core §3.1.3.6: at_hash uses the hash of the ID
		// token's alg, SHA-256 for both ES256 and RS256.
		sum := sha256.Sum256([]byte(access))
		id := idClaims{
			Iss: p.issuer, Sub: g.webid, Aud: []string{g.clientID, "solid"}, Azp: g.clientID,
			WebID: g.webid, Iat: now.Unix(), Exp: now.Add(p.cfg.IDTokenLifetime).Unix(),
			AuthTime: g.authTime.Unix(), Nonce: g.nonce,
			AtHash: base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]),
			Jti:    randomToken(16), Cnf: cnf{JKT: g.jkt},
		}
		alg := g.idAlg
		if alg == "" {
			alg = jose.ES256
		}
		if resp.IDToken, err = p.sign(ctx, alg, "JWT", id); err != nil {
			return nil, err
		}
	}
	resp.RefreshToken = g.refresh
	return resp, nil
}

// Revoke answers the revocation endpoint (RFC 7009 §2): a refresh token of
// the authenticated client is revoked with its family. Access tokens are
// self-contained JWTs that expire on their own within
// AccessTokenLifetime; they, and tokens that are unknown or another
// client's, are answered with success as §2.2 asks.
func (p *Provider) Revoke(ctx context.Context, r TokenRequest) error {
	c, err := p.authenticateClient(ctx, &r)
	if err != nil {
		return err
	}
	token := r.Form.Get("token")
	if token == "" {
		return oauthErr(CodeInvalidRequest, "token is required")
	}
	family, secret, ok := splitRefreshToken(token)
	if !ok {
		return nil
	}
	var rec refreshFamily
	if _, err := getJSON(ctx, p.cfg.Store, prefixRefresh+family, &rec); errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("idp: reading refresh token: %w", err)
	}
	if rec.ClientID != c.ID || subtle.ConstantTimeCompare([]byte(hashKey(secret)), []byte(rec.Current)) != 1 {
		return nil
	}
	return p.revokeFamily(ctx, family)
}
