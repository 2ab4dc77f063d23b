// Package storage defines the byte store that every Kluis pod lives in.
//
// A Backend stores opaque objects under slash-separated keys, each with a
// content type, a little user metadata and a strong ETag. It knows nothing of
// RDF, containers, ACLs or HTTP: those are the ldp and acl packages' business.
// Backends live in sub-packages (filesystem, s3, memory) and all pass the one
// conformance suite in storagetest.
//
// Key rules (ValidateKey) and the error sentinels are defined here once, so
// that every backend rejects the same keys and callers can map the same
// errors to statuses with errors.Is.
//
// This package imports nothing from Kluis.
package storage
