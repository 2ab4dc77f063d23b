package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server/metrics"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// scrape GETs path from the metrics handler and returns status and body.
func scrape(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	ts := httptest.NewServer(h)
	defer ts.Close()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// sample finds the value of the series whose line starts with series
// (name and labels exactly as the text format writes them).
func sample(t *testing.T, body, series string) string {
	t.Helper()
	for line := range strings.SplitSeq(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return rest
		}
	}
	t.Errorf("no series %s in the scrape", series)
	return ""
}

func TestRequestsAndAuthFailures(t *testing.T) {
	m := metrics.New("v1.2.3-test")
	m.ObserveRequest("GET", "container", 200, 3*time.Millisecond)
	m.ObserveRequest("GET", "container", 200, 4*time.Millisecond)
	m.ObserveRequest("PUT", "resource", 412, time.Millisecond)
	m.ObserveAuthFailure("expired")

	status, body := scrape(t, m.Handler(), "GET", metrics.Path)
	if status != 200 {
		t.Fatalf("scrape: %d", status)
	}
	for series, want := range map[string]string{
		`kluis_http_requests_total{method="GET",route="container",status="200"}`:                "2",
		`kluis_http_requests_total{method="PUT",route="resource",status="412"}`:                 "1",
		`kluis_http_request_duration_seconds_count{method="GET",route="container"}`:             "2",
		`kluis_http_request_duration_seconds_bucket{method="GET",route="container",le="0.005"}`: "2",
		`kluis_auth_failures_total{reason="expired"}`:                                           "1",
	} {
		if got := sample(t, body, series); got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
	if !strings.Contains(body, `kluis_build_info{goversion="go`) || !strings.Contains(body, `version="v1.2.3-test"} 1`) {
		t.Error("no kluis_build_info with the version")
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "promhttp_metric_handler_requests_total"} {
		if !strings.Contains(body, "\n"+name) {
			t.Errorf("no %s in the scrape", name)
		}
	}
}

// TestHandlerServesOnlyMetrics: the metrics listener exposes nothing else.
func TestHandlerServesOnlyMetrics(t *testing.T) {
	h := metrics.New("dev").Handler()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/metrics", 200},
		{"HEAD", "/metrics", 200},
		{"GET", "/", 404},
		{"GET", "/.well-known/kluis/live", 404},
		{"GET", "/metrics/x", 404},
		{"POST", "/metrics", 405},
		{"PUT", "/x", 404},
	} {
		if got, _ := scrape(t, h, tc.method, tc.path); got != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}
}

// TestNoSharedState: two Metrics never share counters (no default
// registry).
func TestNoSharedState(t *testing.T) {
	a, b := metrics.New("a"), metrics.New("b")
	a.ObserveAuthFailure("proof")
	_, body := scrape(t, b.Handler(), "GET", metrics.Path)
	if strings.Contains(body, "kluis_auth_failures_total{") {
		t.Error("a failure counted in one Metrics shows in another")
	}
}

func TestStorage(t *testing.T) {
	m := metrics.New("dev")
	ctx := context.Background()
	store := m.Storage(memory.New(), "memory")

	if _, err := store.Put(ctx, "a/b", strings.NewReader("x"), storage.PutOptions{ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	// A lost race: one precondition failure.
	if _, err := store.Put(ctx, "a/b", strings.NewReader("y"), storage.PutOptions{IfNoneMatch: true}); !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Fatalf("Put If-None-Match: %v", err)
	}
	rc, _, err := store.Get(ctx, "a/b", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := store.Stat(ctx, "missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat: %v", err)
	}
	if _, err := store.Stat(ctx, "/bad"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Fatalf("Stat of a bad key: %v", err)
	}
	// Append passes through, timed; a backend that does not append is
	// not counted.
	info, err := store.Stat(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storage.Append(ctx, store, "a/b", []byte("z"), storage.AppendOptions{IfMatch: info.ETag}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if _, err := storage.Append(ctx, m.Storage(plain{memory.New()}, "plain"), "a/b", []byte("z"), storage.AppendOptions{IfMatch: "x"}); !errors.Is(err, storage.ErrAppendUnsupported) {
		t.Fatalf("Append through a backend that does not append: %v", err)
	}
	n := 0
	for _, err := range store.List(ctx, "a/") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("listed %d, want 1", n)
	}
	if err := store.Delete(ctx, "a/b", storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, "a/b", storage.DeleteOptions{}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}

	_, body := scrape(t, m.Handler(), "GET", metrics.Path)
	for series, want := range map[string]string{
		`kluis_storage_operation_duration_seconds_count{backend="memory",operation="put"}`:                   "2",
		`kluis_storage_operation_duration_seconds_count{backend="memory",operation="get"}`:                   "1",
		`kluis_storage_operation_duration_seconds_count{backend="memory",operation="stat"}`:                  "3",
		`kluis_storage_operation_duration_seconds_count{backend="memory",operation="append"}`:                "1",
		`kluis_storage_operation_duration_seconds_count{backend="memory",operation="list"}`:                  "1",
		`kluis_storage_operation_duration_seconds_count{backend="memory",operation="delete"}`:                "2",
		`kluis_storage_operation_errors_total{backend="memory",error="precondition_failed",operation="put"}`: "1",
		`kluis_storage_operation_errors_total{backend="memory",error="not_found",operation="stat"}`:          "1",
		`kluis_storage_operation_errors_total{backend="memory",error="invalid",operation="stat"}`:            "1",
		`kluis_storage_operation_errors_total{backend="memory",error="not_found",operation="delete"}`:        "1",
	} {
		if got := sample(t, body, series); got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
	if strings.Contains(body, `operation="get",error=`) || strings.Contains(body, `error="other"`) || strings.Contains(body, `backend="plain"`) {
		t.Errorf("unexpected errors counted:\n%s", body)
	}
}

// plain hides every method but those of storage.Backend.
type plain struct{ storage.Backend }

// checker is a backend that is also a storage.Checker.
type checker struct {
	storage.Backend
	err error
}

func (c checker) Check(context.Context) error { return c.err }

func TestStorageKeepsChecker(t *testing.T) {
	m := metrics.New("dev")
	if _, ok := m.Storage(plain{memory.New()}, "memory").(storage.Checker); ok {
		t.Error("the wrapper of a backend that is no Checker claims to be one")
	}
	wrapped, ok := m.Storage(checker{memory.New(), storage.ErrUnavailable}, "s3").(storage.Checker)
	if !ok {
		t.Fatal("the wrapper of a Checker is no Checker")
	}
	if err := wrapped.Check(context.Background()); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Check: %v", err)
	}
	_, body := scrape(t, m.Handler(), "GET", metrics.Path)
	if got := sample(t, body, `kluis_storage_operation_errors_total{backend="s3",error="unavailable",operation="check"}`); got != "1" {
		t.Errorf("check errors = %q, want 1", got)
	}
}
