// Package tracing is Kluis's optional OpenTelemetry tracing: one server
// span per HTTP request (named after its method and route class, with its
// status and request id), a child span per storage operation (a
// storage.Backend wrapper), and a client span per outbound request of the
// safe fetcher (WebID profiles, issuer metadata and keys, client
// documents, webhook deliveries). Spans are exported over OTLP/HTTP
// (protobuf) by the SDK's batch span processor; Shutdown flushes them.
//
// What leaves the process is decided here, once, by an allow-list of
// attribute keys applied to every span as it is exported (export.go):
// method, route class, status, request id, protocol, the storage backend,
// operation and area, the remote host of outbound requests, error kinds.
// Never a path, a query, a header, a client address or an error message:
// paths name pods and people, queries and headers carry tokens, and the
// request id leads from a trace to its log line, which the hoster's log
// policy already covers. Outbound requests carry no traceparent: trace
// ids are not handed to third parties. An incoming traceparent is
// continued only when the server says the request came from a trusted
// proxy; from anyone else it becomes a link of a new trace.
//
// Everything lives in one Tracing value built by main; nothing is set in
// OpenTelemetry's global providers, propagators or error handler, so two
// servers in one process (as in tests) never share spans.
//
// It is the only Kluis package that imports OpenTelemetry. It may import
// storage; it imports neither server (server declares the Tracer
// interface that Tracing satisfies) nor any storage backend.
package tracing
