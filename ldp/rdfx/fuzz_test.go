package rdfx

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// Seeds shaped like what a Solid pod holds: profiles, ACLs, type indexes,
// container listings, plus syntax corners.
var turtleSeeds = []string{
	profileDoc,
	garcias,
	`@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <https://pod.example/alice/profile/card#me>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:mode acl:Read.`,
	`@prefix solid: <http://www.w3.org/ns/solid/terms#>.
<> a solid:TypeIndex, solid:ListedDocument.
<#b> a solid:TypeRegistration; solid:forClass <http://schema.org/Bookmark>; solid:instance </bookmarks.ttl>.`,
	`@prefix ldp: <http://www.w3.org/ns/ldp#>. @prefix dc: <http://purl.org/dc/terms/>. @prefix xsd: <http://www.w3.org/2001/XMLSchema#>.
<> a ldp:Container, ldp:BasicContainer; ldp:contains <a.ttl>, <b/>;
  dc:modified "2024-05-12T10:00:00Z"^^xsd:dateTime.
<a.ttl> <http://www.w3.org/ns/posix/stat#size> 120.`,
	`PREFIX : <http://example.org/> BASE <http://example.org/base/> :s :p ( 1 2.0 3e0 [ :q "x"@en-GB ] ) ; :r '''long
'string''' ; :t "\u00e9\U0001F600" , true .`,
	`_:a <http://a/p> _:b . _:b <http://a/p> [] . [ <http://a/q> _:a ] .`,
	`<s> <p> <o> .`,
	"<http://a/s> <http://a/p> \"x\" . # comment\n",
}

// FuzzTurtleRoundTrip parses Turtle, writes it back and parses it again:
// the second graph must be the first, blank node labels included (Turtle
// output keeps the labels, encoding those it cannot spell).
func FuzzTurtleRoundTrip(f *testing.F) {
	for _, s := range turtleSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		defer inTime(t, len(doc))()
		g, err := Parse(strings.NewReader(doc), Turtle, testBase, ParseOptions{MaxTriples: 10000})
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Serialize(&out, g, Turtle, testBase, testPrefixes); err != nil {
			t.Fatalf("Serialize: %v", err)
		}
		back, err := Parse(bytes.NewReader(out.Bytes()), Turtle, testBase, ParseOptions{})
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, out.String())
		}
		want := NewGraph(g.Len())
		for tr := range g.All() {
			for _, x := range []*Term{&tr.S, &tr.O} {
				if x.IsBlank() {
					*x = Blank(turtleBlankLabel(x.Value()))
				}
			}
			want.Add(tr)
		}
		if !back.Equal(want) {
			t.Fatalf("round trip changed the graph\ngot\n%swant\n%svia\n%s", dump(back), dump(want), out.String())
		}
		var nt bytes.Buffer
		if err := Serialize(&nt, g, NTriples, "", nil); err != nil {
			t.Fatal(err)
		}
		if back, err := Parse(&nt, NTriples, "", ParseOptions{}); err != nil || !back.Equal(want) {
			t.Fatalf("N-Triples round trip: %v", err)
		}
	})
}

