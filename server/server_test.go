package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// do sends one request and returns the response with its whole body.
func do(t *testing.T, ts *testServer, method, path string, body io.Reader, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return res, string(data)
}

func TestRequestID(t *testing.T) {
	generatedID := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	tests := []struct {
		name     string
		incoming string // "" sends none
		wantEcho bool
	}{
		{"none", "", false},
		{"well formed", "abc-123_XYZ", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"65 characters", strings.Repeat("a", 65), false},
		{"space", "abc 123", false},
		{"slash", "abc/123", false},
		{"dot", "abc.123", false},
		{"non-ASCII", "abcé", false},
	}
	ts := newTestServer(t, memory.New(), nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{}
			if tc.incoming != "" {
				headers[server.HeaderRequestID] = tc.incoming
			}
			res, _ := do(t, ts, "GET", "/nope", nil, headers)
			got := res.Header.Get(server.HeaderRequestID)
			if tc.wantEcho {
				if got != tc.incoming {
					t.Errorf("request id = %q, want %q echoed", got, tc.incoming)
				}
			} else if got == tc.incoming || !generatedID.MatchString(got) {
				t.Errorf("request id = %q, want a new well-formed one", got)
			}
			if !strings.Contains(ts.logs.String(), "request_id="+got) {
				t.Errorf("the log does not carry request_id=%s:\n%s", got, ts.logs)
			}
		})
	}
	t.Run("unique", func(t *testing.T) {
		a, _ := do(t, ts, "GET", "/nope", nil, nil)
		b, _ := do(t, ts, "GET", "/nope", nil, nil)
		if a.Header.Get(server.HeaderRequestID) == b.Header.Get(server.HeaderRequestID) {
			t.Error("two requests got the same id")
		}
	})
}

func TestPanicBecomes500(t *testing.T) {
	store := memory.New()
	ts := newTestServer(t, panicBackend{store}, nil)
	for _, tc := range []struct {
		method string
		body   io.Reader
	}{
		{"GET", nil},
		{"PUT", strings.NewReader("x")},
	} {
		t.Run(tc.method, func(t *testing.T) {
			res, body := do(t, ts, tc.method, "/x", tc.body,
				map[string]string{"Content-Type": "text/plain", server.HeaderRequestID: "panic-" + tc.method})
			if res.StatusCode != 500 {
				t.Errorf("status = %d, want 500", res.StatusCode)
			}
			if body != "Internal Server Error\n" {
				t.Errorf("body = %q, want the generic one", body)
			}
			logs := ts.logs.String()
			for _, want := range []string{"request_id=panic-" + tc.method, "backend exploded", "stack=", "goroutine"} {
				if !strings.Contains(logs, want) {
					t.Errorf("the log lacks %q:\n%s", want, logs)
				}
			}
		})
	}
	if res, _ := do(t, ts, "GET", "/.well-known/kluis/live", nil, nil); res.StatusCode != 200 {
		t.Errorf("after the panics, liveness = %d, want 200", res.StatusCode)
	}
}

func TestBackendErrors(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
	}{
		{storage.ErrNotFound, 404},
		{storage.ErrPreconditionFailed, 412},
		{storage.ErrInvalidKey, 400},
		{storage.ErrInvalidMetadata, 400},
		{storage.ErrInvalidRange, 416},
		{storage.ErrConflict, 409},
		{storage.ErrUnavailable, 503},
		{fmt.Errorf("backend: put x: %w", storage.ErrConflict), 409},
		{errors.New("secret internal detail"), 500},
		{context.DeadlineExceeded, 500},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			ts := newTestServer(t, errBackend{tc.err}, nil)
			for _, method := range []string{"GET", "HEAD", "PUT", "DELETE"} {
				id := "errors-" + method
				res, body := do(t, ts, method, "/x", strings.NewReader("x"),
					map[string]string{"Content-Type": "text/plain", server.HeaderRequestID: id})
				if res.StatusCode != tc.wantStatus {
					t.Errorf("%s: status = %d, want %d", method, res.StatusCode, tc.wantStatus)
				}
				if method == "HEAD" {
					continue
				}
				if strings.Contains(body, "secret internal detail") {
					t.Errorf("%s: the body leaks the error: %q", method, body)
				}
				if tc.wantStatus >= 500 {
					if want := http.StatusText(tc.wantStatus) + "\n"; body != want {
						t.Errorf("%s: body = %q, want %q", method, body, want)
					}
					if logs := ts.logs.String(); !strings.Contains(logs, "request_id="+id) ||
						!strings.Contains(logs, tc.err.Error()) {
						t.Errorf("%s: the error is not logged with its request id:\n%s", method, logs)
					}
				}
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name       string
		size       int
		chunked    bool
		wantStatus int
	}{
		{"declared length over", limit + 1, false, 413},
		{"declared length far over", 10 * limit, false, 413},
		{"chunked over", 2 * limit, true, 413},
		{"at the limit", limit, false, 201},
		{"chunked at the limit", limit, true, 201},
	}
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					store := b.open(t)
					ts := newTestServer(t, store, func(c *server.Config) { c.MaxBodyBytes = limit })
					var body io.Reader = strings.NewReader(strings.Repeat("x", tc.size))
					if tc.chunked {
						body = io.MultiReader(body) // hides the length
					}
					res, _ := do(t, ts, "PUT", "/obj", body, map[string]string{"Content-Type": "text/plain"})
					if res.StatusCode != tc.wantStatus {
						t.Errorf("status = %d, want %d", res.StatusCode, tc.wantStatus)
					}
					_, err := store.Stat(context.Background(), "r/obj")
					if stored := err == nil; stored != (tc.wantStatus == 201) {
						t.Errorf("stored = %v (err %v), want %v", stored, err, tc.wantStatus == 201)
					}
				})
			}
		})
	}
}

