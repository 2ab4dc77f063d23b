// Package account owns the accounts of Kluis's identity provider: who may
// log in, with which e-mail address and password, which WebIDs and pods
// an account holds, its client credentials (Solid-OIDC "Client
// Credentials", which the Community Solid Server calls client credentials
// tokens), and its login sessions (the CSS-Account-Token).
//
// # Storage
//
// Accounts live in the same storage.Backend as the pods, under keys that
// no Solid request can name (ldp uses "r/" and "sys/pods/" only), so that
// several Kluis processes sharing a bucket share the accounts too:
//
//	sys/accounts/account/<id>            the account (JSON): e-mail, password hash,
//	                                     WebIDs, pods, client credential list, pending proofs
//	sys/accounts/by-email/<sha256(email)> the e-mail index: {"account": <id>}
//	sys/accounts/session/<sha256(token)>  a login session: account and expiry
//	sys/accounts/credential/<sha256(id)>  a client credential: account, WebID, secret hash
//	sys/accounts/reset/<sha256(token)>    a password reset: account, expiry, password stamp
//	sys/accounts/by-account/<id>/session/<sha256(token)>  index: an account's sessions
//	sys/accounts/by-pod/<sha256(pod URL)>/<id>            index: the accounts holding a pod
//	sys/accounts/expiry/<hour>/<kind>.<name>              index: what expires in that hour
//	sys/accounts/layout                   marks the records before the indexes indexed
//
// The indexes (index.go) keep every request and sweep from reading the
// whole server: deleting an account lists its own sessions, deleting a pod
// by name lists the accounts holding it, and a sweep reads what expired
// (storage/expiry). Records stored before them are indexed once per
// storage (Migrate).
//
// Secrets are never stored: a session token, a client secret or a
// password reset token is kept as its SHA-256 (they are 256 random bits,
// so a fast hash suffices), a password as an argon2id hash with a random
// salt (RFC 9106), compared in constant time. Every read-modify-write of an account is optimistic: read
// with its ETag, change, Put with If-Match, retry when another writer came
// first. An e-mail address is claimed with If-None-Match on its index key,
// so two sign-ups with the same address never both succeed, whichever
// process they reach.
//
// # Rules
//
// A password has at least MinPasswordLength characters (and at most
// MaxPasswordBytes bytes); nothing else is demanded of it. E-mail
// addresses are trimmed and lower-cased. Login attempts are rate-limited
// in memory per client address (an IPv6 client by its /64), per e-mail
// address from one client address, and per e-mail address from all
// addresses under a much higher ceiling, so that failed logins from one
// place do not lock the owner out elsewhere; token buckets on an injected
// clock, in maps of bounded size; several processes each keep their own
// buckets. Accounts made without a login (Create) are counted per client
// address and in all, and live a day unless they get one; their sessions
// expire with them. Requests for a
// password reset mail are limited per e-mail address and per client
// address, whether or not the address has a login (reset.go).
//
// # Boundaries
//
// account imports storage (and storage/expiry) and ldp/rdfx (to read a WebID document when its
// owner proves control of it) and nothing else of Kluis: not server, not
// ldp, not the rest of webid. It knows no HTTP types: the server turns its
// errors into statuses, and the fetch of a remote WebID document is
// injected (Options.Fetch). It holds no package-level mutable state.
package account
