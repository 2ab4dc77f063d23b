package rdfx

import (
	"fmt"
	"slices"
	"strconv"
)

// Limits on evaluating where clauses, so that a small request cannot make
// the server enumerate a cross product.
const (
	maxSolutions = 100_000           // solutions of one where clause
	maxSteps     = 10_000_000        // candidate triples examined by one patch
	maxAdded     = DefaultMaxTriples // triples one patch adds
)

// Changes is the net effect of a patch on a graph: the triples it removes
// and the triples it adds, each sorted. A triple is never in both.
type Changes struct {
	Removed []Triple
	Added   []Triple
}

// Apply changes g by the net effect of p (see Plan). It is atomic: when it
// returns an error, g is unchanged.
func Apply(g *Graph, p *Patch) error {
	c, err := Plan(g, p)
	if err != nil {
		return err
	}
	c.ApplyTo(g)
	return nil
}

// ApplyTo removes c.Removed from g and adds c.Added. g must be the graph
// Plan evaluated, unchanged since; otherwise run Plan again.
func (c *Changes) ApplyTo(g *Graph) {
	for _, t := range c.Removed {
		g.Remove(t)
	}
	for _, t := range c.Added {
		g.Add(t)
	}
}

// Plan evaluates p against g without changing g and returns the net
// changes, so that a caller can inspect them (for example to refuse changes
// to server-managed triples) before applying them with Changes.ApplyTo.
// Operations run in order, each seeing the effect of the ones before.
//
// N3 Patch (Solid Protocol 0.11 §5.3.1): a non-empty where clause must have
// exactly one solution (over its variables), else ErrPatchConflict; every
// triple of deletes, once bound, must be in the graph, else
// ErrPatchConflict; then deletes are removed and inserts added.
//
// SPARQL Update: INSERT DATA adds its triples. DELETE DATA removes its
// triples, and a triple that is not there is ErrPatchConflict (Solid clients
// rely on this 409 to detect a stale save). DELETE/INSERT ... WHERE
// instantiates its templates for every solution of the where clause (none
// is no error): all deletions first, then all insertions; template triples
// with an unbound variable, or that bind to an invalid triple, are skipped,
// and absent triples are not deleted. Blank nodes in inserts become fresh
// blank nodes, per solution.
//
// A where clause with more than 100,000 solutions, or a patch that needs
// more than 10,000,000 matching steps, is ErrUnsupported; a patch that
// adds more than DefaultMaxTriples triples (its template instantiated for
// every solution) is ErrTooManyTriples.
func Plan(g *Graph, p *Patch) (*Changes, error) {
	s := &state{base: g, removed: make(map[Triple]struct{}), added: NewGraph(0)}
	for i, op := range p.ops {
		if err := s.apply(op); err != nil {
			if len(p.ops) > 1 {
				return nil, fmt.Errorf("rdfx: operation %d: %w", i+1, err)
			}
			return nil, err
		}
	}
	c := &Changes{Added: s.added.Sorted()}
	for t := range s.removed {
		c.Removed = append(c.Removed, t)
	}
	slices.SortFunc(c.Removed, Triple.Compare)
	return c, nil
}

// state is the graph as the patch has changed it so far: the base graph,
// minus removed (a subset of base), plus added (disjoint from base).
type state struct {
	base    *Graph
	removed map[Triple]struct{}
	added   *Graph
	index   *graphIndex     // over base, built on first need
	labels  map[string]bool // blank node labels in use, built on first need
	fresh   int
	steps   int
}

func (s *state) has(t Triple) bool {
	if s.base.Has(t) {
		_, gone := s.removed[t]
		return !gone
	}
	return s.added.Has(t)
}

func (s *state) remove(t Triple) {
	if s.base.Has(t) {
		s.removed[t] = struct{}{}
		return
	}
	s.added.Remove(t)
}

func (s *state) add(t Triple) {
	if s.base.Has(t) {
		delete(s.removed, t)
		return
	}
	s.added.Add(t)
}

