package rdfx

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/piprate/json-gold/ld"
)

// goldTriples parses JSON-LD with json-gold alone (toRdf), as the oracle,
// and reads its N-Quads back as N-Triples: the default graph only, which
// is all the writer writes.
func goldTriples(t *testing.T, doc []byte) *Graph {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	opts := ld.NewJsonLdOptions("")
	opts.Format = "application/n-quads"
	out, err := ld.NewJsonLdProcessor().ToRDF(v, opts)
	if err != nil {
		t.Fatalf("json-gold refuses the output: %v\n%s", err, doc)
	}
	nq, _ := out.(string)
	return mustParse(t, nq, NTriples, testBase)
}

// TestJSONLDWriterMatchesJSONGold: the JSON-LD written directly
// (jsonld_write.go) parses, with json-gold, to exactly the triples
// written, for graphs that try each rule: prefixes that cannot be used
// (a namespace not ending in a gen-delim, one named like a scheme in the
// graph), suffixes that begin with "//", literals of every kind, strings
// that need escaping, blank nodes, rdf:type with odd objects, one subject
// and several.
func TestJSONLDWriterMatchesJSONGold(t *testing.T) {
	prefixes := map[string]string{
		"foaf": "http://xmlns.com/foaf/0.1/", "ldp": "http://www.w3.org/ns/ldp#",
		"xsd": NSXSD, "rdf": NSRDF, "ex": "http://example.org/",
		"dash": "http://example.org/ns-",  // no gen-delim at its end: unusable as a prefix
		"urn":  "http://example.org/urn/", // named like the scheme of urn:x:y below
		"deep": "http://example.org/a/",   // longer than ex: chosen first
		"http": "http://example.com/",     // named like a scheme, always
	}
	docs := map[string]string{
		"one subject": `@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<http://pod.example/card#me> a foaf:Person; foaf:name "Alice"; foaf:knows <http://pod.example/bob#me>.`,
		"several subjects and blank nodes": `@prefix ex: <http://example.org/>.
<http://pod.example/c/> a <http://www.w3.org/ns/ldp#Container>, <http://www.w3.org/ns/ldp#BasicContainer>;
  <http://www.w3.org/ns/ldp#contains> <http://pod.example/c/a>, <http://pod.example/c/b/>.
<http://pod.example/c/a> ex:size 12; ex:modified "2026-12-07T19:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>.
_:b1 ex:p _:b2; a _:b3. _:b2 ex:q "x". <http://pod.example/c/b/> ex:r true, 1.5, 2e3, -7.`,
		"literals": `@prefix ex: <http://example.org/>.
<http://pod.example/d> ex:s "quote \" backslash \\ newline \n tab \t cr \r bell \u0007 é 𝄞 <>&";
  ex:l "hello"@en-GB, "bonjour"@fr; ex:t "typed"^^ex:Type; ex:e ""; ex:a "rdf type literal";
  <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "a literal type".`,
		"iris the prefixes cannot take": `<http://example.org/ns-thing> <http://example.org//double> <http://example.org/>.
<urn:x:y> <http://example.org/a/b> <http://example.com/z>.
<http://example.org/a/> <http://example.org/a/> <http://example.org/a//c>.
<http://pod.example/q?x=1#f> <http://example.org/p> <http://example.org/has%20space>, <http://example.org///x>.`,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			g := mustParse(t, doc, Turtle, testBase)
			var buf bytes.Buffer
			if err := Serialize(&buf, g, JSONLD, testBase, prefixes); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), `"@context"`) {
				t.Fatalf("not compacted:\n%s", buf.String())
			}
			if got := goldTriples(t, buf.Bytes()); !isomorphic(got, g) {
				t.Errorf("json-gold reads other triples:\ngot  %v\nwant %v\n%s", got.Sorted(), g.Sorted(), buf.String())
			}
			// Kluis's own parser agrees.
			if back := mustParse(t, buf.String(), JSONLD, testBase); !isomorphic(back, g) {
				t.Errorf("Parse reads other triples:\n%s", buf.String())
			}
		})
	}
}

// FuzzJSONLDWriter writes any Turtle document that parses as compacted
// JSON-LD and checks it against json-gold's reading of the expanded form.
func FuzzJSONLDWriter(f *testing.F) {
	f.Add(`<http://a/s> <http://a/p> "x"@en, <http://a/o>, 1 .`)
	f.Add(`@prefix foaf: <http://xmlns.com/foaf/0.1/>. <#me> a foaf:Person; foaf:name "A\u0000". _:x <http://a//b> <urn:a:b>.`)
	prefixes := map[string]string{"foaf": "http://xmlns.com/foaf/0.1/", "a": "http://a/", "urn": "http://u/", "x": "http://a/p"}
	f.Fuzz(func(t *testing.T, doc string) {
		g, err := Parse(strings.NewReader(doc), Turtle, testBase, ParseOptions{})
		if err != nil || g.Len() == 0 {
			return
		}
		var buf bytes.Buffer
		if err := Serialize(&buf, g, JSONLD, testBase, prefixes); err != nil {
			t.Fatal(err)
		}
		// Some IRIs that Turtle takes json-gold drops (an invalid
		// percent-encoding): the triples it reads from the expanded form,
		// which needs no compaction, are what the compacted one must give.
		expanded, err := json.Marshal(expandedJSONLD(g.Sorted()))
		if err != nil {
			t.Fatal(err)
		}
		want := goldTriples(t, expanded)
		if got := goldTriples(t, buf.Bytes()); !isomorphic(got, want) {
			t.Errorf("json-gold reads other triples:\ngot  %v\nwant %v\n%s", got.Sorted(), want.Sorted(), buf.String())
		}
	})
}
