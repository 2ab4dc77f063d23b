package rdfx

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
)

const testBase = "https://pod.example/alice/profile/card"

// mustParse parses doc or fails the test.
func mustParse(t testing.TB, doc, mediaType, base string) *Graph {
	t.Helper()
	g, err := Parse(strings.NewReader(doc), mediaType, base, ParseOptions{})
	if err != nil {
		t.Fatalf("Parse(%s): %v\n%s", mediaType, err, doc)
	}
	return g
}

// graphOf builds a graph from N-Triples lines, for expectations.
func graphOf(t testing.TB, nt string) *Graph {
	t.Helper()
	return mustParse(t, nt, NTriples, "")
}

// dump lists a graph's triples sorted, one per line, for failure messages.
func dump(g *Graph) string {
	var b strings.Builder
	for _, t := range g.Sorted() {
		b.WriteString(t.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// isomorphic reports whether g and h are the same graph up to blank node
// labels (RDF 1.1 Concepts §3.6). It refines blank nodes by their
// neighbourhoods, then searches for a bijection within equal colours; fine
// for test-sized graphs.
func isomorphic(g, h *Graph) bool {
	if g.Len() != h.Len() {
		return false
	}
	ground := func(t Triple) bool { return t.S.kind != KindBlank && t.O.kind != KindBlank }
	for t := range g.All() {
		if ground(t) && !h.Has(t) {
			return false
		}
	}
	cg, ch := colours(g), colours(h)
	if len(cg) != len(ch) {
		return false
	}
	byColour := func(c map[string]string) map[string][]string {
		m := make(map[string][]string)
		for label, col := range c {
			m[col] = append(m[col], label)
		}
		for _, ls := range m {
			sort.Strings(ls)
		}
		return m
	}
	gc, hc := byColour(cg), byColour(ch)
	if len(gc) != len(hc) {
		return false
	}
	for col, ls := range gc {
		if len(hc[col]) != len(ls) {
			return false
		}
	}
	labels := slices.Sorted(maps.Keys(cg))
	m := make(map[string]string)
	usedH := make(map[string]bool)
	budget := 100000
	var try func(i int) bool
	try = func(i int) bool {
		if budget--; budget < 0 {
			return false
		}
		if i == len(labels) {
			for t := range g.All() {
				if !h.Has(relabel(t, m)) {
					return false
				}
			}
			return true
		}
		for _, cand := range hc[cg[labels[i]]] {
			if usedH[cand] {
				continue
			}
			m[labels[i]], usedH[cand] = cand, true
			if try(i + 1) {
				return true
			}
			delete(m, labels[i])
			usedH[cand] = false
		}
		return false
	}
	return try(0)
}

func relabel(t Triple, m map[string]string) Triple {
	if t.S.kind == KindBlank {
		t.S = Blank(m[t.S.value])
	}
	if t.O.kind == KindBlank {
		t.O = Blank(m[t.O.value])
	}
	return t
}

// colours gives every blank node of g a colour from a few rounds of
// refinement over the triples around it.
func colours(g *Graph) map[string]string {
	col := make(map[string]string)
	for t := range g.All() {
		for _, x := range [2]Term{t.S, t.O} {
			if x.kind == KindBlank {
				col[x.value] = ""
			}
		}
	}
	name := func(x Term, c map[string]string) string {
		if x.kind == KindBlank {
			return "_:" + c[x.value]
		}
		return x.String()
	}
	for round := 0; round < 4; round++ {
		sigs := make(map[string][]string)
		for t := range g.All() {
			if t.S.kind == KindBlank {
				sigs[t.S.value] = append(sigs[t.S.value], "s "+t.P.String()+" "+name(t.O, col))
			}
			if t.O.kind == KindBlank {
				sigs[t.O.value] = append(sigs[t.O.value], "o "+t.P.String()+" "+name(t.S, col))
			}
		}
		next := make(map[string]string, len(col))
		for label := range col {
			s := sigs[label]
			sort.Strings(s)
			next[label] = fmt.Sprintf("%x", hashString(strings.Join(s, "|")))
		}
		col = next
	}
	return col
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
