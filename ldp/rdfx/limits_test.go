package rdfx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// jsonldArray is finding #2 of issue 13: one property holding n numbers.
func jsonldArray(n int) string {
	var b strings.Builder
	b.WriteString(`{"@id": "https://pod.example/doc#it", "http://example.org/n": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, i)
	}
	b.WriteString("]}")
	return b.String()
}

// rdfxmlBomb is finding #1 of issue 13: one entity of size bytes,
// referenced refs times.
func rdfxmlBomb(size, refs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY e "%s">]>`, strings.Repeat("x", size))
	b.WriteString(`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/"><rdf:Description rdf:about="https://pod.example/doc#it"><ex:p>`)
	b.WriteString(strings.Repeat("&e;", refs))
	b.WriteString(`</ex:p></rdf:Description></rdf:RDF>`)
	return b.String()
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestRDFXMLEntityExpansionIsBounded(t *testing.T) {
	doc := rdfxmlBomb(100<<10, 5000) // 115 KB that expands to 500 MB
	var err error
	start := time.Now()
	alloc := allocated(func() { _, err = Parse(strings.NewReader(doc), RDFXML, testBase, ParseOptions{}) })
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse of the entity bomb: %v, want ErrTooLarge", err)
	}
	if alloc > DefaultMaxBytes {
		t.Errorf("the refused bomb allocated %d MB", alloc>>20)
	}
	t.Logf("refused in %v, %d MB allocated", time.Since(start), alloc>>20)

	// The limit is MaxBytes: a small one refuses a small expansion, and
	// entities within it still work.
	if _, err := Parse(strings.NewReader(rdfxmlBomb(1000, 100)), RDFXML, testBase, ParseOptions{MaxBytes: 50_000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("100 KB of expansion under MaxBytes 50,000: %v, want ErrTooLarge", err)
	}
	g, err := Parse(strings.NewReader(rdfxmlBomb(100, 10)), RDFXML, testBase, ParseOptions{MaxBytes: 50_000})
	if err != nil || g.Len() != 1 {
		t.Fatalf("a small expansion: %v", err)
	}
	for tr := range g.All() {
		if tr.O.Value() != strings.Repeat("x", 1000) {
			t.Errorf("expanded literal of %d bytes", len(tr.O.Value()))
		}
	}
}

func TestJSONLDLongArrayIsLinear(t *testing.T) {
	// Before rdfx built the node map itself, 10,000 items took 4 s and
	// 40,000 two minutes.
	for _, n := range []int{10_000, 40_000} {
		start := time.Now()
		g, err := Parse(strings.NewReader(jsonldArray(n)), JSONLD, testBase, ParseOptions{})
		if err != nil || g.Len() != n {
			t.Fatalf("%d items: %v", n, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%d items took %v", n, d)
		}
	}
	// Over MaxTriples, the array is refused before expansion, by its
	// number of JSON values.
	start := time.Now()
	_, err := Parse(strings.NewReader(jsonldArray(300_000)), JSONLD, testBase, ParseOptions{MaxTriples: 10_000})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("300,000 items under MaxTriples 10,000: %v, want ErrTooLarge", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing 300,000 items took %v", d)
	}
}

// JSON-LD node map semantics kept by rdfx's own node map: values merged
// from several node objects, duplicates dropped, lists kept in order with
// duplicates, reverse properties, @included and the document's @graph.
func TestJSONLDNodeMap(t *testing.T) {
	doc := `{"@context": {"ex": "http://example.org/", "ex:l": {"@container": "@list"}},
	  "@id": "https://pod.example/doc", "@graph": [
	    {"@id": "#a", "ex:p": [1, 1, {"@id": "#b"}], "@type": ["ex:T", "ex:T"]},
	    {"@id": "#a", "ex:p": [2, {"@id": "#b"}], "ex:l": [1, 1, 2]},
	    {"@id": "#c", "@reverse": {"ex:r": {"@id": "#a"}}, "@included": [{"@id": "#d", "ex:q": "x"}]}
	  ]}`
	g, err := Parse(strings.NewReader(doc), JSONLD, "https://pod.example/doc", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := mustParse(t, `@prefix ex: <http://example.org/>.
<#a> a ex:T; ex:p 1, 2, <#b>; ex:l (1 1 2); ex:r <#c>.
<#d> ex:q "x".`, Turtle, "https://pod.example/doc")
	if !isomorphic(g, want) {
		t.Errorf("got\n%swant\n%s", dump(g), dump(want))
	}
}

func TestJSONLDExpansionIsBounded(t *testing.T) {
	for _, tt := range []struct{ name, doc string }{
		{"a long prefix used many times", func() string {
			var b strings.Builder
			fmt.Fprintf(&b, `{"@context": {"p": "http://example.org/%s/"}, "@id": "#it", "p:x": [`, strings.Repeat("y", 10_000))
			for i := range 20_000 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"@id": "p:%d"}`, i)
			}
			b.WriteString("]}")
			return b.String()
		}()},
		// json-gold copies the active context each time it applies one:
		// 4,000 of each took 3.6 s before checkJSONLD counted them.
		{"a scoped context applied to many nodes", func() string {
			var b strings.Builder
			b.WriteString(`{"@context": {"@version": 1.1, "s": {"@id": "http://x/s", "@context": {"a": "http://x/a"}}`)
			for i := range 4000 {
				fmt.Fprintf(&b, `, "t%d": "http://x/t%d"`, i, i)
			}
			b.WriteString(`}, "@id": "#r", "s": [`)
			for i := range 4000 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"@id": "#n%d", "a": 1}`, i)
			}
			b.WriteString("]}")
			return b.String()
		}()},
		{"an embedded context in many nodes", func() string {
			var b strings.Builder
			b.WriteString(`{"@context": {"p": "http://x/p"`)
			for i := range 4000 {
				fmt.Fprintf(&b, `, "t%d": "http://x/t%d"`, i, i)
			}
			b.WriteString(`}, "@id": "#r", "p": [`)
			for i := range 4000 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"@context": {"q": "http://x/q"}, "@id": "#n%d", "q": 1}`, i)
			}
			b.WriteString("]}")
			return b.String()
		}()},
		{"nested contexts that each extend @base", func() string {
			seg := strings.Repeat("a", 30<<10) + "/"
			var b strings.Builder
			for range 100 {
				fmt.Fprintf(&b, `{"@context": {"@base": "%s"}, "@id": "x", "http://a/p": `, seg)
			}
			b.WriteString("1" + strings.Repeat("}", 100))
			return b.String()
		}()},
		{"prefixes defined by each other", func() string {
			var b strings.Builder
			b.WriteString(`{"@context": {"t0": "http://example.org/"`)
			for i := 1; i < 2000; i++ {
				fmt.Fprintf(&b, `, "t%d": "t%d:%s"`, i, i-1, strings.Repeat("z", 500))
			}
			b.WriteString(`}, "@id": "#it", "t1999:x": 1}`)
			return b.String()
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse(strings.NewReader(tt.doc), JSONLD, testBase, ParseOptions{})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v, want ErrTooLarge", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("refused after %v", d)
			}
		})
	}
}

func TestMaxBytesBoundsRepetition(t *testing.T) {
	// A long subject repeated by ",": 2 bytes of input per 100 KB triple.
	var b strings.Builder
	fmt.Fprintf(&b, "<http://example.org/%s> <http://example.org/p> 0", strings.Repeat("s", 100_000))
	for i := 1; i < 2000; i++ {
		fmt.Fprintf(&b, ", %d", i)
	}
	b.WriteString(" .")
	for _, mt := range []string{Turtle, N3} {
		if _, err := Parse(strings.NewReader(b.String()), mt, testBase, ParseOptions{MaxBytes: 10 << 20}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", mt, err)
		}
	}
	if _, err := Parse(strings.NewReader(b.String()), Turtle, testBase, ParseOptions{MaxBytes: -1}); err != nil {
		t.Errorf("with no byte limit: %v", err)
	}

	// The same triple again and again: each is hashed whole when it is
	// added, so duplicates count too.
	b.Reset()
	fmt.Fprintf(&b, "<http://example.org/%s> <http://example.org/p> 0", strings.Repeat("s", 1<<20))
	b.WriteString(strings.Repeat(", 0", 100_000))
	b.WriteString(" .")
	start := time.Now()
	if _, err := Parse(strings.NewReader(b.String()), Turtle, testBase, ParseOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a 1 MiB subject stated 100,000 times: %v, want ErrTooLarge", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refused after %v", d)
	}
}

func TestBaseChainIsBounded(t *testing.T) {
	// Each @base resolves against the last, one segment longer each time:
	// without counting, quadratic in the number of directives.
	doc := strings.Repeat("@base <a/>.\n", 200_000) + "<s> <p> <o>."
	start := time.Now()
	if _, err := Parse(strings.NewReader(doc), Turtle, testBase, ParseOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("200,000 chained @base: %v, want ErrTooLarge", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refused after %v", d)
	}
	doc = strings.Repeat("BASE <a/>\n", 200_000) + "INSERT DATA { <s> <p> <o> }"
	if _, err := ParsePatch(context.Background(), strings.NewReader(doc), SPARQLUpdate, testBase, ParseOptions{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("200,000 chained SPARQL BASE: %v, want ErrTooLarge", err)
	}
}

func TestXMLBaseChainIsBounded(t *testing.T) {
	// Nested xml:base attributes each add 64 KB to the base, which every
	// level keeps: 100 levels, 6.5 MB of input, held 320 MB.
	seg := strings.Repeat("a", 64<<10) + "/"
	var b strings.Builder
	b.WriteString(`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">`)
	for range 100 {
		fmt.Fprintf(&b, `<rdf:Description xml:base="%s"><ex:p>`, seg)
	}
	for range 100 {
		b.WriteString(`</ex:p></rdf:Description>`)
	}
	b.WriteString(`</rdf:RDF>`)
	var err error
	alloc := allocated(func() { _, err = Parse(strings.NewReader(b.String()), RDFXML, testBase, ParseOptions{}) })
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("100 nested xml:base of 64 KB: %v, want ErrTooLarge", err)
	}
	if alloc > 3*DefaultMaxBytes {
		t.Errorf("allocated %d MB", alloc>>20)
	}
}

func TestMaxDepth(t *testing.T) {
	nested := func(n int) string {
		return "<http://a/s> <http://a/p> " + strings.Repeat("[ <http://a/p> ", n) + "1" + strings.Repeat(" ]", n) + " ."
	}
	if _, err := Parse(strings.NewReader(nested(DefaultMaxDepth)), Turtle, testBase, ParseOptions{}); err != nil {
		t.Errorf("at the default depth: %v", err)
	}
	var serr *SyntaxError
	if _, err := Parse(strings.NewReader(nested(DefaultMaxDepth+1)), Turtle, testBase, ParseOptions{}); !errors.As(err, &serr) {
		t.Errorf("past the default depth: %v, want a *SyntaxError", err)
	}
	if _, err := Parse(strings.NewReader(nested(11)), Turtle, testBase, ParseOptions{MaxDepth: 10}); !errors.As(err, &serr) {
		t.Errorf("past MaxDepth 10: %v, want a *SyntaxError", err)
	}
	deepJSON := strings.Repeat(`{"http://a/p": `, 4*DefaultMaxDepth+1) + "1" + strings.Repeat("}", 4*DefaultMaxDepth+1)
	if _, err := Parse(strings.NewReader(deepJSON), JSONLD, testBase, ParseOptions{}); !errors.As(err, &serr) {
		t.Errorf("deep JSON-LD: %v, want a *SyntaxError", err)
	}
}

func TestParsePatchLimits(t *testing.T) {
	var ins strings.Builder
	for i := range 100 {
		fmt.Fprintf(&ins, "<http://a/s> <http://a/p> %d. ", i)
	}
	for _, tt := range []struct{ mt, doc string }{
		{N3, `@prefix solid: <http://www.w3.org/ns/solid/terms#>. _:p a solid:InsertDeletePatch; solid:inserts { ` + ins.String() + ` }.`},
		{SPARQLUpdate, `INSERT DATA { ` + ins.String() + ` }`},
	} {
		if _, err := ParsePatch(context.Background(), strings.NewReader(tt.doc), tt.mt, testBase, ParseOptions{MaxTriples: 99}); !errors.Is(err, ErrTooManyTriples) {
			t.Errorf("%s with 100 triples under MaxTriples 99: %v, want ErrTooManyTriples", tt.mt, err)
		}
		if _, err := ParsePatch(context.Background(), strings.NewReader(tt.doc), tt.mt, testBase, ParseOptions{MaxTriples: 102}); err != nil {
			t.Errorf("%s with 100 triples (and the patch's own two) under MaxTriples 102: %v", tt.mt, err)
		}
	}
	if _, err := ParsePatch(context.Background(), strings.NewReader(""), Turtle, testBase, ParseOptions{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a Turtle patch: %v, want ErrUnsupported", err)
	}
}

// endless is valid Turtle (or N-Triples, or the inside of an N3 or SPARQL
// block) that never ends; it cancels its context after the first read.
type endless struct {
	cancel context.CancelFunc
	reads  int
}

func (e *endless) Read(p []byte) (int, error) {
	e.reads++
	if e.reads == 2 {
		e.cancel()
	}
	line := "<http://a/s> <http://a/p> <http://a/o> .\n"
	n := 0
	for n+len(line) <= len(p) {
		n += copy(p[n:], line)
	}
	return n, nil
}

// xmlEndless is an RDF/XML document that never ends.
type xmlEndless struct {
	endless
	started bool
}

func (e *xmlEndless) Read(p []byte) (int, error) {
	e.reads++
	if e.reads == 2 {
		e.cancel()
	}
	if !e.started {
		e.started = true
		return copy(p, `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://a/">`), nil
	}
	el := `<rdf:Description rdf:about="http://a/s"><ex:p>1</ex:p></rdf:Description>`
	n := 0
	for n+len(el) <= len(p) {
		n += copy(p[n:], el)
	}
	return n, nil
}

func TestParseStopsWhenContextIsDone(t *testing.T) {
	for _, tt := range []struct {
		name  string
		parse func(ctx context.Context, r io.Reader) error
		xml   bool
	}{
		{"Turtle", func(ctx context.Context, r io.Reader) error {
			_, err := ParseContext(ctx, r, Turtle, testBase, ParseOptions{MaxTriples: -1, MaxBytes: -1})
			return err
		}, false},
		{"RDF/XML", func(ctx context.Context, r io.Reader) error {
			_, err := ParseContext(ctx, r, RDFXML, testBase, ParseOptions{MaxTriples: -1, MaxBytes: -1})
			return err
		}, true},
		{"SPARQL Update", func(ctx context.Context, r io.Reader) error {
			_, err := ParsePatch(ctx, io.MultiReader(strings.NewReader("INSERT DATA {"), r), SPARQLUpdate, testBase, ParseOptions{MaxTriples: -1, MaxBytes: -1})
			return err
		}, false},
		{"N3 Patch", func(ctx context.Context, r io.Reader) error {
			_, err := ParsePatch(ctx, io.MultiReader(strings.NewReader("@prefix solid: <http://www.w3.org/ns/solid/terms#>. _:p a solid:InsertDeletePatch; solid:inserts {"), r), N3, testBase, ParseOptions{MaxTriples: -1, MaxBytes: -1})
			return err
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var r io.Reader = &endless{cancel: cancel}
			if tt.xml {
				r = &xmlEndless{endless: endless{cancel: cancel}}
			}
			done := make(chan error, 1)
			go func() { done <- tt.parse(ctx, r) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("got %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the parse went on after its context was cancelled")
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ParseContext(ctx, strings.NewReader(jsonldArray(10)), JSONLD, testBase, ParseOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("JSON-LD with a cancelled context: %v", err)
	}
}

func TestDefaultMaxTriples(t *testing.T) {
	var b strings.Builder
	for i := range DefaultMaxTriples + 1 {
		fmt.Fprintf(&b, "<http://a/s> <http://a/p> %d .\n", i)
	}
	if _, err := Parse(strings.NewReader(b.String()), NTriples, testBase, ParseOptions{}); !errors.Is(err, ErrTooManyTriples) {
		t.Errorf("one more than DefaultMaxTriples: %v", err)
	}
	if g, err := Parse(strings.NewReader(b.String()), NTriples, testBase, ParseOptions{MaxTriples: -1}); err != nil || g.Len() != DefaultMaxTriples+1 {
		t.Errorf("with no limit: %v", err)
	}
}

// BenchmarkJSONLDArray measures finding #2 of issue 13: one property with
// n numbers. Before rdfx built the node map itself: 10k 4 s, 40k 120 s,
// 300k more than 3 minutes.
func BenchmarkJSONLDArray(b *testing.B) {
	for _, n := range []int{10_000, 40_000, 300_000} {
		doc := jsonldArray(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				_, err := Parse(strings.NewReader(doc), JSONLD, testBase, ParseOptions{})
				if err != nil && !errors.Is(err, ErrTooManyTriples) && !errors.Is(err, ErrTooLarge) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRDFXMLEntityBomb measures finding #1 of issue 13.
func BenchmarkRDFXMLEntityBomb(b *testing.B) {
	doc := rdfxmlBomb(100<<10, 5000)
	for b.Loop() {
		if _, err := Parse(strings.NewReader(doc), RDFXML, testBase, ParseOptions{}); !errors.Is(err, ErrTooLarge) {
			b.Fatal(err)
		}
	}
}

// TestPatchAdditionsAreBounded: a WHERE with many solutions times an
// INSERT template with many triples would add solutions × template
// triples, from a request of a few kilobytes.
func TestPatchAdditionsAreBounded(t *testing.T) {
	var data strings.Builder
	for i := range 20_000 {
		fmt.Fprintf(&data, "<http://a/s%d> a <http://a/T> .\n", i)
	}
	g := mustParse(t, data.String(), NTriples, testBase)
	var tmpl strings.Builder
	for i := range 20 {
		fmt.Fprintf(&tmpl, "?s <http://a/p%d> [ <http://a/q> %d ] . ", i, i)
	}
	p, err := ParseSPARQLUpdate(strings.NewReader("INSERT { "+tmpl.String()+" } WHERE { ?s a <http://a/T> }"), testBase)
	if err != nil {
		t.Fatal(err)
	}
	// Refused, not built: how much work that saves is a benchmark's
	// question, not a timed assertion's.
	if _, err := Plan(g, p); !errors.Is(err, ErrTooManyTriples) {
		t.Fatalf("20,000 solutions × 40 triples: %v, want ErrTooManyTriples", err)
	}
}
