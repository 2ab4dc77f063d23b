// Package lru is a small, size-bounded, least-recently-used map shared by
// webid and webid/fetch (caches of responses, issuers, profiles and
// verified tokens). It is not safe for concurrent use: callers hold their
// own lock, which lets them make a lookup and an insert atomic.
//
// It imports nothing of Kluis (so never server, storage or ldp) and holds
// no package-level state.
package lru
