package rdfx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const garcias = `@prefix ex: <http://www.example.org/terms#> .
<#claudia> ex:familyName "Garcia" ; ex:givenName "Claudia" ; ex:knows [ ex:name "Bob" ], [ ex:name "Eve" ] .
`

func mustN3Patch(t *testing.T, doc string) *Patch {
	t.Helper()
	p, err := ParseN3Patch(strings.NewReader(doc), testBase)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustSPARQL(t *testing.T, doc string) *Patch {
	t.Helper()
	p, err := ParseSPARQLUpdate(strings.NewReader(doc), testBase)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Solid Protocol 0.11 §5.3.1, the processing steps of an N3 Patch.
func TestApplyN3Patch(t *testing.T) {
	tests := []struct {
		name, start, patch, want string
		err                      error
	}{
		{"the spec's rename", garcias, specN3Patch, strings.Replace(garcias, `"Claudia"`, `"Alex"`, 1), nil},
		{"step 3: no mapping", `<#x> <http://www.example.org/terms#familyName> "Smith" .`, specN3Patch, "", ErrPatchConflict},
		{"step 3: two mappings", garcias + `<#pedro> <http://www.example.org/terms#familyName> "Garcia" .`, specN3Patch, "", ErrPatchConflict},
		{"a variable under a blank node makes two mappings", garcias, n3Prefixes + `_:p a solid:InsertDeletePatch;
  solid:where { ?x ex:knows [ ex:name ?n ] . ?x ex:givenName "Claudia" }; solid:inserts { ?x ex:sociable true }.`, "", ErrPatchConflict},
		{"existential blank node, one mapping", garcias, n3Prefixes + `_:p a solid:InsertDeletePatch;
  solid:where { ?x ex:knows [] }; solid:inserts { ?x ex:sociable true }.`,
			garcias + `<#claudia> <http://www.example.org/terms#sociable> true .`, nil},
		{"step 5: deletion not in the resource", garcias, n3Prefixes + `_:p a solid:InsertDeletePatch;
  solid:deletes { <#claudia> ex:givenName "Clara" }; solid:inserts { <#claudia> ex:givenName "Alex" }.`, "", ErrPatchConflict},
		{"ground where that holds", garcias, n3Prefixes + `_:p a solid:InsertDeletePatch;
  solid:where { <#claudia> ex:familyName "Garcia" }; solid:inserts { <#claudia> ex:age 30 }.`,
			garcias + `<#claudia> <http://www.example.org/terms#age> 30 .`, nil},
		{"ground where that fails", garcias, n3Prefixes + `_:p a solid:InsertDeletePatch;
  solid:where { <#claudia> ex:familyName "Lopez" }; solid:inserts { <#claudia> ex:age 30 }.`, "", ErrPatchConflict},
		{"step 1: empty resource, inserts only", ``, n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { <#a> ex:b "c" }.`,
			`<#a> <http://www.example.org/terms#b> "c" .`, nil},
		{"insert of a present triple", garcias, n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { <#claudia> ex:givenName "Claudia" }.`, garcias, nil},
		{"binding a literal as subject", garcias, n3Prefixes + `_:p a solid:InsertDeletePatch;
  solid:where { <#claudia> ex:givenName ?n }; solid:inserts { ?n ex:is <#claudia> }.`, "", ErrPatchConflict},
		{"repeated variable", `<#a> <#p> <#a> . <#b> <#p> <#c> .`, n3Prefixes + `_:p a solid:InsertDeletePatch;
  solid:where { ?x <#p> ?x }; solid:deletes { ?x <#p> ?x }.`, `<#b> <#p> <#c> .`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustParse(t, tt.start, Turtle, testBase)
			before := g.Clone()
			err := Apply(g, mustN3Patch(t, tt.patch))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if !g.Equal(before) {
					t.Errorf("a failed patch changed the graph:\n%s", dump(g))
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
}

func TestApplySPARQLUpdate(t *testing.T) {
	const start = `@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix ex: <http://example.org/> .
<#me> foaf:name "Alice" ; a foaf:Person .
<#doc1> a ex:Doc ; ex:status "draft" .
<#doc2> a ex:Doc ; ex:status "draft" .
_:b0 foaf:name "Old blank" .
`
	tests := []struct {
		name, patch, want string
		err               error
	}{
		{"solid-client save", solidClientUpdate, strings.Replace(start, `foaf:name "Alice"`, `foaf:name "Alicia"`, 1) + `[] foaf:name "New" .`, nil},
		{"DELETE DATA of an absent triple", `DELETE DATA { <#me> <http://xmlns.com/foaf/0.1/name> "Bob" }`, "", ErrPatchConflict},
		{"atomic: an earlier INSERT DATA is undone", `INSERT DATA { <#me> <#x> 1 } ; DELETE DATA { <#me> <#x> 2 }`, "", ErrPatchConflict},
		{"operations see each other", `INSERT DATA { <#me> <#x> 1 } ; DELETE DATA { <#me> <#x> 1 }`, start, nil},
		{"delete then re-insert", `DELETE DATA { <#me> <http://xmlns.com/foaf/0.1/name> "Alice" } ; INSERT DATA { <#me> <http://xmlns.com/foaf/0.1/name> "Alice" }`, start, nil},
		{"WHERE with no match is no error", `DELETE { ?s <#p> ?o } INSERT { ?s <#q> ?o } WHERE { ?s <#p> ?o }`, start, nil},
		{"every solution", `PREFIX ex: <http://example.org/>
DELETE { ?d ex:status "draft" } INSERT { ?d ex:status "final" } WHERE { ?d a ex:Doc ; ex:status "draft" }`,
			strings.ReplaceAll(start, `"draft"`, `"final"`), nil},
		{"fresh blank nodes per solution", `PREFIX ex: <http://example.org/>
INSERT { ?d ex:tag [ ex:v 1 ] } WHERE { ?d a ex:Doc }`,
			start + `<#doc1> <http://example.org/tag> [ <http://example.org/v> 1 ] . <#doc2> <http://example.org/tag> [ <http://example.org/v> 1 ] .`, nil},
		{"DELETE WHERE", `DELETE WHERE { ?d <http://example.org/status> ?s }`,
			strings.ReplaceAll(start, `; ex:status "draft" `, ``), nil},
		{"unbound template variables are skipped", `INSERT { <#me> <#p> ?nothing . <#me> <#q> 1 } WHERE { }`, start + `<#me> <#q> 1 .`, nil},
		{"invalid bound triples are skipped", `INSERT { ?n <#p> 1 } WHERE { <#me> <http://xmlns.com/foaf/0.1/name> ?n }`, start, nil},
		{"absent template deletes are ignored", `DELETE { <#me> <#never> 1 } WHERE { }`, start, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustParse(t, start, Turtle, testBase)
			before := g.Clone()
			p := mustSPARQL(t, tt.patch)
			err := Apply(g, p)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if !g.Equal(before) {
					t.Errorf("a failed patch changed the graph:\n%s", dump(g))
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
}

// Inserted blank nodes never take a label the graph already uses.
func TestApplyFreshBlankLabels(t *testing.T) {
	g := mustParse(t, `_:b0 <http://a/p> _:b1 .`, Turtle, "")
	if err := Apply(g, mustSPARQL(t, `INSERT DATA { _:b0 <http://a/q> _:b1 }`)); err != nil {
		t.Fatal(err)
	}
	labels := make(map[string]bool)
	for tr := range g.All() {
		labels[tr.S.Value()] = true
		labels[tr.O.Value()] = true
	}
	if g.Len() != 2 || len(labels) != 4 {
		t.Errorf("inserted blank nodes merged with existing ones:\n%s", dump(g))
	}
}

// Plan leaves the graph alone and reports the net changes, sorted.
func TestPlan(t *testing.T) {
	g := mustParse(t, garcias, Turtle, testBase)
	before := g.Clone()
	c, err := Plan(g, mustN3Patch(t, specN3Patch))
	if err != nil {
		t.Fatal(err)
	}
	if !g.Equal(before) {
		t.Error("Plan changed the graph")
	}
	given := IRI("http://www.example.org/terms#givenName")
	me := IRI(testBase + "#claudia")
	if len(c.Removed) != 1 || c.Removed[0] != (Triple{me, given, Literal("Claudia", "")}) ||
		len(c.Added) != 1 || c.Added[0] != (Triple{me, given, Literal("Alex", "")}) {
		t.Errorf("Changes = %+v", c)
	}
	c.ApplyTo(g)
	if !g.Has(Triple{me, given, Literal("Alex", "")}) || g.Has(Triple{me, given, Literal("Claudia", "")}) {
		t.Errorf("ApplyTo:\n%s", dump(g))
	}
	// Operations that cancel out leave no changes.
	c, err = Plan(g, mustSPARQL(t, `INSERT DATA { <#x> <#y> 1 } ; DELETE DATA { <#x> <#y> 1 }`))
	if err != nil || len(c.Added)+len(c.Removed) != 0 {
		t.Errorf("cancelling operations: %+v, %v", c, err)
	}
}

func TestApplyLimits(t *testing.T) {
	var b strings.Builder
	for i := range 400 {
		fmt.Fprintf(&b, "<http://a/s%d> <http://a/p> %d .\n", i, i)
	}
	g := mustParse(t, b.String(), Turtle, "")
	p := mustSPARQL(t, `INSERT { ?a <http://a/q> ?f } WHERE { ?a ?b ?c . ?d ?e ?f }`)
	if err := Apply(g, p); !errors.Is(err, ErrUnsupported) {
		t.Errorf("160,000 solutions: err = %v, want ErrUnsupported", err)
	}
	if g.Len() != 400 {
		t.Errorf("graph changed: %d triples", g.Len())
	}
}
