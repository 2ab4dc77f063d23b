package idp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid/limit"
)

// Bounds of client metadata.
const (
	maxRedirectURIs = 20
	maxURILength    = 2000
	maxNameLength   = 200
	maxClientIDLen  = 2000
)

// client is a relying party: registered here (RFC 7591) and stored, or
// described by its Client Identifier Document (Solid-OIDC §5.1).
type client struct {
	ID                     string   `json:"client_id"`
	SecretHash             string   `json:"secret_hash,omitempty"`
	AuthMethod             string   `json:"token_endpoint_auth_method"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string `json:"grant_types"`
	ResponseTypes          []string `json:"response_types"`
	Name                   string   `json:"client_name,omitempty"`
	LogoURI                string   `json:"logo_uri,omitempty"`
	ClientURI              string   `json:"client_uri,omitempty"`
	TOSURI                 string   `json:"tos_uri,omitempty"`
	PolicyURI              string   `json:"policy_uri,omitempty"`
	Scope                  string   `json:"scope,omitempty"`
	ApplicationType        string   `json:"application_type,omitempty"`
	Contacts               []string `json:"contacts,omitempty"`
	IssuedAt               int64    `json:"client_id_issued_at"`
	// IDTokenAlg is the registered id_token_signed_response_alg; ""
	// (registered before Kluis offered a choice, or omitted) is ES256.
	IDTokenAlg string `json:"id_token_signed_response_alg,omitempty"`
	// Expires is when a registered client is forgotten: UnusedLifetime
	// after its registration, moved to UsedLifetime after each login.
	// Zero: registered before clients expired, until Sweep gives it one.
	Expires time.Time `json:"expires,omitzero"`

	// document marks a client known by its Client Identifier Document.
	document bool
}

// public reports whether the client has no secret: its refresh tokens stay
// bound to a DPoP key (RFC 9449 §5).
func (c *client) public() bool { return c.SecretHash == "" }

// idTokenAlg is the algorithm of the client's ID tokens. Omitted, it is
// ES256, as it was before Kluis offered RS256, although OpenID Connect
// Dynamic Client Registration 1.0 §2 defaults to RS256: Solid clients
// expect ES256, and the registration response names it.
func (c *client) idTokenAlg() jose.SignatureAlgorithm {
	if c.IDTokenAlg == "" {
		return jose.ES256
	}
	return jose.SignatureAlgorithm(c.IDTokenAlg)
}

// allows reports whether the client may use the grant type.
func (c *client) allows(grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// stringList is a JSON string or array of strings, as JSON-LD compacts a
// one-element set to its element.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = stringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return errors.New("neither a string nor an array of strings")
	}
	*l = ss
	return nil
}

// clientMetadata is client metadata as sent to the registration endpoint
// (RFC 7591 §2) or found in a Client Identifier Document.
type clientMetadata struct {
	ClientID                string     `json:"client_id"`
	RedirectURIs            stringList `json:"redirect_uris"`
	PostLogoutRedirectURIs  stringList `json:"post_logout_redirect_uris"`
	GrantTypes              stringList `json:"grant_types"`
	ResponseTypes           stringList `json:"response_types"`
	TokenEndpointAuthMethod string     `json:"token_endpoint_auth_method"`
	ClientName              string     `json:"client_name"`
	LogoURI                 string     `json:"logo_uri"`
	ClientURI               string     `json:"client_uri"`
	TOSURI                  string     `json:"tos_uri"`
	PolicyURI               string     `json:"policy_uri"`
	Scope                   string     `json:"scope"`
	ApplicationType         string     `json:"application_type"`
	Contacts                stringList `json:"contacts"`
	// IDTokenSignedResponseAlg is the JWS alg the client wants its ID
	// tokens signed with (OpenID Connect Dynamic Client Registration 1.0
	// §2): one of signingAlgs.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg"`
}

