package rdfx

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var testPrefixes = map[string]string{
	"foaf":   "http://xmlns.com/foaf/0.1/",
	"xsd":    xsd,
	"ldp":    "http://www.w3.org/ns/ldp#",
	"unused": "http://unused.example/",
}

const profileDoc = `@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix solid: <http://www.w3.org/ns/solid/terms#> .
<> a foaf:PersonalProfileDocument ; foaf:maker <#me> ; foaf:primaryTopic <#me> .
<#me> a foaf:Person, solid:Person ;
  foaf:name "Alice \"Al\" Example" , "Alice"@EN ;
  foaf:nick "line\nbreak\ttab" ;
  foaf:age 42 ; foaf:height 1.70 ; foaf:score 2.5e1 ; foaf:member true ;
  foaf:birthday "1990-01-01"^^<http://www.w3.org/2001/XMLSchema#date> ;
  foaf:knows <../bob/card#me>, [ foaf:name "Carol" ; foaf:knows _:dave ] ;
  solid:oidcIssuer <https://idp.example/> ;
  foaf:homepage <https://alice.example/?a=1&b=2> .
_:dave foaf:name "Dave" .
`

// Serialize writes sorted Turtle with the used prefixes only, rdf:type
// first, relative IRIs against the base, and ";"/"," groups.
func TestSerializeTurtleGolden(t *testing.T) {
	g := mustParse(t, profileDoc, Turtle, testBase)
	var b strings.Builder
	if err := Serialize(&b, g, Turtle, testBase, testPrefixes); err != nil {
		t.Fatal(err)
	}
	want := `@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<> a foaf:PersonalProfileDocument ;
    foaf:maker <#me> ;
    foaf:primaryTopic <#me> .

<#me> a <http://www.w3.org/ns/solid/terms#Person>, foaf:Person ;
    <http://www.w3.org/ns/solid/terms#oidcIssuer> <https://idp.example/> ;
    foaf:age 42 ;
    foaf:birthday "1990-01-01"^^xsd:date ;
    foaf:height 1.70 ;
    foaf:homepage <https://alice.example/?a=1&b=2> ;
    foaf:knows <https://pod.example/alice/bob/card#me>, _:b0 ;
    foaf:member true ;
    foaf:name "Alice"@en, "Alice \"Al\" Example" ;
    foaf:nick "line\nbreak\ttab" ;
    foaf:score 2.5e1 .

_:b0 foaf:knows _:dave ;
    foaf:name "Carol" .

_:dave foaf:name "Dave" .
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSerializeNTriplesGolden(t *testing.T) {
	g := NewGraph(0)
	g.Add(Triple{IRI("http://a/s"), IRI("http://a/p"), Literal("x\"\\\n\u0007", "")})
	g.Add(Triple{IRI("http://a/s"), IRI("http://a/p"), LangLiteral("y", "de")})
	g.Add(Triple{Blank("b"), IRI("http://a/p"), Literal("1", XSDInteger)})
	g.Add(Triple{IRI("http://a/s"), IRI("http://a/p"), IRI("http://a/{o}")})
	var b strings.Builder
	if err := Serialize(&b, g, NTriples, "http://a/", testPrefixes); err != nil {
		t.Fatal(err)
	}
	want := `<http://a/s> <http://a/p> <http://a/\u007Bo\u007D> .
<http://a/s> <http://a/p> "x\"\\\n\u0007" .
<http://a/s> <http://a/p> "y"@de .
_:b <http://a/p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Every media type round-trips through Parse (up to blank node labels), and
// equal graphs give equal bytes whatever the insertion order.
func TestSerializeRoundTrip(t *testing.T) {
	g := mustParse(t, profileDoc, Turtle, testBase)
	reversed := NewGraph(g.Len())
	ts := g.Sorted()
	for i := len(ts) - 1; i >= 0; i-- {
		reversed.Add(ts[i])
	}
	for _, mt := range MediaTypes() {
		for _, prefixes := range []map[string]string{nil, testPrefixes} {
			t.Run(fmt.Sprintf("%s/%d prefixes", mt, len(prefixes)), func(t *testing.T) {
				var b1, b2 bytes.Buffer
				if err := Serialize(&b1, g, mt, testBase, prefixes); err != nil {
					t.Fatal(err)
				}
				if err := Serialize(&b2, reversed, mt, testBase, prefixes); err != nil {
					t.Fatal(err)
				}
				if b1.String() != b2.String() {
					t.Errorf("output depends on insertion order:\n%s\n---\n%s", b1.String(), b2.String())
				}
				back, err := Parse(&b1, mt, testBase, ParseOptions{})
				if err != nil {
					t.Fatalf("reparse: %v\n%s", err, b2.String())
				}
				if !isomorphic(g, back) {
					t.Errorf("round trip changed the graph:\n%s\nwant\n%s\nvia\n%s", dump(back), dump(g), b2.String())
				}
			})
		}
	}
}

// Turtle keeps blank node labels it can write, so parse, serialise, parse
// gives the very same graph.
func TestSerializeTurtleKeepsLabels(t *testing.T) {
	g := mustParse(t, `_:a <http://a/p> _:b . _:b <http://a/p> [] .`, Turtle, "")
	var b strings.Builder
	if err := Serialize(&b, g, Turtle, "", nil); err != nil {
		t.Fatal(err)
	}
	if back := mustParse(t, b.String(), Turtle, ""); !back.Equal(g) {
		t.Errorf("labels changed:\n%s\nwant\n%s", dump(back), dump(g))
	}
}

func TestSerializeErrors(t *testing.T) {
	g := graphOf(t, `<http://a/s> <http://a/1> "x" .`)
	if err := Serialize(new(bytes.Buffer), g, RDFXML, "", nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("RDF/XML predicate without a local name: err = %v", err)
	}
	g = graphOf(t, `<http://a/s> <http://a/p> "\u0001" .`)
	if err := Serialize(new(bytes.Buffer), g, RDFXML, "", nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("RDF/XML control character: err = %v", err)
	}
	if err := Serialize(new(bytes.Buffer), g, "text/html", "", nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("text/html: err = %v", err)
	}
}

func TestSerializeRDFXMLNames(t *testing.T) {
	g := graphOf(t, `<http://a/s> <http://a/ns#p-1> _:n1 .
_:n1 <http://other.example/x.y> "v"@en .
_:n1 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://a/C> .`)
	var b strings.Builder
	if err := Serialize(&b, g, RDFXML, "", map[string]string{"a": "http://a/ns#", "xmlbad": "http://other.example/"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`xmlns:a="http://a/ns#"`, `xmlns:ns0="http://other.example/"`, `<a:p-1 rdf:nodeID="n1"/>`, `<ns0:x.y xml:lang="en">v</ns0:x.y>`, `<rdf:type rdf:resource="http://a/C"/>`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %s:\n%s", want, b.String())
		}
	}
}

func TestSerializeJSONLDForms(t *testing.T) {
	g := graphOf(t, `<http://xmlns.com/foaf/0.1/x> <http://xmlns.com/foaf/0.1/name> "A" .`)
	var expanded, compacted strings.Builder
	if err := Serialize(&expanded, g, JSONLD, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := Serialize(&compacted, g, JSONLD, "", testPrefixes); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(expanded.String(), "[") || !strings.Contains(expanded.String(), `"http://xmlns.com/foaf/0.1/name"`) {
		t.Errorf("expanded form:\n%s", expanded.String())
	}
	if !strings.Contains(compacted.String(), `"@context"`) || !strings.Contains(compacted.String(), `"foaf:name": "A"`) {
		t.Errorf("compacted form:\n%s", compacted.String())
	}
}

// A container listing of 10,000 children streams: bytes reach the writer
// before Close, and the result parses back.
func TestTurtleWriterStreams(t *testing.T) {
	const base = "https://pod.example/c/"
	var out countingWriter
	tw := NewTurtleWriter(&out, base, map[string]string{"ldp": "http://www.w3.org/ns/ldp#"})
	c := IRI(base)
	contains := IRI("http://www.w3.org/ns/ldp#contains")
	if err := tw.Write(Triple{c, IRI(RDFType), IRI("http://www.w3.org/ns/ldp#BasicContainer")}); err != nil {
		t.Fatal(err)
	}
	for i := range 10000 {
		if err := tw.Write(Triple{c, contains, IRI(fmt.Sprintf("%sdoc%d.ttl", base, i))}); err != nil {
			t.Fatal(err)
		}
		if i == 5000 && out.Len() == 0 {
			t.Error("nothing written after 5,000 triples")
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "@prefix ldp: <http://www.w3.org/ns/ldp#> .\n\n<> a ldp:BasicContainer ;\n    ldp:contains <doc0.ttl>, <doc1.ttl>,") {
		t.Errorf("output starts %q", out.String()[:120])
	}
	g := mustParse(t, out.String(), Turtle, base)
	if g.Len() != 10001 {
		t.Errorf("reparsed %d triples, want 10001", g.Len())
	}
	if err := tw.Write(Triple{Literal("x", ""), contains, c}); err == nil {
		t.Error("Write of an invalid triple succeeded")
	}
}

type countingWriter struct{ bytes.Buffer }

func TestTurtleWriterEmpty(t *testing.T) {
	var b strings.Builder
	if err := NewTurtleWriter(&b, "", nil).Close(); err != nil || b.String() != "" {
		t.Errorf("empty writer wrote %q, %v", b.String(), err)
	}
}

// SerializeFirst writes the triples of one subject before the others in
// Turtle, whatever their sort order, and the same graph.
func TestSerializeFirst(t *testing.T) {
	g := NewGraph(4)
	for _, s := range []string{"https://a.example/service", "https://zed.pods.example/", "https://zed.pods.example/.well-known/solid"} {
		g.Add(Triple{S: IRI(s), P: IRI("http://example/p"), O: Literal(s, XSDString)})
	}
	firstSubject := func(doc string) string {
		t.Helper()
		s, _, _ := strings.Cut(strings.TrimSpace(doc), " ")
		return s
	}
	var plain, first bytes.Buffer
	if err := Serialize(&plain, g, Turtle, "", nil); err != nil {
		t.Fatal(err)
	}
	if s := firstSubject(plain.String()); s != "<https://a.example/service>" {
		t.Fatalf("Serialize: first subject %s, want the smallest", s)
	}
	for _, mt := range []string{Turtle, N3} {
		first.Reset()
		if err := SerializeFirst(&first, g, mt, "", nil, "https://zed.pods.example/"); err != nil {
			t.Fatal(err)
		}
		if s := firstSubject(first.String()); s != "<https://zed.pods.example/>" {
			t.Errorf("SerializeFirst %s: first subject %s\n%s", mt, s, first.String())
		}
		if back := mustParse(t, first.String(), Turtle, ""); !back.Equal(g) {
			t.Errorf("SerializeFirst %s changed the graph:\n%s", mt, first.String())
		}
	}
}
