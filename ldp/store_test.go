package ldp_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// clockBackend stamps every object with the time of a clock the test
// moves, so that tests about Last-Modified need no sleeping.
type clockBackend struct {
	storage.Backend
	mu    sync.Mutex
	now   time.Time
	times map[string]time.Time
}

func newClockBackend() *clockBackend {
	return &clockBackend{Backend: memory.New(), now: time.Date(2024, 5, 12, 10, 0, 0, 0, time.UTC), times: map[string]time.Time{}}
}

// tick moves the clock on by d.
func (b *clockBackend) tick(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = b.now.Add(d)
}

func (b *clockBackend) stamp(info storage.Info) storage.Info {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.times[info.Key]; ok && !info.IsPrefix {
		info.Modified = t
	}
	return info
}

func (b *clockBackend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	info, err := b.Backend.Put(ctx, key, r, o)
	if err != nil {
		return info, err
	}
	b.mu.Lock()
	b.times[key] = b.now
	b.mu.Unlock()
	return b.stamp(info), nil
}

func (b *clockBackend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	r, info, err := b.Backend.Get(ctx, key, o)
	return r, b.stamp(info), err
}

func (b *clockBackend) Stat(ctx context.Context, key string) (storage.Info, error) {
	info, err := b.Backend.Stat(ctx, key)
	return b.stamp(info), err
}

func (b *clockBackend) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		for info, err := range b.Backend.List(ctx, prefix) {
			if !yield(b.stamp(info), err) {
				return
			}
		}
	}
}

func newStore(t *testing.T, b storage.Backend) *ldp.Store {
	t.Helper()
	s, err := ldp.New(context.Background(), b, ldp.Config{BaseURL: "http://pod.example/"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, s *ldp.Store, p ldp.Path, req ldp.GetRequest) (*ldp.Representation, error) {
	t.Helper()
	rep, err := s.Get(context.Background(), p, req)
	if err == nil {
		t.Cleanup(func() { rep.Close() })
	}
	return rep, err
}

// TestContainerTimeNeverGoesBack checks that deleting a container's newest
// child moves the container's Last-Modified on rather than back (Solid
// Protocol §4.2: Last-Modified follows changes to the containment
// triples), so that If-Modified-Since never hides the deletion.
func TestContainerTimeNeverGoesBack(t *testing.T) {
	ctx := context.Background()
	b := newClockBackend()
	s := newStore(t, b)
	write := func(p ldp.Path, body string) {
		t.Helper()
		if _, err := s.Put(ctx, p, ldp.WriteRequest{Body: strings.NewReader(body), ContentType: "text/turtle"}); err != nil {
			t.Fatal(err)
		}
	}
	write("/c/", "<> <http://example.org/title> \"C\".")
	b.tick(time.Minute)
	write("/c/a", "")
	rep, err := get(t, s, "/c/", ldp.GetRequest{})
	if err != nil {
		t.Fatal(err)
	}
	seen := rep.Modified
	b.tick(time.Minute)
	if err := s.Delete(ctx, "/c/a", ldp.Conditions{}); err != nil {
		t.Fatal(err)
	}
	rep, err = get(t, s, "/c/", ldp.GetRequest{Conditions: ldp.Conditions{IfModifiedSince: seen}})
	if err != nil {
		t.Fatalf("GET with If-Modified-Since after the newest child went: %v, want the container", err)
	}
	if !rep.Modified.After(seen) {
		t.Errorf("Modified %v after the deletion, was %v", rep.Modified, seen)
	}
	body, err := io.ReadAll(rep.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"C"`) {
		t.Errorf("the container's own triples were lost:\n%s", body)
	}
}

// TestNotModifiedCarriesValidators checks that a 304 knows the ETag and
// time to send (RFC 9110 §15.4.5).
func TestNotModifiedCarriesValidators(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newClockBackend())
	if _, err := s.Put(ctx, "/doc", ldp.WriteRequest{Body: strings.NewReader("x"), ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "/rdf", ldp.WriteRequest{Body: strings.NewReader("<a> <b> <c>."), ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path   ldp.Path
		accept string
		kind   ldp.Kind
	}{
		{"/doc", "", ldp.NonRDF},
		{"/rdf", "", ldp.RDFSource},
		{"/rdf", "application/ld+json", ldp.RDFSource},
		{"/", "", ldp.Container},
		{"/rdf.meta", "", ldp.RDFSource},
		{"/.well-known/solid", "", ldp.RDFSource},
	} {
		rep, err := get(t, s, tc.path, ldp.GetRequest{Accept: tc.accept})
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		_, err = get(t, s, tc.path, ldp.GetRequest{Accept: tc.accept, Head: true,
			Conditions: ldp.Conditions{IfNoneMatch: &ldp.TagList{Tags: []ldp.Tag{{Opaque: rep.ETag}}}}})
		var nm *ldp.NotModifiedError
		if !errors.As(err, &nm) || !errors.Is(err, ldp.ErrNotModified) {
			t.Fatalf("%s: %v, want a NotModifiedError", tc.path, err)
		}
		if nm.Rep.ETag != rep.ETag || !nm.Rep.Modified.Equal(rep.Modified) || nm.Rep.Kind != tc.kind || nm.Rep.Body != nil {
			t.Errorf("%s: 304 with %+v, want ETag %q, time %v, kind %v, no body", tc.path, nm.Rep, rep.ETag, rep.Modified, tc.kind)
		}
		if rep.Modified.IsZero() || rep.Modified.Unix() <= 0 {
			t.Errorf("%s: no time", tc.path)
		}
	}
}
