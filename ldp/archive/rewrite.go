package archive

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/weconomics/kluis/ldp/rdfx"
)

// Rewrite moves absolute IRIs from one base to another: an IRI starting
// with From starts with To instead. Both should end in "/", so that
// "http://old.example/" never matches "http://old.example.org/".
type Rewrite struct {
	From, To string
}

// rewriter applies Rewrite rules, the longest From first.
type rewriter []Rewrite

func newRewriter(rules []Rewrite) rewriter {
	rw := slices.Clone(rules)
	rw = slices.DeleteFunc(rw, func(r Rewrite) bool { return r.From == "" || r.From == r.To })
	slices.SortStableFunc(rw, func(a, b Rewrite) int { return cmp.Compare(len(b.From), len(a.From)) })
	return rw
}

// iri returns the rewritten IRI and whether a rule matched.
func (rw rewriter) iri(s string) (string, bool) {
	for _, r := range rw {
		if rest, ok := strings.CutPrefix(s, r.From); ok {
			return r.To + rest, true
		}
	}
	return s, false
}

// mentions reports whether data holds the text of any From: a document
// without one has no absolute IRI to rewrite.
func (rw rewriter) mentions(data []byte) bool {
	for _, r := range rw {
		if bytes.Contains(data, []byte(r.From)) {
			return true
		}
	}
	return false
}

// term rewrites an IRI term; other terms are returned unchanged.
func (rw rewriter) term(t rdfx.Term) rdfx.Term {
	if !t.IsIRI() {
		return t
	}
	if s, ok := rw.iri(t.Value()); ok {
		return rdfx.IRI(s)
	}
	return t
}

// rdfPrefixes are the prefixes rewritten documents are written with.
func rdfPrefixes() map[string]string {
	return map[string]string{
		"acl":    "http://www.w3.org/ns/auth/acl#",
		"dc":     "http://purl.org/dc/terms/",
		"foaf":   "http://xmlns.com/foaf/0.1/",
		"ldp":    "http://www.w3.org/ns/ldp#",
		"pim":    "http://www.w3.org/ns/pim/space#",
		"rdfs":   "http://www.w3.org/2000/01/rdf-schema#",
		"schema": "http://schema.org/",
		"solid":  "http://www.w3.org/ns/solid/terms#",
		"vcard":  "http://www.w3.org/2006/vcard/ns#",
		"xsd":    "http://www.w3.org/2001/XMLSchema#",
		"as":     "https://www.w3.org/ns/activitystreams#",
		"ma":     "http://www.w3.org/ns/ma-ont#",
		"posix":  "http://www.w3.org/ns/posix/stat#",
	}
}

// rdfLimits bound what is parsed of one RDF document.
type rdfLimits struct {
	maxTriples int
}

// toTurtle returns data, an RDF document of mediaType whose IRI is now
// docIRI, as Turtle with rw applied. keep reports that data was Turtle
// with nothing to rewrite and is returned unchanged. drop, when set,
// removes triples before writing. Relative IRIs resolve against docIRI,
// so they move with the document.
func toTurtle(data []byte, mediaType, docIRI string, rw rewriter, lim rdfLimits, drop func(rdfx.Triple) bool) (out []byte, keep bool, err error) {
	turtle := strings.EqualFold(mediaType, rdfx.Turtle)
	if turtle && drop == nil && !rw.mentions(data) {
		return data, true, nil
	}
	g, err := rdfx.Parse(bytes.NewReader(data), mediaType, docIRI, rdfx.ParseOptions{MaxTriples: lim.maxTriples})
	if err != nil {
		return nil, false, fmt.Errorf("archive: parsing %s as %s: %w", docIRI, mediaType, err)
	}
	h := rdfx.NewGraph(g.Len())
	for t := range g.All() {
		if drop != nil && drop(t) {
			continue
		}
		h.Add(rdfx.Triple{S: rw.term(t.S), P: rw.term(t.P), O: rw.term(t.O)})
	}
	var buf bytes.Buffer
	if h.Len() > 0 {
		if err := rdfx.Serialize(&buf, h, rdfx.Turtle, docIRI, rdfPrefixes()); err != nil {
			return nil, false, fmt.Errorf("archive: writing %s: %w", docIRI, err)
		}
	}
	return buf.Bytes(), false, nil
}

// isRDF reports whether Kluis stores documents of mediaType as Turtle.
func isRDF(mediaType string) bool {
	return rdfx.Supports(mediaType)
}
