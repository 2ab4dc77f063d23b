// Package accesslog keeps each pod's access log: who asked for what, when,
// with which outcome, and what allowed it (issue 17). It owns the log's
// storage layout, its batching, its hash chains and their signatures, its
// reading newest first, its verification and its retention. It knows
// nothing of HTTP, ACLs or RDF: the server records entries and serves
// them; it imports only storage and storage/expiry (the index of the logs
// due for trimming).
//
// # Layout
//
// Every process writes segments of its own; no object is ever rewritten
// by another process or for another entry. A segment is one immutable
// object holding a batch of one pod's entries:
//
//	sys/access-log/<pod>/<hour>/<newest>-<oldest>-<process>-<seq>
//
// <hour> is 99999999 less the hours since 1970 of its entries (a segment
// never spans two hours), <newest> is 9223372036854775807 less the Unix
// nanoseconds of its newest entry and <oldest> those of its oldest, so
// the keys of a listing sort newest first and a reader skips what a page
// does not need by the key alone. <process> is a random id a Log takes
// when it starts; <seq> numbers the segments of one process for one pod.
//
// # Tamper evidence
//
// The segments of one process for one pod form a hash chain: each entry
// carries the SHA-256 of the entry before it (for a segment's first entry,
// the last of the previous segment), and each segment's head (the hash
// of its last entry) is signed, with its pod, process, sequence number and
// count, by a key Kluis publishes (Keys). Verify finds a changed, removed
// or reordered entry, a removed segment inside a chain, a segment moved
// under another key, and a changed head. What it cannot find: the removal
// of the newest segments of a chain, or of whole chains, which leaves a
// shorter log that is still consistent; retention and clearing remove the
// oldest segments, so a chain may start anywhere.
//
// # Losses
//
// Record never blocks: entries wait in a bounded queue and are written
// every Config.FlushEvery or Config.BatchSize entries. A full queue drops
// the entry and counts it (Dropped). Close writes what waits. A process
// killed without Close (kill -9) loses the entries of its queue and
// unwritten batch, at most Config.QueueSize plus Config.BatchSize entries
// and Config.FlushEvery of time; every segment written is already closed
// and signed, so no unsigned tail is ever left behind.
package accesslog