// freshBlank returns a blank node whose label no triple of the graph uses.
func (s *state) freshBlank() Term {
	if s.labels == nil {
		s.labels = make(map[string]bool)
		for _, g := range [2]*Graph{s.base, s.added} {
			for _, t := range g.triples {
				if t.S.kind == KindBlank {
					s.labels[t.S.value] = true
				}
				if t.O.kind == KindBlank {
					s.labels[t.O.value] = true
				}
			}
		}
	}
	for {
		l := "b" + strconv.Itoa(s.fresh)
		s.fresh++
		if !s.labels[l] {
			s.labels[l] = true
			return Blank(l)
		}
	}
}

func (s *state) apply(op operation) error {
	switch op.kind {
	case opInsertData:
		blanks := make(map[Term]Term)
		for _, t := range op.inserts {
			if b, ok := s.instantiate(t, nil, nil, blanks); ok {
				s.add(b)
			}
		}
		return nil
	case opDeleteData:
		for _, t := range op.deletes {
			if !s.has(t) {
				return fmt.Errorf("rdfx: DELETE DATA: %s is not in the resource: %w", t, ErrPatchConflict)
			}
		}
		for _, t := range op.deletes {
			s.remove(t)
		}
		return nil
	case opN3:
		return s.applyN3(op)
	default:
		return s.applyModify(op)
	}
}

// applyN3 follows the steps of Solid Protocol 0.11 §5.3.1.
func (s *state) applyN3(op operation) error {
	q := compileQuery(op.where)
	// "If ?conditions is non-empty, find all (possibly empty) variable
	// mappings such that all of the resulting triples occur in the dataset.
	// If no such mapping exists, or if multiple mappings exist, the server
	// MUST respond with a 409 status code."
	var found []Term
	count := 0
	err := s.solve(q, func(b []Term) bool {
		if count == 1 && q.sameVariables(found, b) {
			return true // a different blank node binding is the same mapping
		}
		count++
		found = slices.Clone(b)
		return count < 2
	})
	if err != nil {
		return err
	}
	switch {
	case count == 0:
		return fmt.Errorf("rdfx: N3 Patch: solid:where has no match: %w", ErrPatchConflict)
	case count > 1:
		return fmt.Errorf("rdfx: N3 Patch: solid:where has more than one match: %w", ErrPatchConflict)
	}
	// "If the set of triples resulting from ?deletions is non-empty and the
	// dataset does not contain all of these triples, the server MUST
	// respond with a 409 status code."
	dels := make([]Triple, 0, len(op.deletes))
	for _, t := range op.deletes {
		d, ok := s.instantiate(t, q, found, nil)
		if !ok {
			return fmt.Errorf("rdfx: N3 Patch: solid:deletes binds to the invalid triple %s: %w", t, ErrPatchConflict)
		}
		if !s.has(d) {
			return fmt.Errorf("rdfx: N3 Patch: %s is not in the resource: %w", d, ErrPatchConflict)
		}
		dels = append(dels, d)
	}
	ins := make([]Triple, 0, len(op.inserts))
	blanks := make(map[Term]Term)
	for _, t := range op.inserts {
		in, ok := s.instantiate(t, q, found, blanks)
		if !ok {
			return fmt.Errorf("rdfx: N3 Patch: solid:inserts binds to the invalid triple %s: %w", t, ErrPatchConflict)
		}
		ins = append(ins, in)
	}
	// "The triples resulting from ?deletions are to be removed ... The
	// triples resulting from ?insertions are to be added".
	for _, d := range dels {
		s.remove(d)
	}
	for _, in := range ins {
		s.add(in)
	}
	return nil
}

