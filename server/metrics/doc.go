// Package metrics counts what a Kluis process does, in Prometheus form:
// requests by method, route class and status with their latencies (fed by
// the server through server.Observer), storage operations by backend and
// operation with their latencies and errors (a storage.Backend wrapper),
// authentication failures by reason, and the Go runtime and process
// collectors.
//
// Every collector lives in one Metrics value with its own registry, built
// by main; nothing is registered in the Prometheus default registry, so
// two servers in one process (as in tests) never share counters.
//
// It is the only Kluis package that imports the Prometheus client. It may
// import storage; it imports neither server (server declares the Observer
// interface that Metrics satisfies) nor any storage backend.
package metrics
