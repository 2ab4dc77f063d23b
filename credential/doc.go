// Package credential holds access requests, grants and denials as
// verifiable credentials (VC Data Model 1.1 with the Solid access-grant
// vocabulary: SolidAccessRequest, SolidAccessGrant, SolidAccessDenial over
// GConsent), the Ed25519 keys that sign them, their status, and the
// decision of whether an active grant covers a request.
//
// It is the domain side of the consent work; its routes are in
// server/consent. It has no HTTP types: callers hand it the authenticated
// agent and a function that tells whether that agent controls a resource.
//
// Proofs are Ed25519Signature2020: the signature covers the URDNA2015
// canonical form of the proof options and of the credential
// (../shared: W3C VC Data Integrity, "Ed25519Signature2020", "Proof
// algorithm"). JSON-LD contexts are never fetched: the few the access
// grant libraries use are embedded (contexts/, see contexts/README.md),
// and a document naming any other is refused.
//
// State shared between server processes lives in storage under
// "sys/consent/": the signing keys (sealed with the server's secret key
// when one is set, storage/seal), the credentials, their status, the
// per-party indexes, the index of each party's live credentials that
// the bounds count and Active reads (live.go), and the expiry and
// retention indexes (storage/expiry; forget.go). The status is read from
// storage at every use, so a revocation through one process holds at the
// next request through any.
//
// It may import storage, storage/expiry and storage/seal only
// (deps_test.go), and it is, with
// ldp/rdfx, one of the two importers of json-gold: canonicalisation with
// a closed document loader is a credential matter.
package credential
