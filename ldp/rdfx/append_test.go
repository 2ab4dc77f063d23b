package rdfx

import (
	"strings"
	"testing"
)

// TestAppendable checks that an insert-only patch's lines, appended to a
// Turtle document, parse with it to the graph Apply makes of the document:
// whatever the document's @base, prefixes, blank node labels and last line
// (a comment without its end), and whatever the inserted terms are.
func TestAppendable(t *testing.T) {
	docs := map[string]string{
		"plain": garcias,
		"base and prefixes": `@base <http://elsewhere.example/dir/> .
@prefix : <http://elsewhere.example/vocab#> .
PREFIX ex: <http://www.example.org/terms#>
<#me> :knows _:b0, _:kb0 . _:b0 ex:name "b0" .`,
		"last line a comment": `<#a> <#b> <#c> . # no end of line`,
		"empty":               ``,
	}
	patches := map[string]*Patch{
		"n3": mustN3Patch(t, `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
@prefix ex: <http://www.example.org/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#claudia> ex:knows <#zoe> . <#zoe> ex:name "Zoë", "x-new"@en-GB . }.`),
		"sparql blank nodes": mustSPARQL(t, `PREFIX ex: <http://www.example.org/terms#>
INSERT DATA { <#claudia> ex:knows _:b0, _:kb0, [ ex:name "anon" ] . _:b0 ex:name "b0" . _:kb0 ex:name "kb0" . }`),
		"sparql literals": mustSPARQL(t, `PREFIX ex: <http://www.example.org/terms#>
INSERT DATA { <#claudia> ex:age 42; ex:height 1.75; ex:ok true; ex:bio """two
lines with "quotes" and a \\ backslash"""; ex:born "1990-01-01"^^<http://www.w3.org/2001/XMLSchema#date>; ex:home <http://x.example/ünï%20code> . }`),
		"a triple the document has": mustSPARQL(t, `INSERT DATA { <#claudia> <http://www.example.org/terms#familyName> "Garcia" }`),
	}
	for dn, doc := range docs {
		for pn, patch := range patches {
			t.Run(dn+"/"+pn, func(t *testing.T) {
				want := mustParse(t, doc, Turtle, testBase)
				if err := Apply(want, patch); err != nil {
					t.Fatal(err)
				}
				text, n, err := patch.Appendable("k0123abcd")
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Count(string(text), "\n"); got != n || n == 0 {
					t.Errorf("%d lines, said %d", got, n)
				}
				got := mustParse(t, doc+"\n"+string(text), Turtle, testBase)
				if !isomorphic(got, want) {
					t.Errorf("appended:\n%s\nparses to\n%s\nwant\n%s", text, dump(got), dump(want))
				}
			})
		}
	}
}

// TestAppendableRefuses checks that only patches that insert alone, with a
// salt that is a blank node label, give lines.
func TestAppendableRefuses(t *testing.T) {
	for name, p := range map[string]*Patch{
		"deletes": mustSPARQL(t, `DELETE DATA { <#a> <#b> <#c> }`),
		"where": mustN3Patch(t, `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:where { ?x <#b> <#c> }; solid:inserts { ?x <#d> <#e> }.`),
	} {
		if _, _, err := p.Appendable("k1"); err == nil {
			t.Errorf("%s: lines to append, want an error", name)
		}
	}
	p := mustSPARQL(t, `INSERT DATA { <#a> <#b> <#c> }`)
	for _, salt := range []string{"", "x-1", "a b", "a:b"} {
		if _, _, err := p.Appendable(salt); err == nil {
			t.Errorf("salt %q: lines to append, want an error", salt)
		}
	}
}
