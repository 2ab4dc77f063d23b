package webid_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/webid"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/webidtest"
)

func TestVerifyAccepts(t *testing.T) {
	tests := []struct {
		name string
		opts fixtureOptions
		// req builds the request; nil is a valid DPoP GET of target.
		req        func(f *fixture) (method, u, authz string, dpop []string)
		wantClient string
	}{
		{name: "ES256"},
		{name: "ES384", opts: fixtureOptions{alg: "ES384"}},
		{name: "PS256", opts: fixtureOptions{alg: "PS256"}},
		{name: "RS256", opts: fixtureOptions{alg: "RS256"}},
		{name: "EdDSA", opts: fixtureOptions{alg: "EdDSA"}},
		{name: "JSON-LD profile", opts: fixtureOptions{profile: webidtest.ProfileOptions{MediaType: "application/ld+json"}}},
		{name: "profile lists the issuer with a trailing slash",
			opts: fixtureOptions{profile: webidtest.ProfileOptions{Issuers: []string{"https://other.example/", "ISSUER/"}}}},
		{name: "scheme in lower case", req: func(f *fixture) (string, string, string, []string) {
			tok := f.token(nil)
			return "GET", target, "dpop " + tok, []string{f.client.Proof("GET", target, tok)}
		}},
		{name: "POST", req: func(f *fixture) (string, string, string, []string) {
			tok := f.token(nil)
			return "POST", target, "DPoP " + tok, []string{f.client.Proof("POST", target, tok)}
		}},
		{name: "htu normalised: case, default port, dot segments, escapes", req: func(f *fixture) (string, string, string, []string) {
			tok := f.token(nil)
			htu := "HTTPS://POD.example:443/alice/./notes/%74oday.ttl"
			return "GET", target, "DPoP " + tok, []string{f.client.Proof("GET", htu, tok)}
		}},
		{name: "request URL with query and fragment", req: func(f *fixture) (string, string, string, []string) {
			tok := f.token(nil)
			return "GET", target + "?x=1#y", "DPoP " + tok, []string{f.client.Proof("GET", target, tok)}
		}},
		{name: "proof without ath", req: func(f *fixture) (string, string, string, []string) {
			tok := f.token(nil)
			return "GET", target, "DPoP " + tok, []string{f.client.Proof("GET", target, "")}
		}},
		{name: "proof issued within the clock skew ahead", req: func(f *fixture) (string, string, string, []string) {
			tok := f.token(nil)
			p := f.client.ProofWith(webidtest.ProofOptions{Method: "GET", URL: target, AccessToken: tok, IssuedAt: f.clk.Now().Add(30 * time.Second)})
			return "GET", target, "DPoP " + tok, []string{p}
		}},
		{name: "webid in sub", req: func(f *fixture) (string, string, string, []string) {
			tok := f.token(func(o *webidtest.TokenOptions) { o.Subject, o.WebID = f.prof.WebID, "" })
			return "GET", target, "DPoP " + tok, []string{f.client.Proof("GET", target, tok)}
		}},
		{name: "client from azp", wantClient: "https://azp.example/id", req: func(f *fixture) (string, string, string, []string) {
			tok := f.token(func(o *webidtest.TokenOptions) {
				o.ClientID = ""
				o.Claims = map[string]any{"azp": "https://azp.example/id"}
			})
			return "GET", target, "DPoP " + tok, []string{f.client.Proof("GET", target, tok)}
		}},
		{name: "token just expired, within skew", req: func(f *fixture) (string, string, string, []string) {
			tok := f.token(func(o *webidtest.TokenOptions) {
				o.IssuedAt, o.Expiry = f.clk.Now().Add(-time.Hour), f.clk.Now().Add(-30*time.Second)
			})
			return "GET", target, "DPoP " + tok, []string{f.client.Proof("GET", target, tok)}
		}},
		{name: "bearer without cnf, allowed", opts: fixtureOptions{config: func(c *webid.Config) { c.InsecureAllowBearer = true }},
			req: func(f *fixture) (string, string, string, []string) {
				return "GET", target, "Bearer " + f.token(func(o *webidtest.TokenOptions) { o.JKT = "" }), nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.profile.Issuers != nil {
				// "ISSUER" stands for the test issuer, not known yet.
				iss := webidtest.NewIssuer(t)
				for i, s := range tt.opts.profile.Issuers {
					tt.opts.profile.Issuers[i] = strings.Replace(s, "ISSUER", iss.URL, 1)
				}
				f := newFixture(t, tt.opts)
				f.iss = iss
				iss.Now = f.clk.Now
				check(t, f, tt.req, tt.wantClient)
				return
			}
			check(t, newFixture(t, tt.opts), tt.req, tt.wantClient)
		})
	}
}