// toClient checks the metadata and makes a client of it. Defaults: grant
// types authorization_code and refresh_token (Solid clients expect to
// refresh; RFC 7591 §2 defaults to the first only), response type code.
func (m *clientMetadata) toClient(document bool) (*client, *Error) {
	bad := func(format string, args ...any) (*client, *Error) {
		return nil, oauthErr(CodeInvalidClientMetadata, fmt.Sprintf(format, args...))
	}
	if len(m.RedirectURIs) == 0 {
		return nil, oauthErr(CodeInvalidRedirectURI, "redirect_uris is required")
	}
	if len(m.RedirectURIs) > maxRedirectURIs || len(m.PostLogoutRedirectURIs) > maxRedirectURIs {
		return bad("more than %d redirect URIs", maxRedirectURIs)
	}
	for _, u := range m.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return nil, oauthErr(CodeInvalidRedirectURI, "redirect_uris: "+err.Error())
		}
	}
	for _, u := range m.PostLogoutRedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return bad("post_logout_redirect_uris: %s", err.Error())
		}
	}
	c := &client{
		RedirectURIs:           slices.Clone([]string(m.RedirectURIs)),
		PostLogoutRedirectURIs: slices.Clone([]string(m.PostLogoutRedirectURIs)),
		GrantTypes:             slices.Clone([]string(m.GrantTypes)),
		ResponseTypes:          slices.Clone([]string(m.ResponseTypes)),
		AuthMethod:             m.TokenEndpointAuthMethod,
		Name:                   m.ClientName,
		Scope:                  m.Scope,
		ApplicationType:        m.ApplicationType,
		Contacts:               slices.Clone([]string(m.Contacts)),
		document:               document,
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	for _, g := range c.GrantTypes {
		if g != GrantAuthorizationCode && g != GrantRefreshToken {
			return bad("grant type %.40q is not supported for this client", g)
		}
	}
	if len(c.ResponseTypes) == 0 {
		c.ResponseTypes = []string{"code"}
	}
	for _, rt := range c.ResponseTypes {
		if rt != "code" {
			return bad("response type %.40q is not supported", rt)
		}
	}
	switch {
	case document:
		// A document is public: it cannot hold a secret.
		c.AuthMethod = AuthNone
	case c.AuthMethod == "":
		c.AuthMethod = AuthClientSecretBasic // RFC 7591 §2
	case c.AuthMethod != AuthNone && c.AuthMethod != AuthClientSecretBasic && c.AuthMethod != AuthClientSecretPost:
		return bad("token_endpoint_auth_method %.40q is not supported", c.AuthMethod)
	}
	if a := m.IDTokenSignedResponseAlg; a != "" {
		if !slices.Contains(signingAlgs, jose.SignatureAlgorithm(a)) {
			return bad("id_token_signed_response_alg %.40q is not supported; use ES256 or RS256", a)
		}
		c.IDTokenAlg = a
	}
	if len(c.Name) > maxNameLength || len(c.Scope) > maxNameLength || len(c.Contacts) > 10 {
		return bad("client_name, scope or contacts too long")
	}
	for name, u := range map[string]*string{"logo_uri": &m.LogoURI, "client_uri": &m.ClientURI, "tos_uri": &m.TOSURI, "policy_uri": &m.PolicyURI} {
		if *u == "" {
			continue
		}
		if pu, err := url.Parse(*u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || len(*u) > maxURILength {
			return bad("%s is not an http(s) URL", name)
		}
	}
	c.LogoURI, c.ClientURI, c.TOSURI, c.PolicyURI = m.LogoURI, m.ClientURI, m.TOSURI, m.PolicyURI
	return c, nil
}

// checkRedirectURI accepts an absolute https URL, or http on a loopback
// host (RFC 8252 §7.3: localhost, 127.0.0.1, [::1]), without a fragment
// (RFC 6749 §3.1.2).
func checkRedirectURI(s string) error {
	if len(s) > maxURILength {
		return errors.New("URI too long")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("not an absolute URL")
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return errors.New("a redirect URI must not have a fragment")
	}
	if u.User != nil {
		return errors.New("a redirect URI must not have user information")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("http is allowed for localhost and loopback addresses only; use https")
	}
	return errors.New("the scheme must be https (or http on loopback)")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RegistrationResponse is the answer to a registration (RFC 7591 §3.2.1):
// the client's id, its secret for a confidential client, and its metadata.
type RegistrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	ClientName              string   `json:"client_name,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	TOSURI                  string   `json:"tos_uri,omitempty"`
	PolicyURI               string   `json:"policy_uri,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	ApplicationType         string   `json:"application_type,omitempty"`
	Contacts                []string `json:"contacts,omitempty"`
	// IDTokenSignedResponseAlg is the alg of the client's ID tokens, also
	// when the client left it to the server.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg"`
}

// RegistrationLimit is the most bytes a registration request's body may
// have (ClientLimits.MaxBytes).
func (p *Provider) RegistrationLimit() int { return p.clients.MaxBytes }

// Register registers a client from the JSON metadata of a registration
// request (RFC 7591 §3.1; Solid-OIDC §5.2): a confidential client gets a
// secret, a public one (token_endpoint_auth_method "none") does not.
// Registration is open, as Solid clients have no prior relationship with
// the provider, so it is bounded by client address (clientAddr, "host" or
// "host:port"): a rate, and a count of clients not yet used for a login,
// besides a count in all (ClientLimits); a request past one is an *Error
// with RetryAfter (429). A client that never completes a login is
// forgotten after ClientLimits.UnusedLifetime.
func (p *Provider) Register(ctx context.Context, body []byte, clientAddr string) (*RegistrationResponse, error) {
	if len(body) > p.clients.MaxBytes {
		return nil, oauthErr(CodeInvalidClientMetadata, fmt.Sprintf("the registration is larger than %d bytes", p.clients.MaxBytes))
	}
	now := p.cfg.Now()
	addr := limit.AddressKey(clientAddr)
	if wait, ok := p.registrations.Take(addr, now); !ok {
		return nil, &Error{Code: CodeTemporarilyUnavailable, RetryAfter: wait,
			Description: "too many client registrations from this address; try again later"}
	}
	var m clientMetadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, oauthErr(CodeInvalidClientMetadata, "the body is not a JSON object of client metadata")
	}
	if m.ClientID != "" {
		return nil, oauthErr(CodeInvalidClientMetadata, "client_id is assigned by the server")
	}
	c, oerr := m.toClient(false)
	if oerr != nil {
		return nil, oerr
	}
	c.ID = randomToken(16)
	c.IssuedAt = now.Unix()
	c.Expires = now.Add(p.clients.UnusedLifetime).UTC()
	if wait, ok := p.pending.Reserve(c.ID, addr, now, c.Expires); !ok {
		return nil, &Error{Code: CodeTemporarilyUnavailable, RetryAfter: wait,
			Description: "too many registered clients not yet used for a login; try again later"}
	}
	var secret string
	if c.AuthMethod != AuthNone {
		secret = randomToken(32)
		c.SecretHash = hashKey(secret)
	}
	// The expiry index first: a client is never stored without it.
	if err := p.indexExpiry(ctx, c.ID, c.Expires); err != nil {
		p.pending.Release(c.ID)
		return nil, err
	}
	if _, err := putJSON(ctx, p.cfg.Store, prefixClients+c.ID, c, storage.PutOptions{IfNoneMatch: true}); err != nil {
		p.pending.Release(c.ID)
		return nil, fmt.Errorf("idp: storing client: %w", err)
	}
	r := &RegistrationResponse{
		ClientID: c.ID, ClientSecret: secret, ClientIDIssuedAt: c.IssuedAt,
		RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes, TokenEndpointAuthMethod: c.AuthMethod,
		ClientName: c.Name, LogoURI: c.LogoURI, ClientURI: c.ClientURI, TOSURI: c.TOSURI,
		PolicyURI: c.PolicyURI, Scope: c.Scope, ApplicationType: c.ApplicationType, Contacts: c.Contacts,
		IDTokenSignedResponseAlg: string(c.idTokenAlg()),
	}
	if secret != "" {
		var never int64
		r.ClientSecretExpiresAt = &never
	}
	return r, nil
}

