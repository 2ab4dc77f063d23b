package rdfx

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const (
	ex  = "http://example.org/"
	xsd = "http://www.w3.org/2001/XMLSchema#"
)

// Turtle 1.1 (W3C Recommendation 2014), by section. Each document is parsed
// with base https://pod.example/alice/profile/card and compared, up to blank
// node labels, with the expected N-Triples.
func TestParseTurtle(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"§2.2 simple triples", `<http://example.org/s> <http://example.org/p> <http://example.org/o> .`,
			`<http://example.org/s> <http://example.org/p> <http://example.org/o> .`},
		{"§2.3 predicate and object lists", `@prefix : <http://example.org/> . :s :p :o1, :o2 ; :q :o3 ;; .`,
			`<http://example.org/s> <http://example.org/p> <http://example.org/o1> .
<http://example.org/s> <http://example.org/p> <http://example.org/o2> .
<http://example.org/s> <http://example.org/q> <http://example.org/o3> .`},
		{"§2.4 relative IRIs against the base", `<> <#p> <../x>, <./y>, <//host/z>, </root> .`,
			`<https://pod.example/alice/profile/card> <https://pod.example/alice/profile/card#p> <https://pod.example/alice/x> .
<https://pod.example/alice/profile/card> <https://pod.example/alice/profile/card#p> <https://pod.example/alice/profile/y> .
<https://pod.example/alice/profile/card> <https://pod.example/alice/profile/card#p> <https://host/z> .
<https://pod.example/alice/profile/card> <https://pod.example/alice/profile/card#p> <https://pod.example/root> .`},
		{"§2.4 @base and BASE change the base", `@base <http://example.org/a/b> . <c> <d> <e> . BASE <../f/> <g> <h> <i> .`,
			`<http://example.org/a/c> <http://example.org/a/d> <http://example.org/a/e> .
<http://example.org/f/g> <http://example.org/f/h> <http://example.org/f/i> .`},
		{"§2.4 prefixes: @prefix, PREFIX, empty prefix, relative namespace", `@prefix ex: <http://example.org/> . PREFIX dc: <http://purl.org/dc/terms/>
prefix : <#> ex:s dc:title :t .`,
			`<http://example.org/s> <http://purl.org/dc/terms/title> <https://pod.example/alice/profile/card#t> .`},
		{"§2.4 local names with dots, dashes, digits, colons, escapes", `@prefix ex: <http://example.org/> . ex:a.b ex:c-d ex:0d:e, ex:f\~g, ex:h%20i .`,
			`<http://example.org/a.b> <http://example.org/c-d> <http://example.org/0d:e> .
<http://example.org/a.b> <http://example.org/c-d> <http://example.org/f~g> .
<http://example.org/a.b> <http://example.org/c-d> <http://example.org/h%20i> .`},
		{"§2.4 a prefixed name ending the statement", `@prefix ex: <http://example.org/> . ex:s ex:p ex:o.`,
			`<http://example.org/s> <http://example.org/p> <http://example.org/o> .`},
		{"§2.4 a as rdf:type", `<http://example.org/s> a <http://example.org/C> .`,
			`<http://example.org/s> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://example.org/C> .`},
		{"§2.5.1 quoted literals and escapes", `<http://example.org/s> <http://example.org/p> "a\"b", 'c\'d', """e
"f""", '''g''', "\u00e9\U0001F600\t\\", "" .`,
			`<http://example.org/s> <http://example.org/p> "a\"b" .
<http://example.org/s> <http://example.org/p> "c'd" .
<http://example.org/s> <http://example.org/p> "e\n\"f" .
<http://example.org/s> <http://example.org/p> "g" .
<http://example.org/s> <http://example.org/p> "é😀\t\\" .
<http://example.org/s> <http://example.org/p> "" .`},
		{"§2.5.1 language tags and datatypes", `@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . <http://example.org/s> <http://example.org/p> "chat"@fr, "color"@en-US, "1"^^xsd:integer, "x"^^<http://example.org/dt>, "s"^^xsd:string .`,
			`<http://example.org/s> <http://example.org/p> "chat"@fr .
<http://example.org/s> <http://example.org/p> "color"@en-us .
<http://example.org/s> <http://example.org/p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .
<http://example.org/s> <http://example.org/p> "x"^^<http://example.org/dt> .
<http://example.org/s> <http://example.org/p> "s" .`},
		{"§2.5.2 numbers and §2.5.3 booleans", `<http://example.org/s> <http://example.org/p> -5, +1, 1.3, .5, 4.2E9, 1.e3, 1e-2, true, false, 7.`,
			`<http://example.org/s> <http://example.org/p> "-5"^^<http://www.w3.org/2001/XMLSchema#integer> .
<http://example.org/s> <http://example.org/p> "+1"^^<http://www.w3.org/2001/XMLSchema#integer> .
<http://example.org/s> <http://example.org/p> "1.3"^^<http://www.w3.org/2001/XMLSchema#decimal> .
<http://example.org/s> <http://example.org/p> ".5"^^<http://www.w3.org/2001/XMLSchema#decimal> .
<http://example.org/s> <http://example.org/p> "4.2E9"^^<http://www.w3.org/2001/XMLSchema#double> .
<http://example.org/s> <http://example.org/p> "1.e3"^^<http://www.w3.org/2001/XMLSchema#double> .
<http://example.org/s> <http://example.org/p> "1e-2"^^<http://www.w3.org/2001/XMLSchema#double> .
<http://example.org/s> <http://example.org/p> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .
<http://example.org/s> <http://example.org/p> "false"^^<http://www.w3.org/2001/XMLSchema#boolean> .
<http://example.org/s> <http://example.org/p> "7"^^<http://www.w3.org/2001/XMLSchema#integer> .`},
		{"§2.6 blank nodes: labels, [], property lists", `@prefix : <http://example.org/> . _:a :knows [ :name "Bob" ; :knows [] ] . [ :name "Eve" ] :knows _:a . [] :p :o .`,
			`_:a <http://example.org/knows> _:b .
_:b <http://example.org/name> "Bob" .
_:b <http://example.org/knows> _:c .
_:d <http://example.org/name> "Eve" .
_:d <http://example.org/knows> _:a .
_:e <http://example.org/p> <http://example.org/o> .`},
		{"§2.6 a bare blank node property list statement", `[ <http://example.org/p> <http://example.org/o> ] .`,
			`_:a <http://example.org/p> <http://example.org/o> .`},
		{"§2.8 collections", `@prefix : <http://example.org/> . :s :p ( :a ( 1 ) ), () .`,
			`<http://example.org/s> <http://example.org/p> _:l1 .
_:l1 <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> <http://example.org/a> .
_:l1 <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> _:l2 .
_:l2 <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> _:m1 .
_:l2 <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> <http://www.w3.org/1999/02/22-rdf-syntax-ns#nil> .
_:m1 <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .
_:m1 <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> <http://www.w3.org/1999/02/22-rdf-syntax-ns#nil> .
<http://example.org/s> <http://example.org/p> <http://www.w3.org/1999/02/22-rdf-syntax-ns#nil> .`},
		{"comments and duplicates", "# a comment\n<http://example.org/s> <http://example.org/p> <http://example.org/o> . # another\n<http://example.org/s> <http://example.org/p> <http://example.org/o> .",
			`<http://example.org/s> <http://example.org/p> <http://example.org/o> .`},
		{"empty document", "  # nothing\n", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.doc, Turtle, testBase)
			want := graphOf(t, tt.want)
			if !isomorphic(got, want) {
				t.Errorf("got\n%swant\n%s", dump(got), dump(want))
			}
		})
	}
}

