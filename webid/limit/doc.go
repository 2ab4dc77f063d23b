// Package limit holds the in-memory bounds that Kluis puts on what
// clients may do per client address: a client address's key (an IPv6
// address counts by its /64), token buckets per key in a map of bounded
// size, and a count of pending records (such as accounts or registered
// clients not yet used) per address and in all, until they expire.
//
// The accounts (webid/account), the identity provider (webid/idp) and the
// notification service (server/notify) share it, so that they count
// addresses alike. It imports nothing else of Kluis. Everything here is
// per process; what is stored is bounded by the records' own expiry.
package limit
