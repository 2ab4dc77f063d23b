package webid

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/webidtest"
)

// TestVerifyJWSAgreesWithGoJose: the signature check of cached proof
// headers accepts exactly what go-jose accepts, for every allowed
// algorithm, and nothing when a byte of the signature or of the signed
// input changes, or when the key does not fit the algorithm.
func TestVerifyJWSAgreesWithGoJose(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := map[jose.SignatureAlgorithm]crypto.Signer{
		jose.ES256: p256, jose.ES384: p384, jose.RS256: rsaKey, jose.PS256: rsaKey, jose.EdDSA: edKey,
	}
	algs := []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.PS256, jose.EdDSA}
	for _, alg := range algs {
		t.Run(string(alg), func(t *testing.T) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: keys[alg]}, nil)
			if err != nil {
				t.Fatal(err)
			}
			jws, err := signer.Sign([]byte(`{"htm":"GET","jti":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			compact, _ := jws.CompactSerialize()
			pk := &proofKey{alg: alg, key: keys[alg].Public()}
			agree := func(name, compact string) {
				t.Helper()
				i := strings.LastIndexByte(compact, '.')
				sig, err := base64.RawURLEncoding.DecodeString(compact[i+1:])
				if err != nil {
					t.Fatal(err)
				}
				got := verifyJWS(pk, compact[:i], sig)
				parsed, err := jose.ParseSignedCompact(compact, algs)
				want := err == nil
				if want {
					_, err = parsed.Verify(keys[alg].Public())
					want = err == nil
				}
				if got != want {
					t.Errorf("%s: verifyJWS = %v, go-jose = %v", name, got, want)
				}
			}
			agree("valid", compact)
			if !verifyJWS(pk, compact[:strings.LastIndexByte(compact, '.')], mustSig(t, compact)) {
				t.Fatal("valid signature refused")
			}
			for i := range 8 {
				sig := mustSig(t, compact)
				sig[i*len(sig)/8] ^= 1
				agree("signature bit flipped", compact[:strings.LastIndexByte(compact, '.')+1]+base64.RawURLEncoding.EncodeToString(sig))
			}
			// A character of the payload replaced by another base64url one.
			changed := []byte(compact)
			i := strings.IndexByte(compact, '.') + 3
			changed[i] = map[bool]byte{true: 'B', false: 'A'}[changed[i] == 'A']
			agree("input changed", string(changed))
			sig := mustSig(t, compact)
			agree("signature cut", compact[:strings.LastIndexByte(compact, '.')+1]+base64.RawURLEncoding.EncodeToString(sig[:len(sig)-1]))
			// Every other algorithm's key under this algorithm.
			for _, other := range algs {
				if other == alg || strings.HasPrefix(string(other), "RS") && strings.HasPrefix(string(alg), "PS") ||
					strings.HasPrefix(string(other), "PS") && strings.HasPrefix(string(alg), "RS") {
					continue // the same key
				}
				if verifyJWS(&proofKey{alg: alg, key: keys[other].Public()}, compact[:strings.LastIndexByte(compact, '.')], sig) {
					t.Errorf("accepted with the %s key", other)
				}
			}
		})
	}
}

func mustSig(t *testing.T, compact string) []byte {
	t.Helper()
	sig, err := base64.RawURLEncoding.DecodeString(compact[strings.LastIndexByte(compact, '.')+1:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestProofKeyCache: a proof header is remembered only once a request
// with it is accepted, later proofs with it take the cached path, and a
// header that is not canonical, too long, or has crit or b64 is never
// remembered.
func TestProofKeyCache(t *testing.T) {
	iss := webidtest.NewIssuer(t)
	stranger := webidtest.NewIssuer(t)
	fc, err := fetch.New(fetch.Config{Allow: webidtest.Loopback()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Config{Fetch: fc, Local: anyProfile{iss.URL}})
	if err != nil {
		t.Fatal(err)
	}
	c := webidtest.NewClient(t, "ES256")
	const webid, u = "https://alice.example/profile#me", "https://pod.example/a"
	ctx := context.Background()
	verify := func(tok string) error {
		_, err := v.Verify(ctx, "GET", u, "DPoP "+tok, []string{c.Proof("GET", u, tok)})
		return err
	}

	// A valid proof with a token the WebID does not trust: refused, and
	// its header is not remembered.
	if err := verify(stranger.Token(webidtest.TokenOptions{WebID: webid, JKT: c.Thumbprint()})); err == nil {
		t.Fatal("token of an untrusted issuer accepted")
	}
	if n := v.proofKeys.m.Len(); n != 0 {
		t.Fatalf("%d headers remembered after a refusal", n)
	}
	tok := iss.Token(webidtest.TokenOptions{WebID: webid, JKT: c.Thumbprint()})
	if err := verify(tok); err != nil {
		t.Fatal(err)
	}
	if n := v.proofKeys.m.Len(); n != 1 {
		t.Fatalf("%d headers remembered after an acceptance, want 1", n)
	}
	p, err := v.checkProof(c.Proof("GET", u, tok), "GET", u, tok, time.Now())
	if err != nil || !p.cached || p.pk.jkt != c.Thumbprint() {
		t.Fatalf("second proof: cached %v, jkt %q, %v", p.cached, p.pk.jkt, err)
	}
	if err := verify(tok); err != nil {
		t.Fatalf("second request: %v", err)
	}

	// Headers never remembered.
	enc := base64.RawURLEncoding.EncodeToString
	for name, header := range map[string]string{
		"crit":          enc([]byte(`{"alg":"ES256","crit":["b64"],"b64":false}`)),
		"b64":           enc([]byte(`{"alg":"ES256","b64":true}`)),
		"non-canonical": enc([]byte(`{"alg":"ES256"}`))[:len(enc([]byte(`{"alg":"ES256"}`)))-1] + "x",
		"too long":      enc([]byte(`{"alg":"ES256","x":"` + strings.Repeat("a", maxProofHeader) + `"}`)),
	} {
		v.proofKeys.add(proof{header: header, pk: p.pk})
		if v.proofKeys.get(header) != nil {
			t.Errorf("%s header remembered", name)
		}
	}
}

// FuzzVerifyJWS: for any signing input and signature, the check of cached
// proof headers agrees with go-jose, for an ES256 and an EdDSA key.
func FuzzVerifyJWS(f *testing.F) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := []struct {
		alg jose.SignatureAlgorithm
		key crypto.Signer
	}{{jose.ES256, p256}, {jose.EdDSA, edKey}}
	for i, k := range keys {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.key}, nil)
		if err != nil {
			f.Fatal(err)
		}
		jws, _ := signer.Sign([]byte(`{"htm":"GET"}`))
		compact, _ := jws.CompactSerialize()
		j := strings.LastIndexByte(compact, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(compact[j+1:])
		f.Add(uint8(i), compact[:j], sig)
	}
	f.Fuzz(func(t *testing.T, which uint8, input string, sig []byte) {
		k := keys[int(which)%len(keys)]
		h, body, ok := strings.Cut(input, ".")
		if !ok || strings.Contains(body, ".") {
			return
		}
		compact := h + "." + body + "." + base64.RawURLEncoding.EncodeToString(sig)
		want := false
		if parsed, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{k.alg}); err == nil &&
			base64.RawURLEncoding.EncodeToString(parsed.UnsafePayloadWithoutVerification()) == body &&
			parsed.Signatures[0].Protected.Algorithm == string(k.alg) {
			_, err = parsed.Verify(k.key.Public())
			want = err == nil
		}
		got := verifyJWS(&proofKey{alg: k.alg, key: k.key.Public()}, input, sig)
		// go-jose rebuilds the signing input from what it parsed; when it
		// could not parse the header, only a real signature over the
		// exact input could make verifyJWS accept, which the fuzzer
		// cannot forge.
		if got && !want {
			t.Fatalf("verifyJWS accepted what go-jose refuses: %q", input)
		}
	})
}
