package webid_test

import (
	"context"
	"testing"

	"github.com/weconomics/kluis/webid"
)

// BenchmarkVerify measures Verify of a valid token with a fresh proof, the
// per-request cost once the issuer's keys and the WebID profile are
// cached. Every iteration needs its own proof (jti); they are made before
// the timer starts (see BenchmarkProof for their cost).
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, fixtureOptions{alg: alg, config: func(c *webid.Config) { c.ReplayCacheSize = 1 << 22 }})
			tok := f.token(nil)
			if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
				b.Fatal(err)
			}
			proofs := make([]string, b.N)
			for i := range proofs {
				proofs[i] = f.client.Proof("GET", target, tok)
			}
			authz, ctx := "DPoP "+tok, context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := f.v.Verify(ctx, "GET", target, authz, proofs[i:i+1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyNewToken is BenchmarkVerify with a new token every
// time: the cost of a token's first use, its signature checked against
// the issuer's (cached) keys.
func BenchmarkVerifyNewToken(b *testing.B) {
	f := newFixture(b, fixtureOptions{config: func(c *webid.Config) { c.ReplayCacheSize = 1 << 22 }})
	tok := f.token(nil)
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err != nil {
		b.Fatal(err)
	}
	authz, proofs := make([]string, b.N), make([]string, b.N)
	for i := range b.N {
		tok := f.token(nil)
		authz[i], proofs[i] = "DPoP "+tok, f.client.Proof("GET", target, tok)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := f.v.Verify(ctx, "GET", target, authz[i], proofs[i:i+1]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProof measures making a proof on the client side (webidtest),
// the cost left out of BenchmarkVerify.
func BenchmarkProof(b *testing.B) {
	f := newFixture(b, fixtureOptions{})
	tok := f.token(nil)
	b.ReportAllocs()
	for b.Loop() {
		f.client.Proof("GET", target, tok)
	}
}
