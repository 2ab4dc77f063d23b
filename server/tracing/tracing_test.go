package tracing_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/weconomics/kluis/server/tracing"
	"github.com/weconomics/kluis/server/tracing/tracingtest"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// newTracing exports to rcv with sampler.
func newTracing(t *testing.T, rcv *tracingtest.Receiver, sampler string) *tracing.Tracing {
	t.Helper()
	tr, err := tracing.New(context.Background(), tracing.Config{
		Endpoint: rcv.URL, Version: "v-test", Sampler: tracing.Sampler{Name: sampler},
		Headers: map[string]string{"Authorization": "Bearer collector-secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// serve serves h through tr.Handler, with trusted as the trust rule.
func serve(t *testing.T, tr *tracing.Tracing, h http.HandlerFunc, trusted func(*http.Request) bool) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(tr.Handler(h, trusted, func(r *http.Request) bool { return r.URL.Path == "/probe" }))
	t.Cleanup(ts.Close)
	return ts
}

// flush waits for every request of ts to end (so their spans have ended),
// then exports what is queued by shutting the tracing down.
func flush(t *testing.T, ts *httptest.Server, tr *tracing.Tracing) {
	t.Helper()
	ts.Close()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func send(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func one(t *testing.T, rcv *tracingtest.Receiver, name string) tracingtest.Span {
	t.Helper()
	spans := rcv.Named(name)
	if len(spans) != 1 {
		var names []string
		for _, s := range rcv.Spans() {
			names = append(names, s.GetName())
		}
		t.Fatalf("%d spans named %q, want 1; got %q", len(spans), name, names)
	}
	return spans[0]
}

func wantAttr(t *testing.T, s tracingtest.Span, key, want string) {
	t.Helper()
	if got, ok := s.Attr(key); !ok || got != want {
		t.Errorf("span %q: %s = %q (present %v), want %q", s.GetName(), key, got, ok, want)
	}
}

// TestServerAndStorageSpans: a request is one server span, named after its
// method and route, with the status and request id; each storage
// operation a child of it, with backend, operation and key area but no
// key; the collector's headers go with the export.
func TestServerAndStorageSpans(t *testing.T) {
	rcv := tracingtest.New(t)
	tr := newTracing(t, rcv, "always_on")
	store := tr.Storage(memory.New(), "memory")
	var traceID string
	ts := serve(t, tr, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		traceID = tr.Annotate(ctx, "PUT", "resource", "req-1")
		info, err := store.Put(ctx, "r/alice/diary.ttl", strings.NewReader("x"), storage.PutOptions{})
		if err != nil {
			t.Error(err)
		}
		if _, err := storage.Append(ctx, store, "r/alice/diary.ttl", []byte("y"), storage.AppendOptions{IfMatch: info.ETag}); err != nil {
			t.Errorf("Append: %v", err)
		}
		// A backend that does not append: no span.
		if _, err := storage.Append(ctx, tr.Storage(plain{memory.New()}, "plain"), "r/alice/diary.ttl", []byte("y"), storage.AppendOptions{IfMatch: "x"}); !errors.Is(err, storage.ErrAppendUnsupported) {
			t.Errorf("Append through a backend that does not append: %v", err)
		}
		if _, err := store.Stat(ctx, "sys/pods/alice-secret-pod"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat: %v", err)
		}
		for _, err := range store.List(ctx, "r/alice/") {
			if err != nil {
				t.Error(err)
			}
		}
		if _, err := store.Stat(ctx, "/bad"); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat of a bad key: %v", err)
		}
		w.WriteHeader(http.StatusCreated)
	}, nil)
	req, _ := http.NewRequest("PUT", ts.URL+"/alice/diary.ttl", strings.NewReader("x"))
	send(t, req)
	flush(t, ts, tr)

	srv := one(t, rcv, "PUT resource")
	if srv.GetKind().String() != "SPAN_KIND_SERVER" || srv.ParentID() != "" {
		t.Errorf("server span: kind %s, parent %q", srv.GetKind(), srv.ParentID())
	}
	if srv.TraceID() != traceID {
		t.Errorf("Annotate returned trace id %q, the span has %q", traceID, srv.TraceID())
	}
	wantAttr(t, srv, "http.request.method", "PUT")
	wantAttr(t, srv, "http.route", "resource")
	wantAttr(t, srv, "http.response.status_code", "201")
	wantAttr(t, srv, "kluis.request_id", "req-1")
	if v, _ := srv.ResourceAttr("service.name"); v != "kluis" {
		t.Errorf("service.name = %q, want kluis", v)
	}
	if v, _ := srv.ResourceAttr("service.version"); v != "v-test" {
		t.Errorf("service.version = %q", v)
	}

	put := one(t, rcv, "storage put")
	wantAttr(t, put, "kluis.storage.backend", "memory")
	wantAttr(t, put, "kluis.storage.operation", "put")
	wantAttr(t, put, "kluis.storage.area", "r")
	appended := one(t, rcv, "storage append")
	wantAttr(t, appended, "kluis.storage.operation", "append")
	list := one(t, rcv, "storage list")
	wantAttr(t, list, "kluis.storage.area", "r")
	stats := rcv.Named("storage stat")
	if len(stats) != 2 {
		t.Fatalf("%d stat spans, want 2", len(stats))
	}
	for _, s := range append(stats, put, appended, list) {
		if s.TraceID() != srv.TraceID() || s.ParentID() != srv.SpanID() {
			t.Errorf("%s: trace %s parent %s, want the server span %s/%s", s.GetName(), s.TraceID(), s.ParentID(), srv.TraceID(), srv.SpanID())
		}
	}
	// Not found is normal work; an invalid key is a failure.
	notFound, invalid := stats[0], stats[1]
	wantAttr(t, notFound, "error.type", "not_found")
	wantAttr(t, notFound, "kluis.storage.area", "sys/pods")
	if notFound.GetStatus().GetCode().String() == "STATUS_CODE_ERROR" {
		t.Error("a not-found Stat marks its span failed")
	}
	wantAttr(t, invalid, "error.type", "invalid")
	if invalid.GetStatus().GetCode().String() != "STATUS_CODE_ERROR" {
		t.Errorf("an invalid key: status %s, want an error", invalid.GetStatus().GetCode())
	}

	raw := rcv.Raw()
	for _, secret := range []string{"alice", "diary", "secret-pod"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%q was exported", secret)
		}
	}
	for _, req := range rcv.Requests() {
		if got := req.Header.Get("Authorization"); got != "Bearer collector-secret" {
			t.Errorf("the export carried Authorization %q, want the configured header", got)
		}
	}
	// Nothing was made global.
	if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); ok {
		t.Error("the tracer provider was made global")
	}
}

// TestNothingSecretExported: no credential, cookie, query, path, client
// address or user agent of a request reaches the collector.
func TestNothingSecretExported(t *testing.T) {
	rcv := tracingtest.New(t)
	tr := newTracing(t, rcv, "always_on")
	ts := serve(t, tr, func(w http.ResponseWriter, r *http.Request) {
		tr.Annotate(r.Context(), "GET", "resource", "req-2")
		http.Error(w, "no", http.StatusUnauthorized)
	}, func(*http.Request) bool { return true })
	req, _ := http.NewRequest("GET", ts.URL+"/pathsecret/card?access_token=querysecret&code=codesecret", nil)
	req.Header.Set("Authorization", "DPoP tokensecret")
	req.Header.Set("DPoP", "proofsecret")
	req.Header.Set("Cookie", "css-account=cookiesecret")
	req.Header.Set("User-Agent", "agentsecret")
	req.Header.Set("X-Forwarded-For", "203.0.113.77")
	req.Header.Set("Baggage", "user=baggagesecret")
	send(t, req)
	flush(t, ts, tr)

	s := one(t, rcv, "GET resource")
	wantAttr(t, s, "http.response.status_code", "401")
	for _, key := range s.Keys() {
		switch key {
		case "url.path", "url.full", "url.query", "client.address", "network.peer.address", "user_agent.original", "server.address":
			t.Errorf("the server span carries %s", key)
		}
	}
	raw := rcv.Raw()
	for _, secret := range []string{"tokensecret", "proofsecret", "cookiesecret", "querysecret", "codesecret",
		"pathsecret", "agentsecret", "203.0.113.77", "baggagesecret", "127.0.0.1"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%q was exported", secret)
		}
	}
}