// FuzzJSONLDParse checks that no JSON-LD input panics, and that what parses
// round-trips through Serialize (up to blank node labels).
func FuzzJSONLDParse(f *testing.F) {
	for _, s := range []string{
		`{"@context": {"foaf": "http://xmlns.com/foaf/0.1/"}, "@id": "#me", "foaf:name": "Alice", "foaf:knows": {"@id": "_:b"}}`,
		`[{"@id": "http://a/s", "http://a/p": [{"@value": "1", "@type": "http://www.w3.org/2001/XMLSchema#integer"}, {"@list": [1, true, 2.5]}]}]`,
		`{"@context": {"@vocab": "http://schema.org/", "@base": "http://a/"}, "@type": "Person", "name": {"@value": "x", "@language": "en"}}`,
		`{"@context": "https://www.w3.org/ns/activitystreams", "type": "Note"}`,
		`{"@graph": [{"@id": "http://a/s", "@reverse": {"http://a/p": {"@id": "http://a/o"}}}]}`,
		`{"@context": {"@version": 1.1, "p": {"@id": "http://a/p", "@container": "@language"}}, "p": {"en": "x", "de": "y"}}`,
		`{"@id": "http://a/g", "@graph": {"@id": "http://a/s", "http://a/p": "v"}}`,
		`{"@id": "", "http://a/t": "t", "@graph": [{"@id": "#s", "http://a/p": {"@id": "_:b"}}, {"@id": "_:b", "http://a/q": 1}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		defer inTime(t, len(doc))()
		g, err := Parse(strings.NewReader(doc), JSONLD, testBase, ParseOptions{MaxTriples: 10000})
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Serialize(&out, g, JSONLD, testBase, testPrefixes); err != nil {
			t.Fatalf("Serialize: %v\n%s", err, dump(g))
		}
		back, err := Parse(&out, JSONLD, testBase, ParseOptions{})
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, dump(g))
		}
		if !isomorphic(g, back) {
			t.Fatalf("round trip changed the graph\ngot\n%swant\n%s", dump(back), dump(g))
		}
	})
}

// FuzzN3PatchParse checks that no N3 Patch input panics, and that a patch
// that parses applies (or fails cleanly) on a small graph.
func FuzzN3PatchParse(f *testing.F) {
	for _, s := range []string{
		specN3Patch,
		n3Prefixes + `<#p> a solid:InsertDeletePatch; solid:inserts { <#me> ex:nick "Al" }.`,
		n3Prefixes + `_:p a solid:InsertDeletePatch; solid:where { ?x ex:knows [ ex:name ?n ] }; solid:deletes { ?x ex:knows ?n }.`,
		n3Prefixes + `_:p a solid:InsertDeletePatch; solid:where { <#me> ?p "old" }; solid:deletes { <#me> ?p "old" }; solid:inserts { <#me> ?p "new" }.`,
		n3Prefixes + `{ ?a ex:b ?c } => { ?c ex:b ?a }.`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		defer inTime(t, len(doc))()
		p, err := ParseN3Patch(strings.NewReader(doc), testBase)
		if err != nil {
			return
		}
		applyNoPanic(t, p)
	})
}

// FuzzSPARQLUpdateParse checks that no SPARQL Update input panics, and that
// an update that parses applies (or fails cleanly) on a small graph.
func FuzzSPARQLUpdateParse(f *testing.F) {
	for _, s := range []string{
		solidClientUpdate,
		`PREFIX ex: <http://www.example.org/terms#> DELETE { ?s ex:givenName ?o } INSERT { ?s ex:givenName "Alex" } WHERE { ?s ex:familyName "Garcia" ; ex:givenName ?o }`,
		`DELETE WHERE { ?s <http://www.example.org/terms#knows> ?o }`,
		`INSERT { ?s <http://a/tag> [ <http://a/v> (1 2) ] } WHERE { { ?s ?p ?o } }`,
		`DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(?o < 3) }`,
		`BASE <http://a/> PREFIX x: <y#> INSERT DATA { <s> x:p 1.5e3, TRUE, "z"@en } ;`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		defer inTime(t, len(doc))()
		p, err := ParseSPARQLUpdate(strings.NewReader(doc), testBase)
		if err != nil {
			return
		}
		applyNoPanic(t, p)
	})
}

// FuzzRDFXMLParse checks that no RDF/XML input panics, and that what
// parses round-trips through Serialize when RDF/XML can express it.
func FuzzRDFXMLParse(f *testing.F) {
	g := mustParse(f, profileDoc, Turtle, testBase)
	var b bytes.Buffer
	if err := Serialize(&b, g, RDFXML, "", testPrefixes); err != nil {
		f.Fatal(err)
	}
	f.Add(b.String())
	f.Add(`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/"><e:T rdf:about="#x"><e:p rdf:parseType="Resource"><e:q>1</e:q></e:p><e:l rdf:parseType="Collection"><rdf:Description rdf:about="#a"/></e:l></e:T></rdf:RDF>`)
	f.Add(`<!DOCTYPE rdf:RDF [<!ENTITY ex "http://example.org/">]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="&ex;"><rdf:Description rdf:about="&ex;s" ex:p="v"><ex:q rdf:ID="r" xml:lang="en">w</ex:q><ex:l rdf:parseType="Literal"><b>x</b></ex:l></rdf:Description></rdf:RDF>`)
	f.Fuzz(func(t *testing.T, doc string) {
		defer inTime(t, len(doc))()
		g, err := Parse(strings.NewReader(doc), RDFXML, testBase, ParseOptions{MaxTriples: 10000})
		if err != nil {
			return
		}
		for tr := range g.All() {
			if !tr.Valid() {
				t.Fatalf("invalid triple %v", tr)
			}
		}
		var out bytes.Buffer
		if err := Serialize(&out, g, RDFXML, "", testPrefixes); err != nil {
			return // a predicate with no XML local name, or a character XML cannot hold
		}
		back, err := Parse(&out, RDFXML, "", ParseOptions{})
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, dump(g))
		}
		if !isomorphic(g, back) {
			t.Fatalf("round trip changed the graph\ngot\n%swant\n%s", dump(back), dump(g))
		}
	})
}