// blockingChecker's Check waits for its context to end.
type blockingChecker struct {
	storage.Backend
}

func (blockingChecker) Check(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name       string
		store      storage.Backend
		path       string
		wantStatus int
		wantBody   string
	}{
		{"live", memory.New(), "/.well-known/kluis/live", 200, "ok\n"},
		{"live with a dead backend", errBackend{storage.ErrUnavailable}, "/.well-known/kluis/live", 200, "ok\n"},
		{"ready, checker", memory.New(), "/.well-known/kluis/ready", 200, "ready\n"},
		{"ready, checker fails", checkerBackend{memory.New(), storage.ErrUnavailable}, "/.well-known/kluis/ready", 503, "not ready\n"},
		{"ready, checker times out", blockingChecker{memory.New()}, "/.well-known/kluis/ready", 503, "not ready\n"},
		{"ready, stat not found", plainBackend{memory.New()}, "/.well-known/kluis/ready", 200, "ready\n"},
		{"ready, stat fails", errBackend{storage.ErrUnavailable}, "/.well-known/kluis/ready", 503, "not ready\n"},
		{"ready, stat errs otherwise", errBackend{errors.New("boom")}, "/.well-known/kluis/ready", 503, "not ready\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, tc.store, func(c *server.Config) { c.ReadinessTimeout = 50 * time.Millisecond })
			for _, method := range []string{"GET", "HEAD"} {
				res, body := do(t, ts, method, tc.path, nil, nil)
				if res.StatusCode != tc.wantStatus {
					t.Errorf("%s: status = %d, want %d", method, res.StatusCode, tc.wantStatus)
				}
				want := tc.wantBody
				if method == "HEAD" {
					want = ""
				}
				if body != want {
					t.Errorf("%s: body = %q, want %q", method, body, want)
				}
				if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("%s: Cache-Control = %q, want no-store", method, cc)
				}
			}
		})
	}
}

func TestRequestLogKeepsSecretsOut(t *testing.T) {
	secrets := map[string]string{
		"Authorization": "DPoP secret-access-token",
		"DPoP":          "secret-dpop-proof",
		"Cookie":        "session=secret-cookie",
	}
	for _, store := range []storage.Backend{memory.New(), errBackend{errors.New("boom")}} {
		ts := newTestServer(t, store, nil)
		for _, method := range []string{"GET", "PUT"} {
			headers := map[string]string{"Content-Type": "text/plain", server.HeaderRequestID: "log-test"}
			for k, v := range secrets {
				headers[k] = v
			}
			do(t, ts, method, "/doc.txt?access_token=secret-query-token&code=secret-code",
				strings.NewReader("body"), headers)
		}
		logs := ts.logs.String()
		for _, s := range []string{"secret-access-token", "secret-dpop-proof", "secret-cookie",
			"secret-query-token", "secret-code", "access_token"} {
			if strings.Contains(logs, s) {
				t.Errorf("the log holds %q:\n%s", s, logs)
			}
		}
		for _, want := range []string{"request_id=log-test", "method=PUT", "path=/doc.txt", "status=", "bytes=", "duration="} {
			if !strings.Contains(logs, want) {
				t.Errorf("the log lacks %q:\n%s", want, logs)
			}
		}
	}
}

// TestStreamFailureCutsResponse checks that a body that fails half-way is
// not passed off as a whole one.
func TestStreamFailureCutsResponse(t *testing.T) {
	store := memory.New()
	data := strings.Repeat("z", 64<<10)
	if _, err := store.Put(context.Background(), "r/f", strings.NewReader(data), storage.PutOptions{ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, brokenBackend{store}, nil)
	res, err := ts.Client().Get(ts.URL + "/f")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err == nil {
		t.Errorf("read %d of %d bytes without an error", len(got), len(data))
	}
	logs := ts.logs.String()
	for _, want := range []string{"response cut off", "disk on fire", "aborted=true"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}
