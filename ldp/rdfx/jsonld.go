package rdfx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/piprate/json-gold/ld"
)

// JSON-LD goes through json-gold, a JSON-LD 1.1 processor, with a document
// loader that never touches the network.

// contextLoader is json-gold's document loader: it serves the contexts the
// caller listed in ParseOptions.Contexts and refuses every other URL.
type contextLoader map[string][]byte

// LoadDocument returns the listed context for u, or ErrRemoteContext.
func (c contextLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	b, ok := c[u]
	if !ok {
		return nil, fmt.Errorf("rdfx: context <%s> is not in the allow-list: %w", u, ErrRemoteContext)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("rdfx: context <%s>: %w", u, err)
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
}

func jsonldOptions(base string, contexts map[string][]byte) *ld.JsonLdOptions {
	o := ld.NewJsonLdOptions(base)
	o.ProcessingMode = ld.JsonLd_1_1
	o.DocumentLoader = contextLoader(contexts)
	return o
}

// parseJSONLD reads a JSON-LD document into a new graph.
//
// json-gold is linear in expansion but not in building the node map of
// JSON-LD 1.1 API §7.3 (its AddValue compares every new value with all the
// values a property holds already, so one property with n values costs
// n²/2 comparisons: 40,000 numbers took two minutes). rdfx therefore calls
// json-gold's Expand, builds the node map itself (nodeMap, linear: it keeps
// duplicates, which the graph drops), and has json-gold turn the node map
// into quads (GraphToRDF, linear). Before any of it, checkJSONLD bounds the
// work by the document's shape: its depth, its number of JSON values, and
// the text its IRIs can expand to, since expansion cannot be stopped once
// it runs.
func parseJSONLD(r io.Reader, base string, opts ParseOptions, b *budget) (g *Graph, err error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("rdfx: reading input: %w", err)
	}
	// Numbers stay float64: json-gold compares @version with 1.1 as a
	// float64, and JSON-LD 1.1 §8.6 maps numbers to xsd:integer or
	// xsd:double through doubles anyway.
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, jsonSyntaxError(data, err)
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		line, col := position(data, len(data)-len(rest))
		return nil, &SyntaxError{Line: line, Col: col, Msg: "JSON-LD: data after the JSON value"}
	}
	switch doc.(type) {
	case map[string]any, []any:
	default:
		return nil, &SyntaxError{Line: 1, Col: 1, Msg: "JSON-LD: a document is a JSON object or array"}
	}

	defer catch(&err)
	checkJSONLD(doc, base, opts.Contexts, b)
	defer func() {
		if v := recover(); v != nil {
			if f, ok := v.(failure); ok {
				panic(f)
			}
			// json-gold type-asserts freely
			g, err = nil, &SyntaxError{Msg: fmt.Sprintf("JSON-LD processor failed: %v", v)}
		}
	}()
	o := jsonldOptions(base, opts.Contexts)
	expanded, err := ld.NewJsonLdProcessor().Expand(doc, o)
	if err != nil {
		if errors.Is(err, ErrRemoteContext) {
			return nil, fmt.Errorf("rdfx: JSON-LD: %w", err)
		}
		return nil, &SyntaxError{Msg: "JSON-LD: " + err.Error()}
	}
	b.checkContext()
	issuer := ld.NewIdentifierIssuer("_:b")
	nm := nodeMap{graphs: map[string]map[string]any{"@default": {}}, issuer: issuer, b: b}
	if err := nm.add(expanded, "@default", nil, "", nil); err != nil {
		return nil, &SyntaxError{Msg: "JSON-LD: " + err.Error()}
	}
	b.checkContext()
	ds := ld.NewRDFDataset()
	for _, name := range slices.Sorted(maps.Keys(nm.graphs)) {
		if ld.IsRelativeIri(name) { // JSON-LD 1.1 API §8.1 step 1.1
			continue
		}
		ds.GraphToRDF(name, nm.graphs[name], issuer, false)
	}
	quads, err := defaultGraphQuads(ds, base)
	if err != nil {
		return nil, err
	}
	labels := newLabeler()
	n := len(quads)
	if b.lim.triples > 0 {
		n = min(n, b.lim.triples)
	}
	g = NewGraph(n)
	for _, q := range quads {
		b.tick()
		t := Triple{S: fromLD(q.Subject, &labels), P: fromLD(q.Predicate, &labels), O: fromLD(q.Object, &labels)}
		// JSON-LD 1.1 API §8.2: a triple with an IRI that is not absolute
		// (json-gold lets some through, for example under a malformed
		// @base) is not well-formed and is dropped.
		if !t.Valid() || !absoluteTerms(t) {
			continue
		}
		b.add(g, t)
	}
	return g, nil
}

