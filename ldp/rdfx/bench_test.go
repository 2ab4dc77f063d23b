package rdfx

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// benchTurtle returns a Turtle document of exactly n triples: profiles of
// n/5 people with an IRI, a string, a language-tagged string, an integer and
// a link each.
func benchTurtle(n int) string {
	var b strings.Builder
	b.WriteString("@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n@prefix dc: <http://purl.org/dc/terms/> .\n\n")
	for i := range n / 5 {
		fmt.Fprintf(&b, "<#p%d> a foaf:Person ;\n    foaf:name \"Person number %d\" ;\n    dc:description \"Une personne\"@fr ;\n    foaf:age %d ;\n    foaf:knows <https://pod.example/people/%d#me> .\n\n", i, i, 20+i%60, i+1)
	}
	return b.String()
}

func BenchmarkParseTurtle1000(b *testing.B) {
	doc := benchTurtle(1000)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		g, err := Parse(strings.NewReader(doc), Turtle, testBase, ParseOptions{})
		if err != nil || g.Len() != 1000 {
			b.Fatal(err, g.Len())
		}
	}
}

func BenchmarkSerializeTurtle1000(b *testing.B) {
	g := mustParse(b, benchTurtle(1000), Turtle, testBase)
	prefixes := map[string]string{"foaf": "http://xmlns.com/foaf/0.1/", "dc": "http://purl.org/dc/terms/"}
	var out bytes.Buffer
	if err := Serialize(&out, g, Turtle, testBase, prefixes); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(out.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := Serialize(io.Discard, g, Turtle, testBase, prefixes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTurtleWriterListing streams a 10,000-child container listing.
func BenchmarkTurtleWriterListing(b *testing.B) {
	const base = "https://pod.example/c/"
	c := IRI(base)
	contains := IRI("http://www.w3.org/ns/ldp#contains")
	children := make([]Term, 10000)
	for i := range children {
		children[i] = IRI(fmt.Sprintf("%sdoc%d.ttl", base, i))
	}
	b.ReportAllocs()
	for b.Loop() {
		tw := NewTurtleWriter(io.Discard, base, map[string]string{"ldp": "http://www.w3.org/ns/ldp#"})
		for _, child := range children {
			if err := tw.Write(Triple{c, contains, child}); err != nil {
				b.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplySPARQL(b *testing.B) {
	g := mustParse(b, benchTurtle(1000), Turtle, testBase)
	p := mustParseSPARQL(b, `PREFIX foaf: <http://xmlns.com/foaf/0.1/>
DELETE { ?p foaf:age ?a } INSERT { ?p foaf:age 99 } WHERE { ?p a foaf:Person ; foaf:age ?a ; foaf:knows <https://pod.example/people/7#me> }`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Plan(g, p); err != nil {
			b.Fatal(err)
		}
	}
}

func mustParseSPARQL(b *testing.B, doc string) *Patch {
	p, err := ParseSPARQLUpdate(strings.NewReader(doc), testBase)
	if err != nil {
		b.Fatal(err)
	}
	return p
}
