package rdfx

import (
	"errors"
	"strings"
	"testing"
)

// JSON-LD 1.1 documents as Solid apps send them, read with no network.
func TestParseJSONLD(t *testing.T) {
	doc := `{
  "@context": {
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "knows": {"@id": "foaf:knows", "@type": "@id"},
    "tags": {"@id": "http://example.org/tags", "@container": "@list"}
  },
  "@id": "#me",
  "@type": "foaf:Person",
  "foaf:name": [{"@value": "Alice", "@language": "EN"}, "Alice"],
  "foaf:age": 42,
  "foaf:height": 1.5,
  "foaf:member": true,
  "foaf:birthday": {"@value": "1990-01-01", "@type": "xsd:date"},
  "knows": ["../bob/card#me", "_:carol"],
  "tags": ["a", "b"]
}`
	got := mustParse(t, doc, JSONLD, testBase)
	want := mustParse(t, `@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<#me> a foaf:Person ; foaf:name "Alice"@en, "Alice" ; foaf:age 42 ;
  foaf:height "1.5E0"^^xsd:double ; foaf:member true ; foaf:birthday "1990-01-01"^^xsd:date ;
  foaf:knows <../bob/card#me>, _:carol ; <http://example.org/tags> ( "a" "b" ) .`, Turtle, testBase)
	if !isomorphic(got, want) {
		t.Errorf("got\n%swant\n%s", dump(got), dump(want))
	}
}

func TestParseJSONLDContexts(t *testing.T) {
	const remote = "https://www.w3.org/ns/activitystreams"
	doc := `{"@context": "` + remote + `", "@id": "https://pod.example/n/1", "type": "Create"}`
	_, err := Parse(strings.NewReader(doc), JSONLD, "", ParseOptions{})
	if !errors.Is(err, ErrRemoteContext) {
		t.Fatalf("remote context without allow-list: err = %v, want ErrRemoteContext", err)
	}
	// A relative context reference resolves against the base and is just
	// as remote.
	_, err = Parse(strings.NewReader(`{"@context": "ctx.jsonld", "@id": "x"}`), JSONLD, testBase, ParseOptions{})
	if !errors.Is(err, ErrRemoteContext) {
		t.Errorf("relative context: err = %v, want ErrRemoteContext", err)
	}
	_, err = Parse(strings.NewReader(`{"@context": {"@import": "https://example.org/ctx"}, "@id": "http://a/s"}`), JSONLD, "", ParseOptions{})
	if !errors.Is(err, ErrRemoteContext) {
		t.Errorf("@import: err = %v, want ErrRemoteContext", err)
	}
	// The caller's allow-list serves the context.
	opts := ParseOptions{Contexts: map[string][]byte{
		remote: []byte(`{"@context": {"@vocab": "https://www.w3.org/ns/activitystreams#", "type": "@type", "id": "@id"}}`),
	}}
	g, err := Parse(strings.NewReader(doc), JSONLD, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := Triple{IRI("https://pod.example/n/1"), IRI(RDFType), IRI("https://www.w3.org/ns/activitystreams#Create")}
	if g.Len() != 1 || !g.Has(want) {
		t.Errorf("got\n%s", dump(g))
	}
}

func TestParseJSONLDErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		line, col int
		is        error
	}{
		{"bad JSON", "{\n  \"a\": ,\n}", 2, 8, ErrSyntax}, // the "," is the 8th character of line 2
		{"bad JSON at the start", "[1, x]", 1, 5, ErrSyntax},
		{"truncated JSON", `{"@id": "x"`, 1, 12, ErrSyntax},
		{"trailing data", `{} {}`, 1, 4, ErrSyntax},
		{"a scalar", `"https://example.org/doc"`, 1, 1, ErrSyntax},
		{"invalid @id", `{"@id": 5, "http://a/p": "x"}`, 0, 0, ErrSyntax},
		{"invalid context", `{"@context": 5}`, 0, 0, ErrSyntax},
		{"named graph", `{"@id": "http://a/g", "@graph": [{"@id": "http://a/s", "http://a/p": "x"}]}`, 0, 0, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.doc), JSONLD, "", ParseOptions{})
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			var serr *SyntaxError
			if errors.As(err, &serr) && (serr.Line != tt.line || serr.Col != tt.col) {
				t.Errorf("position %d:%d, want %d:%d (%v)", serr.Line, serr.Col, tt.line, tt.col, err)
			}
		})
	}
}