// applyModify runs DELETE/INSERT ... WHERE (SPARQL 1.1 Update §3.1.3): the
// where clause is evaluated once, then every solution's deletions are
// removed, then every solution's insertions added.
func (s *state) applyModify(op operation) error {
	q := compileQuery(op.where)
	var sols [][]Term
	tooMany := false
	err := s.solve(q, func(b []Term) bool {
		if len(sols) == maxSolutions {
			tooMany = true
			return false
		}
		sols = append(sols, slices.Clone(b))
		return true
	})
	if err != nil {
		return err
	}
	if tooMany {
		return fmt.Errorf("rdfx: WHERE has more than %d solutions: %w", maxSolutions, ErrUnsupported)
	}
	for _, b := range sols {
		for _, t := range op.deletes {
			if d, ok := s.instantiate(t, q, b, nil); ok {
				s.remove(d)
			}
		}
	}
	for _, b := range sols {
		blanks := make(map[Term]Term)
		for _, t := range op.inserts {
			if in, ok := s.instantiate(t, q, b, blanks); ok {
				s.add(in)
			}
		}
		// Every solution instantiates the whole template: a small patch
		// could otherwise add solutions × template triples.
		if s.added.Len() > maxAdded {
			return fmt.Errorf("rdfx: the patch adds more than %d triples: %w", maxAdded, ErrTooManyTriples)
		}
	}
	return nil
}

// instantiate binds the variables of the template triple t with binding b
// of query q, and replaces its blank nodes with fresh ones recorded in
// blanks (nil when t may hold no blank nodes). It reports false when a
// variable is unbound or the result is not a valid triple.
func (s *state) instantiate(t Triple, q *query, b []Term, blanks map[Term]Term) (Triple, bool) {
	var out [3]Term
	for i, x := range [3]Term{t.S, t.P, t.O} {
		switch x.kind {
		case KindVariable:
			slot, ok := q.slotOf(x)
			if !ok || b[slot].IsZero() {
				return Triple{}, false
			}
			x = b[slot]
		case KindBlank:
			if blanks == nil {
				return Triple{}, false
			}
			nb, ok := blanks[x]
			if !ok {
				nb = s.freshBlank()
				blanks[x] = nb
			}
			x = nb
		}
		out[i] = x
	}
	r := Triple{S: out[0], P: out[1], O: out[2]}
	return r, r.Valid()
}

// query is a compiled basic graph pattern: each variable and each blank
// node (existential, SPARQL 1.1 Query §4.1.4) of the where clause has a
// slot in a binding.
type query struct {
	patterns []qpattern
	slots    map[Term]int
	vars     []int // the slots of variables, which make up a "mapping"
}

// qpattern is one triple pattern: a constant term, or -1 and a slot.
type qpattern struct {
	terms [3]Term
	slots [3]int // -1 for constants
}

func compileQuery(where []Triple) *query {
	q := &query{slots: make(map[Term]int)}
	for _, t := range where {
		var qp qpattern
		for i, x := range [3]Term{t.S, t.P, t.O} {
			qp.terms[i], qp.slots[i] = x, -1
			if x.kind == KindVariable || x.kind == KindBlank {
				slot, ok := q.slots[x]
				if !ok {
					slot = len(q.slots)
					q.slots[x] = slot
					if x.kind == KindVariable {
						q.vars = append(q.vars, slot)
					}
				}
				qp.slots[i] = slot
			}
		}
		q.patterns = append(q.patterns, qp)
	}
	return q
}

func (q *query) slotOf(v Term) (int, bool) {
	if q == nil {
		return 0, false
	}
	slot, ok := q.slots[v]
	return slot, ok
}

// sameVariables reports whether two bindings agree on every variable.
func (q *query) sameVariables(a, b []Term) bool {
	for _, slot := range q.vars {
		if a[slot] != b[slot] {
			return false
		}
	}
	return true
}

// graphIndex finds the base graph's triples by subject, predicate or
// object.
type graphIndex struct {
	bySubject, byPredicate, byObject map[Term][]int32
}

