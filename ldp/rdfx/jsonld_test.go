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
		{"named graph beside an unnamed node", `{"http://a/t": "t", "@graph": [{"@id": "http://a/s", "http://a/p": "x"}]}`, 0, 0, ErrUnsupported},
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

// A Solid resource is one graph, so of a JSON-LD dataset rdfx keeps the
// default graph and the graph named after the document itself (the shape
// {"@id": "<doc>", "@graph": [...]} that Solid clients write), and refuses
// every other named graph rather than assert its triples (JSON-LD 1.1 §4.9).
func TestParseJSONLDNamedGraphs(t *testing.T) {
	tests := []struct {
		name, doc string
		want      string // Turtle against testBase; "" means refused
		refused   string // in the error text when refused
	}{
		{
			name: "top-level @graph with only @context is the default graph",
			doc:  `{"@context": {"ex": "http://example.org/"}, "@graph": [{"@id": "#me", "ex:p": "x"}]}`,
			want: `<#me> <http://example.org/p> "x" .`,
		},
		{
			name: "@graph named by a relative reference to the document",
			doc:  `{"@id": "", "@graph": [{"@id": "#me", "http://example.org/p": "x"}, {"@id": "#you", "http://example.org/p": "y"}]}`,
			want: `<#me> <http://example.org/p> "x" . <#you> <http://example.org/p> "y" .`,
		},
		{
			name: "@graph named by the document's absolute IRI",
			doc:  `{"@id": "` + testBase + `", "@graph": {"@id": "#me", "http://example.org/p": "x"}}`,
			want: `<#me> <http://example.org/p> "x" .`,
		},
		{
			name: "the document node's own properties beside its @graph are kept too",
			doc: `{"@context": {"ex": "http://example.org/"}, "@id": "", "@type": "ex:Doc",
			  "@graph": [{"@id": "#me", "ex:knows": {"@id": "_:b"}}]}`,
			want: `<> a <http://example.org/Doc> . <#me> <http://example.org/knows> [] .`,
		},
		{
			name: "a blank node shared by both graphs stays one node",
			doc:  `[{"@id": "", "@graph": [{"@id": "#me", "http://example.org/p": {"@id": "_:x"}}]}, {"@id": "_:x", "http://example.org/q": "z"}]`,
			want: `<#me> <http://example.org/p> [ <http://example.org/q> "z" ] .`,
		},
		{
			name:    "a graph named after another document",
			doc:     `{"@id": "https://pod.example/bob/card", "@graph": [{"@id": "#me", "http://example.org/p": "x"}]}`,
			refused: "the graph <https://pod.example/bob/card>",
		},
		{
			name:    "a graph named by a fragment of the document",
			doc:     `{"@id": "#g", "@graph": [{"@id": "#me", "http://example.org/p": "x"}]}`,
			refused: "the graph <" + testBase + "#g>",
		},
		{
			name:    "a graph object",
			doc:     `{"@id": "#me", "http://example.org/said": {"@graph": {"@id": "#you", "http://example.org/p": "x"}}}`,
			refused: "an unnamed graph",
		},
		{
			name:    "the document's graph beside another",
			doc:     `[{"@id": "", "@graph": {"@id": "#me", "http://example.org/p": "x"}}, {"@id": "#g", "@graph": {"@id": "#me", "http://example.org/p": "y"}}]`,
			refused: "the graph <" + testBase + "#g>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse(strings.NewReader(tt.doc), JSONLD, testBase, ParseOptions{})
			if tt.want == "" {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("err = %v, want ErrUnsupported", err)
				}
				for _, s := range []string{"named graphs are not supported: ", tt.refused} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := mustParse(t, tt.want, Turtle, testBase); !isomorphic(g, want) {
				t.Errorf("got\n%swant\n%s", dump(g), dump(want))
			}
		})
	}
	// The triple limit counts the document's graph with the default graph.
	doc := `{"@id": "", "http://example.org/t": "t", "@graph": [{"@id": "#a", "http://example.org/p": "x"}, {"@id": "#b", "http://example.org/p": "y"}]}`
	if _, err := Parse(strings.NewReader(doc), JSONLD, testBase, ParseOptions{MaxTriples: 2}); !errors.Is(err, ErrTooManyTriples) {
		t.Errorf("3 triples over a limit of 2: err = %v, want ErrTooManyTriples", err)
	}
}