// knakk/rdf's Turtle decoder labels the anonymous node of this document
// "b1", the document's own label, and so merges two nodes. rdfx keeps them
// apart.
func TestParseTurtleBlankLabelsDoNotClash(t *testing.T) {
	g := mustParse(t, `@prefix : <http://example.org/> . _:b0 :p [ :q 1 ] . _:b1 :p [] .`, Turtle, "")
	if g.Len() != 3 {
		t.Fatalf("got %d triples:\n%s", g.Len(), dump(g))
	}
	blanks := make(map[Term]bool)
	for tr := range g.All() {
		for _, x := range [2]Term{tr.S, tr.O} {
			if x.IsBlank() {
				blanks[x] = true
			}
		}
	}
	if len(blanks) != 4 {
		t.Errorf("want 4 distinct blank nodes, got %d:\n%s", len(blanks), dump(g))
	}
}

func TestParseTurtleErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		line, col int
	}{
		{"missing dot", "<http://a/s> <http://a/p> <http://a/o>", 1, 39},
		{"missing dot before next statement", "<http://a/s> <http://a/p> <http://a/o>\n<http://a/s> <http://a/p> <http://a/o> .", 2, 1},
		{"undefined prefix", "@prefix ex: <http://a/> .\nex:s ex:p foo:o .", 2, 11},
		{"unterminated IRI", "<http://a/s> <http://a/p", 1, 14},
		{"space in IRI", "<http://a/s t> <http://a/p> 1 .", 1, 12},
		{"escaped space in IRI", `<http://a/s\u0020t> <http://a/p> 1 .`, 1, 12},
		{"unterminated string", "<http://a/s> <http://a/p> \"abc", 1, 27},
		{"newline in short string", "<http://a/s> <http://a/p> \"ab\nc\" .", 1, 30},
		{"bad escape", `<http://a/s> <http://a/p> "a\qb" .`, 1, 30},
		{"surrogate escape", `<http://a/s> <http://a/p> "\uD800" .`, 1, 30},
		{"literal subject", `"s" <http://a/p> <http://a/o> .`, 1, 1},
		{"blank node predicate", `<http://a/s> _:p <http://a/o> .`, 1, 14},
		{"bad language tag", `<http://a/s> <http://a/p> "x"@en- .`, 1, 30},
		{"langString datatype", `<http://a/s> <http://a/p> "x"^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#langString> .`, 1, 32},
		{"variable in Turtle", `<http://a/s> <http://a/p> ?x .`, 1, 27},
		{"formula in Turtle", `<http://a/s> <http://a/p> { } .`, 1, 27},
		{"unknown directive", `@foo <http://a/> .`, 1, 1},
		{"prefix ending in a dot", `@prefix ex.: <http://a/> .`, 1, 9},
		{"missing exponent digits", `<http://a/s> <http://a/p> 1e .`, 1, 29},
		{"unclosed property list", `<http://a/s> <http://a/p> [ <http://a/q> 1 .`, 1, 44},
		{"invalid UTF-8", "<http://a/s> <http://a/p> \"\xff\" .", 1, 28},
		{"stray character", "<http://a/s> <http://a/p> ~ .", 1, 27},
		{"too deep", strings.Repeat("[ <http://a/p> ", 200), 1, 1921},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.doc), Turtle, "", ParseOptions{})
			var serr *SyntaxError
			if !errors.As(err, &serr) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if serr.Line != tt.line || serr.Col != tt.col {
				t.Errorf("position %d:%d, want %d:%d (%v)", serr.Line, serr.Col, tt.line, tt.col, err)
			}
		})
	}
}

