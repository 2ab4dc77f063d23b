package tracing

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// TestExportFailuresLoggedOnce: a collector that refuses exports is
// logged once when it starts and once when it works again, not per batch.
func TestExportFailuresLoggedOnce(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			http.Error(w, "no", http.StatusBadRequest) // not retried
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	var log strings.Builder
	tr, err := New(context.Background(), Config{
		Endpoint: collector.URL + "/v1/traces", Sampler: Sampler{Name: "always_on"},
		Headers: map[string]string{"Authorization": "Bearer collector-secret"},
		Logger:  slog.New(slog.NewTextHandler(&log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	batch := func() {
		_, span := tr.tracer.Start(context.Background(), "x")
		span.End()
		if err := tr.provider.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	batch()
	batch()
	refuse.Store(false)
	batch()
	batch()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := log.String()
	if n := strings.Count(got, "exporting spans failed"); n != 1 {
		t.Errorf("%d failure lines, want 1:\n%s", n, got)
	}
	if n := strings.Count(got, "exporting spans again"); n != 1 || !strings.Contains(got, "batches_lost=2") {
		t.Errorf("want one recovery line with batches_lost=2:\n%s", got)
	}
	if strings.Contains(got, "collector-secret") {
		t.Errorf("the log shows the exporter's headers:\n%s", got)
	}
}

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		kind trace.SpanKind
		key  string
		want bool
	}{
		{trace.SpanKindServer, "http.request.method", true},
		{trace.SpanKindServer, "http.route", true},
		{trace.SpanKindServer, "kluis.request_id", true},
		{trace.SpanKindServer, "url.path", false},
		{trace.SpanKindServer, "url.query", false},
		{trace.SpanKindServer, "client.address", false},
		{trace.SpanKindServer, "user_agent.original", false},
		{trace.SpanKindServer, "http.request.header.authorization", false},
		{trace.SpanKindServer, "server.address", false},
		{trace.SpanKindClient, "server.address", true},
		{trace.SpanKindClient, "url.full", false},
		{trace.SpanKindInternal, "kluis.storage.area", true},
	} {
		if got := allowed(tc.kind, attribute.Key(tc.key)); got != tc.want {
			t.Errorf("allowed(%s, %s) = %v, want %v", tc.kind, tc.key, got, tc.want)
		}
	}
}