func check(t *testing.T, f *fixture, req func(*fixture) (string, string, string, []string), wantClient string) {
	t.Helper()
	if req == nil {
		req = func(f *fixture) (string, string, string, []string) {
			tok := f.token(nil)
			return "GET", target, "DPoP " + tok, []string{f.client.Proof("GET", target, tok)}
		}
	}
	method, u, authz, dpop := req(f)
	id, err := f.v.Verify(context.Background(), method, u, authz, dpop)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if wantClient == "" {
		wantClient = f.client.ID
	}
	want := webid.Identity{WebID: f.prof.WebID, ClientID: wantClient, Issuer: f.iss.URL}
	if id != want {
		t.Errorf("Verify = %+v, want %+v", id, want)
	}
}

func TestVerifyAnonymous(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	id, err := f.v.Verify(context.Background(), "GET", target, "", nil)
	if err != nil || id != (webid.Identity{}) || !id.Anonymous() {
		t.Errorf("Verify without credentials = %+v, %v; want anonymous, nil", id, err)
	}
}

// TestVerifyLocalProfile: a WebID hosted here is read through
// LocalProfiles, with no HTTP fetch of the profile.
func TestVerifyLocalProfile(t *testing.T) {
	const me = "https://pod.example/alice/profile/card#me" // pod.example does not resolve
	local := &localProfiles{}
	f := newFixture(t, fixtureOptions{config: func(c *webid.Config) { c.Local = local }})
	local.docs = map[string][]byte{me: webidtest.ProfileTurtle(me, f.iss.URL)}
	for i := range 3 {
		tok := f.token(func(o *webidtest.TokenOptions) { o.WebID = me })
		id, err := f.verify("GET", tok, f.client.Proof("GET", target, tok))
		if err != nil {
			t.Fatalf("Verify %d: %v", i, err)
		}
		if id.WebID != me || id.Issuer != f.iss.URL {
			t.Errorf("Verify %d = %+v", i, id)
		}
	}
	if n := local.reads.Load(); n != 3 {
		t.Errorf("LocalProfiles read %d times, want 3", n)
	}
	if n := f.prof.Fetches(); n != 0 {
		t.Errorf("remote profile fetched %d times, want 0", n)
	}

	// A change of the local profile takes effect at once.
	local.docs[me] = webidtest.ProfileTurtle(me, "https://other.example")
	tok := f.token(func(o *webidtest.TokenOptions) { o.WebID = me })
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); !errors.Is(err, webid.ErrUntrustedIssuer) {
		t.Errorf("after the issuer left the local profile: %v, want ErrUntrustedIssuer", err)
	}

	// A failure of storage is not an AuthError: the server answers 500.
	local.err = errors.New("disk on fire")
	tok = f.token(func(o *webidtest.TokenOptions) { o.WebID = me })
	_, err := f.verify("GET", tok, f.client.Proof("GET", target, tok))
	if _, ok := errors.AsType[*webid.AuthError](err); ok || err == nil {
		t.Errorf("storage failure: %v, want a non-AuthError", err)
	}
}

