package idp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/storage/memory"
)

type noAccounts struct{}

func (noAccounts) SessionAccount(context.Context, string) (Account, error) {
	return Account{}, ErrNotLoggedIn
}
func (noAccounts) Get(context.Context, string) (Account, error) { return Account{}, errors.New("none") }
func (noAccounts) ClientCredential(context.Context, string) (Credential, error) {
	return Credential{}, errors.New("none")
}

// TestKeyRotation follows the key schedule on one clock, with two
// providers (two processes) over one store: for each algorithm, the next
// key is published before it signs, the previous one stays published
// until the tokens it signed have expired, and both processes always
// agree.
func TestKeyRotation(t *testing.T) {
	store := memory.New()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	const every = 24 * time.Hour
	newP := func() *Provider {
		p, err := New(Config{Issuer: "https://idp.example/", Store: store, Accounts: noAccounts{}, Now: clock,
			KeyRotation: every, AccessTokenLifetime: time.Hour, IDTokenLifetime: 30 * time.Minute, ClockSkew: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := newP(), newP()
	ctx := context.Background()
	wantKty := map[jose.SignatureAlgorithm]string{jose.ES256: "*ecdsa.PublicKey", jose.RS256: "*rsa.PublicKey"}
	// state is, per algorithm, the kid that signs now and the published
	// kids.
	state := func(p *Provider) (signer map[jose.SignatureAlgorithm]string, published map[jose.SignatureAlgorithm][]string) {
		t.Helper()
		set, err := p.Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		signer, published = map[jose.SignatureAlgorithm]string{}, map[jose.SignatureAlgorithm][]string{}
		for _, k := range set.Keys {
			alg := jose.SignatureAlgorithm(k.Algorithm)
			if !k.IsPublic() || k.Use != "sig" || fmt.Sprintf("%T", k.Key) != wantKty[alg] {
				t.Fatalf("published key %+v", k)
			}
			published[alg] = append(published[alg], k.KeyID)
		}
		for _, alg := range signingAlgs {
			ks, err := p.keys[alg].current(ctx)
			if err != nil {
				t.Fatal(err)
			}
			signer[alg] = ks.signer(clock()).key.KeyID
			slices.Sort(published[alg])
		}
		return signer, published
	}
	check := func(step string, wantKeys int) (map[jose.SignatureAlgorithm]string, map[jose.SignatureAlgorithm][]string) {
		t.Helper()
		sa, pa := state(a)
		sb, pb := state(b)
		for _, alg := range signingAlgs {
			if sa[alg] != sb[alg] || !slices.Equal(pa[alg], pb[alg]) {
				t.Fatalf("%s, %s: processes disagree: %s %v / %s %v", step, alg, sa[alg], pa[alg], sb[alg], pb[alg])
			}
			if len(pa[alg]) != wantKeys || !slices.Contains(pa[alg], sa[alg]) {
				t.Fatalf("%s, %s: signer %s, published %v, want %d keys", step, alg, sa[alg], pa[alg], wantKeys)
			}
		}
		return sa, pa
	}

	k1, _ := check("start", 1)
	advance(every - 2*time.Hour) // the next key is due an hour ahead (every/4 > 1h)
	if s, _ := check("before the lead", 1); !maps.Equal(s, k1) {
		t.Fatal("signer changed early")
	}
	advance(time.Hour + time.Minute)
	s, pub := check("next key published", 2)
	if !maps.Equal(s, k1) {
		t.Fatal("the next key signs before its time")
	}
	k2 := map[jose.SignatureAlgorithm]string{}
	for _, alg := range signingAlgs {
		k2[alg] = pub[alg][0]
		if k2[alg] == k1[alg] {
			k2[alg] = pub[alg][1]
		}
	}
	advance(time.Hour)
	if s, _ := check("rotated", 2); !maps.Equal(s, k2) {
		t.Fatalf("signer %v after rotation, want %v", s, k2)
	}
	advance(time.Hour) // past k1's last token (1 h) and the skew
	s, pub = check("retired", 1)
	for _, alg := range signingAlgs {
		if s[alg] != k2[alg] || pub[alg][0] != k2[alg] {
			t.Fatalf("after retirement, %s: %s %v", alg, s[alg], pub[alg])
		}
	}

	// A process that was down for longer than a rotation makes a key
	// that signs at once.
	advance(10 * every)
	s, _ = check("after downtime", 1)
	for _, alg := range signingAlgs {
		if s[alg] == k2[alg] {
			t.Fatalf("%s: an expired key still signs", alg)
		}
	}
}

func TestCheckRedirectURI(t *testing.T) {
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://app.example/cb", true},
		{"https://app.example/cb?x=1", true},
		{"http://localhost:3000/cb", true},
		{"http://LOCALHOST/cb", true},
		{"http://127.0.0.1/cb", true},
		{"http://127.8.9.1/cb", true},
		{"http://[::1]:8080/cb", true},
		{"http://app.example/cb", false},
		{"http://localhost.evil.example/cb", false},
		{"http://10.0.0.1/cb", false},
		{"https://app.example/cb#frag", false},
		{"https://user:pw@app.example/cb", false},
		{"ftp://app.example/cb", false},
		{"/cb", false},
		{"", false},
		{"urn:ietf:wg:oauth:2.0:oob", false},
	}
	for _, tc := range tests {
		if err := checkRedirectURI(tc.uri); (err == nil) != tc.ok {
			t.Errorf("checkRedirectURI(%q) = %v, want ok %v", tc.uri, err, tc.ok)
		}
	}
}

func TestPKCE(t *testing.T) {
	// RFC 7636 Appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	tests := []struct {
		verifier string
		ok       bool
	}{
		{verifier, true},
		{verifier + "x", false},
		{"short", false},
		{verifier[:42] + "!", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := pkceHolds(tc.verifier, challenge); got != tc.ok {
			t.Errorf("pkceHolds(%q) = %v, want %v", tc.verifier, got, tc.ok)
		}
	}
}

func TestSameHTU(t *testing.T) {
	const want = "https://idp.example/.oidc/token"
	tests := []struct {
		htu string
		ok  bool
	}{
		{want, true},
		{"HTTPS://IDP.example:443/.oidc/token", true},
		{want + "?x=1", true},
		{"https://idp.example/.oidc/token/", false},
		{"http://idp.example/.oidc/token", false},
		{"https://idp.example:8443/.oidc/token", false},
		{"https://user@idp.example/.oidc/token", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := sameHTU(tc.htu, want); got != tc.ok {
			t.Errorf("sameHTU(%q) = %v, want %v", tc.htu, got, tc.ok)
		}
	}
}

func TestReplayCache(t *testing.T) {
	r := newReplayCache(2)
	now := time.Unix(1000, 0)
	k := func(b byte) [32]byte { return [32]byte{b} }
	if !r.add(k(1), now.Add(time.Minute), now) || r.add(k(1), now.Add(time.Minute), now) {
		t.Fatal("replay not caught")
	}
	if !r.add(k(2), now.Add(time.Minute), now) {
		t.Fatal("second key refused")
	}
	if r.add(k(3), now.Add(time.Minute), now) {
		t.Fatal("a full cache forgot an unexpired key")
	}
	later := now.Add(2 * time.Minute)
	if !r.add(k(3), later.Add(time.Minute), later) || !r.add(k(1), later.Add(time.Minute), later) {
		t.Fatal("expired keys not dropped")
	}
}
