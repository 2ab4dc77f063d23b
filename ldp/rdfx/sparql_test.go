package rdfx

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// What @inrupt/solid-client sends to save a changed dataset: DELETE DATA
// then INSERT DATA, each ended by ";", with N-Triples inside.
const solidClientUpdate = `DELETE DATA {<https://pod.example/alice/profile/card#me> <http://xmlns.com/foaf/0.1/name> "Alice".};
INSERT DATA {<https://pod.example/alice/profile/card#me> <http://xmlns.com/foaf/0.1/name> "Alicia". _:b0 <http://xmlns.com/foaf/0.1/name> "New".};`

func TestParseSPARQLUpdate(t *testing.T) {
	tests := []struct {
		name, doc string
		kinds     []opKind
	}{
		{"solid-client save", solidClientUpdate, []opKind{opDeleteData, opInsertData}},
		{"prefixes, base, lowercase keywords", `PREFIX foaf: <http://xmlns.com/foaf/0.1/>
base <https://pod.example/alice/>
insert data { <profile/card#me> foaf:nick "Al" ; a foaf:Person }`, []opKind{opInsertData}},
		{"DELETE INSERT WHERE", `PREFIX ex: <http://example.org/>
DELETE { ?s ex:status "draft" } INSERT { ?s ex:status "final" } WHERE { ?s ex:status "draft" ; a ex:Doc . }`, []opKind{opModify}},
		{"INSERT WHERE", `INSERT { ?s <http://a/seen> true } WHERE { ?s <http://a/p> ?o }`, []opKind{opModify}},
		{"DELETE WHERE", `DELETE WHERE { <http://a/s> <http://a/p> ?o }`, []opKind{opModify}},
		{"DELETE WHERE nested group", `DELETE { ?s ?p ?o } WHERE { { ?s ?p ?o } . ?s a <http://a/C> }`, []opKind{opModify}},
		{"empty request", `  # nothing to do
`, nil},
		{"several operations and prologues", `PREFIX a: <http://a/> INSERT DATA { a:s a:p 1 } ; PREFIX b: <http://b/> DELETE DATA { b:s b:p 2.5, "x"@en, TRUE }`, []opKind{opInsertData, opDeleteData}},
		{"$variables", `DELETE { $s <http://a/p> $o } WHERE { $s <http://a/p> $o }`, []opKind{opModify}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseSPARQLUpdate(strings.NewReader(tt.doc), testBase)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []opKind
			for _, op := range p.ops {
				kinds = append(kinds, op.kind)
			}
			if !slices.Equal(kinds, tt.kinds) {
				t.Errorf("operations %v, want %v", kinds, tt.kinds)
			}
		})
	}
}

func TestParseSPARQLUpdateContent(t *testing.T) {
	p, err := ParseSPARQLUpdate(strings.NewReader(`PREFIX foaf: <http://xmlns.com/foaf/0.1/>
DELETE { ?me foaf:nick ?old } INSERT { ?me foaf:nick "Al" } WHERE { ?me foaf:nick ?old . ?me a foaf:Person }`), testBase)
	if err != nil {
		t.Fatal(err)
	}
	nick := IRI("http://xmlns.com/foaf/0.1/nick")
	op := p.ops[0]
	if !slices.Equal(op.deletes, []Triple{{Variable("me"), nick, Variable("old")}}) ||
		!slices.Equal(op.inserts, []Triple{{Variable("me"), nick, Literal("Al", "")}}) ||
		len(op.where) != 2 {
		t.Errorf("got %+v", op)
	}
	if a := p.Access(); a != (Access{Read: true, Append: true, Write: true}) {
		t.Errorf("Access = %+v", a)
	}
	ins, _ := ParseSPARQLUpdate(strings.NewReader(`INSERT DATA { <#a> <#b> <#c> }`), testBase)
	if !ins.OnlyInserts() || ins.Access() != (Access{Append: true}) {
		t.Errorf("INSERT DATA: OnlyInserts = %v, Access = %+v", ins.OnlyInserts(), ins.Access())
	}
	if got := ins.Touches(); !slices.Equal(got, []Triple{{IRI(testBase + "#a"), IRI(testBase + "#b"), IRI(testBase + "#c")}}) {
		t.Errorf("Touches = %v (relative IRIs resolve against the base)", got)
	}
}

func TestParseSPARQLUpdateErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		is        error
	}{
		{"OPTIONAL", `DELETE { ?s ?p ?o } WHERE { ?s ?p ?o OPTIONAL { ?s <http://a/q> ?x } }`, ErrUnsupported},
		{"FILTER", `DELETE { ?s ?p ?o } WHERE { ?s ?p ?o . FILTER(?o < 3) }`, ErrUnsupported},
		{"UNION", `DELETE { ?s ?p ?o } WHERE { { ?s ?p ?o } UNION { ?o ?p ?s } }`, ErrUnsupported},
		{"BIND", `INSERT { ?s ?p ?x } WHERE { ?s ?p ?o BIND(1 AS ?x) }`, ErrUnsupported},
		{"VALUES", `DELETE { ?s ?p ?o } WHERE { VALUES ?s { <http://a/s> } ?s ?p ?o }`, ErrUnsupported},
		{"MINUS", `DELETE { ?s ?p ?o } WHERE { ?s ?p ?o MINUS { ?s a <http://a/C> } }`, ErrUnsupported},
		{"GRAPH in data", `INSERT DATA { GRAPH <http://a/g> { <http://a/s> <http://a/p> 1 } }`, ErrUnsupported},
		{"WITH", `WITH <http://a/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }`, ErrUnsupported},
		{"USING", `DELETE { ?s ?p ?o } USING <http://a/g> WHERE { ?s ?p ?o }`, ErrUnsupported},
		{"CLEAR", `CLEAR DEFAULT`, ErrUnsupported},
		{"LOAD", `LOAD <http://a/doc>`, ErrUnsupported},
		{"property path", `DELETE { ?s ?p ?o } WHERE { ?s <http://a/p>/<http://a/q> ?o }`, ErrUnsupported},
		{"inverse path", `DELETE { ?s ?p ?o } WHERE { ?s ^<http://a/p> ?o }`, ErrUnsupported},
		{"path modifier", `DELETE { ?s ?p ?o } WHERE { ?s <http://a/p>* ?o }`, ErrUnsupported},
		{"variable in INSERT DATA", `INSERT DATA { ?s <http://a/p> 1 }`, ErrMalformedPatch},
		{"variable in DELETE DATA", `DELETE DATA { <http://a/s> <http://a/p> ?o }`, ErrMalformedPatch},
		{"blank node in DELETE DATA", `DELETE DATA { _:b <http://a/p> 1 }`, ErrMalformedPatch},
		{"blank node in a delete template", `DELETE { ?s <http://a/p> [] } WHERE { ?s <http://a/p> ?o }`, ErrMalformedPatch},
		{"blank node in DELETE WHERE", `DELETE WHERE { ?s <http://a/p> _:o }`, ErrMalformedPatch},
		{"missing WHERE", `DELETE { ?s ?p ?o }`, ErrMalformedPatch},
		{"missing brace", `INSERT DATA { <http://a/s> <http://a/p> 1 `, ErrMalformedPatch},
		{"missing separator", `INSERT DATA { <http://a/s> <http://a/p> 1 } INSERT DATA { <http://a/s> <http://a/p> 2 }`, ErrMalformedPatch},
		{"unknown operation", `SELECT * WHERE { ?s ?p ?o }`, ErrMalformedPatch},
		{"two triples without a dot", `DELETE { ?s ?p ?o } WHERE { ?s ?p ?o ?a ?b ?c }`, ErrMalformedPatch},
		{"undefined prefix", `INSERT DATA { ex:s ex:p 1 }`, ErrMalformedPatch},
		{"Turtle @prefix", `@prefix ex: <http://a/> . INSERT DATA { ex:s ex:p 1 }`, ErrMalformedPatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSPARQLUpdate(strings.NewReader(tt.doc), testBase)
			if !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
		})
	}
}