// keepClient moves the expiry of a registered client that is used for a
// login to UsedLifetime from now, so that it outlives the refresh tokens
// the login gives. It writes at most once a day per client: the expiry is
// set a day further than needed.
func (p *Provider) keepClient(ctx context.Context, c *client) error {
	if c.document {
		return nil
	}
	p.pending.Release(c.ID)
	need := p.cfg.Now().Add(p.clients.UsedLifetime)
	if !c.Expires.IsZero() && !c.Expires.Before(need) {
		return nil
	}
	key := prefixClients + c.ID
	for range maxRefreshWrites {
		var cur client
		etag, err := getJSON(ctx, p.cfg.Store, key, &cur)
		if errors.Is(err, storage.ErrNotFound) {
			return oauthErr(CodeInvalidClient, "unknown client")
		} else if err != nil {
			return fmt.Errorf("idp: reading client: %w", err)
		}
		if !cur.Expires.IsZero() && !cur.Expires.Before(need) {
			return nil
		}
		cur.Expires = need.Add(24 * time.Hour).UTC()
		if err := p.indexExpiry(ctx, cur.ID, cur.Expires); err != nil {
			return err
		}
		_, err = putJSON(ctx, p.cfg.Store, key, cur, storage.PutOptions{IfMatch: etag})
		if !errors.Is(err, storage.ErrPreconditionFailed) {
			if err != nil {
				return fmt.Errorf("idp: keeping client: %w", err)
			}
			return nil
		}
	}
	return errors.New("idp: keeping client: too many concurrent updates")
}

