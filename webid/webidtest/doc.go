// Package webidtest provides the real, outside parts of Solid-OIDC for
// tests, in the manner of net/http/httptest: an OpenID Provider on an
// httptest.Server (Issuer) that serves discovery metadata and a rotating
// key set and mints access tokens; a DPoP client key (Client) that makes
// proofs, good ones and, with ProofOptions, every kind of bad one; and
// WebID profile documents, served from their own httptest.Server
// (NewProfile) or as bytes for a LocalProfiles (ProfileTurtle).
//
// The servers listen on 127.0.0.1, which a fetch.Client refuses by
// default: give the Verifier a fetch.Client whose Allow holds
// 127.0.0.0/8 and ::1/128 (Loopback returns them).
//
// webidtest is for tests only. It must not import server, storage or ldp
// (ldp/rdfx is allowed); it holds no package-level mutable state. Its
// keys are generated per Issuer and Client, and nothing here logs a token,
// a proof or a key.
package webidtest