// contextWork is how many term definitions json-gold may copy, per triple
// that MaxTriples allows, while it applies contexts: 4 million by default,
// about a second.
const contextWork = 20

// checkJSONLD refuses, before expansion, a document whose expansion could
// cost more than its limits allow: nested more than four times MaxDepth
// (expanded JSON-LD spends an object and an array on each level of nodes,
// and lists two more), holding more JSON values than half of MaxTriples
// plus 1,024 (json-gold's expansion keeps some 700 bytes for each: a
// 300,000-number array grew the server by 212 MB before its triples were
// counted), that applies contexts so often to so many terms that json-gold
// would copy more than contextWork term definitions per allowed triple
// (it copies the whole active context for each embedded @context and each
// use of a term with a scoped context: 4,000 of each, in 200 KB, took 3.6
// s), or whose strings could expand to more than MaxBytes. The last
// is an upper bound: every string of the document can become an IRI as
// long as the longest term, prefix, @vocab or base of its contexts plus
// itself, and the contexts' own terms expand once each.
func checkJSONLD(doc any, base string, contexts map[string][]byte, b *budget) {
	c := jsonCheck{b: b, maxDepth: 4 * b.lim.depth, terms: make(map[string]string), scoped: make(map[string]bool)}
	if b.lim.triples > 0 {
		c.maxValues = b.lim.triples/2 + 1024
	}
	for _, data := range contexts {
		var ctx any
		if json.Unmarshal(data, &ctx) == nil {
			c.context(ctx, 0)
		}
	}
	c.walk(doc, 0, false)
	if b.lim.triples > 0 {
		// json-gold copies the active context each time it applies a
		// context: an embedded @context, or a term with a scoped context.
		c.scopedUses(doc)
		terms := int64(len(c.terms) + 1)
		if limit := int64(contextWork) * int64(b.lim.triples); c.applications*terms > limit {
			fail(fmt.Errorf("rdfx: JSON-LD: the document applies a context %d times to %d terms, more than %d term copies for at most %d triples: %w",
				c.applications, terms, limit, b.lim.triples, ErrTooLarge))
		}
	}
	if b.lim.bytes <= 0 {
		return
	}
	// Each @base resolves against the one before: at most all of them
	// end to end, kept by each context that sets one.
	chained := len(base) + int(c.baseBytes)
	longest := chained
	done := make(map[string]int, len(c.terms))
	for term := range c.terms {
		longest = max(longest, c.termLen(term, done, 0))
	}
	total := c.textBytes + int64(c.strings+len(c.terms))*int64(longest+chained) + c.baseCount*int64(chained)
	if total > b.lim.bytes {
		fail(fmt.Errorf("rdfx: JSON-LD: the document's IRIs can expand to more than %d bytes "+
			"(%d strings under terms of up to %d bytes): %w", b.lim.bytes, c.strings, longest, ErrTooLarge))
	}
}

type jsonCheck struct {
	b         *budget
	maxDepth  int
	maxValues int
	values    int
	strings   int   // strings outside contexts, keys included
	textBytes int64 // their bytes
	// terms maps each term or prefix that any context defines to the
	// longest IRI or compact IRI given for it.
	terms map[string]string
	// scoped holds the terms defined with a scoped context; applications
	// counts embedded contexts and, after scopedUses, the uses of scoped
	// terms as keys or values.
	scoped       map[string]bool
	applications int64
	// baseBytes and baseCount sum the @base values of all contexts.
	baseBytes, baseCount int64
}

// scopedUses counts the keys and strings of doc, outside contexts, that
// name a term with a scoped context: each may apply that context.
func (c *jsonCheck) scopedUses(v any) {
	if len(c.scoped) == 0 {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "@context" {
				continue
			}
			if c.scoped[k] {
				// applied to each value of the term, it seems
				c.applications++
				if a, ok := x.([]any); ok {
					c.applications += int64(len(a))
				}
			}
			c.scopedUses(x)
		}
	case []any:
		for _, x := range v {
			c.scopedUses(x)
		}
	case string:
		if c.scoped[v] {
			c.applications++
		}
	}
}

func (c *jsonCheck) value(depth int) {
	c.b.tick()
	c.values++
	if c.maxValues > 0 && c.values > c.maxValues {
		fail(fmt.Errorf("rdfx: JSON-LD: more than %d JSON values for at most %d triples: %w", c.maxValues, c.b.lim.triples, ErrTooLarge))
	}
	if depth > c.maxDepth {
		syntaxErrorf(0, 0, "JSON-LD: nested more than %d levels deep", c.maxDepth)
	}
}

