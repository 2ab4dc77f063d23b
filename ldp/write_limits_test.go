package ldp_test

import (
	"bytes"
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

// Every write leaves a resource the server can read back, name and delete
// (issue 13, findings #8, #9 and #10): what could not be is refused before
// anything is stored.

// TestWriteTooLargeToReadBack is finding #8: a PATCH or a PUT whose
// stored Turtle would pass Config.MaxRDFBytes is refused (ErrTooLarge,
// 413), and the document stays as it was and readable in every syntax.
func TestWriteTooLargeToReadBack(t *testing.T) {
	const limit = 4 << 10
	ctx := context.Background()
	s, err := ldp.New(ctx, memory.New(), ldp.Config{BaseURL: "http://pod.example/", MaxRDFBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	doc := ldp.Path("/doc.ttl")
	small := "<#a> <http://example.org/p> \"" + strings.Repeat("a", limit/2) + "\" .\n"
	if _, err := s.Put(ctx, doc, ldp.WriteRequest{Body: strings.NewReader(small), ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	// Each part fits the limit; together they do not.
	patch, err := s.ParsePatch(context.Background(), doc, strings.NewReader(`INSERT DATA { <#b> <http://example.org/p> "`+strings.Repeat("b", limit/2)+`" . }`),
		"application/sparql-update")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Patch(ctx, doc, patch, ldp.Conditions{}); !errors.Is(err, ldp.ErrTooLarge) {
		t.Fatalf("PATCH past the limit: %v, want ErrTooLarge", err)
	}
	for _, accept := range []string{"text/turtle", "application/ld+json", "application/n-triples"} {
		rep, err := s.Get(ctx, doc, ldp.GetRequest{Accept: accept})
		if err != nil {
			t.Fatalf("GET as %s after the refused PATCH: %v", accept, err)
		}
		body, _ := io.ReadAll(rep.Body)
		rep.Body.Close()
		if !bytes.Contains(body, []byte(strings.Repeat("a", limit/2))) || bytes.Contains(body, []byte("bbbb")) {
			t.Errorf("GET as %s after the refused PATCH: %.80q...", accept, body)
		}
	}
	// JSON-LD short enough, whose Turtle (one long IRI a triple) is not.
	long := "http://example.org/" + strings.Repeat("p", 200)
	var items []string
	for i := range 40 {
		items = append(items, fmt.Sprintf(`{"@id":"#s%d","p":%d}`, i, i))
	}
	jsonld := `{"@context":{"p":"` + long + `"},"@graph":[` + strings.Join(items, ",") + `]}`
	if len(jsonld) > limit {
		t.Fatalf("the JSON-LD body has %d bytes, over the limit itself", len(jsonld))
	}
	_, err = s.Put(ctx, "/big.ttl", ldp.WriteRequest{Body: strings.NewReader(jsonld), ContentType: "application/ld+json"})
	if !errors.Is(err, ldp.ErrTooLarge) {
		t.Fatalf("PUT of JSON-LD that is too large as Turtle: %v, want ErrTooLarge", err)
	}
	if _, err := s.Get(ctx, "/big.ttl", ldp.GetRequest{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GET after the refused PUT: %v, want not found", err)
	}
}

// TestWriteNames covers findings #9 and #10: names whose auxiliary
// resources could not be stored, and auxiliary resources of auxiliary
// resources, are refused with a BadRequestError before anything is
// stored, by PUT, PATCH and POST; the longest name allowed works from
// creation to deletion with its auxiliary resources.
func TestWriteNames(t *testing.T) {
	longest := strings.Repeat("n", storage.MaxSegmentLength-len(ldp.MetaSuffix))
	tests := []struct {
		name string
		path ldp.Path
		ok   bool
	}{
		{"name whose .meta key is too long", ldp.Path("/c/" + longest + "x"), false},
		{"name whose .acl key is too long", ldp.Path("/c/" + strings.Repeat("n", storage.MaxSegmentLength-3)), false},
		{"longest name", ldp.Path("/c/" + longest), true},
		{"path whose .meta key passes the key limit", ldp.Path("/" + strings.Repeat("d/", 496) + "abcd"), false},
		{"ACL of an ACL", "/c/x.acl.acl", false},
		{"description of an ACL", "/c/x.acl.meta", false},
		{"ACL of a description", "/c/x.meta.acl", false},
		{"description of a description", "/c/x.meta.meta", false},
		{"ACL of a container's ACL", "/c/.acl.acl", false},
		{"below a container named like an ACL", "/c/x.acl/y", false},
		{"below a container whose marker key is too long", ldp.Path("/c/" + strings.Repeat("c", storage.MaxMarkerSegmentLength+1) + "/y"), false},
		{"below the longest container name", ldp.Path("/c/" + strings.Repeat("c", storage.MaxMarkerSegmentLength) + "/y"), true},
		{"ACL", "/c/x.acl", true},
		{"description", "/c/x.meta", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ldp.ParsePath(string(tc.path)); err != nil {
				t.Fatalf("the path does not parse: %v", err)
			}
			ctx := context.Background()
			b := memory.New()
			s := newStore(t, b)
			kind, subject := tc.path.Aux()
			if kind != ldp.NotAux {
				create(t, s, subject)
			}
			before := keys(t, b)
			_, err := s.Put(ctx, tc.path, ldp.WriteRequest{Body: strings.NewReader("<#a> <#b> <#c>."), ContentType: "text/turtle"})
			patch, perr := s.ParsePatch(context.Background(), tc.path, strings.NewReader(`INSERT DATA { <#a> <#b> <#d> . }`), "application/sparql-update")
			if perr != nil {
				t.Fatal(perr)
			}
			_, patchErr := s.Patch(ctx, tc.path, patch, ldp.Conditions{})
			if tc.ok {
				if err != nil || patchErr != nil {
					t.Fatalf("PUT: %v; PATCH: %v", err, patchErr)
				}
				if kind == ldp.NotAux {
					for _, aux := range []ldp.Path{tc.path.ACL(), tc.path.Meta()} {
						if _, err := s.Put(ctx, aux, ldp.WriteRequest{Body: strings.NewReader(""), ContentType: "text/turtle"}); err != nil {
							t.Fatalf("PUT %s: %v", aux.Name(), err)
						}
					}
				}
				if err := s.Delete(ctx, tc.path, ldp.Conditions{}); err != nil {
					t.Fatalf("DELETE: %v", err)
				}
				return
			}
			var bad *ldp.BadRequestError
			if !errors.As(err, &bad) || !errors.As(patchErr, &bad) {
				t.Fatalf("PUT: %v; PATCH: %v; want BadRequestErrors", err, patchErr)
			}
			if after := keys(t, b); !equalKeys(before, after) {
				t.Errorf("a refused write changed the store: %v, then %v", before, after)
			}
		})
	}
	t.Run("POST with a long Slug deep down", func(t *testing.T) {
		ctx := context.Background()
		s := newStore(t, memory.New())
		deep := ldp.Path("/" + strings.Repeat("d/", 448))
		if _, err := s.Put(ctx, deep, ldp.WriteRequest{}); err != nil {
			t.Fatal(err)
		}
		res, err := s.Post(ctx, deep, ldp.PostRequest{Slug: strings.Repeat("s", 100),
			WriteRequest: ldp.WriteRequest{Body: strings.NewReader("x"), ContentType: "text/plain"}})
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		if _, err := s.Put(ctx, res.Path.Meta(), ldp.WriteRequest{}); err != nil {
			t.Errorf("PUT of the description of %d bytes of path: %v", len(res.Path), err)
		}
	})
}

// TestDeleteLongNameMadeBefore checks that a resource whose .meta key is
// invalid (made before such names were refused) is deleted whole: the
// auxiliary resource that cannot exist is not asked for.
func TestDeleteLongNameMadeBefore(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	p := ldp.Path("/" + strings.Repeat("n", storage.MaxSegmentLength-len(ldp.ACLSuffix)))
	if _, err := b.Put(ctx, p.Key(), strings.NewReader("old"), storage.PutOptions{ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, p.ACL().Key(), strings.NewReader(""), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	var events []ldp.Change
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "http://pod.example/", OnChange: func(c ldp.Change) { events = append(events, c) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, p, ldp.Conditions{}); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	for _, k := range []string{p.Key(), p.ACL().Key()} {
		if _, err := b.Stat(ctx, k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%.20s... left after DELETE: %v", k, err)
		}
	}
	if len(events) != 1 || events[0].Path != p {
		t.Errorf("change events %v, want one for the deleted resource", events)
	}
}

// create makes the resource at p, and the resource it belongs to first
// when it is an auxiliary resource.
func create(t *testing.T, s *ldp.Store, p ldp.Path) {
	t.Helper()
	req := ldp.WriteRequest{Body: strings.NewReader("x"), ContentType: "text/plain"}
	if kind, subject := p.Aux(); kind != ldp.NotAux {
		create(t, s, subject)
		req = ldp.WriteRequest{}
	} else if p.IsContainer() {
		req = ldp.WriteRequest{}
	}
	if _, err := s.Put(context.Background(), p, req); err != nil {
		t.Fatalf("PUT %s: %v", p, err)
	}
}

// keys lists every key of b.
func keys(t *testing.T, b storage.Backend) []string {
	t.Helper()
	var out []string
	var walk func(prefix string)
	walk = func(prefix string) {
		for info, err := range b.List(context.Background(), prefix) {
			if err != nil {
				t.Fatal(err)
			}
			if info.IsPrefix {
				walk(info.Key)
				continue
			}
			out = append(out, info.Key)
		}
	}
	walk("")
	return out
}

func equalKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, k := range a {
		seen[k] = true
	}
	for _, k := range b {
		if !seen[k] {
			return false
		}
	}
	return true
}

// TestParseWithinTheStoreLimits: bodies and patches are parsed with the
// store's triple limit (ErrTooLarge, 413), and a parse stops once the
// request's context is done (the client went away).
func TestParseWithinTheStoreLimits(t *testing.T) {
	ctx := context.Background()
	s, err := ldp.New(ctx, memory.New(), ldp.Config{BaseURL: "http://pod.example/", MaxTriples: 10})
	if err != nil {
		t.Fatal(err)
	}
	var many strings.Builder
	for i := range 20 {
		fmt.Fprintf(&many, "<#s%d> <#p> <#o> .\n", i)
	}
	for _, tc := range []struct{ ct, body string }{
		{"application/sparql-update", "INSERT DATA { " + many.String() + " }"},
		{"text/n3", "@prefix solid: <http://www.w3.org/ns/solid/terms#>. _:p a solid:InsertDeletePatch; solid:inserts { " + many.String() + " }."},
	} {
		if _, err := s.ParsePatch(ctx, "/doc.ttl", strings.NewReader(tc.body), tc.ct); !errors.Is(err, ldp.ErrTooLarge) {
			t.Errorf("%s patch of 20 triples, limit 10: %v, want ErrTooLarge", tc.ct, err)
		}
	}
	if _, err := s.Put(ctx, "/doc.ttl", ldp.WriteRequest{Body: strings.NewReader(many.String()), ContentType: "text/turtle"}); !errors.Is(err, ldp.ErrTooLarge) {
		t.Errorf("PUT of 20 triples, limit 10: %v, want ErrTooLarge", err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.ParsePatch(gone, "/doc.ttl", strings.NewReader("INSERT DATA { <#a> <#b> <#c> }"), "application/sparql-update"); !errors.Is(err, context.Canceled) {
		t.Errorf("patch parsed for a client that went away: %v", err)
	}
	if _, err := s.Put(gone, "/other.ttl", ldp.WriteRequest{Body: strings.NewReader("<#a> <#b> <#c> ."), ContentType: "text/turtle"}); !errors.Is(err, context.Canceled) {
		t.Errorf("body parsed for a client that went away: %v", err)
	}
}
