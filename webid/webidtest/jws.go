package webidtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
)

// signCompact builds a JWS in compact serialisation by hand, so that tests
// can make headers no well-behaved library would: alg "none", HMAC keyed
// with a public key, private key material in jwk. For alg "none" the
// signature is empty; for HS* hmacKey is the secret; otherwise key signs.
func signCompact(header, claims map[string]any, alg string, key crypto.Signer, hmacKey []byte) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sig, err := signature(alg, []byte(input), key, hmacKey)
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func signature(alg string, input []byte, key crypto.Signer, hmacKey []byte) ([]byte, error) {
	switch alg {
	case "none":
		return nil, nil
	case "HS256", "HS384", "HS512":
		var nh func() hash.Hash
		switch alg {
		case "HS256":
			nh = sha256.New
		case "HS384":
			nh = sha512.New384
		default:
			nh = sha512.New
		}
		m := hmac.New(nh, hmacKey)
		m.Write(input)
		return m.Sum(nil), nil
	case "ES256", "ES384":
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("webidtest: %s needs an ECDSA key", alg)
		}
		var d []byte
		size := 32
		if alg == "ES384" {
			s := sha512.Sum384(input)
			d, size = s[:], 48
		} else {
			s := sha256.Sum256(input)
			d = s[:]
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, d)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	case "RS256", "PS256":
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("webidtest: %s needs an RSA key", alg)
		}
		d := sha256.Sum256(input)
		if alg == "RS256" {
			return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
		}
		return rsa.SignPSS(rand.Reader, k, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "EdDSA":
		k, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("webidtest: EdDSA needs an Ed25519 key")
		}
		return ed25519.Sign(k, input), nil
	}
	return nil, fmt.Errorf("webidtest: unknown alg %q", alg)
}

// newKey generates a private key for alg.
func newKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "RS256", "PS256":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("webidtest: unsupported alg %q", alg)
}

// randomID is 128 random bits, base64url.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
