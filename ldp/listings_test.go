package ldp_test

import (
	"context"
	"io"
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