// TestTraceparentTrust: a trusted request's traceparent is continued; an
// untrusted one's starts a new trace that only links to it.
func TestTraceparentTrust(t *testing.T) {
	const (
		remoteTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		remoteSpan  = "00f067aa0ba902b7"
		traceparent = "00-" + remoteTrace + "-" + remoteSpan + "-01"
	)
	for _, trusted := range []bool{true, false} {
		rcv := tracingtest.New(t)
		tr := newTracing(t, rcv, "")
		ts := serve(t, tr, func(w http.ResponseWriter, r *http.Request) {
			tr.Annotate(r.Context(), "GET", "container", "req")
		}, func(*http.Request) bool { return trusted })
		req, _ := http.NewRequest("GET", ts.URL+"/", nil)
		req.Header.Set("Traceparent", traceparent)
		send(t, req)
		flush(t, ts, tr)

		s := one(t, rcv, "GET container")
		continued := s.TraceID() == remoteTrace && s.ParentID() == remoteSpan
		if continued != trusted {
			t.Errorf("trusted %v: trace %s parent %q; continued %v", trusted, s.TraceID(), s.ParentID(), continued)
		}
		if !trusted {
			if s.ParentID() != "" || len(s.GetLinks()) != 1 || hex.EncodeToString(s.GetLinks()[0].GetTraceId()) != remoteTrace {
				t.Errorf("untrusted: parent %q, links %v; want a new root linking to the remote trace", s.ParentID(), s.GetLinks())
			}
		}
	}
}

