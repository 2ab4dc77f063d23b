// Package consent is the room reserved for the HTTP side of the consent
// work that issue 14 names as the next to land: the credential service,
// the UMA token endpoint, the consent page on which a person grants an
// app access to their pod, and the access log a person reads to see who
// used that access.
//
// It holds no code yet. When that work lands, its domain logic goes to a
// package of its own with no HTTP (as webid/idp is to server/oidc), and
// its routes come here: a Handler built from a small Config of its
// dependencies, with a Mount method that package server calls, errors
// returned to server/problem, and requests read through server/request.
//
// Like every audience's subpackage it may import echo and the domain
// packages it serves, server/problem and server/request; never package
// server or another audience's subpackage.
package consent
