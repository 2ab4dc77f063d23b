package tracing

import (
	"context"
	"fmt"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// AttrRequestID is the attribute of a server span that holds the request
// id of the request log (X-Request-Id).
const AttrRequestID = attribute.Key("kluis.request_id")

// Handler wraps the server's handler (otelhttp) so that every request gets
// a server span, in the context its handlers see. trusted tells whether a
// request comes from a trusted proxy: only then is its W3C traceparent
// (and tracestate) continued; from anyone else the trace is new, with a
// link to the one the request named, so that a client can neither join
// another's trace nor force its sampling. skip, when set, names requests
// that get no span at all (health probes, which would drown the rest).
// Call Annotate from inside to name the span after its route.
func (t *Tracing) Handler(next http.Handler, trusted, skip func(*http.Request) bool) http.Handler {
	var filters []otelhttp.Option
	if skip != nil {
		filters = append(filters, otelhttp.WithFilter(func(r *http.Request) bool { return !skip(r) }))
	}
	return otelhttp.NewHandler(next, "kluis", append(filters,
		otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithPublicEndpointFn(func(r *http.Request) bool { return trusted == nil || !trusted(r) }),
	)...)
}

// Annotate names the server span of ctx "<method> <route>" and gives it
// the route class (http.route, one of a small fixed set) and the request
// id. It returns the trace id for the request log when the span is
// recorded, "" otherwise.
func (t *Tracing) Annotate(ctx context.Context, method, route, requestID string) string {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return ""
	}
	span.SetName(method + " " + route)
	span.SetAttributes(semconv.HTTPRoute(route), AttrRequestID.String(requestID))
	return span.SpanContext().TraceID().String()
}

// Transport wraps an outbound transport (otelhttp) so that each request
// is a client span named "fetch <method>", a child of the span in its
// context: WebID profiles, issuer metadata and keys and client documents
// are GETs, webhook deliveries POSTs. No trace context is sent along:
// the remote ends are strangers.
func (t *Tracing) Transport(next http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(next,
		otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "fetch " + r.Method }),
	)
}

// Span starts an internal span called name, a child of the span of ctx,
// for a step of a request worth seeing on its own (authentication,
// authorization); end ends it, failed when err is not nil (its kind only,
// never its text). Outside a recorded request span it costs nothing and
// ctx is returned as it is.
func (t *Tracing) Span(ctx context.Context, name string) (context.Context, func(err error)) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, func(error) {}
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
	return ctx, func(err error) {
		if err != nil {
			span.SetAttributes(semconv.ErrorTypeKey.String(fmt.Sprintf("%T", err)))
			span.SetStatus(codes.Error, "")
		}
		span.End()
	}
}
