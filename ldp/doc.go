// Package ldp gives a storage.Backend the semantics of the Solid Protocol
// 0.11 (../shared/specs/solid-protocol-0.11.txt) and LDP Basic Containers:
// resource paths and their keys, containers and containment, auxiliary
// resources (.acl, .meta), RDF sources stored as Turtle and converted on
// the way out, content negotiation, ETags and conditional requests, POST
// with Slug, PATCH with N3 Patch and SPARQL Update, and deletion with the
// auxiliary resources of the deleted resource.
//
// # Keys
//
// Every resource lives under the key prefix "r/": the resource /a/b is the
// object "r/a/b", the container /a/ is the marker object "r/a/" (holding
// the container's own triples as Turtle), and the auxiliary resources of
// /a/b are "r/a/b.acl" and "r/a/b.meta". Keys outside "r/" (accounts, keys
// of the identity provider) can never be named by a request path.
//
// # Storages and pods
//
// Without Config.Pods the server root is the one storage (Solid Protocol
// §4.1). With it, each pod /<name>/ made by CreatePod is a storage of its
// own, registered under "sys/pods/<name>" (pod.go), and the root is none:
// StorageOf, StorageDescription, Allow and the storage type of a
// container follow, and a storage's root and its ACL cannot be deleted.
//
// # Concurrency
//
// Every write (PUT, PATCH, POST, creating a container) reads the object
// with its ETag, applies the change and writes it back with If-Match (or
// If-None-Match for a new object), retrying when another writer came first,
// so several Kluis processes on one bucket never lose an update, answer
// 201 Created for one writer only, and count quotas exactly (quota.go).
// The one exception is a PUT of a large non-RDF body, which streams and
// cannot be sent again: losing the race is a ConflictError (409).
//
// # What a write may leave
//
// A write leaves only what can be read back, named and deleted: RDF whose
// Turtle is within Config.MaxRDFBytes and MaxTriples, after a PATCH too
// (ErrTooLarge otherwise), and no name whose auxiliary resources would
// pass the key limits, nor an auxiliary resource of an auxiliary
// resource (CheckName in path.go; a BadRequestError).
//
// # Change events
//
// Config.OnChange hears of every successful write (change.go): the path,
// Create, Update or Delete, the container whose containment changed, the
// new ETag and the time. Notifications are built on it, above ldp.
// Every write or deletion of an ACL resource also rewrites one object,
// ACLGenerationKey, so that processes that do not hear each other's events
// can tell with one lookup whether the ACL versions they kept still hold
// (aclgeneration.go).
//
// ldp knows no HTTP types: the server package parses headers into the
// plain values used here and maps the errors of this package to statuses.
// It imports storage and ldp/rdfx only.
package ldp