// TestVerifyCaches: discovery, key set and profile are fetched once for
// many requests.
func TestVerifyCaches(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for i := range 5 {
		tok := f.token(nil)
		if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
			t.Fatalf("Verify %d: %v", i, err)
		}
		f.clk.Advance(time.Second)
	}
	if d, j, p := f.iss.DiscoveryFetches(), f.iss.JWKSFetches(), f.prof.Fetches(); d != 1 || j != 1 || p != 1 {
		t.Errorf("fetches: discovery %d, jwks %d, profile %d; want 1 each", d, j, p)
	}
	// Past the fetch cache's floor (30 s), the profile is fetched again.
	f.clk.Advance(time.Minute)
	tok := f.token(nil)
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
		t.Fatal(err)
	}
	if p := f.prof.Fetches(); p != 2 {
		t.Errorf("profile fetched %d times after expiry, want 2", p)
	}
	// After an hour the issuer's metadata is fetched again; its key set,
	// at the same jwks_uri, is kept.
	f.clk.Advance(time.Hour)
	tok = f.token(nil)
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
		t.Fatal(err)
	}
	if d, j := f.iss.DiscoveryFetches(), f.iss.JWKSFetches(); d != 2 || j != 1 {
		t.Errorf("after an hour: discovery %d, jwks %d; want 2, 1", d, j)
	}
	// When rediscovery fails, the known keys still serve.
	f.iss.Server.Close()
	f.clk.Advance(2 * time.Hour)
	tok = f.token(nil)
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
		t.Errorf("with the issuer down and its keys known: %v", err)
	}
}

// request is what a negative case sends.
type request struct {
	method, u, authz string
	dpop             []string
}

func dpopReq(method, tok, proof string) request {
	return request{method, target, "DPoP " + tok, []string{proof}}
}

