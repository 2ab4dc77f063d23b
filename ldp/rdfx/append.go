package rdfx

import (
	"errors"
	"strings"
)

// Appendable returns what an insert-only patch (OnlyInserts) adds to any
// graph, as N-Triples lines to append to a Turtle document holding that
// graph, and how many lines there are. N-Triples statements are Turtle
// statements whose IRIs are absolute, so no @base or @prefix of the
// document changes what they say; their blank nodes, fresh per patch as
// Plan makes them, are labelled with salt first, which must be a label
// the document cannot hold (random: whoever wrote the document could not
// guess it). The document parsed with the lines appended is the graph
// Apply makes of it: a line may repeat a triple the document has, which
// parses to the same graph.
func (p *Patch) Appendable(salt string) ([]byte, int, error) {
	if !p.OnlyInserts() {
		return nil, 0, errors.New("rdfx: the patch does more than insert")
	}
	if !validBlankLabel(salt) || strings.HasPrefix(salt, "x-") {
		return nil, 0, errors.New("rdfx: the salt is not a blank node label")
	}
	c, err := Plan(NewGraph(0), p)
	if err != nil {
		return nil, 0, err
	}
	var b []byte
	for _, t := range c.Added {
		for i, term := range [3]Term{t.S, t.P, t.O} {
			if i > 0 {
				b = append(b, ' ')
			}
			if term.kind == KindBlank {
				term = Blank(salt + turtleBlankLabel(term.value))
			}
			b = appendNTTerm(b, term)
		}
		b = append(b, " .\n"...)
	}
	return b, len(c.Added), nil
}
