package rdfx

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

const n3Prefixes = "@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n@prefix ex: <http://www.example.org/terms#>.\n"

// The example of Solid Protocol 0.11 §5.3.1 "Modifying Resources Using N3
// Patches".
const specN3Patch = n3Prefixes + `
_:rename a solid:InsertDeletePatch;
  solid:where   { ?person ex:familyName "Garcia". };
  solid:inserts { ?person ex:givenName "Alex". };
  solid:deletes { ?person ex:givenName "Claudia". }.`

func TestParseN3PatchSpecExample(t *testing.T) {
	p, err := ParseN3Patch(strings.NewReader(specN3Patch), testBase)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ops) != 1 {
		t.Fatalf("%d operations", len(p.ops))
	}
	op := p.ops[0]
	person := Variable("person")
	wantWhere := []Triple{{person, IRI("http://www.example.org/terms#familyName"), Literal("Garcia", "")}}
	wantIns := []Triple{{person, IRI("http://www.example.org/terms#givenName"), Literal("Alex", "")}}
	wantDel := []Triple{{person, IRI("http://www.example.org/terms#givenName"), Literal("Claudia", "")}}
	if op.kind != opN3 || !slices.Equal(op.where, wantWhere) || !slices.Equal(op.inserts, wantIns) || !slices.Equal(op.deletes, wantDel) {
		t.Errorf("got %+v", op)
	}
	// §5.3.1: conditions need Read, insertions Append, deletions Read and
	// Write.
	if a := p.Access(); a != (Access{Read: true, Append: true, Write: true}) || p.OnlyInserts() {
		t.Errorf("Access = %+v, OnlyInserts = %v", a, p.OnlyInserts())
	}
	if got := p.Touches(); !slices.Equal(got, append(wantDel, wantIns...)) {
		t.Errorf("Touches = %v", got)
	}
}

func TestParseN3PatchValid(t *testing.T) {
	tests := []struct {
		name, doc         string
		where, ins, dels  int
		onlyInserts, read bool
	}{
		{"inserts only, IRI patch resource", n3Prefixes + `<#patch> a solid:InsertDeletePatch; solid:inserts { <#me> ex:nick "Al", "Ali" ; a ex:Person }.`, 0, 3, 0, true, false},
		{"PREFIX form, [] resource, optional final dot", `PREFIX solid: <http://www.w3.org/ns/solid/terms#>
[] a solid:Patch, solid:InsertDeletePatch; solid:deletes { <#me> <#p> 1 } .`, 0, 0, 1, false, true},
		{"empty formulae", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:where {}; solid:inserts {}.`, 0, 0, 0, true, false},
		{"existential blank node in where", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:where { ?x ex:knows [ ex:name "Bob" ] }; solid:inserts { ?x ex:friendly true }.`, 2, 1, 0, false, true},
		{"other statements are not part of the patch", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { <#a> <#b> <#c> }; ex:comment "hi". <#x> ex:y <#z>.`, 0, 1, 0, true, false},
		{"variable predicate", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:where { <#me> ?p "old" }; solid:deletes { <#me> ?p "old" }; solid:inserts { <#me> ?p "new" }.`, 1, 1, 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseN3Patch(strings.NewReader(tt.doc), testBase)
			if err != nil {
				t.Fatal(err)
			}
			op := p.ops[0]
			if len(op.where) != tt.where || len(op.inserts) != tt.ins || len(op.deletes) != tt.dels {
				t.Errorf("where %d, inserts %d, deletes %d", len(op.where), len(op.inserts), len(op.deletes))
			}
			if p.OnlyInserts() != tt.onlyInserts || p.Access().Read != tt.read {
				t.Errorf("OnlyInserts = %v, Access = %+v", p.OnlyInserts(), p.Access())
			}
		})
	}
}

// Solid Protocol 0.11 §5.3.1: "Servers MUST respond with a 422 status code
// if a patch document does not satisfy all of the above constraints."
func TestParseN3PatchMalformed(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"no patch resource", n3Prefixes + `<#a> <#b> <#c>.`},
		{"empty document", ``},
		{"not an InsertDeletePatch", n3Prefixes + `_:p a solid:Patch; solid:inserts { <#a> <#b> <#c> }.`},
		{"two patch resources", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { <#a> <#b> <#c> }. _:q solid:deletes { <#a> <#b> <#c> }.`},
		{"two inserts", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { <#a> <#b> <#c> }, { <#a> <#b> <#d> }.`},
		{"two wheres", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:where { }; solid:where { }.`},
		{"inserts not a formula", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts <#x>.`},
		{"nested formula", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { <#a> <#b> { <#c> <#d> <#e> } }.`},
		{"blank node in inserts", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { <#a> <#b> _:c }.`},
		{"anonymous blank node in inserts", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { <#a> <#b> [ <#c> 1 ] }.`},
		{"blank node in deletes", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:deletes { _:a <#b> <#c> }.`},
		{"collection in deletes", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:deletes { <#a> <#b> (1) }.`},
		{"insert variable not in where", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:where { ?a <#b> <#c> }; solid:inserts { ?x <#b> <#c> }.`},
		{"delete variable without where", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:deletes { ?x <#b> <#c> }.`},
		{"variable outside formulae", n3Prefixes + `?p a solid:InsertDeletePatch.`},
		{"formula elsewhere", n3Prefixes + `_:p a solid:InsertDeletePatch; ex:other { <#a> <#b> <#c> }.`},
		{"formula as subject", n3Prefixes + `_:p a solid:InsertDeletePatch. { <#a> <#b> <#c> } ex:x <#y>.`},
		{"syntax error", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { <#a> <#b> }.`},
		{"N3 rule", n3Prefixes + `{ ?a <#b> ?c } => { ?c <#b> ?a }.`},
		{"undefined prefix", `_:p a solid:InsertDeletePatch.`},
		{"literal subject in a formula", n3Prefixes + `_:p a solid:InsertDeletePatch; solid:inserts { "a" <#b> <#c> }.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseN3Patch(strings.NewReader(tt.doc), testBase)
			if !errors.Is(err, ErrMalformedPatch) {
				t.Errorf("err = %v, want ErrMalformedPatch", err)
			}
		})
	}
	// A syntax error keeps its position.
	_, err := ParseN3Patch(strings.NewReader("@prefix solid: <http://www.w3.org/ns/solid/terms#>.\n_:p solid:inserts { <#a> <#b> }."), testBase)
	var serr *SyntaxError
	if !errors.As(err, &serr) || serr.Line != 2 || serr.Col != 31 {
		t.Errorf("syntax error: %v", err)
	}
}

func TestParseN3PatchReadError(t *testing.T) {
	boom := errors.New("body too large")
	_, err := ParseN3Patch(io.MultiReader(strings.NewReader(n3Prefixes), iotest.ErrReader(boom)), testBase)
	if !errors.Is(err, boom) || errors.Is(err, ErrMalformedPatch) {
		t.Errorf("err = %v, want the reader's error alone", err)
	}
}