func TestVerifyRefuses(t *testing.T) {
	// servers for the WebID documents that fail.
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/turtle")
		chunk := []byte(strings.Repeat("# padding padding padding padding padding padding\n", 1024))
		for range 64 { // 3 MiB, more than the 1 MiB cap
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer huge.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the client gives up
	}))
	defer slow.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer broken.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>Alice</body></html>"))
	}))
	defer html.Close()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/turtle")
		w.Write([]byte("<#me> this is not turtle"))
	}))
	defer garbage.Close()

	valid := func(f *fixture, mod func(*webidtest.TokenOptions)) request {
		tok := f.token(mod)
		return dpopReq("GET", tok, f.client.Proof("GET", target, tok))
	}
	proofWith := func(f *fixture, o webidtest.ProofOptions) request {
		tok := f.token(nil)
		if o.Method == "" {
			o.Method = "GET"
		}
		if o.URL == "" {
			o.URL = target
		}
		o.AccessToken = tok
		return dpopReq("GET", tok, f.client.ProofWith(o))
	}

	tests := []struct {
		name    string
		opts    fixtureOptions
		req     func(t *testing.T, f *fixture) request
		wantErr error
	}{
		// The headers.
		{"no DPoP header", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			r := valid(f, nil)
			r.dpop = nil
			return r
		}, webid.ErrMalformed},
		{"two DPoP headers", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			r := valid(f, nil)
			r.dpop = append(r.dpop, r.dpop[0])
			return r
		}, webid.ErrMalformed},
		{"DPoP header without Authorization", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			r := valid(f, nil)
			r.authz = ""
			return r
		}, webid.ErrMalformed},
		{"scheme only", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return request{"GET", target, "DPoP", nil}
		}, webid.ErrMalformed},
		{"Basic scheme", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return request{"GET", target, "Basic YWxpY2U6c2VjcmV0", nil}
		}, webid.ErrMalformed},
		{"token not token68", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			r := valid(f, nil)
			r.authz = "DPoP a b"
			return r
		}, webid.ErrMalformed},
		{"bearer refused by default", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return request{"GET", target, "Bearer " + f.token(func(o *webidtest.TokenOptions) { o.JKT = "" }), nil}
		}, webid.ErrBearer},
		{"bearer allowed, but the token is DPoP-bound",
			fixtureOptions{config: func(c *webid.Config) { c.InsecureAllowBearer = true }},
			func(t *testing.T, f *fixture) request {
				return request{"GET", target, "Bearer " + f.token(nil), nil}
			}, webid.ErrBinding},

		// The proof against the request.
		{"wrong htm", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{Method: "POST"})
		}, webid.ErrProof},
		{"htm in lower case", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{Method: "get"})
		}, webid.ErrProof},
		{"wrong htu: other host", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{URL: "https://evil.example/alice/notes/today.ttl"})
		}, webid.ErrProof},
		{"wrong htu: other path", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{URL: "https://pod.example/alice/notes/other.ttl"})
		}, webid.ErrProof},
		{"wrong htu: other scheme", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{URL: "http://pod.example/alice/notes/today.ttl"})
		}, webid.ErrProof},
		{"wrong htu: with query", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{URL: target + "?q=1"})
		}, webid.ErrProof},
		{"wrong htu: with fragment", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{URL: target + "#frag"})
		}, webid.ErrProof},
		{"wrong htu: not a URL", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{URL: "/alice/notes/today.ttl"})
		}, webid.ErrProof},
		{"ath of another token", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{ATH: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"})
		}, webid.ErrProof},
		{"replayed jti", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			r := valid(f, nil)
			if _, err := f.v.Verify(context.Background(), r.method, r.u, r.authz, r.dpop); err != nil {
				t.Fatalf("first use: %v", err)
			}
			f.clk.Advance(10 * time.Second)
			return r
		}, webid.ErrReplay},
		{"replayed jti with a new token", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			jti := "fixed-jti"
			tok := f.token(nil)
			p := f.client.ProofWith(webidtest.ProofOptions{Method: "GET", URL: target, AccessToken: tok, JTI: jti})
			if _, err := f.verify("GET", tok, p); err != nil {
				t.Fatalf("first use: %v", err)
			}
			f.clk.Advance(time.Second)
			tok = f.token(nil)
			return dpopReq("GET", tok, f.client.ProofWith(webidtest.ProofOptions{Method: "GET", URL: target, AccessToken: tok, JTI: jti}))
		}, webid.ErrReplay},
		{"proof too old", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{IssuedAt: f.clk.Now().Add(-10 * time.Minute)})
		}, webid.ErrProofTime},
		{"proof just past max age", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{IssuedAt: f.clk.Now().Add(-61 * time.Second)})
		}, webid.ErrProofTime},
		{"proof from the future", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{IssuedAt: f.clk.Now().Add(10 * time.Minute)})
		}, webid.ErrProofTime},
		{"proof without jti", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{Claims: map[string]any{"jti": ""}})
		}, webid.ErrProof},
		{"proof without iat", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{Claims: map[string]any{"iat": nil}})
		}, webid.ErrProof},

		// The proof itself.
		{"proof alg none", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{Alg: "none"})
		}, webid.ErrProof},
		{"proof HS256 keyed with the public key", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{Alg: "HS256"})
		}, webid.ErrProof},
		{"proof alg not the key's", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{Alg: "ES384"})
		}, webid.ErrProof},
		{"proof alg outside AllowedAlgs", fixtureOptions{alg: "EdDSA", config: func(c *webid.Config) { c.AllowedAlgs = []string{"ES256"} }},
			func(t *testing.T, f *fixture) request { return valid(f, nil) }, webid.ErrProof},
		{"private key in the proof jwk", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{EmbedPrivateKey: true})
		}, webid.ErrProof},
		{"proof without jwk", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{OmitJWK: true})
		}, webid.ErrProof},
		{"proof jwk of another key", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			other := webidtest.NewClient(t, "")
			return proofWith(f, webidtest.ProofOptions{JWK: other})
		}, webid.ErrProof},
		{"proof signed by another key under this key's jwk", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			// Warm, the header is byte for byte the one cached.
			tok := f.token(nil)
			other := webidtest.NewClient(t, "")
			other.Now = f.clk.Now
			return dpopReq("GET", tok, other.ProofWith(webidtest.ProofOptions{Method: "GET", URL: target, AccessToken: tok, JWK: f.client}))
		}, webid.ErrProof},
		{"proof payload swapped under a valid signature", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			tok := f.token(nil)
			a := strings.Split(f.client.Proof("GET", target, tok), ".")
			b := strings.Split(f.client.Proof("GET", target+"x", tok), ".")
			return dpopReq("GET", tok, a[0]+"."+a[1]+"."+b[2])
		}, webid.ErrProof},
		{"proof signature cut short", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			tok := f.token(nil)
			p := f.client.Proof("GET", target, tok)
			return dpopReq("GET", tok, p[:len(p)-4])
		}, webid.ErrProof},
		{"proof with padded payload", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			tok := f.token(nil)
			a := strings.Split(f.client.Proof("GET", target, tok), ".")
			return dpopReq("GET", tok, a[0]+"."+a[1]+"=."+a[2])
		}, webid.ErrProof},
		{"proof without typ", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{Typ: "-"})
		}, webid.ErrProof},
		{"proof typ JWT", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return proofWith(f, webidtest.ProofOptions{Typ: "JWT"})
		}, webid.ErrProof},
		{"proof is not a JWS", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return dpopReq("GET", f.token(nil), "not.a.jws")
		}, webid.ErrProof},
		{"proof is the access token", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			tok := f.token(nil)
			return dpopReq("GET", tok, tok)
		}, webid.ErrProof},

		// The token and its binding.
		{"cnf.jkt of another key", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			other := webidtest.NewClient(t, "")
			return valid(f, func(o *webidtest.TokenOptions) { o.JKT = other.Thumbprint() })
		}, webid.ErrBinding},
		{"token without cnf", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.JKT = "" })
		}, webid.ErrBinding},
		{"token without the solid audience", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.Audience = []string{f.client.ID} })
		}, webid.ErrAudience},
		{"token expired", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) {
				o.IssuedAt, o.Expiry = f.clk.Now().Add(-time.Hour), f.clk.Now().Add(-2*time.Minute)
			})
		}, webid.ErrExpired},
		{"token issued in the future", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.IssuedAt = f.clk.Now().Add(10 * time.Minute) })
		}, webid.ErrExpired},
		{"token not valid yet", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.NotBefore = f.clk.Now().Add(10 * time.Minute) })
		}, webid.ErrExpired},
		{"token without exp", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.Claims = map[string]any{"exp": nil} })
		}, webid.ErrToken},
		{"token without webid, sub not a URL", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.WebID = "" })
		}, webid.ErrToken},
		{"token webid not http(s)", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.WebID = "urn:uuid:1234" })
		}, webid.ErrToken},
		{"token alg none", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.Alg = "none" })
		}, webid.ErrToken},
		{"token HS256 keyed with the issuer's public key", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.Alg = "HS256" })
		}, webid.ErrToken},
		{"token signed by another issuer's key", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			forger := webidtest.NewIssuer(t)
			forger.Now = f.clk.Now
			tok := forger.Token(webidtest.TokenOptions{WebID: f.prof.WebID, ClientID: f.client.ID,
				JKT: f.client.Thumbprint(), Issuer: f.iss.URL, KeyID: f.iss.KeyID()})
			return dpopReq("GET", tok, f.client.Proof("GET", target, tok))
		}, webid.ErrToken},
		{"token with an unknown kid", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.KeyID = "no-such-key" })
		}, webid.ErrToken},

		// Issuer trust.
		{"issuer not in the WebID profile", fixtureOptions{profile: webidtest.ProfileOptions{Issuers: []string{"https://idp.example"}}},
			func(t *testing.T, f *fixture) request { return valid(f, nil) }, webid.ErrUntrustedIssuer},
		{"token from another issuer than the profile's", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			other := webidtest.NewIssuer(t)
			other.Now = f.clk.Now
			tok := other.Token(webidtest.TokenOptions{WebID: f.prof.WebID, ClientID: f.client.ID, JKT: f.client.Thumbprint()})
			return dpopReq("GET", tok, f.client.Proof("GET", target, tok))
		}, webid.ErrUntrustedIssuer},
		{"profile lists no issuer", fixtureOptions{profile: webidtest.ProfileOptions{Issuers: []string{}}},
			func(t *testing.T, f *fixture) request { return valid(f, nil) }, webid.ErrUntrustedIssuer},
		{"issuer unreachable", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			r := valid(f, nil)
			f.iss.Server.Close()
			return r
		}, webid.ErrUnavailable},

		// The WebID document.
		{"WebID document huge", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.WebID = huge.URL + "/card#me" })
		}, webid.ErrUnavailable},
		{"WebID document slow", fixtureOptions{fetch: func(c *fetch.Config) { c.Timeout = 200 * time.Millisecond }},
			func(t *testing.T, f *fixture) request {
				return valid(f, func(o *webidtest.TokenOptions) { o.WebID = slow.URL + "/card#me" })
			}, webid.ErrUnavailable},
		{"WebID document 500", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.WebID = broken.URL + "/card#me" })
		}, webid.ErrUnavailable},
		{"WebID document not RDF", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.WebID = html.URL + "/card#me" })
		}, webid.ErrUnavailable},
		{"WebID document bad Turtle", fixtureOptions{}, func(t *testing.T, f *fixture) request {
			return valid(f, func(o *webidtest.TokenOptions) { o.WebID = garbage.URL + "/card#me" })
		}, webid.ErrUnavailable},
		{"WebID document on a loopback address, not allowed",
			fixtureOptions{fetch: func(c *fetch.Config) { c.Allow = nil }},
			func(t *testing.T, f *fixture) request { return valid(f, nil) }, webid.ErrUnavailable},
		{"WebID on a metadata address", fixtureOptions{fetch: func(c *fetch.Config) { c.Allow = nil }},
			func(t *testing.T, f *fixture) request {
				return valid(f, func(o *webidtest.TokenOptions) { o.WebID = "http://169.254.169.254/latest/meta-data#me" })
			}, webid.ErrUnavailable},
	}
	// causes check the underlying errors of some cases.
	is := func(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }
	causes := map[string]func(error) bool{
		"WebID document huge": is(fetch.ErrTooLarge),
		"WebID document slow": func(err error) bool {
			ne, ok := errors.AsType[net.Error](err)
			return ok && ne.Timeout()
		},
		"WebID document 500": func(err error) bool {
			se, ok := errors.AsType[*fetch.StatusError](err)
			return ok && se.StatusCode == 500
		},
		"WebID document on a loopback address, not allowed": is(fetch.ErrAddressNotAllowed),
		"WebID on a metadata address":                       is(fetch.ErrAddressNotAllowed),
	}
	// Each case runs cold, on a new verifier, and warm, after the same
	// client has made an accepted request with a token that is reused
	// wherever a case sends a valid one: its proof header and token are
	// then cached, and the refusal must not depend on that.
	// A case about reaching the issuer is cold only: once its keys are
	// known they serve while it is down (TestVerifyCaches).
	coldOnly := map[string]bool{"issuer unreachable": true}
	for _, tt := range tests {
		for _, warm := range []bool{false, true} {
			name := tt.name
			if warm {
				if coldOnly[name] {
					continue
				}
				name += "/warm"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, tt.opts)
				if warm {
					f.warmUp()
				}
				refuses(t, f, tt.req(t, f), tt.wantErr, causes[tt.name])
			})
		}
	}
}

