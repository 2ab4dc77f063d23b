package ldp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// stored reads the bytes stored for p.
func stored(t *testing.T, b storage.Backend, p ldp.Path) string {
	t.Helper()
	r, _, err := b.Get(context.Background(), p.Key(), storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// triplesOf reads p through the Store as N-Triples, one line a triple.
func triplesOf(t *testing.T, s *ldp.Store, p ldp.Path) []string {
	t.Helper()
	rep, err := s.Get(context.Background(), p, ldp.GetRequest{Accept: "application/n-triples"})
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Body.Close()
	data, err := io.ReadAll(rep.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func insert(t *testing.T, s *ldp.Store, p ldp.Path, triples string) error {
	t.Helper()
	patch, err := s.ParsePatch(context.Background(), p, strings.NewReader("INSERT DATA { "+triples+" }"), "application/sparql-update")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Patch(context.Background(), p, patch, ldp.Conditions{})
	return err
}

// TestPatchAppends checks insert-only PATCHes of a plain document
// (ldp/appendix.go): they add their triples after the stored bytes, left
// as they were; repeated triples and the triple limit send the document
// through a full PATCH, which writes it whole, so that it never holds more
// than MaxTriples triples or grows without bound; and a document stored
// without hints is written whole once, then appended to.
func TestPatchAppends(t *testing.T) {
	const limit = 50
	ctx := context.Background()
	b := memory.New()
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "http://pod.example/", MaxTriples: limit})
	if err != nil {
		t.Fatal(err)
	}
	doc := ldp.Path("/doc.ttl")
	orig := "@prefix ex: <http://example.org/>.\n# the client's own layout\n<#a> ex:p <#c> . # no end of line"
	if _, err := s.Put(ctx, doc, ldp.WriteRequest{Body: strings.NewReader(orig), ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	if err := insert(t, s, doc, `<#d> <http://example.org/p> "one" .`); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, b, doc); !strings.HasPrefix(got, orig+"\n") {
		t.Errorf("after an insert-only PATCH the document is\n%s\nwant it to begin with what was stored", got)
	}
	if n := len(triplesOf(t, s, doc)); n != 2 {
		t.Errorf("%d triples, want 2", n)
	}

	// The same triple again and again: the document is written whole
	// before its count could pass the limit, and stays small.
	for i := range 4 * limit {
		if err := insert(t, s, doc, `<#d> <http://example.org/p> "one" .`); err != nil {
			t.Fatalf("repeat %d: %v", i, err)
		}
	}
	if n := len(triplesOf(t, s, doc)); n != 2 {
		t.Errorf("%d triples after repeats, want 2", n)
	}
	if got := stored(t, b, doc); strings.Count(got, "\n") > limit+5 {
		t.Errorf("after repeating one triple the document has %d lines", strings.Count(got, "\n"))
	}

	// New triples up to the limit, and no further.
	for i := 2; i < limit; i++ {
		if err := insert(t, s, doc, fmt.Sprintf(`<#n%d> <http://example.org/p> %d .`, i, i)); err != nil {
			t.Fatalf("triple %d: %v", i+1, err)
		}
	}
	if err := insert(t, s, doc, `<#over> <http://example.org/p> "over" .`); !errors.Is(err, ldp.ErrTooLarge) {
		t.Errorf("a PATCH past %d triples: %v, want ErrTooLarge", limit, err)
	}
	if n := len(triplesOf(t, s, doc)); n != limit {
		t.Errorf("%d triples, want %d", n, limit)
	}

	// Written without hints (as before them, or by an import): the first
	// PATCH writes it whole, the next appends.
	bare := ldp.Path("/bare.ttl")
	if _, err := b.Put(ctx, bare.Key(), strings.NewReader(orig), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	if err := insert(t, s, bare, `<#e> <http://example.org/p> "two" .`); err != nil {
		t.Fatal(err)
	}
	whole := stored(t, b, bare)
	if strings.Contains(whole, "the client's own layout") {
		t.Errorf("a document without hints was appended to:\n%s", whole)
	}
	if err := insert(t, s, bare, `<#f> <http://example.org/p> "three" .`); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, b, bare); !strings.HasPrefix(got, whole) {
		t.Errorf("the second PATCH wrote it whole again:\n%s", got)
	}
	if n := len(triplesOf(t, s, bare)); n != 3 {
		t.Errorf("%d triples, want 3", n)
	}
}

// writes counts the writes of one key, by kind; full makes every Append
// answer ErrAppendFull. Without appends it hides storage.Appender.
type writes struct {
	storage.Backend
	key                string
	puts, append, gets int
	full               bool
}

func (w *writes) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	if key == w.key {
		w.gets++
	}
	return w.Backend.Get(ctx, key, o)
}

func (w *writes) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	if key == w.key {
		w.puts++
	}
	return w.Backend.Put(ctx, key, r, o)
}

type appendingWrites struct{ *writes }

func (w appendingWrites) Append(ctx context.Context, key string, data []byte, o storage.AppendOptions) (storage.Info, error) {
	if key == w.key {
		w.append++
	}
	if w.full {
		return storage.Info{}, storage.ErrAppendFull
	}
	return storage.Append(ctx, w.Backend, key, data, o)
}

// TestPatchAppendsInPlace: on a backend that appends (storage.Appender),
// an insert-only PATCH hands it only the new lines, without reading the
// document once it was appended to, and the ETag it answers is the stored
// one; on one that does not, or that is full, it writes the document
// whole; the graph is the same every way.
func TestPatchAppendsInPlace(t *testing.T) {
	ctx := context.Background()
	doc := ldp.Path("/doc.ttl")
	for _, tc := range []struct {
		name                         string
		appends, full                bool
		wantAppend, wantPut, wantGet int
	}{
		// The first PATCH reads the document, written whole by a PUT:
		// it may end in the middle of a line. The next two need not.
		{"appender", true, false, 3, 0, 1},
		{"not an appender", false, false, 0, 3, 3},
		{"full", true, true, 3, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &writes{Backend: memory.New(), key: doc.Key(), full: tc.full}
			var b storage.Backend = w
			if tc.appends {
				b = appendingWrites{w}
			}
			s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "http://pod.example/"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(ctx, doc, ldp.WriteRequest{Body: strings.NewReader("<#a> <#p> <#b> ."), ContentType: "text/turtle"}); err != nil {
				t.Fatal(err)
			}
			w.puts, w.gets = 0, 0
			for i := range 3 {
				patch, err := s.ParsePatch(ctx, doc, strings.NewReader(fmt.Sprintf("INSERT DATA { <#s%d> <#p> %d . }", i, i)), "application/sparql-update")
				if err != nil {
					t.Fatal(err)
				}
				res, err := s.Patch(ctx, doc, patch, ldp.Conditions{})
				if err != nil {
					t.Fatal(err)
				}
				info, err := w.Backend.Stat(ctx, doc.Key())
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(res.ETag, info.ETag) {
					t.Fatalf("PATCH answered ETag %s; stored %s", res.ETag, info.ETag)
				}
			}
			if w.append != tc.wantAppend || w.puts != tc.wantPut || w.gets != tc.wantGet {
				t.Errorf("%d appends, %d puts and %d gets of the document, want %d, %d and %d",
					w.append, w.puts, w.gets, tc.wantAppend, tc.wantPut, tc.wantGet)
			}
			if n := len(triplesOf(t, s, doc)); n != 4 {
				t.Errorf("%d triples, want 4", n)
			}
		})
	}
}