// isURLClientID reports whether a client_id names a Client Identifier
// Document rather than a registered client.
func isURLClientID(id string) bool {
	return strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "http://")
}

// lookupClient finds the client named by id: a registered one in storage,
// or one described by the Client Identifier Document at id. An unknown or
// unusable client is an *Error with invalid_client; other errors are the
// storage's.
func (p *Provider) lookupClient(ctx context.Context, id string) (*client, error) {
	if id == "" || len(id) > maxClientIDLen {
		return nil, oauthErr(CodeInvalidClient, "client_id missing or too long")
	}
	if isURLClientID(id) {
		return p.clientDocument(ctx, id)
	}
	if !isTokenChars(id) || len(id) > 64 {
		return nil, oauthErr(CodeInvalidClient, "unknown client")
	}
	var c client
	if _, err := getJSON(ctx, p.cfg.Store, prefixClients+id, &c); errors.Is(err, storage.ErrNotFound) {
		return nil, oauthErr(CodeInvalidClient, "unknown client")
	} else if err != nil {
		return nil, fmt.Errorf("idp: reading client: %w", err)
	}
	// An expired client is gone, whether or not Sweep has deleted it.
	if !c.Expires.IsZero() && !p.cfg.Now().Before(c.Expires) {
		return nil, oauthErr(CodeInvalidClient, "unknown client")
	}
	return &c, nil
}

// clientDocument dereferences a Client Identifier Document (Solid-OIDC
// §5.1): https only, served as JSON-LD (or JSON), whose client_id is the
// URL it was fetched from.
func (p *Provider) clientDocument(ctx context.Context, id string) (*client, error) {
	bad := func(desc string, err error) (*client, error) {
		return nil, &Error{Code: CodeInvalidClient, Description: desc, Err: err}
	}
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" || u.User != nil {
		return bad("a client_id URL must be an https URL without a fragment (Solid-OIDC §5.1.1)", nil)
	}
	if p.cfg.FetchClient == nil {
		return bad("Client Identifier Documents are not supported by this server", nil)
	}
	body, mediaType, err := p.cfg.FetchClient(ctx, id)
	if err != nil {
		return bad("the Client Identifier Document could not be fetched", err)
	}
	if mt, _, err := mime.ParseMediaType(mediaType); err != nil || (mt != "application/ld+json" && mt != "application/json") {
		return bad("the Client Identifier Document is not JSON-LD", nil)
	}
	var m clientMetadata
	if err := json.Unmarshal(body, &m); err != nil {
		return bad("the Client Identifier Document is not a JSON object of client metadata", nil)
	}
	if m.ClientID != id {
		return bad("the Client Identifier Document's client_id is not its URL", nil)
	}
	c, oerr := m.toClient(true)
	if oerr != nil {
		return bad("the Client Identifier Document is invalid: "+oerr.Description, nil)
	}
	c.ID = id
	return c, nil
}

// authenticateClient finds and authenticates the client of a token or
// revocation request (RFC 6749 §2.3): HTTP Basic or client_secret in the
// body, never both; a public client names itself with client_id.
func (p *Provider) authenticateClient(ctx context.Context, r *TokenRequest) (*client, error) {
	id, secret, err := clientCredentials(r)
	if err != nil {
		return nil, err
	}
	c, err := p.lookupClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.public() {
		if secret != "" {
			return nil, oauthErr(CodeInvalidClient, "a public client has no secret")
		}
		return c, nil
	}
	if secret == "" || subtle.ConstantTimeCompare([]byte(hashKey(secret)), []byte(c.SecretHash)) != 1 {
		return nil, oauthErr(CodeInvalidClient, "client authentication failed")
	}
	return c, nil
}

// clientCredentials reads the client id and secret of a request: from
// HTTP Basic (RFC 6749 §2.3.1: form-encoded, then Base64) or the body.
func clientCredentials(r *TokenRequest) (id, secret string, err error) {
	formID, formSecret := r.Form.Get("client_id"), r.Form.Get("client_secret")
	if !r.HasBasic {
		return formID, formSecret, nil
	}
	if formSecret != "" {
		return "", "", oauthErr(CodeInvalidRequest, "more than one client authentication method")
	}
	id, secret = formDecode(r.BasicUser), formDecode(r.BasicPassword)
	if formID != "" && formID != id {
		return "", "", oauthErr(CodeInvalidRequest, "client_id differs from the authenticated client")
	}
	return id, secret, nil
}

// formDecode undoes application/x-www-form-urlencoded encoding, keeping
// the text as it is when it is not so encoded.
func formDecode(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// isTokenChars reports whether s is made of base64url characters only.
func isTokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}
