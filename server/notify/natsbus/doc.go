// Package natsbus is a notify.Broadcaster over NATS, for several Kluis
// processes that share one storage (one S3 bucket): each change event is
// delivered to the subscribers of the process that made it at once, and
// published as JSON on a NATS subject so that the other processes deliver
// it to theirs. The same connection carries the DPoP proofs each process
// accepts (<prefix>.dpop), so that the others refuse them as replays
// (webid.ReplayShare; RFC 9449 §11.1).
//
// It is the only importer of github.com/nats-io/nats.go. It imports
// server/notify for the Broadcaster interface and its in-process Hub, and
// nothing else of Kluis; it holds no package-level mutable state and
// never logs the NATS URL, which may hold credentials.
package natsbus
