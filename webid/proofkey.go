package webid

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/webid/internal/lru"
)

// A client signs all its DPoP proofs with one key, so the protected
// header of its proofs (typ, alg, jwk) is the same, byte for byte, from
// one request to the next. go-jose parses and checks a header the first
// time it is seen, a sixth of a proof's cost when done on every request
// (it decodes the header's JSON twice and rebuilds the key); once a proof
// with that header has been accepted, the header's checked key and
// thumbprint are remembered and later proofs carrying the same header
// only have their signature checked, with the standard library
// primitives go-jose itself calls (RFC 7518 §3).

// proofKey is a DPoP proof header that go-jose parsed and checked, as
// needed to verify later proofs that carry the same header.
type proofKey struct {
	alg jose.SignatureAlgorithm
	key crypto.PublicKey // *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey
	tp  []byte           // RFC 7638 SHA-256 thumbprint of the jwk
	jkt string           // tp in base64url
}

// Bounds of the proof key cache: how many headers, and how long one may
// be (an RSA 4096 key's header is about 800 bytes).
const (
	maxProofKeys   = 10_000
	maxProofHeader = 2 << 10
)

// proofKeys remembers the headers of accepted proofs, by their encoded
// form.
type proofKeys struct {
	mu sync.Mutex
	m  *lru.Cache[string, *proofKey]
}

func newProofKeys() *proofKeys {
	return &proofKeys{m: lru.New[string, *proofKey](maxProofKeys)}
}

func (pk *proofKeys) get(header string) *proofKey {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	k, _ := pk.m.Get(header)
	return k
}

// add remembers the header of p, an accepted proof, when it may be: only
// a header whose encoding is canonical (so that it is the signing input
// go-jose rebuilds) and that has neither crit nor b64 (RFC 7797: the
// payload would not be base64url in the signing input).
func (pk *proofKeys) add(p proof) {
	if p.header == "" || p.cached || len(p.header) > maxProofHeader {
		return
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(p.header)
	if err != nil {
		return
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return
	}
	if _, ok := fields["crit"]; ok {
		return
	}
	if _, ok := fields["b64"]; ok {
		return
	}
	pk.mu.Lock()
	defer pk.mu.Unlock()
	pk.m.Add(p.header, p.pk)
}

// verifyJWS reports whether sig is k's signature of input, the JWS
// signing input (RFC 7515 §5.2), as go-jose's verifiers check it.
func verifyJWS(k *proofKey, input string, sig []byte) bool {
	switch k.alg {
	case jose.ES256, jose.ES384:
		pub, ok := k.key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		var digest []byte
		size := 32
		if k.alg == jose.ES256 {
			if pub.Curve != elliptic.P256() {
				return false
			}
			d := sha256.Sum256([]byte(input))
			digest = d[:]
		} else {
			if pub.Curve != elliptic.P384() {
				return false
			}
			size = 48
			d := sha512.Sum384([]byte(input))
			digest = d[:]
		}
		// RFC 7518 §3.4: R and S, each the size of the curve's order.
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest, r, s)
	case jose.RS256, jose.PS256:
		pub, ok := k.key.(*rsa.PublicKey)
		if !ok {
			return false
		}
		d := sha256.Sum256([]byte(input))
		if k.alg == jose.RS256 {
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) == nil
		}
		return rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, nil) == nil
	case jose.EdDSA:
		pub, ok := k.key.(ed25519.PublicKey)
		if !ok || len(pub) != ed25519.PublicKeySize {
			return false
		}
		return ed25519.Verify(pub, []byte(input), sig)
	}
	return false
}
