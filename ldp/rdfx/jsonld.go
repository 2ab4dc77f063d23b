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

// parseJSONLD reads a JSON-LD document into a new graph. The document is
// read whole, so MaxTriples is checked after the conversion to RDF.
func parseJSONLD(r io.Reader, base string, opts ParseOptions) (g *Graph, err error) {
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

	defer func() {
		if v := recover(); v != nil { // json-gold type-asserts freely
			g, err = nil, &SyntaxError{Msg: fmt.Sprintf("JSON-LD processor failed: %v", v)}
		}
	}()
	res, err := ld.NewJsonLdProcessor().ToRDF(doc, jsonldOptions(base, opts.Contexts))
	if err != nil {
		if errors.Is(err, ErrRemoteContext) {
			return nil, fmt.Errorf("rdfx: JSON-LD: %w", err)
		}
		return nil, &SyntaxError{Msg: "JSON-LD: " + err.Error()}
	}
	ds, ok := res.(*ld.RDFDataset)
	if !ok {
		return nil, &SyntaxError{Msg: "JSON-LD: processor returned no dataset"}
	}
	quads, err := defaultGraphQuads(ds, base)
	if err != nil {
		return nil, err
	}
	labels := newLabeler()
	g = NewGraph(len(quads))
	for _, q := range quads {
		t := Triple{S: fromLD(q.Subject, &labels), P: fromLD(q.Predicate, &labels), O: fromLD(q.Object, &labels)}
		// JSON-LD 1.1 API §8.2: a triple with an IRI that is not absolute
		// (json-gold lets some through, for example under a malformed
		// @base) is not well-formed and is dropped.
		if !t.Valid() || !absoluteTerms(t) {
			continue
		}
		if g.Add(t) && opts.MaxTriples > 0 && g.Len() > opts.MaxTriples {
			return nil, fmt.Errorf("rdfx: more than %d triples: %w", opts.MaxTriples, ErrTooManyTriples)
		}
	}
	return g, nil
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
	expanded := expandedJSONLD(ts)
	var out any = expanded
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
	if len(ctx) > 0 && len(expanded) > 0 {
		// Expanded JSON-LD is always correct, so it is the fallback should
		// the processor refuse to compact.
		if compacted, err := ld.NewJsonLdProcessor().Compact(expanded, map[string]any{"@context": ctx}, jsonldOptions("", nil)); err == nil {
			out = compacted
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
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
