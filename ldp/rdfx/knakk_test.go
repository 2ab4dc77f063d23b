package rdfx

import (
	"bytes"
	"strings"
	"testing"

	"github.com/knakk/rdf"
)

// knakk/rdf serves as an independent reference for rdfx's own Turtle and
// RDF/XML decoders, on the documents it reads correctly: absolute IRIs, no
// anonymous blank nodes in Turtle, and flat RDF/XML like rdfx writes.

func knakkGraph(t *testing.T, doc string, f rdf.Format) *Graph {
	t.Helper()
	ts, err := rdf.NewTripleDecoder(strings.NewReader(doc), f).DecodeAll()
	if err != nil {
		t.Fatalf("knakk/rdf: %v\n%s", err, doc)
	}
	g := NewGraph(len(ts))
	for _, kt := range ts {
		g.Add(Triple{fromKnakk(kt.Subj), fromKnakk(kt.Pred), fromKnakk(kt.Obj)})
	}
	return g
}

func fromKnakk(t rdf.Term) Term {
	switch v := t.(type) {
	case rdf.IRI:
		return IRI(v.String())
	case rdf.Blank:
		return Blank(v.String())
	case rdf.Literal:
		if v.Lang() != "" {
			return LangLiteral(v.String(), v.Lang())
		}
		return Literal(v.String(), v.DataType.String())
	}
	return Term{}
}

func TestTurtleAgreesWithKnakk(t *testing.T) {
	docs := []string{
		`@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<http://pod.example/a#me> a foaf:Person ; foaf:name "Alice"@en, "A \"quoted\" name" ;
  foaf:age 42 ; foaf:height 1.5 ; foaf:knows _:x , <http://pod.example/b#me> ; foaf:ok false .
_:x foaf:name """multi
line""" ; foaf:birthday "1990-01-01"^^xsd:date .`,
		benchTurtle(200),
	}
	for _, doc := range docs {
		doc = strings.ReplaceAll(doc, "<#p", "<http://pod.example/p")
		want := knakkGraph(t, doc, rdf.Turtle)
		got := mustParse(t, doc, Turtle, "")
		if !isomorphic(got, want) {
			t.Errorf("rdfx and knakk/rdf disagree on\n%s\nrdfx:\n%sknakk:\n%s", doc, dump(got), dump(want))
		}
	}
}

func TestRDFXMLAgreesWithKnakk(t *testing.T) {
	for _, doc := range []string{profileDoc, garcias, benchTurtle(200)} {
		g := mustParse(t, doc, Turtle, testBase)
		var b bytes.Buffer
		if err := Serialize(&b, g, RDFXML, "", testPrefixes); err != nil {
			t.Fatal(err)
		}
		want := knakkGraph(t, b.String(), rdf.RDFXML)
		got := mustParse(t, b.String(), RDFXML, "")
		if !isomorphic(got, want) || !isomorphic(got, g) {
			t.Errorf("rdfx, knakk/rdf and the source disagree on\n%s\nrdfx:\n%sknakk:\n%s", b.String(), dump(got), dump(want))
		}
	}
}

// BenchmarkKnakkParseTurtle1000 is BenchmarkParseTurtle1000's document read
// by knakk/rdf, for comparison.
func BenchmarkKnakkParseTurtle1000(b *testing.B) {
	doc := strings.ReplaceAll(benchTurtle(1000), "<#p", "<http://pod.example/p")
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		ts, err := rdf.NewTripleDecoder(strings.NewReader(doc), rdf.Turtle).DecodeAll()
		if err != nil || len(ts) != 1000 {
			b.Fatal(err, len(ts))
		}
	}
}
