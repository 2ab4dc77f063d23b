package idp

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// TestSealedSecrets: with a secret key, no private key material and no
// CSRF key reach storage in the clear; secrets stored in the clear before
// are sealed at the next start without changing the keys; a provider
// with another key, or none, refuses to start on sealed secrets; a change
// of key through PreviousSecretKey seals everything again with the new
// one.
func TestSealedSecrets(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	newKey := func() []byte {
		k := make([]byte, SecretKeySize)
		rand.Read(k)
		return k
	}
	provider := func(key, previous []byte) *Provider {
		t.Helper()
		p, err := New(Config{Issuer: "https://idp.example/", Store: store, Accounts: noAccounts{}, SecretKey: key, PreviousSecretKey: previous})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	stored := func(key string) string {
		t.Helper()
		body, _, err := store.Get(ctx, key, storage.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		b, _ := io.ReadAll(body)
		return string(b)
	}
	kids := func(p *Provider) []string {
		t.Helper()
		set, err := p.Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.KeyID)
		}
		return out
	}
	csrf := func(p *Provider) []byte {
		t.Helper()
		k, err := p.secret.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	inTheClear := func(what string) {
		t.Helper()
		for _, k := range []string{keySigningKeys, keySigningKeysRS256} {
			if s := stored(k); !strings.Contains(s, `"jwk"`) || !strings.Contains(s, `"d"`) {
				t.Fatalf("%s: signing keys %s not in the clear: %s", what, k, s)
			}
		}
	}
	sealed := func(what string, key []byte) {
		t.Helper()
		for _, k := range []string{keySigningKeys, keySigningKeysRS256, keySecret} {
			s := stored(k)
			if strings.Contains(s, `"jwk"`) || strings.Contains(s, `"d"`) || strings.Contains(s, `"key"`) || !strings.Contains(s, `"sealed"`) {
				t.Fatalf("%s: %s not sealed: %s", what, k, s)
			}
		}
		// Every sealed record names key.
		for _, k := range []string{keySigningKeys, keySigningKeysRS256} {
			if n := strings.Count(stored(k), `"sealed"`); n == 0 {
				t.Fatalf("%s: no sealed key in %s", what, k)
			}
		}
		var p *Provider = provider(key, nil)
		if err := p.CheckSecrets(ctx); err != nil {
			t.Fatalf("%s: the key it was sealed with does not open it: %v", what, err)
		}
	}

	// Before: a provider without a secret key, secrets in the clear.
	plain := provider(nil, nil)
	if err := plain.CheckSecrets(ctx); err != nil {
		t.Fatal(err)
	}
	inTheClear("no secret key")
	before, csrfBefore := kids(plain), csrf(plain)

	// A secret key seals them at start; the keys stay the same.
	k1 := newKey()
	p1 := provider(k1, nil)
	if err := p1.CheckSecrets(ctx); err != nil {
		t.Fatal(err)
	}
	sealed("sealed at start", k1)
	if got := kids(provider(k1, nil)); !slices.Equal(got, before) {
		t.Errorf("keys after sealing %v, before %v", got, before)
	}
	if got := csrf(provider(k1, nil)); !bytes.Equal(got, csrfBefore) {
		t.Error("the CSRF key changed when sealed")
	}

	// Another key, or none, cannot open them.
	for name, p := range map[string]*Provider{"another key": provider(newKey(), nil), "no key": provider(nil, nil)} {
		if err := p.CheckSecrets(ctx); !errors.Is(err, ErrSecretKey) {
			t.Errorf("%s: CheckSecrets = %v, want ErrSecretKey", name, err)
		}
	}

	// A change of key: the previous one opens, the new one seals.
	k2 := newKey()
	if err := provider(k2, k1).CheckSecrets(ctx); err != nil {
		t.Fatal(err)
	}
	sealed("sealed again", k2)
	if err := provider(k1, nil).CheckSecrets(ctx); !errors.Is(err, ErrSecretKey) {
		t.Errorf("the old key still opens the secrets: %v", err)
	}
	if got := kids(provider(k2, nil)); !slices.Equal(got, before) {
		t.Errorf("keys after the change of secret key %v, before %v", got, before)
	}

	// A tampered sealed record is an error, not a new key.
	s := stored(keySigningKeys)
	start := strings.Index(s, `"sealed":"`) + len(`"sealed":"`)
	parts := strings.Split(s[start:start+strings.IndexByte(s[start:], '"')], ".")
	if len(parts) != 5 {
		t.Fatalf("sealed key is no compact JWE: %d parts", len(parts))
	}
	// One character of the ciphertext, changed to another base64url one.
	c := []byte(parts[3])
	c[0] = map[bool]byte{true: 'B', false: 'A'}[c[0] == 'A']
	parts[3] = string(c)
	tampered := strings.Replace(s, s[start:start+strings.IndexByte(s[start:], '"')], strings.Join(parts, "."), 1)
	if _, err := store.Put(ctx, keySigningKeys, strings.NewReader(tampered), storage.PutOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
	if err := provider(k2, nil).CheckSecrets(ctx); err == nil || errors.Is(err, ErrSecretKey) {
		t.Errorf("a tampered sealed key: CheckSecrets = %v, want a decryption error", err)
	}
}

func TestSecretKeyValidated(t *testing.T) {
	for name, c := range map[string]Config{
		"short key":            {SecretKey: make([]byte, 16)},
		"short previous":       {SecretKey: make([]byte, 32), PreviousSecretKey: make([]byte, 31)},
		"previous without key": {PreviousSecretKey: make([]byte, 32)},
	} {
		c.Issuer, c.Store, c.Accounts = "https://idp.example/", memory.New(), noAccounts{}
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