// refuses checks that Verify refuses r with wantErr (and cause, when not
// nil), as a 401 challenge that holds no credential.
func refuses(t *testing.T, f *fixture, r request, wantErr error, cause func(error) bool) {
	t.Helper()
	{
		{
			id, err := f.v.Verify(context.Background(), r.method, r.u, r.authz, r.dpop)
			if err == nil {
				t.Fatalf("Verify = %+v, nil; want %v", id, wantErr)
			}
			t.Logf("refused: %v", err)
			if !errors.Is(err, wantErr) {
				t.Errorf("Verify error = %v; want %v", err, wantErr)
			}
			ae, ok := errors.AsType[*webid.AuthError](err)
			if !ok || ae.Description == "" {
				t.Fatalf("Verify error %T %v is not an *AuthError with a description", err, err)
			}
			if id != (webid.Identity{}) {
				t.Errorf("Verify returned identity %+v with an error", id)
			}
			ch := webid.Challenge("kluis", err)
			if !strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(ch, `error_description="`) {
				t.Errorf("Challenge = %s", ch)
			}
			// No credential leaks into what is sent or logged.
			for _, secret := range credentials(r) {
				for _, s := range []string{err.Error(), ch} {
					if strings.Contains(s, secret) {
						t.Errorf("credential part %.12q... appears in %q", secret, s)
					}
				}
			}
			if cause != nil && !cause(err) {
				t.Errorf("Verify error = %v: not the expected cause", err)
			}
			if errors.Is(err, fetch.ErrAddressNotAllowed) && f.prof.Fetches() > 0 {
				t.Errorf("the profile on a refused address was fetched")
			}
		}
	}
}

