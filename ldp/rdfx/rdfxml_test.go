package rdfx

import (
	"errors"
	"strings"
	"testing"
)

const rdfxmlHead = `<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:foaf="http://xmlns.com/foaf/0.1/" xmlns:ex="http://example.org/">
`

// RDF 1.1 XML Syntax (W3C Recommendation 2014), by section: each document
// is compared, up to blank node labels, with the Turtle it means.
func TestParseRDFXML(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"§2.2 node and property elements, striped nesting", rdfxmlHead + `
  <rdf:Description rdf:about="#me">
    <foaf:knows>
      <foaf:Person rdf:about="../bob/card#me">
        <foaf:name>Bob</foaf:name>
      </foaf:Person>
    </foaf:knows>
    <foaf:knows><foaf:Person><foaf:name>Eve</foaf:name></foaf:Person></foaf:knows>
  </rdf:Description>
</rdf:RDF>`, `<#me> foaf:knows <../bob/card#me>, [ a foaf:Person ; foaf:name "Eve" ] . <../bob/card#me> a foaf:Person ; foaf:name "Bob" .`},
		{"§2.4 empty property elements and rdf:resource, non-hierarchical IRIs", rdfxmlHead + `
  <rdf:Description rdf:about="#me"><foaf:mbox rdf:resource="mailto:alice@example.org"/><ex:id rdf:resource="urn:uuid:1234"/><ex:empty/></rdf:Description>
</rdf:RDF>`, `<#me> foaf:mbox <mailto:alice@example.org> ; ex:id <urn:uuid:1234> ; ex:empty "" .`},
		{"§2.5 property attributes and rdf:type attribute", rdfxmlHead + `
  <rdf:Description rdf:about="#me" foaf:name="Alice" rdf:type="http://xmlns.com/foaf/0.1/Person"/>
</rdf:RDF>`, `<#me> foaf:name "Alice" ; a foaf:Person .`},
		{"§2.7 xml:lang, inherited and reset", rdfxmlHead + `
  <rdf:Description rdf:about="#me" xml:lang="EN"><foaf:name>Alice</foaf:name><foaf:nick xml:lang="fr">Lili</foaf:nick><foaf:title xml:lang="">Dr</foaf:title></rdf:Description>
</rdf:RDF>`, `<#me> foaf:name "Alice"@en ; foaf:nick "Lili"@fr ; foaf:title "Dr" .`},
		{"§2.9 rdf:datatype", rdfxmlHead + `
  <rdf:Description rdf:about="#me"><foaf:age rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">42</foaf:age><ex:e rdf:datatype="http://example.org/dt"></ex:e></rdf:Description>
</rdf:RDF>`, `<#me> foaf:age 42 ; ex:e ""^^ex:dt .`},
		{"§2.10 rdf:nodeID does not clash with anonymous nodes", rdfxmlHead + `
  <rdf:Description rdf:nodeID="b0"><ex:p><rdf:Description><ex:q>1</ex:q></rdf:Description></ex:p></rdf:Description>
  <rdf:Description rdf:about="#x"><ex:r rdf:nodeID="b0"/></rdf:Description>
</rdf:RDF>`, `_:n ex:p [ ex:q "1" ] . <#x> ex:r _:n .`},
		{"§2.11 parseType Resource", rdfxmlHead + `
  <rdf:Description rdf:about="#me"><ex:address rdf:parseType="Resource"><ex:city>Paris</ex:city></ex:address></rdf:Description>
</rdf:RDF>`, `<#me> ex:address [ ex:city "Paris" ] .`},
		{"§2.12 property attributes on an empty property element", rdfxmlHead + `
  <rdf:Description rdf:about="#me"><ex:address ex:city="Paris"/><ex:home rdf:resource="#h" ex:size="3"/></rdf:Description>
</rdf:RDF>`, `<#me> ex:address [ ex:city "Paris" ] ; ex:home <#h> . <#h> ex:size "3" .`},
		{"§2.14 xml:base and rdf:ID", `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/" xml:base="http://other.example/dir/doc">
  <rdf:Description rdf:ID="a"><ex:p rdf:resource="b"/><ex:q><rdf:Description rdf:about=".hidden" xml:base="/x/"/></ex:q></rdf:Description>
</rdf:RDF>`, `<http://other.example/dir/doc#a> ex:p <http://other.example/dir/b> ; ex:q <http://other.example/x/.hidden> .`},
		{"§2.15 rdf:li", rdfxmlHead + `
  <rdf:Bag rdf:about="#bag"><rdf:li>a</rdf:li><rdf:li rdf:resource="#b"/></rdf:Bag>
</rdf:RDF>`, `<#bag> a rdf:Bag ; rdf:_1 "a" ; rdf:_2 <#b> .`},
		{"§2.16 parseType Collection", rdfxmlHead + `
  <rdf:Description rdf:about="#me"><ex:list rdf:parseType="Collection"><rdf:Description rdf:about="#a"/><rdf:Description rdf:about="#b"/></ex:list><ex:none rdf:parseType="Collection"></ex:none></rdf:Description>
</rdf:RDF>`, `<#me> ex:list ( <#a> <#b> ) ; ex:none () .`},
		{"§2.17 reification with rdf:ID on a property element", rdfxmlHead + `
  <rdf:Description rdf:about="#me"><foaf:name rdf:ID="st">Alice</foaf:name></rdf:Description>
</rdf:RDF>`, `<#me> foaf:name "Alice" . <#st> a rdf:Statement ; rdf:subject <#me> ; rdf:predicate foaf:name ; rdf:object "Alice" .`},
		{"§2.8 parseType Literal", rdfxmlHead + `
  <rdf:Description rdf:about="#me"><ex:bio rdf:parseType="Literal"><b xmlns="http://www.w3.org/1999/xhtml">Hi &amp; bye</b></ex:bio></rdf:Description>
</rdf:RDF>`, `<#me> ex:bio "<b xmlns=\"http://www.w3.org/1999/xhtml\">Hi &amp; bye</b>"^^rdf:XMLLiteral .`},
		{"entities declared in the DOCTYPE", `<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
  <!ENTITY ex "http://example.org/">
  <!ENTITY % param "ignored">
  <!ENTITY ext SYSTEM "http://example.org/ext">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="&ex;">
  <rdf:Description rdf:about="&ex;s"><ex:p rdf:resource="&ex;o"/></rdf:Description>
</rdf:RDF>`, `ex:s ex:p ex:o .`},
		{"a single node element as the document", `<foaf:Person xmlns:foaf="http://xmlns.com/foaf/0.1/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" rdf:about="#me"><foaf:name>A</foaf:name></foaf:Person>`,
			`<#me> a foaf:Person ; foaf:name "A" .`},
		{"empty document", ``, ``},
	}
	const prefixes = "@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix ex: <http://example.org/> . @prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.doc, RDFXML, testBase)
			want := mustParse(t, prefixes+tt.want, Turtle, testBase)
			if !isomorphic(got, want) {
				t.Errorf("got\n%swant\n%s", dump(got), dump(want))
			}
		})
	}
}

func TestParseRDFXMLErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		line      int
	}{
		{"mismatched tags", "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n<rdf:Description>\n</rdf:RDF>", 3},
		{"unexpected end", "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n<rdf:Description>", 2},
		{"text in rdf:RDF", rdfxmlHead + "hello\n</rdf:RDF>", 3},
		{"about and nodeID", rdfxmlHead + `<rdf:Description rdf:about="#a" rdf:nodeID="x"/></rdf:RDF>`, 3},
		{"rdf:li as a node element", rdfxmlHead + `<rdf:li/></rdf:RDF>`, 3},
		{"rdf:Description as a property", rdfxmlHead + `<rdf:Description><rdf:Description/></rdf:Description></rdf:RDF>`, 3},
		{"nodeID not an XML name", rdfxmlHead + `<rdf:Description rdf:nodeID="1x"/></rdf:RDF>`, 3},
		{"unqualified property attribute", rdfxmlHead + `<rdf:Description name="x"/></rdf:RDF>`, 3},
		{"text and element together", rdfxmlHead + `<rdf:Description><ex:p>hi<rdf:Description/></ex:p></rdf:Description></rdf:RDF>`, 3},
		{"two node elements in a property", rdfxmlHead + `<rdf:Description><ex:p><rdf:Description/><rdf:Description/></ex:p></rdf:Description></rdf:RDF>`, 3},
		{"resource with text", rdfxmlHead + `<rdf:Description><ex:p rdf:resource="#x">hi</ex:p></rdf:Description></rdf:RDF>`, 3},
		{"undeclared prefix", `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description><nope:p>1</nope:p></rdf:Description></rdf:RDF>`, 1},
		{"two document elements", rdfxmlHead + "</rdf:RDF>\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.doc), RDFXML, "", ParseOptions{})
			var serr *SyntaxError
			if !errors.As(err, &serr) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if serr.Line != tt.line {
				t.Errorf("line %d, want %d (%v)", serr.Line, tt.line, err)
			}
		})
	}
}
