package rdfx

import (
	"iter"
	"slices"
)

// Triple is an RDF statement: subject, predicate, object. In a Graph the
// subject is an IRI or blank node, the predicate an IRI and the object any
// term but a variable; patch patterns may also hold variables.
type Triple struct {
	S, P, O Term
}

// Valid reports whether t is an RDF triple that a Graph can hold: subject
// an IRI or blank node, predicate an IRI, object an IRI, blank node or
// well-formed literal, and no variables.
func (t Triple) Valid() bool {
	return (t.S.kind == KindIRI || t.S.kind == KindBlank) && t.S.valid() &&
		t.P.kind == KindIRI &&
		t.O.kind != KindVariable && t.O.valid()
}

// String returns t as one N-Triples statement without the final newline.
func (t Triple) String() string {
	return t.S.String() + " " + t.P.String() + " " + t.O.String() + " ."
}

// Compare orders triples by subject, predicate, then object (see
// Term.Compare). It returns -1, 0 or +1.
func (t Triple) Compare(u Triple) int {
	if c := t.S.Compare(u.S); c != 0 {
		return c
	}
	if c := t.P.Compare(u.P); c != 0 {
		return c
	}
	return t.O.Compare(u.O)
}

// matches reports whether t fits the pattern s, p, o, where a zero Term
// matches anything.
func (t Triple) matches(s, p, o Term) bool {
	return (s.kind == KindNone || s == t.S) &&
		(p.kind == KindNone || p == t.P) &&
		(o.kind == KindNone || o == t.O)
}

// Graph is a set of triples. Adding a triple twice keeps one copy. The zero
// Graph is empty and ready to use. A Graph is not safe for concurrent use
// when one of the goroutines modifies it.
type Graph struct {
	triples []Triple
	index   map[Triple]int // position of each triple in triples
}

// NewGraph returns an empty graph with room for n triples.
func NewGraph(n int) *Graph {
	return &Graph{triples: make([]Triple, 0, n), index: make(map[Triple]int, n)}
}

// Add adds t and reports whether the graph changed. A triple that is already
// present, or that is not Valid, leaves the graph unchanged and returns false.
func (g *Graph) Add(t Triple) bool {
	if !t.Valid() {
		return false
	}
	if g.index == nil {
		g.index = make(map[Triple]int)
	}
	if _, ok := g.index[t]; ok {
		return false
	}
	g.index[t] = len(g.triples)
	g.triples = append(g.triples, t)
	return true
}

// Remove removes t and reports whether it was present.
func (g *Graph) Remove(t Triple) bool {
	i, ok := g.index[t]
	if !ok {
		return false
	}
	last := len(g.triples) - 1
	if i != last {
		moved := g.triples[last]
		g.triples[i] = moved
		g.index[moved] = i
	}
	g.triples[last] = Triple{}
	g.triples = g.triples[:last]
	delete(g.index, t)
	return true
}

// RemoveMatches removes every triple that Match(s, p, o) yields and returns
// how many it removed.
func (g *Graph) RemoveMatches(s, p, o Term) int {
	n := 0
	for i := 0; i < len(g.triples); {
		if t := g.triples[i]; t.matches(s, p, o) {
			g.Remove(t) // moves the last triple to i, so look at i again
			n++
			continue
		}
		i++
	}
	return n
}

// Has reports whether t is in the graph.
func (g *Graph) Has(t Triple) bool {
	_, ok := g.index[t]
	return ok
}

// Len returns the number of triples.
func (g *Graph) Len() int { return len(g.triples) }

// All yields every triple, in no particular order. The graph must not be
// modified during the iteration; collect first, or use RemoveMatches.
func (g *Graph) All() iter.Seq[Triple] {
	return func(yield func(Triple) bool) {
		for _, t := range g.triples {
			if !yield(t) {
				return
			}
		}
	}
}

// Match yields the triples whose subject, predicate and object equal s, p
// and o, where a zero Term matches anything: Match(s, Term{}, Term{}) yields
// everything said about s. The graph must not be modified during the
// iteration.
func (g *Graph) Match(s, p, o Term) iter.Seq[Triple] {
	return func(yield func(Triple) bool) {
		if s.kind != KindNone && p.kind != KindNone && o.kind != KindNone {
			if t := (Triple{s, p, o}); g.Has(t) {
				yield(t)
			}
			return
		}
		for _, t := range g.triples {
			if t.matches(s, p, o) && !yield(t) {
				return
			}
		}
	}
}

// Object returns the object of the first triple Match(s, p, Term{}) yields,
// for properties that have one value, and whether there was one.
func (g *Graph) Object(s, p Term) (Term, bool) {
	for t := range g.Match(s, p, Term{}) {
		return t.O, true
	}
	return Term{}, false
}

// Sorted returns the triples in Triple.Compare order, in a new slice.
func (g *Graph) Sorted() []Triple {
	ts := slices.Clone(g.triples)
	slices.SortFunc(ts, Triple.Compare)
	return ts
}

// Clone returns an independent copy of g.
func (g *Graph) Clone() *Graph {
	c := &Graph{triples: slices.Clone(g.triples), index: make(map[Triple]int, len(g.triples))}
	for i, t := range c.triples {
		c.index[t] = i
	}
	return c
}

// Equal reports whether g and h hold the same triples, comparing blank nodes
// by label. Graphs parsed from different documents usually label their blank
// nodes differently.
func (g *Graph) Equal(h *Graph) bool {
	if g.Len() != h.Len() {
		return false
	}
	for _, t := range g.triples {
		if !h.Has(t) {
			return false
		}
	}
	return true
}