// credentials are the parts of a request's token and proof that must not
// appear in errors: each signature and payload segment.
func credentials(r request) []string {
	var out []string
	add := func(jwt string) {
		for i, part := range strings.Split(jwt, ".") {
			if i > 0 && len(part) >= 16 {
				out = append(out, part)
			}
		}
	}
	if _, tok, ok := strings.Cut(r.authz, " "); ok {
		add(tok)
	}
	for _, p := range r.dpop {
		add(p)
	}
	return out
}

// TestKeyRotation: a token signed with a new key is accepted after
// exactly one refresh of the key set.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ok := func(step string) {
		t.Helper()
		tok := f.token(nil)
		if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	ok("before rotation")
	if n := f.iss.JWKSFetches(); n != 1 {
		t.Fatalf("key set fetched %d times, want 1", n)
	}
	f.iss.Rotate()
	f.clk.Advance(11 * time.Second) // past JWKSRefreshInterval (10 s)
	ok("after rotation")
	ok("again")
	if n := f.iss.JWKSFetches(); n != 2 {
		t.Errorf("key set fetched %d times, want 2 (one refresh)", n)
	}
}

// TestKeyRotationTooSoon: within the refresh interval a new kid is not
// fetched; once it has passed, it is.
func TestKeyRotationTooSoon(t *testing.T) {
	f := newFixture(t, fixtureOptions{config: func(c *webid.Config) { c.JWKSRefreshInterval = time.Minute }})
	tok := f.token(nil)
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
		t.Fatal(err)
	}
	f.iss.Rotate()
	f.clk.Advance(30 * time.Second)
	tok = f.token(nil)
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); !errors.Is(err, webid.ErrToken) {
		t.Fatalf("new kid within the interval: %v, want ErrToken", err)
	}
	f.clk.Advance(31 * time.Second)
	tok = f.token(nil)
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
		t.Fatalf("new kid after the interval: %v", err)
	}
	if n := f.iss.JWKSFetches(); n != 2 {
		t.Errorf("key set fetched %d times, want 2", n)
	}
}

