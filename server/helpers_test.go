package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/storage/s3/s3test"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/webidtest"
)

// selfServed is what a test server needs that must know its own URL
// before it is built (its WebIDs, issuer and DPoP targets live there): a
// folder store, a fetcher allowed on loopback, and a listening httptest
// server that serves what serve is given.
type selfServed struct {
	ts    *httptest.Server
	base  *url.URL
	store *filesystem.Backend
	fetch *fetch.Client
	h     http.Handler
}

func newSelfServed(t *testing.T) *selfServed {
	t.Helper()
	store, err := filesystem.New(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f, err := fetch.New(fetch.Config{Allow: webidtest.Loopback()})
	if err != nil {
		t.Fatal(err)
	}
	s := &selfServed{store: store, fetch: f}
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }))
	t.Cleanup(s.ts.Close)
	s.base, _ = url.Parse(s.ts.URL + "/")
	return s
}

// serve serves srv, set before any request is sent; the work its requests
// left running (usage counts, the access log) ends before the storage goes.
func (s *selfServed) serve(t *testing.T, srv *server.Server) {
	t.Cleanup(func() { _ = srv.Drain(context.Background()) })
	s.h = srv.Handler()
}

// testBaseURL is the public base URL of every test server.
const testBaseURL = "http://pod.example/"

// testServer is a real router on httptest, with its log captured.
type testServer struct {
	*httptest.Server
	logs *syncBuffer
	srv  *server.Server
}

// newTestServer starts the server over store with a 1 MiB body limit;
// mutate changes only what a test needs.
func newTestServer(t *testing.T, store storage.Backend, mutate func(*server.Config)) *testServer {
	t.Helper()
	base, err := url.Parse(testBaseURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{BaseURL: base, MaxBodyBytes: 1 << 20, Permissions: server.OpenPermissions{}}
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(context.Background(), cfg, store, logger)
	if err != nil {
		t.Fatal(err)
	}
	// The access log's entries are written before the storage goes.
	t.Cleanup(func() { _ = srv.Drain(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, logs: logs, srv: srv}
}

// backend is a way to make a fresh, empty storage.Backend.
type backend struct {
	name string
	open func(t *testing.T) storage.Backend
}

// backends are the backends that every resource test runs against: memory,
// filesystem, and the MinIO of bash .ci/test when KLUIS_S3_ENDPOINT is set
// (CI sets it; the storage/s3 tests fail in CI without it).
func backends() []backend {
	bs := []backend{
		{"memory", func(*testing.T) storage.Backend { return memory.New() }},
		{"filesystem", func(t *testing.T) storage.Backend {
			b, err := filesystem.New(filepath.Join(t.TempDir(), "data"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		}},
	}
	if s3test.Configured() {
		bs = append(bs, backend{"minio", openS3})
	}
	return bs
}

// openS3 opens the MinIO of bash .ci/test under a fresh key prefix; what a
// test leaves there goes with MinIO's throw-away folder.
func openS3(t *testing.T) storage.Backend { return s3test.Open(t) }

// clearStore deletes every object in store, so that one backend can serve
// many independent cases (opening a filesystem backend is slow), and fails
// the test if anything is left.
func clearStore(t *testing.T, store storage.Backend) {
	t.Helper()
	ctx := context.Background()
	var clear func(prefix string)
	clear = func(prefix string) {
		for info, err := range store.List(ctx, prefix) {
			if err != nil {
				t.Fatalf("clearing: list %q: %v", prefix, err)
			}
			if info.IsPrefix {
				clear(info.Key)
			}
			if err := store.Delete(ctx, info.Key, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("clearing: delete %q: %v", info.Key, err)
			}
		}
	}
	clear("")
	for info := range store.List(ctx, "") {
		t.Fatalf("clearing left %q behind", info.Key)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the
// test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// errBackend fails every call with err.
type errBackend struct {
	err error
}

func (b errBackend) Get(context.Context, string, storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	return nil, storage.Info{}, b.err
}

func (b errBackend) Stat(context.Context, string) (storage.Info, error) {
	return storage.Info{}, b.err
}

func (b errBackend) Put(_ context.Context, key string, r io.Reader, _ storage.PutOptions) (storage.Info, error) {
	io.Copy(io.Discard, r)
	if key == rootMarker {
		return storage.Info{}, nil // let the server start
	}
	return storage.Info{}, b.err
}

// rootMarker is the key of the root container, which the server makes at
// start.
const rootMarker = "r/"

func (b errBackend) Delete(context.Context, string, storage.DeleteOptions) error {
	return b.err
}

func (b errBackend) List(context.Context, string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		yield(storage.Info{}, b.err)
	}
}

// panicBackend panics on Get and Put.
type panicBackend struct {
	storage.Backend
}

func (panicBackend) Get(context.Context, string, storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	panic("backend exploded")
}

func (b panicBackend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	if key == rootMarker {
		return b.Backend.Put(ctx, key, r, o)
	}
	panic(errors.New("backend exploded"))
}

// checkerBackend answers Check with err.
type checkerBackend struct {
	storage.Backend
	err error
}

func (b checkerBackend) Check(context.Context) error { return b.err }

// plainBackend hides every method but those of storage.Backend, such as
// Check.
type plainBackend struct {
	storage.Backend
}

// brokenBackend's Get returns the object's first half, then fails.
type brokenBackend struct {
	storage.Backend
}

func (b brokenBackend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	r, info, err := b.Backend.Get(ctx, key, o)
	if err != nil {
		return nil, info, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(r, info.Size/2), errReader{}), r}, info, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// dpopChallenge is the DPoP challenge among a 401's WWW-Authenticate
// values: the UMA challenge of access grants comes first (grants.go).
func dpopChallenge(h http.Header) string {
	for _, v := range h.Values("WWW-Authenticate") {
		if strings.HasPrefix(v, "DPoP") {
			return v
		}
	}
	return ""
}
