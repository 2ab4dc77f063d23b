package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/weconomics/kluis/server/tracing"
	"github.com/weconomics/kluis/server/tracing/tracingtest"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/webid/webidtest"
)

// stop shuts run down gracefully and fails the test unless it returned
// nil: afterwards every span it made has been exported.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := r.wait(t); err != nil {
		t.Fatalf("run: %v; log:\n%s", err, r.stderr)
	}
}

// send sends req on a fresh connection and returns the response, its
// body read.
func send(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	req.Close = true
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// tracingEnv turns tracing on towards rcv, with a collector credential.
func tracingEnv(rcv *tracingtest.Receiver, more map[string]string) map[string]string {
	vars := map[string]string{
		"KLUIS_TRACING":               "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.Base,
		"OTEL_EXPORTER_OTLP_HEADERS":  "authorization=Bearer%20collector-s3cret",
		"OTEL_SERVICE_NAME":           "kluis-under-test",
	}
	for k, v := range more {
		vars[k] = v
	}
	return vars
}

// spanWithRequestID finds the server span of the request whose response
// carried id.
func spanWithRequestID(t *testing.T, rcv *tracingtest.Receiver, id string) tracingtest.Span {
	t.Helper()
	for _, s := range rcv.Spans() {
		if v, _ := s.Attr("kluis.request_id"); v == id {
			return s
		}
	}
	t.Fatalf("no span with request id %s among %d", id, len(rcv.Spans()))
	return tracingtest.Span{}
}

// children are the spans whose parent is s.
func children(rcv *tracingtest.Receiver, s tracingtest.Span) []tracingtest.Span {
	var out []tracingtest.Span
	for _, c := range rcv.Spans() {
		if c.TraceID() == s.TraceID() && c.ParentID() == s.SpanID() {
			out = append(out, c)
		}
	}
	return out
}

// descendants are the spans below s, at any depth.
func descendants(rcv *tracingtest.Receiver, s tracingtest.Span) []tracingtest.Span {
	var out []tracingtest.Span
	for _, c := range children(rcv, s) {
		out = append(out, c)
		out = append(out, descendants(rcv, c)...)
	}
	return out
}

func attrOf(s tracingtest.Span, key string) string {
	v, _ := s.Attr(key)
	return v
}

// TestRunTracing: with KLUIS_TRACING=otlp, requests through the real
// binary's router are exported to a real OTLP/HTTP receiver on graceful
// shutdown: a server span per request, named by route class, with status
// and request id (also in the log line, with the trace id), storage and
// outbound fetch spans as its children; no credential, cookie, query or
// path is among the exported bytes, and the collector's credential goes
// to the collector only, never to the log.
func TestRunTracing(t *testing.T) {
	rcv := tracingtest.New(t)
	issuer := webidtest.NewIssuer(t)
	profile := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	client := webidtest.NewClient(t, "ES256")
	r := startRunEnv(t, tracingEnv(rcv, nil), "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-pod-mode", "none")

	put, _ := http.NewRequest("PUT", r.url+"notes/a.txt", strings.NewReader("hello"))
	put.Header.Set("Content-Type", "text/plain")
	putID := send(t, put).Header.Get("X-Request-Id")

	list, _ := http.NewRequest("GET", r.url+"notes/?access_token=query-s3cret", nil)
	list.Header.Set("Cookie", "css-account=cookie-s3cret")
	res := send(t, list)
	if res.StatusCode != 200 {
		t.Fatalf("GET notes/: %d", res.StatusCode)
	}
	listID := res.Header.Get("X-Request-Id")

	// An authenticated GET: the WebID profile and the issuer are fetched.
	target := r.url + "notes/a.txt"
	token := issuer.Token(webidtest.TokenOptions{WebID: profile.WebID, ClientID: "https://app.example/id",
		JKT: client.Thumbprint(), Expiry: time.Now().Add(time.Hour)})
	proof := client.Proof("GET", target, token)
	authed, _ := http.NewRequest("GET", target, nil)
	authed.Header.Set("Authorization", "DPoP "+token)
	authed.Header.Set("DPoP", proof)
	res = send(t, authed)
	if res.StatusCode != 200 {
		t.Fatalf("authenticated GET: %d; log:\n%s", res.StatusCode, r.stderr)
	}
	authedID := res.Header.Get("X-Request-Id")

	send(t, must(http.NewRequest("GET", r.url+".well-known/kluis/live", nil)))
	r.stop(t)

	// The server spans: named by route class, status, request id.
	for _, tc := range []struct {
		id, name, status string
		children         []string
	}{
		{putID, "PUT resource", "201", []string{"storage put"}},
		{listID, "GET container", "200", []string{"storage list"}},
		// The WebID and issuer fetches happen while authenticating.
		{authedID, "GET resource", "200", []string{"authenticate", "authorize", "storage get", "fetch GET"}},
	} {
		s := spanWithRequestID(t, rcv, tc.id)
		if s.GetName() != tc.name || attrOf(s, "http.response.status_code") != tc.status ||
			s.GetKind().String() != "SPAN_KIND_SERVER" || s.ParentID() != "" {
			t.Errorf("request %s: span %q (%s), status %q, parent %q; want a root %q with %s",
				tc.id, s.GetName(), s.GetKind(), attrOf(s, "http.response.status_code"), s.ParentID(), tc.name, tc.status)
		}
		if v, _ := s.ResourceAttr("service.name"); v != "kluis-under-test" {
			t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", v)
		}
		if v, _ := s.ResourceAttr("service.version"); v != version {
			t.Errorf("service.version %q, want %q", v, version)
		}
		kids := descendants(rcv, s)
		for _, want := range tc.children {
			found := false
			for _, c := range kids {
				if c.GetName() == want {
					found = true
					if strings.HasPrefix(want, "storage") && attrOf(c, "kluis.storage.backend") != "fs" {
						t.Errorf("%s: backend %q, want fs", want, attrOf(c, "kluis.storage.backend"))
					}
					if strings.HasPrefix(want, "fetch") && attrOf(c, "server.address") != "127.0.0.1" {
						t.Errorf("%s: server.address %q", want, attrOf(c, "server.address"))
					}
				}
			}
			if !found {
				var names []string
				for _, c := range kids {
					names = append(names, c.GetName())
				}
				t.Errorf("%s: no child span %q among %q", tc.name, want, names)
			}
		}
		if !strings.Contains(r.stderr.String(), "request_id="+tc.id+" ") ||
			!strings.Contains(r.stderr.String(), "trace_id="+s.TraceID()) {
			t.Errorf("no log line of request %s with trace id %s", tc.id, s.TraceID())
		}
	}
	// The fetches are the authentication's own.
	for _, c := range children(rcv, spanWithRequestID(t, rcv, authedID)) {
		if c.GetName() != "authenticate" {
			continue
		}
		fetches := 0
		for _, f := range children(rcv, c) {
			if f.GetName() == "fetch GET" {
				fetches++
			}
		}
		if fetches == 0 {
			t.Error("no fetch span under the authenticate span")
		}
	}
	for _, s := range rcv.Spans() {
		if strings.Contains(s.GetName(), "health") {
			t.Errorf("a probe was traced: %s", s.GetName())
		}
	}

	raw := rcv.Raw()
	for _, secret := range []string{token, proof, "cookie-s3cret", "query-s3cret", "collector-s3cret",
		"notes", "a.txt", "profile/card", profile.WebID} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("exported: %.40s...", secret)
		}
	}
	if len(rcv.Requests()) == 0 {
		t.Fatal("nothing exported")
	}
	for _, req := range rcv.Requests() {
		if got := req.Header.Get("Authorization"); got != "Bearer collector-s3cret" {
			t.Errorf("an export carried Authorization %q, want OTEL_EXPORTER_OTLP_HEADERS's", got)
		}
	}
	if strings.Contains(r.stderr.String(), "collector-s3cret") || strings.Contains(r.stdout.String(), "collector-s3cret") {
		t.Error("the collector's credential shows in the output")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRunTracingTrust: an incoming traceparent is continued when the TCP
// peer is among KLUIS_TRUSTED_PROXIES, and otherwise starts a new trace
// that only links to it.
func TestRunTracingTrust(t *testing.T) {
	const (
		remoteTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		remoteSpan  = "00f067aa0ba902b7"
	)
	for _, trusted := range []bool{false, true} {
		rcv := tracingtest.New(t)
		vars := map[string]string{}
		if trusted {
			vars["KLUIS_TRUSTED_PROXIES"] = "127.0.0.0/8, ::1"
		}
		r := startRunEnv(t, tracingEnv(rcv, vars), "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-pod-mode", "none")
		req, _ := http.NewRequest("GET", r.url, nil)
		req.Header.Set("Traceparent", "00-"+remoteTrace+"-"+remoteSpan+"-01")
		id := send(t, req).Header.Get("X-Request-Id")
		r.stop(t)

		s := spanWithRequestID(t, rcv, id)
		continued := s.TraceID() == remoteTrace && s.ParentID() == remoteSpan
		if continued != trusted {
			t.Errorf("trusted proxy %v: trace %s, parent %q: continued %v", trusted, s.TraceID(), s.ParentID(), continued)
		}
		if !trusted && (s.ParentID() != "" || len(s.GetLinks()) != 1) {
			t.Errorf("untrusted: parent %q, %d links; want a new root with a link", s.ParentID(), len(s.GetLinks()))
		}
	}
}

// TestRunTracingOff: without KLUIS_TRACING nothing is exported, even with
// the OpenTelemetry variables set, and the log says why.
func TestRunTracingOff(t *testing.T) {
	rcv := tracingtest.New(t)
	vars := tracingEnv(rcv, nil)
	delete(vars, "KLUIS_TRACING")
	r := startRunEnv(t, vars, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-pod-mode", "none")
	req, _ := http.NewRequest("GET", r.url, nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	send(t, req)
	r.stop(t)
	if n := len(rcv.Requests()); n != 0 {
		t.Errorf("tracing off: %d export requests", n)
	}
	if !strings.Contains(r.stderr.String(), "tracing is off although $OTEL_EXPORTER_OTLP_ENDPOINT is set") {
		t.Errorf("the log does not say tracing is off:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr.String(), "trace_id=") {
		t.Error("a log line carries a trace id with tracing off")
	}
}

// TestTracingOffBuildsNothing: with tracing off no exporter is made and
// nothing is put on the request path: the server gets no Tracer, the
// fetcher no transport wrapper, the backend is the one given.
func TestTracingOffBuildsNothing(t *testing.T) {
	cfg, err := loadConfig(nil, env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("http://localhost:3000/")
	h, err := newHosting(context.Background(), cfg, base, slog.New(slog.DiscardHandler), memory.New())
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	b := memory.New()
	if h.tracing != nil || h.tracer() != nil || h.fetchTransport() != nil || h.store(b, "memory") != b {
		t.Errorf("tracing off: tracing %v, tracer %v, transport set %v, store wrapped %v",
			h.tracing, h.tracer(), h.fetchTransport() != nil, h.store(b, "memory") != b)
	}
}

// TestTracingSettings is the table of the tracing settings that Validate
// accepts and refuses.
func TestTracingSettings(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c TracingConfig)
		// wantErr are texts the one error must hold; none means valid.
		wantErr []string
	}{
		{name: "off by default", check: func(t *testing.T, c TracingConfig) {
			if c.Mode != "off" || c.Endpoint != tracing.DefaultEndpoint {
				t.Errorf("mode %q endpoint %q", c.Mode, c.Endpoint)
			}
		}},
		{name: "off ignores the OpenTelemetry variables",
			env: map[string]string{"OTEL_TRACES_SAMPLER": "sometimes", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
		{name: "otlp with the defaults", env: map[string]string{"KLUIS_TRACING": "otlp"}},
		{name: "the traces endpoint wins over the base endpoint",
			env: map[string]string{"KLUIS_TRACING": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318",
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://tempo.example/otlp/v1/traces",
				"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/protobuf",
				"OTEL_TRACES_SAMPLER":                "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
			check: func(t *testing.T, c TracingConfig) {
				if c.Endpoint != "https://tempo.example/otlp/v1/traces" || c.EndpointVar != "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" {
					t.Errorf("endpoint %q from %q", c.Endpoint, c.EndpointVar)
				}
			}},
		{name: "the base endpoint gets /v1/traces",
			env: map[string]string{"KLUIS_TRACING": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318/"},
			check: func(t *testing.T, c TracingConfig) {
				if c.Endpoint != "http://otel:4318/v1/traces" {
					t.Errorf("endpoint %q", c.Endpoint)
				}
			}},
		{name: "unknown mode", env: map[string]string{"KLUIS_TRACING": "jaeger"},
			wantErr: []string{`-tracing ($KLUIS_TRACING): "jaeger" is not off or otlp`}},
		{name: "every problem at once, no header value shown",
			env: map[string]string{"KLUIS_TRACING": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318",
				"OTEL_EXPORTER_OTLP_HEADERS": "authorization", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "api-key=%zzs3cr3t",
				"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2",
				"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
			wantErr: []string{"$OTEL_EXPORTER_OTLP_ENDPOINT", "$OTEL_EXPORTER_OTLP_TRACES_HEADERS: header 1",
				"$OTEL_TRACES_SAMPLER", "probability", `$OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc"`}},
		{name: "credentials in the endpoint", env: map[string]string{"KLUIS_TRACING": "otlp",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://user:pa55@tempo.example/v1/traces"},
			wantErr: []string{"$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"}},
		{name: "unknown sampler", env: map[string]string{"KLUIS_TRACING": "otlp", "OTEL_TRACES_SAMPLER": "jaeger_remote"},
			wantErr: []string{"$OTEL_TRACES_SAMPLER", `"jaeger_remote"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(nil, env(tc.env))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tc.check != nil {
					tc.check(t, c.Tracing)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "pa55") {
				t.Errorf("the error shows a header value:\n%v", err)
			}
		})
	}
}

// TestTracingConfigNeverShowsHeaders: the exporter's headers never show
// in the settings' log line or text.
func TestTracingConfigNeverShowsHeaders(t *testing.T) {
	c, err := loadConfig(nil, env(map[string]string{"KLUIS_TRACING": "otlp",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://tempo.example/v1/traces",
		"OTEL_EXPORTER_OTLP_HEADERS":         "authorization=Basic%20s3cr3t"}))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", c)
	for name, out := range map[string]string{"log": text.String(), "String": c.String(), "%+v": fmt.Sprintf("%+v", c.Tracing)} {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("%s shows a secret: %s", name, out)
		}
	}
	if !strings.Contains(c.String(), `tracing.headers="[redacted]"`) || !strings.Contains(c.String(), `tracing.mode="otlp"`) {
		t.Errorf("String() = %s, want the tracing settings with the headers redacted", c.String())
	}
}

// TestRunTracingWebSocket: a notification WebSocket works through the
// traced handler (otelhttp's response writer keeps http.Hijacker), and a
// write still notifies its subscriber.
func TestRunTracingWebSocket(t *testing.T) {
	rcv := tracingtest.New(t)
	r := startRunEnv(t, tracingEnv(rcv, nil), "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-pod-mode", "none")
	put := func(body string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", r.url+"doc", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/turtle")
		if res := send(t, req); res.StatusCode/100 != 2 {
			t.Fatalf("PUT: %d", res.StatusCode)
		}
	}
	put(`<#it> <http://example.org/ns#n> 1.`)
	sub := `{"@context": ["https://www.w3.org/ns/solid/notification/v1"], "type": "WebSocketChannel2023", "topic": "` + r.url + `doc"}`
	res, err := http.Post(r.url+".notifications/WebSocketChannel2023/", "application/ld+json", strings.NewReader(sub))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var ch struct{ ReceiveFrom string }
	if res.StatusCode != 200 || json.Unmarshal(body, &ch) != nil {
		t.Fatalf("subscribing: %d %s", res.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, ch.ReceiveFrom, nil)
	if err != nil {
		t.Fatalf("WebSocket through the traced handler: %v", err)
	}
	put(`<#it> <http://example.org/ns#n> 2.`)
	if _, msg, err := conn.Read(ctx); err != nil || !strings.Contains(string(msg), `"Update"`) {
		t.Fatalf("notification: %s, %v", msg, err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	r.stop(t)
	if len(rcv.Named("PUT resource")) != 2 {
		t.Errorf("%d PUT spans, want 2", len(rcv.Named("PUT resource")))
	}
}