// walk visits a document value; inContext is set inside @context.
func (c *jsonCheck) walk(v any, depth int, inContext bool) {
	c.value(depth)
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "@context" {
				c.applications++
				c.context(x, depth+1)
				continue
			}
			c.str(k)
			c.walk(x, depth+1, inContext)
		}
	case []any:
		for _, x := range v {
			c.walk(x, depth+1, inContext)
		}
	case string:
		c.str(v)
	}
}

func (c *jsonCheck) str(s string) {
	c.strings++
	c.textBytes += int64(len(s))
}

// context records the term definitions of a context (a map, a URL or an
// array of them), nested scoped contexts included.
func (c *jsonCheck) context(v any, depth int) {
	c.value(depth)
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			c.context(x, depth+1)
		}
	case string:
		c.str(v)
	case map[string]any:
		for k, x := range v {
			c.str(k)
			switch d := x.(type) {
			case string:
				c.define(k, d)
				c.value(depth + 1)
			case map[string]any:
				c.value(depth + 1)
				for dk, dv := range d {
					switch dk {
					case "@context":
						c.scoped[k] = true
						c.context(dv, depth+2)
					case "@id", "@reverse", "@type":
						if s, ok := dv.(string); ok {
							c.define(k, s)
						}
						c.value(depth + 2)
					default:
						c.walk(dv, depth+2, true)
					}
				}
			default:
				c.walk(x, depth+1, true)
			}
		}
	}
}

func (c *jsonCheck) define(term, iri string) {
	c.textBytes += int64(len(iri))
	if term == "@base" {
		c.baseBytes += int64(len(iri))
		c.baseCount++
	}
	if len(iri) >= len(c.terms[term]) {
		c.terms[term] = iri
	}
	// A term with no IRI of its own expands under @vocab: as long as
	// @vocab plus itself.
	if len(term) >= len(c.terms["\x00term"]) {
		c.terms["\x00term"] = term
	}
}

// termLen bounds the length of the IRI term expands to: its definition,
// with the prefix of a compact IRI replaced by that prefix's own bound.
// A cycle of prefixes is refused (JSON-LD 1.1 API §4.2.2 calls it a cyclic
// IRI mapping).
func (c *jsonCheck) termLen(term string, done map[string]int, depth int) int {
	if n, ok := done[term]; ok {
		if n < 0 {
			fail(fmt.Errorf("rdfx: JSON-LD: the terms of the context define each other in a cycle: %w", ErrUnsupported))
		}
		return n
	}
	iri := c.terms[term]
	done[term] = -1
	n := len(iri)
	if term == "@vocab" {
		n += len(c.terms["\x00term"])
	}
	if prefix, suffix, ok := strings.Cut(iri, ":"); ok && !strings.HasPrefix(suffix, "//") {
		if _, defined := c.terms[prefix]; defined && prefix != term {
			n = c.termLen(prefix, done, depth+1) + len(suffix)
		}
	}
	done[term] = n
	return n
}

// defaultGraphQuads returns the quads of ds that a document at base can
// keep: those of the default graph, then those of the graph named after the
// document itself. A Solid resource is one RDF graph (Solid Protocol 0.11
// §5.5 serves it as Turtle, which has no graph names), so any other
// non-empty named graph is refused, as ErrUnsupported.
//
// json-gold's ToRDF keys ds.Graphs by graph name: "@default" for the
// default graph, the absolute IRI of a graph named by an IRI (relative
// names are dropped), and a "_:b<n>" label for a graph with no @id, such as
// a graph object or a @graph beside other properties of an unnamed node
// (JSON-LD 1.1 §4.9). Blank node labels are issued once for the whole
// dataset, so a blank node shared by the two graphs stays one node.
//
// Why the document's own graph is kept: many Solid clients write
// {"@id": "<doc>", "@graph": [...]}, meaning "the triples of <doc>", which
// is what the default graph of <doc> holds. Any other graph name carries
// meaning a single graph cannot hold: its triples are only claimed to be in
// that graph, not asserted by the document. Merged, they would become
// statements of the document, and the server acts on those (authorizations
// in an ACL, the oidcIssuer of a WebID profile, containment).
func defaultGraphQuads(ds *ld.RDFDataset, base string) ([]*ld.Quad, error) {
	quads := ds.Graphs["@default"]
	var refused []string
	for _, name := range slices.Sorted(maps.Keys(ds.Graphs)) {
		switch {
		case name == "@default" || len(ds.Graphs[name]) == 0:
		case name == base && base != "":
			quads = append(slices.Clip(quads), ds.Graphs[name]...)
		default:
			refused = append(refused, name)
		}
	}
	if len(refused) == 0 {
		return quads, nil
	}
	what := "an unnamed graph (a graph object, or @graph in a node with other properties and no @id)"
	if i := slices.IndexFunc(refused, func(n string) bool { return !strings.HasPrefix(n, "_:") }); i >= 0 {
		what = "the graph <" + refused[i] + ">"
	}
	return nil, fmt.Errorf("rdfx: JSON-LD: named graphs are not supported: a resource is one graph, so only the default graph "+
		"and a @graph named after the document itself are kept, and %s would lose its name: %w", what, ErrUnsupported)
}