// TestSampledOut: with always_off nothing is recorded, Annotate returns no
// trace id, and nothing is exported.
func TestSampledOut(t *testing.T) {
	rcv := tracingtest.New(t)
	tr := newTracing(t, rcv, "always_off")
	store := tr.Storage(memory.New(), "memory")
	var id string
	ts := serve(t, tr, func(w http.ResponseWriter, r *http.Request) {
		id = tr.Annotate(r.Context(), "GET", "resource", "req")
		store.Stat(r.Context(), "r/x")
	}, nil)
	req, _ := http.NewRequest("GET", ts.URL+"/x", nil)
	send(t, req)
	flush(t, ts, tr)
	if id != "" || len(rcv.Spans()) != 0 {
		t.Errorf("sampled out: trace id %q, %d spans exported", id, len(rcv.Spans()))
	}
}

// TestTransport: an outbound request is a client span, child of the span
// in its context, with the remote host but not its path or query; the
// remote end gets no traceparent.
func TestTransport(t *testing.T) {
	var gotTraceparent []string
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotTraceparent = append(gotTraceparent, r.Header.Get("Traceparent"))
		io.WriteString(w, "profile")
	}))
	defer remote.Close()
	rcv := tracingtest.New(t)
	tr := newTracing(t, rcv, "always_on")
	client := &http.Client{Transport: tr.Transport(http.DefaultTransport)}
	ts := serve(t, tr, func(w http.ResponseWriter, r *http.Request) {
		tr.Annotate(r.Context(), "GET", "resource", "req")
		req, _ := http.NewRequestWithContext(r.Context(), "GET", remote.URL+"/webidsecret/card?key=querysecret", nil)
		res, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}, nil)
	req, _ := http.NewRequest("GET", ts.URL+"/x", nil)
	send(t, req)
	// A delivery with no request around it (a webhook) is a root span.
	if res, err := client.Post(remote.URL+"/hook", "text/plain", strings.NewReader("n")); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	flush(t, ts, tr)

	srv := one(t, rcv, "GET resource")
	get := one(t, rcv, "fetch GET")
	if get.GetKind().String() != "SPAN_KIND_CLIENT" || get.ParentID() != srv.SpanID() || get.TraceID() != srv.TraceID() {
		t.Errorf("fetch span: kind %s, parent %s, want a client child of %s", get.GetKind(), get.ParentID(), srv.SpanID())
	}
	wantAttr(t, get, "http.response.status_code", "200")
	wantAttr(t, get, "server.address", "127.0.0.1")
	if post := one(t, rcv, "fetch POST"); post.ParentID() != "" {
		t.Errorf("webhook span has parent %s", post.ParentID())
	}
	if slices.ContainsFunc(gotTraceparent, func(s string) bool { return s != "" }) {
		t.Errorf("the remote end got traceparent %q", gotTraceparent)
	}
	raw := rcv.Raw()
	for _, secret := range []string{"webidsecret", "querysecret"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("%q was exported", secret)
		}
	}
}

// checker is a backend that is also a storage.Checker.
type checker struct {
	storage.Backend
	err error
}

func (c checker) Check(context.Context) error { return c.err }

// plain hides every method but those of storage.Backend.
type plain struct{ storage.Backend }

func TestStorageKeepsChecker(t *testing.T) {
	rcv := tracingtest.New(t)
	tr := newTracing(t, rcv, "always_on")
	if _, ok := tr.Storage(plain{memory.New()}, "memory").(storage.Checker); ok {
		t.Error("the wrapper of a backend that is no Checker claims to be one")
	}
	wrapped, ok := tr.Storage(checker{memory.New(), storage.ErrUnavailable}, "s3").(storage.Checker)
	if !ok {
		t.Fatal("the wrapper of a Checker is no Checker")
	}
	if _, ok := tr.Storage(memory.New(), "memory").(storage.Versioner); !ok {
		t.Error("the wrapper is no Versioner")
	}
	ts := serve(t, tr, func(w http.ResponseWriter, r *http.Request) {
		tr.Annotate(r.Context(), "GET", "health", "req")
		if err := wrapped.Check(r.Context()); !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("Check: %v", err)
		}
	}, nil)
	req, _ := http.NewRequest("GET", ts.URL+"/ready", nil)
	send(t, req)
	flush(t, ts, tr)
	s := one(t, rcv, "storage check")
	wantAttr(t, s, "error.type", "unavailable")
	wantAttr(t, s, "kluis.storage.backend", "s3")
}

// TestUntracedMakesNoSpans: a skipped request (a probe) gets no span, nor
// do its storage operations, nor storage operations outside any request
// (housekeeping), even with always_on.
func TestUntracedMakesNoSpans(t *testing.T) {
	rcv := tracingtest.New(t)
	tr := newTracing(t, rcv, "always_on")
	store := tr.Storage(memory.New(), "memory")
	var id string
	ts := serve(t, tr, func(w http.ResponseWriter, r *http.Request) {
		id = tr.Annotate(r.Context(), "GET", "health", "req")
		store.Stat(r.Context(), "r/x")
	}, nil)
	req, _ := http.NewRequest("GET", ts.URL+"/probe", nil)
	send(t, req)
	for range store.List(context.Background(), "sys/") {
	}
	store.Stat(context.Background(), "sys/idp/secret")
	flush(t, ts, tr)
	if id != "" || len(rcv.Spans()) != 0 {
		t.Errorf("untraced: trace id %q, %d spans exported", id, len(rcv.Spans()))
	}
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		traces, base, want string
	}{
		{"", "", tracing.DefaultEndpoint},
		{"", "http://otel:4318", "http://otel:4318/v1/traces"},
		{"", "http://otel:4318/", "http://otel:4318/v1/traces"},
		{"https://tempo.example/otlp/traces", "http://otel:4318", "https://tempo.example/otlp/traces"},
	} {
		if got := tracing.Endpoint(tc.traces, tc.base); got != tc.want {
			t.Errorf("Endpoint(%q, %q) = %q, want %q", tc.traces, tc.base, got, tc.want)
		}
	}
	for u, ok := range map[string]bool{
		"http://localhost:4318/v1/traces": true, "https://user:pw@tempo.example/v1/traces": false,
		"ftp://x/": false, "localhost:4318": false, "http:///v1/traces": false, "http://x/v1/traces?a=b": false,
	} {
		err := tracing.CheckEndpoint(u)
		if (err == nil) != ok {
			t.Errorf("CheckEndpoint(%q) = %v, want ok %v", u, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("CheckEndpoint shows the password: %v", err)
		}
	}
	for _, tc := range []struct {
		in   string
		want map[string]string
		ok   bool
	}{
		{"", map[string]string{}, true},
		{"Authorization=Bearer%20s3cr3t, x-tenant = a", map[string]string{"Authorization": "Bearer s3cr3t", "x-tenant": "a"}, true},
		{"api-key=abc=def", map[string]string{"api-key": "abc=def"}, true},
		{"novalues3cr3t", nil, false},
		{"=s3cr3t", nil, false},
		{"k=%zzs3cr3t", nil, false},
	} {
		got, err := tracing.ParseHeaders(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseHeaders(%q): %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("ParseHeaders error shows a value: %v", err)
			}
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("ParseHeaders(%q) = %v, want %v", tc.in, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("ParseHeaders(%q)[%q] = %q, want %q", tc.in, k, got[k], v)
			}
		}
	}
	for _, tc := range []struct {
		name, arg string
		ok        bool
	}{
		{"", "", true}, {"always_on", "", true}, {"always_off", "", true},
		{"traceidratio", "0.25", true}, {"parentbased_traceidratio", "", true},
		{"parentbased_always_on", "ignored", true}, {"parentbased_always_off", "", true},
		{"traceidratio", "1.5", false}, {"traceidratio", "half", false},
		{"jaeger_remote", "", false}, {"xray", "", false}, {"sometimes", "", false},
	} {
		err := tracing.Sampler{Name: tc.name, Arg: tc.arg}.Check()
		if (err == nil) != tc.ok {
			t.Errorf("Sampler{%q, %q}.Check() = %v, want ok %v", tc.name, tc.arg, err, tc.ok)
		}
	}
	if _, err := tracing.New(context.Background(), tracing.Config{Endpoint: "ftp://x/", Sampler: tracing.Sampler{Name: "x"}}); err == nil ||
		!strings.Contains(err.Error(), "ftp") || !strings.Contains(err.Error(), "sampler") {
		t.Errorf("New with a bad endpoint and sampler: %v, want both reported", err)
	}
}

// TestStepSpans: Span makes a child of the request's span, failed with the
// error's type (never its text) when the step fails; outside a traced
// request it returns the context as it is.
func TestStepSpans(t *testing.T) {
	rcv := tracingtest.New(t)
	tr := newTracing(t, rcv, "always_on")
	if ctx := context.Background(); func() context.Context { c, end := tr.Span(ctx, "authorize"); end(nil); return c }() != ctx {
		t.Error("Span outside a traced request changed the context")
	}
	ts := serve(t, tr, func(w http.ResponseWriter, r *http.Request) {
		tr.Annotate(r.Context(), "GET", "resource", "req-2")
		_, end := tr.Span(r.Context(), "authenticate")
		end(errors.New("token of alice-secret refused"))
		_, end = tr.Span(r.Context(), "authorize")
		end(nil)
		w.WriteHeader(http.StatusUnauthorized)
	}, nil)
	req, _ := http.NewRequest("GET", ts.URL+"/doc", nil)
	send(t, req)
	flush(t, ts, tr)

	srv := one(t, rcv, "GET resource")
	authn, authz := one(t, rcv, "authenticate"), one(t, rcv, "authorize")
	for _, s := range []tracingtest.Span{authn, authz} {
		if s.ParentID() != srv.SpanID() || s.GetKind().String() != "SPAN_KIND_INTERNAL" {
			t.Errorf("%s: parent %s kind %s, want an internal child of the server span", s.GetName(), s.ParentID(), s.GetKind())
		}
	}
	if authn.GetStatus().GetCode().String() != "STATUS_CODE_ERROR" || authz.GetStatus().GetCode().String() == "STATUS_CODE_ERROR" {
		t.Errorf("statuses: authenticate %s, authorize %s", authn.GetStatus().GetCode(), authz.GetStatus().GetCode())
	}
	wantAttr(t, authn, "error.type", "*errors.errorString")
	if bytes.Contains(rcv.Raw(), []byte("alice-secret")) {
		t.Error("the error's text was exported")
	}
}
