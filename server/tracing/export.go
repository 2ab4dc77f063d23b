package tracing

import (
	"context"
	"log/slog"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// allowed tells whether an attribute of a span of kind may leave the
// process. The libraries record more than Kluis wants a tracing backend
// to keep (otelhttp: url.path, url.full with its query, client.address,
// user_agent.original); an allow-list keeps that true whatever a new
// version of them adds. The resource's attributes (service, SDK,
// OTEL_RESOURCE_ATTRIBUTES) are the hoster's and pass as they are.
func allowed(kind trace.SpanKind, k attribute.Key) bool {
	switch k {
	case semconv.HTTPRequestMethodKey, semconv.HTTPResponseStatusCodeKey, semconv.HTTPRouteKey,
		semconv.URLSchemeKey, semconv.NetworkProtocolNameKey, semconv.NetworkProtocolVersionKey,
		semconv.HTTPRequestBodySizeKey, semconv.HTTPResponseBodySizeKey, semconv.ErrorTypeKey,
		AttrRequestID, AttrStorageBackend, AttrStorageOperation, AttrStorageArea:
		return true
	case semconv.ServerAddressKey, semconv.ServerPortKey:
		// The remote host of an outbound request, to see which issuer or
		// profile host is slow; on a server span it would be the request's
		// Host, which names the pod in subdomain mode.
		return kind == trace.SpanKindClient
	case semconv.ExceptionTypeKey:
		return true
	}
	return false
}

// filter keeps the allowed attributes of kind.
func filter(kind trace.SpanKind, attrs []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(attrs))
	for _, a := range attrs {
		if allowed(kind, a.Key) {
			out = append(out, a)
		}
	}
	return out
}

// redacted is a span as it is exported: allowed attributes only, on the
// span, its events and its links, and no status description (error
// messages may hold URLs).
type redacted struct {
	sdktrace.ReadOnlySpan
	attrs  []attribute.KeyValue
	events []sdktrace.Event
	links  []sdktrace.Link
}

func redact(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	kind := s.SpanKind()
	r := redacted{ReadOnlySpan: s, attrs: filter(kind, s.Attributes())}
	for _, e := range s.Events() {
		e.Attributes = filter(kind, e.Attributes)
		r.events = append(r.events, e)
	}
	for _, l := range s.Links() {
		l.Attributes = filter(kind, l.Attributes)
		r.links = append(r.links, l)
	}
	return r
}

func (r redacted) Attributes() []attribute.KeyValue { return r.attrs }
func (r redacted) Events() []sdktrace.Event         { return r.events }
func (r redacted) Links() []sdktrace.Link           { return r.links }

func (r redacted) Status() sdktrace.Status {
	st := r.ReadOnlySpan.Status()
	st.Description = ""
	return st
}

// exporter redacts every span before the OTLP exporter sees it, and logs
// when exports start failing and when they work again (once each, not
// once per batch: a collector that is down would otherwise flood the
// log). A failed batch is dropped, as the batch span processor would.
type exporter struct {
	next   sdktrace.SpanExporter
	logger *slog.Logger

	mu     sync.Mutex
	failed int // batches lost since the last export that worked
}

func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = redact(s)
	}
	err := e.next.ExportSpans(ctx, out)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		if e.failed == 0 {
			e.logger.Warn("tracing: exporting spans failed; they are dropped until the collector answers", "error", err)
		}
		e.failed++
		return nil
	}
	if e.failed > 0 {
		e.logger.Info("tracing: exporting spans again", "batches_lost", e.failed)
		e.failed = 0
	}
	return nil
}

func (e *exporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }
