package webid

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/webid/webidtest"
)

func TestNormalizeHTU(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"https://pod.example/a/b", "https://pod.example/a/b", false},
		{"HTTPS://POD.EXAMPLE/a/b", "https://pod.example/a/b", false},
		{"https://pod.example:443/a", "https://pod.example/a", false},
		{"http://pod.example:80/a", "http://pod.example/a", false},
		{"https://pod.example:8443/a", "https://pod.example:8443/a", false},
		{"http://pod.example:443/a", "http://pod.example:443/a", false},
		{"https://pod.example", "https://pod.example/", false},
		{"https://pod.example/a/./b/../c", "https://pod.example/a/c", false},
		{"https://pod.example/%7Ealice/%2f", "https://pod.example/~alice/%2F", false},
		{"https://pod.example/a?x=1#f", "https://pod.example/a", false},
		{"https://[::1]:443/a", "https://[::1]/a", false},
		{"https://pod.example/A", "https://pod.example/A", false},
		{"/a/b", "", true},
		{"ftp://pod.example/a", "", true},
		{"mailto:a@b", "", true},
		{"https://%zz/", "", true},
	}
	for _, tt := range tests {
		got, err := normalizeHTU(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("normalizeHTU(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNormalizeIssuer(t *testing.T) {
	for _, pair := range [][2]string{
		{"https://idp.example", "https://idp.example/"},
		{"https://IDP.example:443", "https://idp.example"},
		{"https://idp.example/tenant/", "https://idp.example/tenant"},
	} {
		if a, b := normalizeIssuer(pair[0]), normalizeIssuer(pair[1]); a != b {
			t.Errorf("normalizeIssuer(%q) = %q, normalizeIssuer(%q) = %q; want equal", pair[0], a, pair[1], b)
		}
	}
	if normalizeIssuer("https://idp.example/a") == normalizeIssuer("https://idp.example/b") {
		t.Error("different paths normalised alike")
	}
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in, scheme, token string
		ok                bool
	}{
		{"DPoP abc.def.ghi", "DPoP", "abc.def.ghi", true},
		{"dpop abc", "DPoP", "abc", true},
		{"DPOP   abc==", "DPoP", "abc==", true},
		{"Bearer a-b_c~d+e/f", "Bearer", "a-b_c~d+e/f", true},
		{"DPoP", "", "", false},
		{"DPoP ", "", "", false},
		{"DPoP a b", "", "", false},
		{"DPoP =abc", "", "", false},
		{"DPoP ab=c", "", "", false},
		{"DPoP a,b", "", "", false},
		{"Basic YWxhZGRpbjpvcGVuc2VzYW1l", "", "", false},
		{"DPoPabc", "", "", false},
		{"DPoP " + strings.Repeat("a", maxCredential+1), "", "", false},
	}
	for _, tt := range tests {
		s, tok, err := parseAuthorization(tt.in)
		if (err == nil) != tt.ok || s != tt.scheme || tok != tt.token {
			t.Errorf("parseAuthorization(%.30q) = %q, %q, %v", tt.in, s, tok, err)
		}
	}
}

// TestReplayCacheFull: when the cache is full of live entries the oldest
// go, and no proof up to their iat is accepted any more, so none of them
// can be replayed.
func TestReplayCacheFull(t *testing.T) {
	r := newReplayCache(3)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := func(s string) [32]byte { return sha256.Sum256([]byte(s)) }
	add := func(k string, iat time.Time) error { return r.check(key(k), iat, iat.Add(time.Minute), now) }
	for i, k := range []string{"a", "b", "c"} {
		if err := add(k, now.Add(time.Duration(i-10)*time.Second)); err != nil {
			t.Fatalf("add %s: %v", k, err)
		}
	}
	if err := add("b", now); !errors.Is(err, ErrReplay) {
		t.Errorf("replay of b = %v, want ErrReplay", err)
	}
	if err := add("d", now); err != nil { // evicts a (iat now-10s)
		t.Fatalf("add d: %v", err)
	}
	if err := add("a", now.Add(-10*time.Second)); !errors.Is(err, ErrProofTime) {
		t.Errorf("replay of evicted a = %v, want ErrProofTime", err)
	}
	if err := add("e", now.Add(-10*time.Second)); !errors.Is(err, ErrProofTime) {
		t.Errorf("proof as old as an evicted one = %v, want ErrProofTime", err)
	}
	if err := add("f", now.Add(time.Second)); err != nil {
		t.Errorf("fresh proof: %v", err)
	}
	if len(r.seen) > 3 {
		t.Errorf("cache holds %d entries, max 3", len(r.seen))
	}
	// Entries expire with their window.
	now = now.Add(2 * time.Minute)
	if err := add("g", now); err != nil || len(r.seen) != 1 {
		t.Errorf("after expiry: %v, %d entries", err, len(r.seen))
	}
}

// anyProfile is a LocalProfiles that hosts every WebID, trusting issuer.
type anyProfile struct{ issuer string }

func (a anyProfile) Profile(_ context.Context, webid string) ([]byte, bool, error) {
	return webidtest.ProfileTurtle(webid, a.issuer), true, nil
}

// fuzzVerifier is a verifier that does not reach the network: every WebID
// is local and trusts only issuer, which is on a loopback address the
// fetch client refuses (no allow-list), so no name is ever resolved.
func fuzzVerifier(f *testing.F, issuer string) *Verifier {
	v, err := NewVerifier(Config{
		Now:   func() time.Time { return time.Unix(1_772_000_000, 0) },
		Local: anyProfile{issuer},
	})
	if err != nil {
		f.Fatal(err)
	}
	return v
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"DPoP abc.def.ghi", "Bearer x", "dpop  a==", "DPoP", "Basic a b", "DPoP \x00", "DPoP a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		scheme, tok, err := parseAuthorization(h)
		if err != nil {
			if _, ok := errors.AsType[*AuthError](err); !ok {
				t.Fatalf("error %v is not an *AuthError", err)
			}
			return
		}
		if scheme != schemeDPoP && scheme != schemeBearer || !isToken68(tok) || len(tok) > maxCredential {
			t.Fatalf("parseAuthorization(%q) = %q, %q", h, scheme, tok)
		}
	})
}