func TestParseMaxTriples(t *testing.T) {
	doc := "<http://a/s> <http://a/p> 1, 1, 2, 3 .\n<http://a/s> <http://a/p> 4 .\n"
	if _, err := Parse(strings.NewReader(doc), Turtle, "", ParseOptions{MaxTriples: 3}); !errors.Is(err, ErrTooManyTriples) {
		t.Errorf("4 distinct triples with MaxTriples 3: err = %v", err)
	}
	g, err := Parse(strings.NewReader(doc), Turtle, "", ParseOptions{MaxTriples: 4})
	if err != nil || g.Len() != 4 {
		t.Errorf("MaxTriples 4: %v, %d triples", err, g.Len())
	}
	// The parser stops reading at the limit: a reader that fails after the
	// first line is never read that far.
	r := io.MultiReader(strings.NewReader(strings.Repeat("<http://a/s> <http://a/p> <http://a/o1>, <http://a/o2> .\n", 1)),
		iotest.ErrReader(errors.New("read past the limit")))
	if _, err := Parse(iotest.OneByteReader(r), Turtle, "", ParseOptions{MaxTriples: 1}); !errors.Is(err, ErrTooManyTriples) {
		t.Errorf("stop at the limit: err = %v", err)
	}
	for _, mt := range []string{NTriples, RDFXML, JSONLD} {
		g := graphOf(t, "<http://a/s> <http://a/p> \"1\" .\n<http://a/s> <http://a/p> \"2\" .\n")
		var b strings.Builder
		if err := Serialize(&b, g, mt, "", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(strings.NewReader(b.String()), mt, "", ParseOptions{MaxTriples: 1}); !errors.Is(err, ErrTooManyTriples) {
			t.Errorf("%s: err = %v, want ErrTooManyTriples", mt, err)
		}
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("connection reset")
	for _, mt := range []string{Turtle, RDFXML, JSONLD} {
		r := io.MultiReader(strings.NewReader("<"), iotest.ErrReader(boom))
		_, err := Parse(r, mt, "", ParseOptions{})
		if !errors.Is(err, boom) || errors.Is(err, ErrSyntax) {
			t.Errorf("%s: err = %v, want the reader's error", mt, err)
		}
	}
}

func TestParseMediaTypes(t *testing.T) {
	for _, mt := range []string{"text/turtle", "text/turtle; charset=UTF-8", "TEXT/Turtle", "application/n-triples", "text/n3", "application/ld+json", "application/rdf+xml"} {
		if !Supports(mt) {
			t.Errorf("Supports(%q) = false", mt)
		}
	}
	// HTML and XHTML are not RDF here: rdfx has no RDFa processor, so the
	// server keeps them as non-RDF resources, byte for byte.
	for _, mt := range []string{"text/html", "text/html; charset=utf-8", "application/xhtml+xml", "application/json", "", ";;"} {
		if Supports(mt) {
			t.Errorf("Supports(%q) = true", mt)
		}
		if _, err := Parse(strings.NewReader(""), mt, "", ParseOptions{}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Parse(%q): err = %v, want ErrUnsupported", mt, err)
		}
	}
}

func TestParseSkipsBOM(t *testing.T) {
	docs := map[string]string{
		Turtle: "<http://a/s> <http://a/p> 1 .",
		JSONLD: `{"@id": "http://a/s", "http://a/p": 1}`,
		RDFXML: `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="http://a/s"><p xmlns="http://a/">1</p></rdf:Description></rdf:RDF>`,
	}
	for mt, doc := range docs {
		if g := mustParse(t, "\uFEFF"+doc, mt, ""); g.Len() != 1 {
			t.Errorf("%s with a BOM: %d triples", mt, g.Len())
		}
	}
}

func TestParseNTriples(t *testing.T) {
	doc := "<http://example.org/s> <http://example.org/p> \"a\\u00E9\"@en .\n_:x <http://example.org/p> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n\n# comment\n"
	g := mustParse(t, doc, NTriples, "")
	if g.Len() != 2 || !g.Has(Triple{IRI(ex + "s"), IRI(ex + "p"), LangLiteral("aé", "en")}) {
		t.Errorf("got\n%s", dump(g))
	}
}

// text/n3: the Turtle subset is read; N3's own constructs are unsupported.
func TestParseN3(t *testing.T) {
	g := mustParse(t, `@prefix : <http://example.org/> . :s :p :o ; a :C .`, N3, "")
	if g.Len() != 2 {
		t.Errorf("got\n%s", dump(g))
	}
	for _, doc := range []string{
		`@prefix : <http://example.org/> . { :a :b :c } => { :d :e :f } .`,
		`@prefix : <http://example.org/> . :s :p ?x .`,
		`@prefix : <http://example.org/> . :s = :o .`,
		`@forAll <http://example.org/x> .`,
	} {
		if _, err := Parse(strings.NewReader(doc), N3, "", ParseOptions{}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", doc, err)
		}
	}
}
