package idp_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/webid/idp"
	"github.com/weconomics/kluis/webid/webidtest"
)

const (
	issuer   = "https://idp.example/"
	tokenURL = issuer + idp.PathToken
	webID    = "https://alice.example/profile/card#me"
	webID2   = "https://alice.example/work#me"
	session  = "alice-session"
	redirect = "http://localhost:8080/callback"
)

// clock is a settable clock for the provider and the DPoP client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// accounts is a fake idp.Accounts: one account, logged in with session,
// and its client credentials.
type accounts struct {
	mu      sync.Mutex
	account idp.Account
	creds   map[string]string // credential id -> secret
	ended   []string
}

func newAccounts() *accounts {
	return &accounts{
		account: idp.Account{ID: "acct-1", Email: "alice@example.org", WebIDs: []string{webID, webID2}},
		creds:   map[string]string{"cred-1": "s3cret"},
	}
}

func (a *accounts) SessionAccount(_ context.Context, token string) (idp.Account, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if token != session {
		return idp.Account{}, idp.ErrNotLoggedIn
	}
	return a.account, nil
}

func (a *accounts) Get(_ context.Context, id string) (idp.Account, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id != a.account.ID {
		return idp.Account{}, errors.New("no such account")
	}
	return a.account, nil
}

func (a *accounts) ClientCredential(_ context.Context, id string) (idp.Credential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	secret, ok := a.creds[id]
	if !ok {
		return idp.Credential{}, errors.New("no such credential")
	}
	return idp.Credential{ID: id, AccountID: a.account.ID, WebID: webID,
		Verify: func(s string) bool { return s == secret }}, nil
}

func (a *accounts) EndSession(_ context.Context, token string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ended = append(a.ended, token)
	return nil
}

// fixture is a provider over a memory store, with a fake clock and
// accounts.
type fixture struct {
	t        *testing.T
	p        *idp.Provider
	store    storage.Backend
	clock    *clock
	accounts *accounts
	docs     map[string]string // Client Identifier Documents by URL
}

func newFixture(t *testing.T, mutate func(*idp.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, store: memory.New(), clock: newClock(), accounts: newAccounts(), docs: map[string]string{}}
	cfg := idp.Config{
		Issuer: issuer, Store: f.store, Accounts: f.accounts, Now: f.clock.Now,
		FetchClient: func(_ context.Context, u string) ([]byte, string, error) {
			doc, ok := f.docs[u]
			if !ok {
				return nil, "", errors.New("404")
			}
			return []byte(doc), "application/ld+json", nil
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := idp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	return f
}

// dpop is a DPoP client key on the fixture's clock.
func (f *fixture) dpop() *webidtest.Client {
	c := webidtest.NewClient(f.t, "ES256")
	c.Now = f.clock.Now
	return c
}

// register registers a client from metadata.
func (f *fixture) register(meta map[string]any) *idp.RegistrationResponse {
	f.t.Helper()
	body, _ := json.Marshal(meta)
	r, err := f.p.Register(context.Background(), body, "192.0.2.1")
	if err != nil {
		f.t.Fatalf("register: %v", err)
	}
	return r
}

// publicClient registers a public client with the test redirect URI.
func (f *fixture) publicClient() string {
	return f.register(map[string]any{
		"redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none",
		"client_name": "Test app", "scope": "openid webid offline_access",
	}).ClientID
}

// pkce is a code verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + "-verifier-0123456789abcdefgh"
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authQuery is a good authorization request for client.
func authQuery(client, challenge string) url.Values {
	return url.Values{
		"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid webid offline_access"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formOf reads the hidden fields of a page's form.
func formOf(page []byte) url.Values {
	form := url.Values{}
	for _, m := range hiddenInput.FindAllSubmatch(page, -1) {
		form.Set(html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2])))
	}
	return form
}

// code runs the browser part of the flow for client with query and
// returns the code from the redirect.
func (f *fixture) code(query url.Values) string {
	f.t.Helper()
	ctx := context.Background()
	res, err := f.p.Authorize(ctx, query, session)
	if err != nil || res.Status != 200 {
		f.t.Fatalf("authorize: %v %+v", err, res)
	}
	form := formOf(res.Page)
	form.Set("decision", "allow")
	form.Set("webid", webID)
	res, err = f.p.Consent(ctx, form, session)
	if err != nil || res.Redirect == "" {
		f.t.Fatalf("consent: %v %+v", err, res)
	}
	u, _ := url.Parse(res.Redirect)
	if u.Query().Get("iss") != issuer {
		f.t.Fatalf("redirect %s has no iss", res.Redirect)
	}
	return u.Query().Get("code")
}

// exchange redeems a code with a DPoP proof of key.
func (f *fixture) exchange(client, code, verifier string, key *webidtest.Client) (*idp.TokenResponse, error) {
	return f.p.Token(context.Background(), idp.TokenRequest{
		Form: url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
			"code_verifier": {verifier}, "client_id": {client}},
		DPoP: []string{key.Proof("POST", tokenURL, "")},
	})
}

// refresh uses a refresh token with a DPoP proof of key.
func (f *fixture) refresh(client, token string, key *webidtest.Client) (*idp.TokenResponse, error) {
	return f.p.Token(context.Background(), idp.TokenRequest{
		Form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {client}},
		DPoP: []string{key.Proof("POST", tokenURL, "")},
	})
}

// claims verifies a JWT with the provider's published keys and returns
// its claims.
func (f *fixture) claims(token string) map[string]any {
	f.t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		f.t.Fatal(err)
	}
	set, err := f.p.Keys(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		f.t.Fatalf("kid %q not published", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		f.t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// oauthCode is the OAuth error code of err, or "".
func oauthCode(err error) string {
	if e, ok := errors.AsType[*idp.Error](err); ok {
		return e.Code
	}
	return ""
}