func (s *state) idx() *graphIndex {
	if s.index == nil {
		ix := &graphIndex{
			bySubject:   make(map[Term][]int32),
			byPredicate: make(map[Term][]int32),
			byObject:    make(map[Term][]int32),
		}
		for i, t := range s.base.triples {
			ix.bySubject[t.S] = append(ix.bySubject[t.S], int32(i))
			ix.byPredicate[t.P] = append(ix.byPredicate[t.P], int32(i))
			ix.byObject[t.O] = append(ix.byObject[t.O], int32(i))
		}
		s.index = ix
	}
	return s.index
}

// solve calls yield with every solution of q over the current state, until
// yield returns false. An empty query has one empty solution.
func (s *state) solve(q *query, yield func([]Term) bool) error {
	binding := make([]Term, len(q.slots))
	done := make([]bool, len(q.patterns))
	var over bool
	var search func(left int) bool
	search = func(left int) bool {
		if left == 0 {
			return yield(binding)
		}
		// Match next the pattern with the most positions fixed.
		best, bestScore := -1, -1
		for i, qp := range q.patterns {
			if done[i] {
				continue
			}
			score := 0
			for k := range 3 {
				if qp.slots[k] < 0 || !binding[qp.slots[k]].IsZero() {
					score++
				}
			}
			if score > bestScore {
				best, bestScore = i, score
			}
		}
		qp := q.patterns[best]
		var fixed [3]Term
		for k := range 3 {
			if qp.slots[k] < 0 {
				fixed[k] = qp.terms[k]
			} else {
				fixed[k] = binding[qp.slots[k]]
			}
		}
		done[best] = true
		defer func() { done[best] = false }()
		try := func(t Triple) bool {
			s.steps++
			if s.steps > maxSteps {
				over = true
				return false
			}
			var bound [3]bool
			for k, x := range [3]Term{t.S, t.P, t.O} {
				switch {
				case !fixed[k].IsZero():
					if fixed[k] != x {
						return s.unbind(binding, qp, bound)
					}
				case !binding[qp.slots[k]].IsZero(): // the same variable earlier in this pattern
					if binding[qp.slots[k]] != x {
						return s.unbind(binding, qp, bound)
					}
				default:
					binding[qp.slots[k]] = x
					bound[k] = true
				}
			}
			more := search(left - 1)
			s.unbind(binding, qp, bound)
			return more
		}
		for _, i := range s.candidates(fixed) {
			t := s.base.triples[i]
			if _, gone := s.removed[t]; gone {
				continue
			}
			if !try(t) {
				return false
			}
		}
		if fixed[0].IsZero() && fixed[1].IsZero() && fixed[2].IsZero() {
			// candidates returned nil for "everything": scan the base.
			for _, t := range s.base.triples {
				if _, gone := s.removed[t]; gone {
					continue
				}
				if !try(t) {
					return false
				}
			}
		}
		for _, t := range s.added.triples {
			if !try(t) {
				return false
			}
		}
		return true
	}
	search(len(q.patterns))
	if over {
		return fmt.Errorf("rdfx: where clause needs more than %d steps: %w", maxSteps, ErrUnsupported)
	}
	return nil
}

// unbind clears the slots try bound for this pattern and returns true (go
// on with the next candidate).
func (s *state) unbind(binding []Term, qp qpattern, bound [3]bool) bool {
	for k := range 3 {
		if bound[k] {
			binding[qp.slots[k]] = Term{}
		}
	}
	return true
}

// candidates returns the positions of the base triples that may match a
// pattern with the given fixed terms, using the most selective index; nil
// with nothing fixed means all of them.
func (s *state) candidates(fixed [3]Term) []int32 {
	if fixed[0].IsZero() && fixed[1].IsZero() && fixed[2].IsZero() {
		return nil
	}
	ix := s.idx()
	var best []int32
	first := true
	for k, m := range [3]map[Term][]int32{ix.bySubject, ix.byPredicate, ix.byObject} {
		if fixed[k].IsZero() {
			continue
		}
		c := m[fixed[k]]
		if first || len(c) < len(best) {
			best, first = c, false
		}
	}
	return best
}
