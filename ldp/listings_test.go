package ldp_test

import (
	"context"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage/memory"
)

// TestContainerListingsKept: with Config.Hearing, a GET of a container
// answers from a kept listing (listings.go). A write through the same
// Store shows at once; one through another Store (another process) shows
// once it is Heard, or when the hearing's epoch moves on, or while the
// Store does not hear; never is a listing kept that was read while a
// write was being heard.
func TestContainerListingsKept(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	var epoch atomic.Uint64
	var hearing atomic.Bool
	hearing.Store(true)
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/",
		Hearing: func() (uint64, bool) { return epoch.Load(), hearing.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(st *ldp.Store, p string) {
		t.Helper()
		if _, err := st.Put(ctx, ldp.Path(p), ldp.WriteRequest{Body: strings.NewReader("x"), ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
	}
	members := func() string {
		t.Helper()
		rep, err := s.Get(ctx, "/c/", ldp.GetRequest{Accept: "text/turtle"})
		if err != nil {
			t.Fatal(err)
		}
		defer rep.Body.Close()
		var buf strings.Builder
		if _, err := io.Copy(&buf, rep.Body); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range []string{"a", "b", "c", "d"} {
			if strings.Contains(buf.String(), "<"+n+">") {
				names = append(names, n)
			}
		}
		return strings.Join(names, ",")
	}
	check := func(step, want string) {
		t.Helper()
		if got := members(); got != want {
			t.Fatalf("%s: the container lists %q, want %q", step, got, want)
		}
	}
	put(s, "/c/a")
	check("first", "a")
	put(s, "/c/b")
	check("after a write through this Store", "a,b")
	put(other, "/c/c")
	check("after a write through another, not heard: kept", "a,b")
	s.Heard("/c/c")
	check("once heard", "a,b,c")
	put(other, "/c/d")
	epoch.Add(1)
	check("in a new epoch", "a,b,c,d")
	if err := other.Delete(ctx, "/c/d", ldp.Conditions{}); err != nil {
		t.Fatal(err)
	}
	hearing.Store(false)
	check("while not hearing", "a,b,c")
}

// TestLargeContainerBodyKept: the representation of a large container is
// kept under its ETag (bodies.go): every change another Store makes (a
// new child, a deletion, a child rewritten, the container's own triples,
// another media type) gives the next GET a new ETag and the body that
// goes with it.
func TestLargeContainerBodyKept(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(p, ct, body string) {
		t.Helper()
		if _, err := other.Put(ctx, ldp.Path(p), ldp.WriteRequest{Body: strings.NewReader(body), ContentType: ct}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		put("/big/r"+strconv.Itoa(i), "text/plain", "x")
	}
	get := func(accept string) (string, string) {
		t.Helper()
		rep, err := s.Get(ctx, "/big/", ldp.GetRequest{Accept: accept})
		if err != nil {
			t.Fatal(err)
		}
		defer rep.Body.Close()
		var buf strings.Builder
		if _, err := io.Copy(&buf, rep.Body); err != nil {
			t.Fatal(err)
		}
		if int64(buf.Len()) != rep.Size {
			t.Fatalf("body of %d bytes, Size %d", buf.Len(), rep.Size)
		}
		return rep.ETag, buf.String()
	}
	steps := []struct {
		name   string
		change func()
		has    string
	}{
		{"a new child", func() { put("/big/new", "text/plain", "x") }, "<new>"},
		{"a child rewritten with another type", func() { put("/big/r1", "text/turtle", "<a> <b> <c>.") }, "text/turtle"},
		{"a larger child", func() { put("/big/r2", "text/plain", "twelve bytes") }, " 12"},
		{"the container's own triples", func() { put("/big/", "text/turtle", "<> <http://example.org/p> \"own\".") }, `"own"`},
		{"a deletion", func() {
			if err := other.Delete(ctx, "/big/r3", ldp.Conditions{}); err != nil {
				t.Fatal(err)
			}
		}, ""},
	}
	for _, st := range steps {
		etag, body := get("text/turtle")
		if again, body2 := get("text/turtle"); again != etag || body2 != body {
			t.Fatalf("before %s: two GETs of an unchanged container differ", st.name)
		}
		st.change()
		etag2, body2 := get("text/turtle")
		if etag2 == etag {
			t.Fatalf("after %s: the ETag did not change", st.name)
		}
		if st.has != "" && !strings.Contains(body2, st.has) {
			t.Fatalf("after %s: the body lacks %s", st.name, st.has)
		}
		if st.has == "" && strings.Contains(body2, "<r3>") {
			t.Fatalf("after %s: the deleted child is listed", st.name)
		}
	}
	// Another media type is another body.
	_, turtle := get("text/turtle")
	_, jsonld := get("application/ld+json")
	if turtle == jsonld || !strings.HasPrefix(strings.TrimSpace(jsonld), "[") && !strings.HasPrefix(strings.TrimSpace(jsonld), "{") {
		t.Fatalf("the JSON-LD GET answered %.80q", jsonld)
	}
}