func applyNoPanic(t *testing.T, p *Patch) {
	g := mustParse(t, garcias, Turtle, testBase)
	before := g.Clone()
	_ = p.Access()
	_ = p.Touches()
	if err := Apply(g, p); err != nil {
		if !g.Equal(before) {
			t.Fatalf("failed patch changed the graph: %v", err)
		}
		return
	}
	for tr := range g.All() {
		if !tr.Valid() {
			t.Fatalf("invalid triple %v after patch", tr)
		}
	}
}

// fuzzBudget is the time one fuzz input may take per MiB, and at least:
// the parsers are linear, so no input of the fuzzer's sizes comes near it.
const fuzzBudget = time.Second

// inTime returns a function, to defer, that fails the test when the input
// of n bytes took longer than its budget.
func inTime(t *testing.T, n int) func() {
	start := time.Now()
	return func() {
		budget := fuzzBudget * time.Duration(1+n>>20)
		if d := time.Since(start); d > budget {
			t.Errorf("an input of %d bytes took %v, more than %v", n, d, budget)
		}
	}
}

// FuzzParseLimits parses any input as every media type under small limits,
// and checks that the limits hold: no more triples than MaxTriples, no
// more term bytes than MaxBytes, and an over-limit input refused with the
// limit's error, within the time budget.
func FuzzParseLimits(f *testing.F) {
	for _, s := range turtleSeeds {
		f.Add(s)
	}
	f.Add(rdfxmlBomb(100, 50))
	f.Add(jsonldArray(100))
	f.Add(`{"@context": {"p": "http://example.org/", "q": "p:x/"}, "@id": "#a", "q:y": [{"@id": "q:1"}, {"@list": [1, 2]}]}`)
	opts := ParseOptions{MaxTriples: 50, MaxBytes: 4000, MaxDepth: 8}
	f.Fuzz(func(t *testing.T, doc string) {
		defer inTime(t, len(doc))()
		for _, mt := range MediaTypes() {
			g, err := Parse(strings.NewReader(doc), mt, testBase, opts)
			if err != nil {
				continue
			}
			if g.Len() > opts.MaxTriples {
				t.Fatalf("%s: %d triples under MaxTriples %d", mt, g.Len(), opts.MaxTriples)
			}
			n := 0
			for tr := range g.All() {
				n += termBytes(tr.S) + termBytes(tr.P) + termBytes(tr.O)
			}
			if int64(n) > opts.MaxBytes {
				t.Fatalf("%s: %d bytes of terms under MaxBytes %d", mt, n, opts.MaxBytes)
			}
		}
		for _, mt := range []string{N3, SPARQLUpdate} {
			p, err := ParsePatch(t.Context(), strings.NewReader(doc), mt, testBase, opts)
			if err == nil && len(p.ops) > 0 {
				n := 0
				for _, op := range p.ops {
					n += len(op.where) + len(op.deletes) + len(op.inserts)
				}
				if n > 3*opts.MaxTriples { // DELETE WHERE shares one list
					t.Fatalf("%s: %d patterns under MaxTriples %d", mt, n, opts.MaxTriples)
				}
			}
			if errors.Is(err, ErrTooManyTriples) && p != nil {
				t.Fatalf("%s: a patch and an error", mt)
			}
		}
	})
}