func FuzzProof(f *testing.F) {
	v := fuzzVerifier(f, "http://127.0.0.1:9")
	now := v.cfg.Now()
	for _, alg := range []string{"ES256", "EdDSA"} {
		c := webidtest.NewClient(f, alg)
		c.Now = v.cfg.Now
		f.Add(c.Proof("GET", "https://pod.example/a", "tok"))
		f.Add(c.ProofWith(webidtest.ProofOptions{Method: "GET", URL: "https://pod.example/a", Alg: "none"}))
		f.Add(c.ProofWith(webidtest.ProofOptions{Method: "GET", URL: "https://pod.example/a", EmbedPrivateKey: true}))
	}
	f.Add("e30.e30.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.checkProof(raw, "GET", "https://pod.example/a", "tok", now)
		if err != nil {
			ae, ok := errors.AsType[*AuthError](err)
			if !ok {
				t.Fatalf("error %v is not an *AuthError", err)
			}
			if len(raw) > 20 && strings.Contains(ae.Error(), raw) {
				t.Fatalf("error holds the proof")
			}
			return
		}
		if p.pk.jkt == "" {
			t.Fatalf("accepted proof without a thumbprint")
		}
	})
}

func FuzzVerify(f *testing.F) {
	iss := webidtest.NewIssuer(f)
	v := fuzzVerifier(f, iss.URL)
	iss.Now = v.cfg.Now
	c := webidtest.NewClient(f, "")
	c.Now = v.cfg.Now
	tok := iss.Token(webidtest.TokenOptions{WebID: "https://alice.example/#me", JKT: c.Thumbprint()})
	f.Add("DPoP "+tok, c.Proof("GET", "https://pod.example/a", tok))
	f.Add("Bearer "+tok, "")
	f.Add("DPoP x.y.z", "a.b.c")
	f.Fuzz(func(t *testing.T, authz, proof string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var dpop []string
		if proof != "" {
			dpop = []string{proof}
		}
		id, err := v.Verify(ctx, "GET", "https://pod.example/a", authz, dpop)
		if err == nil && authz != "" {
			t.Fatalf("Verify accepted %+v", id)
		}
	})
}

// TestReplayCacheRecord: a proof recorded from another process is then a
// replay here; one already out of its window, or known, is not stored
// again.
func TestReplayCacheRecord(t *testing.T) {
	r := newReplayCache(10)
	now := time.Unix(1_772_000_000, 0)
	k := sha256.Sum256([]byte("a"))
	r.record(k, now, now.Add(time.Minute), now)
	r.record(k, now, now.Add(time.Minute), now)
	if len(r.seen) != 1 || len(r.queue) != 1 {
		t.Fatalf("%d seen, %d queued after recording one key twice", len(r.seen), len(r.queue))
	}
	if err := r.check(k, now, now.Add(time.Minute), now); !errors.Is(err, ErrReplay) {
		t.Fatalf("a recorded key: %v", err)
	}
	old := sha256.Sum256([]byte("old"))
	r.record(old, now.Add(-2*time.Minute), now.Add(-time.Minute), now)
	if _, ok := r.seen[old]; ok {
		t.Fatal("a key out of its window was stored")
	}
}