// TestUnknownKidFlood: 100 tokens with made-up kids, at once, cost the
// issuer at most one refresh.
func TestUnknownKidFlood(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tok := f.token(nil)
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	type req struct{ tok, proof string }
	reqs := make([]req, 100)
	for i := range reqs {
		tok := f.token(func(o *webidtest.TokenOptions) { o.KeyID = strings.Repeat("k", i%7+1) + time.Duration(i).String() })
		reqs[i] = req{tok, f.client.Proof("GET", target, tok)}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(reqs))
	for i, r := range reqs {
		wg.Go(func() { _, errs[i] = f.verify("GET", r.tok, r.proof) })
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, webid.ErrToken) {
			t.Errorf("token %d: %v, want ErrToken", i, err)
		}
	}
	if n := f.iss.JWKSFetches(); n > 2 {
		t.Errorf("key set fetched %d times, want at most 2", n)
	}
}

func TestChallenge(t *testing.T) {
	tests := []struct {
		realm string
		err   error
		want  string
	}{
		{"kluis", nil, `DPoP realm="kluis", algs="ES256 ES384 PS256 RS256 EdDSA"`},
		{"kluis", &webid.AuthError{Description: "DPoP proof is too old", Err: webid.ErrProofTime},
			`DPoP realm="kluis", error="invalid_token", error_description="DPoP proof is too old", algs="ES256 ES384 PS256 RS256 EdDSA"`},
		{`a"b\c` + "\n", &webid.AuthError{Description: `say "hi"` + "\r\n"},
			`DPoP realm="abc", error="invalid_token", error_description="say hi", algs="ES256 ES384 PS256 RS256 EdDSA"`},
		{"kluis", errors.New("something else"),
			`DPoP realm="kluis", error="invalid_token", error_description="invalid access token or DPoP proof", algs="ES256 ES384 PS256 RS256 EdDSA"`},
	}
	for _, tt := range tests {
		if got := webid.Challenge(tt.realm, tt.err); got != tt.want {
			t.Errorf("Challenge(%q, %v) =\n %s\nwant\n %s", tt.realm, tt.err, got, tt.want)
		}
	}
	v, err := webid.NewVerifier(webid.Config{AllowedAlgs: []string{"ES256", "EdDSA"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.Challenge("r", nil), `DPoP realm="r", algs="ES256 EdDSA"`; got != want {
		t.Errorf("Verifier.Challenge = %s, want %s", got, want)
	}
}

func TestNewVerifierValidates(t *testing.T) {
	_, err := webid.NewVerifier(webid.Config{
		ClockSkew: -1, ProofMaxAge: -1, JWKSRefreshInterval: -1, ReplayCacheSize: -1,
		AllowedAlgs: []string{"HS256", "none", "ES256"},
	})
	if err == nil {
		t.Fatal("NewVerifier accepted a bad Config")
	}
	for _, want := range []string{"ClockSkew", "ProofMaxAge", "JWKSRefreshInterval", "ReplayCacheSize", `"HS256"`, `"none"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
}

// shareTo is a ReplayShare that hands proofs to another verifier, as a
// bus between two processes would.
type shareTo struct{ v **webid.Verifier }

func (s shareTo) Share(key [32]byte, iat, until time.Time) { (*s.v).Seen(key, iat, until) }

// TestReplayShared: with a ReplayShare, a proof accepted by one verifier
// is refused as a replay by another, which still accepts fresh proofs.
func TestReplayShared(t *testing.T) {
	var other *webid.Verifier
	f := newFixture(t, fixtureOptions{config: func(c *webid.Config) { c.Replay = shareTo{&other} }})
	var err error
	if other, err = webid.NewVerifier(webid.Config{Fetch: f.fetch, Now: f.clk.Now}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := f.token(nil)
	if _, err := other.Verify(ctx, "GET", target, "DPoP "+tok, []string{f.client.Proof("GET", target, tok)}); err != nil {
		t.Fatalf("a fresh proof on the other verifier: %v", err)
	}
	proof := f.client.Proof("GET", target, tok)
	if _, err := f.verify("GET", tok, proof); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(ctx, "GET", target, "DPoP "+tok, []string{proof}); !errors.Is(err, webid.ErrReplay) {
		t.Fatalf("the proof used on the first verifier, on the other: %v, want ErrReplay", err)
	}
	// Out of the window, a shared proof is refused for its age anyway.
	f.clk.Advance(2 * time.Minute)
	if _, err := other.Verify(ctx, "GET", target, "DPoP "+tok, []string{proof}); !errors.Is(err, webid.ErrProofTime) {
		t.Fatalf("after the window: %v", err)
	}
}
