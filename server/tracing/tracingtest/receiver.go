// Package tracingtest is a real OTLP/HTTP trace receiver for tests: an
// httptest server that decodes each export request (protobuf, gzip or
// not) and keeps it, so that tests can read the spans a Kluis process
// exported, and search the bytes it sent.
package tracingtest

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Path is where the receiver takes exports, as a collector does.
const Path = "/v1/traces"

// Receiver is an OTLP/HTTP trace receiver. It is safe for concurrent use.
type Receiver struct {
	// URL is the traces endpoint, for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
	// Base is the server's root, for OTEL_EXPORTER_OTLP_ENDPOINT.
	URL, Base string

	mu       sync.Mutex
	requests []Request
	bad      []string
}

// Request is one export request as received.
type Request struct {
	// Header is the request's header (the exporter's OTEL_*_HEADERS).
	Header http.Header
	// Body is the protobuf message, decompressed.
	Body []byte
	// Export is Body decoded.
	Export *coltracepb.ExportTraceServiceRequest
}

// New starts a receiver that stops when the test ends. Requests it cannot
// decode are answered 400 and fail the test at its end.
func New(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	r.Base, r.URL = srv.URL, srv.URL+Path
	t.Cleanup(func() {
		srv.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, b := range r.bad {
			t.Errorf("tracingtest: a bad export request: %s", b)
		}
	})
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != Path {
		r.fail(w, fmt.Sprintf("%s %s", req.Method, req.URL.Path))
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		r.fail(w, "Content-Type "+ct)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			r.fail(w, "gzip: "+err.Error())
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		r.fail(w, "reading: "+err.Error())
		return
	}
	export := new(coltracepb.ExportTraceServiceRequest)
	if err := proto.Unmarshal(data, export); err != nil {
		r.fail(w, "decoding: "+err.Error())
		return
	}
	r.mu.Lock()
	r.requests = append(r.requests, Request{Header: req.Header.Clone(), Body: data, Export: export})
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (r *Receiver) fail(w http.ResponseWriter, why string) {
	r.mu.Lock()
	r.bad = append(r.bad, why)
	r.mu.Unlock()
	http.Error(w, why, http.StatusBadRequest)
}

// Requests returns the export requests received so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Raw is every body received, one after the other: what left the
// process, to search for what must not have.
func (r *Receiver) Raw() []byte {
	var b bytes.Buffer
	for _, req := range r.Requests() {
		b.Write(req.Body)
	}
	return b.Bytes()
}

// Span is one received span with its resource's attributes.
type Span struct {
	*tracepb.Span
	Resource []*commonpb.KeyValue
}

// Spans returns every span received so far, in the order received.
func (r *Receiver) Spans() []Span {
	var out []Span
	for _, req := range r.Requests() {
		for _, rs := range req.Export.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, Span{Span: s, Resource: rs.GetResource().GetAttributes()})
				}
			}
		}
	}
	return out
}

// Named returns the spans called name.
func (r *Receiver) Named(name string) []Span {
	var out []Span
	for _, s := range r.Spans() {
		if s.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// TraceID, SpanID and ParentID are the span's ids in hex, as traceparent
// writes them ("" for no parent).
func (s Span) TraceID() string  { return hex.EncodeToString(s.GetTraceId()) }
func (s Span) SpanID() string   { return hex.EncodeToString(s.GetSpanId()) }
func (s Span) ParentID() string { return hex.EncodeToString(s.GetParentSpanId()) }

// Attr returns the span attribute key as text (strings as they are,
// numbers and booleans formatted) and whether the span has it.
func (s Span) Attr(key string) (string, bool) { return attr(s.GetAttributes(), key) }

// ResourceAttr is Attr for the span's resource.
func (s Span) ResourceAttr(key string) (string, bool) { return attr(s.Resource, key) }

// Keys lists the keys of the span's attributes.
func (s Span) Keys() []string {
	var keys []string
	for _, kv := range s.GetAttributes() {
		keys = append(keys, kv.GetKey())
	}
	return keys
}

func attr(kvs []*commonpb.KeyValue, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.GetKey() != key {
			continue
		}
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue, true
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(v.IntValue, 10), true
		case *commonpb.AnyValue_BoolValue:
			return strconv.FormatBool(v.BoolValue), true
		case *commonpb.AnyValue_DoubleValue:
			return strconv.FormatFloat(v.DoubleValue, 'g', -1, 64), true
		}
		return kv.GetValue().String(), true
	}
	return "", false
}