// absoluteTerms reports whether every IRI of t, datatypes included, is
// absolute.
func absoluteTerms(t Triple) bool {
	for _, x := range [3]Term{t.S, t.P, t.O} {
		if x.kind == KindIRI && !hasScheme(x.value) || x.kind == KindLiteral && !hasScheme(x.datatype) {
			return false
		}
	}
	return true
}

// fromLD converts a json-gold node.
func fromLD(n ld.Node, labels *labeler) Term {
	switch v := n.(type) {
	case ld.IRI:
		return IRI(v.Value)
	case *ld.IRI:
		return IRI(v.Value)
	case ld.BlankNode:
		return Blank(labels.label(strings.TrimPrefix(v.Attribute, "_:")))
	case *ld.BlankNode:
		return Blank(labels.label(strings.TrimPrefix(v.Attribute, "_:")))
	case ld.Literal:
		return ldLiteral(v)
	case *ld.Literal:
		return ldLiteral(*v)
	}
	return Term{}
}

func ldLiteral(l ld.Literal) Term {
	if l.Language != "" {
		return LangLiteral(l.Value, l.Language)
	}
	return Literal(l.Value, l.Datatype)
}

// jsonSyntaxError turns an encoding/json error into a positioned
// *SyntaxError.
func jsonSyntaxError(data []byte, err error) error {
	offset := len(data)
	var serr *json.SyntaxError
	var terr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &serr):
		// Offset counts the offending byte itself.
		offset = int(serr.Offset) - 1
	case errors.As(err, &terr):
		offset = int(terr.Offset)
	}
	line, col := position(data, offset)
	return &SyntaxError{Line: line, Col: col, Msg: "JSON: " + err.Error()}
}

// position returns the line and column (from 1) of byte offset in data.
func position(data []byte, offset int) (int, int) {
	offset = min(max(offset, 0), len(data))
	before := data[:offset]
	line := 1 + bytes.Count(before, []byte{'\n'})
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

// writeJSONLD writes g as JSON-LD: expanded form when prefixes is empty,
// otherwise compacted with a context made of the prefixes. Node objects are
// in subject order and values in object order, so the output is stable.
func writeJSONLD(w io.Writer, g *Graph, prefixes map[string]string) error {
	ts := g.Sorted()
	// A prefix named like the scheme of an IRI in the graph would make
	// that IRI ambiguous (JSON-LD 1.1 API, "IRI confused with prefix").
	schemes := make(map[string]bool)
	for _, t := range ts {
		for _, x := range [4]string{t.S.value, t.P.value, t.O.value, t.O.datatype} {
			if n := schemeLen(x); n > 0 {
				schemes[x[:n]] = true
			}
		}
	}
	ctx := make(map[string]any)
	for name, ns := range prefixes {
		if name != "" && !strings.HasPrefix(name, "@") && !strings.Contains(name, ":") && ns != "" && !schemes[name] {
			ctx[name] = ns
		}
	}
	if len(ctx) > 0 && len(ts) > 0 {
		// Compacted directly (jsonld_write.go), not by the general
		// algorithm.
		return writeCompactJSONLD(w, ts, ctx)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(expandedJSONLD(ts))
}

// expandedJSONLD builds expanded JSON-LD (JSON-LD 1.1 API §6.2 in reverse):
// one node object per subject, rdf:type as @type, literals as value
// objects with their lexical form.
func expandedJSONLD(ts []Triple) []any {
	out := make([]any, 0)
	var node map[string]any
	for i, t := range ts {
		if i == 0 || t.S != ts[i-1].S {
			node = map[string]any{"@id": jsonldID(t.S)}
			out = append(out, node)
		}
		if t.P.value == RDFType && t.O.kind != KindLiteral {
			types, _ := node["@type"].([]any)
			node["@type"] = append(types, jsonldID(t.O))
			continue
		}
		var v map[string]any
		switch t.O.kind {
		case KindLiteral:
			v = map[string]any{"@value": t.O.value}
			switch {
			case t.O.lang != "":
				v["@language"] = t.O.lang
			case t.O.datatype != XSDString:
				v["@type"] = t.O.datatype
			}
		default:
			v = map[string]any{"@id": jsonldID(t.O)}
		}
		vs, _ := node[t.P.value].([]any)
		node[t.P.value] = append(vs, v)
	}
	return out
}

func jsonldID(t Term) string {
	if t.kind == KindBlank {
		return "_:" + t.value
	}
	return t.value
}
