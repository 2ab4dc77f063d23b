package rdfx

import (
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Compacted JSON-LD, written directly.
//
// A Solid document is a flat graph: node objects, IRIs, blank node labels
// and literals, with a context of prefixes and nothing else. Its compacted
// form needs none of the general compaction algorithm (JSON-LD 1.1 API
// §6.1, which json-gold runs by building the inverse context for every
// IRI, and which took three quarters of a JSON-LD GET): every IRI becomes
// prefix:suffix under the longest namespace that starts it, or stays
// absolute. What is written expands to exactly the triples of the graph,
// by these rules of JSON-LD 1.1 (§4.4 "Compact IRIs" of the syntax, §5.2
// "IRI Expansion" of the API):
//
//   - a prefix is used only when its namespace ends with a gen-delim
//     character (":/?#[]@"), since only then is a simple term definition
//     usable as a prefix (API §4.2.2, step 14.2.3: the prefix flag);
//   - a compact IRI is written only when its suffix does not begin with
//     "//", which expansion would take for an absolute IRI;
//   - a prefix named like the scheme of any IRI in the graph is left out
//     of the context (writeJSONLD), so no absolute IRI reads as a compact
//     one;
//   - a plain string literal is a JSON string (no @vocab and no type
//     coercion in the context), any other literal a value object with its
//     lexical form, so numbers and booleans keep their exact form.
//
// TestJSONLDWriterMatchesJSONGold parses the output with json-gold and
// compares the triples.

// jsonPrefix is one usable entry of the context.
type jsonPrefix struct{ name, ns string }

// usablePrefixes returns the prefixes of ctx that can compact IRIs,
// longest namespace first.
func usablePrefixes(ctx map[string]any) []jsonPrefix {
	out := make([]jsonPrefix, 0, len(ctx))
	for name, v := range ctx {
		ns, _ := v.(string)
		if ns == "" || !strings.ContainsRune(":/?#[]@", rune(ns[len(ns)-1])) {
			continue
		}
		out = append(out, jsonPrefix{name, ns})
	}
	slices.SortFunc(out, func(a, b jsonPrefix) int {
		if len(a.ns) != len(b.ns) {
			return len(b.ns) - len(a.ns)
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// compactIRI returns iri as prefix:suffix when a prefix fits, else iri.
func compactIRI(iri string, prefixes []jsonPrefix) string {
	for _, p := range prefixes {
		if len(iri) > len(p.ns) && strings.HasPrefix(iri, p.ns) {
			suffix := iri[len(p.ns):]
			if strings.HasPrefix(suffix, "//") {
				continue
			}
			return p.name + ":" + suffix
		}
	}
	return iri
}

// writeCompactJSONLD writes the sorted triples ts as compacted JSON-LD
// with the context ctx (prefix name to namespace): one node object merged
// with the context, or a @graph of them.
func writeCompactJSONLD(w io.Writer, ts []Triple, ctx map[string]any) error {
	prefixes := usablePrefixes(ctx)
	b := make([]byte, 0, 256+len(ts)*96)
	b = append(b, "{\n  \"@context\": {"...)
	names := make([]string, 0, len(ctx))
	for name := range ctx {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = appendJSONString(b, name)
		b = append(b, ": "...)
		ns, _ := ctx[name].(string)
		b = appendJSONString(b, ns)
	}
	b = append(b, "\n  }"...)
	single := len(ts) > 0 && ts[0].S == ts[len(ts)-1].S
	indent := "  "
	if !single {
		b = append(b, ",\n  \"@graph\": ["...)
		indent = "      "
	}
	for start := 0; start < len(ts); {
		end := start + 1
		for end < len(ts) && ts[end].S == ts[start].S {
			end++
		}
		if !single {
			if start > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    {"...)
		}
		b = appendNode(b, ts[start:end], prefixes, indent, !single)
		if !single {
			b = append(b, "\n    }"...)
		}
		start = end
	}
	if !single {
		b = append(b, "\n  ]"...)
	}
	b = append(b, "\n}\n"...)
	_, err := w.Write(b)
	return err
}

// appendNode appends the members of the node object of one subject's
// triples (all with the same subject, sorted by predicate). first tells
// that no member precedes them in the object.
func appendNode(b []byte, ts []Triple, prefixes []jsonPrefix, indent string, first bool) []byte {
	member := func(key string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '\n')
		b = append(b, indent...)
		b = appendJSONString(b, key)
		b = append(b, ": "...)
	}
	member("@id")
	b = appendJSONString(b, nodeID(ts[0].S, prefixes))
	// rdf:type with an IRI or blank node object is @type.
	var types []string
	for _, t := range ts {
		if t.P.value == RDFType && t.O.kind != KindLiteral {
			types = append(types, nodeID(t.O, prefixes))
		}
	}
	if len(types) > 0 {
		member("@type")
		b = appendStrings(b, types)
	}
	for i := 0; i < len(ts); {
		p := ts[i].P.value
		j := i
		var objs []Term
		for ; j < len(ts) && ts[j].P.value == p; j++ {
			if p == RDFType && ts[j].O.kind != KindLiteral {
				continue
			}
			objs = append(objs, ts[j].O)
		}
		i = j
		if len(objs) == 0 {
			continue
		}
		member(compactIRI(p, prefixes))
		if len(objs) > 1 {
			b = append(b, '[')
		}
		for k, o := range objs {
			if k > 0 {
				b = append(b, ", "...)
			}
			b = appendObject(b, o, prefixes)
		}
		if len(objs) > 1 {
			b = append(b, ']')
		}
	}
	return b
}

// nodeID is the @id (or @type) of an IRI or blank node.
func nodeID(t Term, prefixes []jsonPrefix) string {
	if t.kind == KindBlank {
		return "_:" + t.value
	}
	return compactIRI(t.value, prefixes)
}

// appendObject appends the value of one object.
func appendObject(b []byte, o Term, prefixes []jsonPrefix) []byte {
	if o.kind != KindLiteral {
		b = append(b, `{"@id": `...)
		b = appendJSONString(b, nodeID(o, prefixes))
		return append(b, '}')
	}
	if o.lang == "" && o.datatype == XSDString {
		return appendJSONString(b, o.value)
	}
	b = append(b, `{"@value": `...)
	b = appendJSONString(b, o.value)
	if o.lang != "" {
		b = append(b, `, "@language": `...)
		b = appendJSONString(b, o.lang)
	} else {
		b = append(b, `, "@type": `...)
		b = appendJSONString(b, compactIRI(o.datatype, prefixes))
	}
	return append(b, '}')
}

// appendStrings appends one string, or an array of several.
func appendStrings(b []byte, ss []string) []byte {
	if len(ss) == 1 {
		return appendJSONString(b, ss[0])
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string (RFC 8259 §7); invalid
// UTF-8 becomes U+FFFD, as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
