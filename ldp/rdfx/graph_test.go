package rdfx

import (
	"slices"
	"testing"
)

var (
	alice = IRI("https://pod.example/alice#me")
	bob   = IRI("https://pod.example/bob#me")
	knows = IRI("http://xmlns.com/foaf/0.1/knows")
	name  = IRI("http://xmlns.com/foaf/0.1/name")
)

func TestTermString(t *testing.T) {
	tests := []struct {
		term Term
		want string
	}{
		{IRI("http://a.example/s"), "<http://a.example/s>"},
		{IRI("http://a.example/with space"), `<http://a.example/with\u0020space>`},
		{Blank("b0"), "_:b0"},
		{Blank("not valid"), "_:x-6e6f742076616c6964"},
		{Blank("x-1"), "_:x-782d31"},
		{Literal("chat", ""), `"chat"`},
		{Literal("chat", XSDString), `"chat"`},
		{LangLiteral("chat", "FR-be"), `"chat"@fr-be`},
		{LangLiteral("chat", ""), `"chat"`},
		{Literal("1", XSDInteger), `"1"^^<http://www.w3.org/2001/XMLSchema#integer>`},
		{Literal("a\"b\\c\nd\re\tf\x01", ""), `"a\"b\\c\nd\re\tf\u0001"`},
		{Variable("x"), "?x"},
		{Term{}, "*"},
	}
	for _, tt := range tests {
		if got := tt.term.String(); got != tt.want {
			t.Errorf("%#v.String() = %s, want %s", tt.term, got, tt.want)
		}
	}
}

func TestTermCompareAndKinds(t *testing.T) {
	// Kinds first, then value, datatype, language.
	ordered := []Term{IRI("a"), IRI("b"), Blank("a"), LangLiteral("a", "de"), LangLiteral("a", "en"), Literal("a", ""), Literal("b", ""), Variable("a")}
	for i, x := range ordered {
		if x.Compare(x) != 0 {
			t.Errorf("%v.Compare(itself) != 0", x)
		}
		if i == 0 {
			continue
		}
		if c := ordered[i-1].Compare(x); c != -1 {
			t.Errorf("%v.Compare(%v) = %d, want -1", ordered[i-1], x, c)
		}
		if c := x.Compare(ordered[i-1]); c != 1 {
			t.Errorf("%v.Compare(%v) = %d, want 1", x, ordered[i-1], c)
		}
	}
	if !IRI("x").IsIRI() || !Blank("x").IsBlank() || !Literal("x", "").IsLiteral() || !Variable("x").IsVariable() || !(Term{}).IsZero() {
		t.Error("kind predicates disagree with constructors")
	}
	l := LangLiteral("x", "EN")
	if l.Datatype() != RDFLangString || l.Lang() != "en" || l.Value() != "x" || l.Kind() != KindLiteral {
		t.Errorf("LangLiteral accessors: %q %q %q %v", l.Datatype(), l.Lang(), l.Value(), l.Kind())
	}
}

func TestTripleValid(t *testing.T) {
	tests := []struct {
		t    Triple
		want bool
	}{
		{Triple{alice, knows, bob}, true},
		{Triple{Blank("b"), knows, Blank("c")}, true},
		{Triple{alice, name, LangLiteral("Alice", "en")}, true},
		{Triple{Literal("x", ""), knows, bob}, false},             // RDF 1.1 Concepts §3.1: subject is an IRI or blank node
		{Triple{alice, Blank("p"), bob}, false},                   // predicate is an IRI
		{Triple{alice, knows, Variable("x")}, false},              // no variables in data
		{Triple{alice, knows, Term{}}, false},                     // no zero terms
		{Triple{Blank(""), knows, bob}, false},                    // blank nodes need a label
		{Triple{alice, name, Literal("x", RDFLangString)}, false}, // langString needs a tag
	}
	for _, tt := range tests {
		if got := tt.t.Valid(); got != tt.want {
			t.Errorf("%v.Valid() = %v, want %v", tt.t, got, tt.want)
		}
	}
}

func TestGraph(t *testing.T) {
	var g Graph // the zero Graph is ready to use
	t1 := Triple{alice, knows, bob}
	t2 := Triple{alice, name, Literal("Alice", "")}
	t3 := Triple{bob, name, Literal("Bob", "")}
	if !g.Add(t1) || !g.Add(t2) || !g.Add(t3) {
		t.Fatal("Add of new triples returned false")
	}
	if g.Add(t1) {
		t.Error("Add of a duplicate returned true")
	}
	if g.Add(Triple{Literal("x", ""), knows, bob}) {
		t.Error("Add of an invalid triple returned true")
	}
	if g.Len() != 3 || !g.Has(t2) {
		t.Fatalf("Len = %d, Has(t2) = %v", g.Len(), g.Has(t2))
	}
	if got := slices.Collect(g.Match(alice, Term{}, Term{})); len(got) != 2 {
		t.Errorf("Match(alice, *, *) = %v", got)
	}
	if got := slices.Collect(g.Match(Term{}, name, Term{})); len(got) != 2 {
		t.Errorf("Match(*, name, *) = %v", got)
	}
	if got := slices.Collect(g.Match(alice, knows, bob)); len(got) != 1 {
		t.Errorf("Match(alice, knows, bob) = %v", got)
	}
	if got := slices.Collect(g.Match(bob, knows, alice)); len(got) != 0 {
		t.Errorf("Match(bob, knows, alice) = %v", got)
	}
	if o, ok := g.Object(bob, name); !ok || o != Literal("Bob", "") {
		t.Errorf("Object(bob, name) = %v, %v", o, ok)
	}
	c := g.Clone()
	if !g.Remove(t1) || g.Remove(t1) || g.Has(t1) || g.Len() != 2 {
		t.Errorf("Remove: Has = %v, Len = %d", g.Has(t1), g.Len())
	}
	if !c.Has(t1) || c.Len() != 3 {
		t.Error("Clone shares state with the original")
	}
	if n := c.RemoveMatches(Term{}, name, Term{}); n != 2 || c.Len() != 1 || !c.Has(t1) {
		t.Errorf("RemoveMatches = %d, left %v", n, dump(c))
	}
	if n := len(slices.Collect(g.All())); n != 2 {
		t.Errorf("All yielded %d triples, want 2", n)
	}
	want := []Triple{t2, t3}
	if got := g.Sorted(); !slices.Equal(got, want) {
		t.Errorf("Sorted = %v, want %v", got, want)
	}
	h := NewGraph(2)
	h.Add(t3)
	h.Add(t2)
	if !g.Equal(h) || g.Equal(c) {
		t.Error("Equal is wrong")
	}
}
