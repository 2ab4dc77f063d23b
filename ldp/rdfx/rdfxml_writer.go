package rdfx

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// writeRDFXML writes g as RDF/XML, one rdf:Description per subject in
// sorted order. Predicates are split into a namespace and an XML local name
// (an IRI with no such split cannot be written: ErrUnsupported); namespaces
// take their prefix from prefixes when it names them, else ns0, ns1, ...
// Blank nodes become rdf:nodeID attributes.
func writeRDFXML(w io.Writer, g *Graph, prefixes map[string]string) error {
	ts := g.Sorted()

	// Namespaces of the predicates, and their prefixes.
	type qname struct{ ns, local string }
	qnames := make(map[string]qname)
	nsPrefix := map[string]string{NSRDF: "rdf"}
	taken := map[string]bool{"rdf": true}
	for _, name := range slices.Sorted(maps.Keys(prefixes)) {
		ns := prefixes[name]
		if _, ok := nsPrefix[ns]; ok || taken[name] || !validNCName(name) || strings.HasPrefix(strings.ToLower(name), "xml") {
			continue
		}
		nsPrefix[ns], taken[name] = name, true
	}
	var used []string // namespaces in order of first use
	for _, t := range ts {
		iri := t.P.value
		if _, ok := qnames[iri]; ok {
			continue
		}
		i := ncNameSuffix(iri)
		if i == len(iri) || !hasScheme(iri[:i]) {
			return fmt.Errorf("rdfx: predicate <%s> does not split into a namespace and an XML local name: %w", iri, ErrUnsupported)
		}
		q := qname{iri[:i], iri[i:]}
		qnames[iri] = q
		if _, ok := nsPrefix[q.ns]; !ok {
			for n := 0; ; n++ {
				if name := "ns" + strconv.Itoa(n); !taken[name] {
					nsPrefix[q.ns], taken[name] = name, true
					break
				}
			}
		}
		if !slices.Contains(used, q.ns) {
			used = append(used, q.ns)
		}
	}

	// Blank node IDs: a label that is an XML name is kept.
	nodeIDs := make(map[string]string)
	keep := make(map[string]bool)
	for _, t := range ts {
		for _, x := range [2]Term{t.S, t.O} {
			if x.kind == KindBlank && validNCName(x.value) {
				keep[x.value] = true
			}
		}
	}
	n := 0
	nodeID := func(label string) string {
		if keep[label] {
			return label
		}
		if id, ok := nodeIDs[label]; ok {
			return id
		}
		for {
			id := "b" + strconv.Itoa(n)
			n++
			if !keep[id] {
				nodeIDs[label], keep[id] = id, true
				return id
			}
		}
	}

	bw := bufio.NewWriter(w)
	x := &xmlWriter{w: bw}
	x.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rdf:RDF xmlns:rdf=\"" + NSRDF + "\"")
	slices.SortFunc(used, func(a, b string) int { return strings.Compare(nsPrefix[a], nsPrefix[b]) })
	for _, ns := range used {
		if ns == NSRDF {
			continue
		}
		x.raw("\n    xmlns:" + nsPrefix[ns] + "=\"")
		x.attr(ns)
		x.raw("\"")
	}
	x.raw(">\n")
	for i, t := range ts {
		if i == 0 || t.S != ts[i-1].S {
			if i > 0 {
				x.raw("  </rdf:Description>\n")
			}
			if t.S.kind == KindBlank {
				x.raw("  <rdf:Description rdf:nodeID=\"" + nodeID(t.S.value) + "\">\n")
			} else {
				x.raw("  <rdf:Description rdf:about=\"")
				x.attr(t.S.value)
				x.raw("\">\n")
			}
		}
		q := qnames[t.P.value]
		el := nsPrefix[q.ns] + ":" + q.local
		x.raw("    <" + el)
		switch o := t.O; o.kind {
		case KindIRI:
			x.raw(" rdf:resource=\"")
			x.attr(o.value)
			x.raw("\"/>\n")
			continue
		case KindBlank:
			x.raw(" rdf:nodeID=\"" + nodeID(o.value) + "\"/>\n")
			continue
		default:
			switch {
			case o.lang != "":
				x.raw(" xml:lang=\"")
				x.attr(o.lang)
				x.raw("\"")
			case o.datatype != XSDString:
				x.raw(" rdf:datatype=\"")
				x.attr(o.datatype)
				x.raw("\"")
			}
			x.raw(">")
			x.text(o.value)
			x.raw("</" + el + ">\n")
		}
	}
	if len(ts) > 0 {
		x.raw("  </rdf:Description>\n")
	}
	x.raw("</rdf:RDF>\n")
	if x.err != nil {
		return x.err
	}
	return bw.Flush()
}

// xmlWriter escapes XML and remembers the first problem.
type xmlWriter struct {
	w   *bufio.Writer
	err error
}

func (x *xmlWriter) raw(s string) {
	if x.err == nil {
		_, x.err = x.w.WriteString(s)
	}
}

// attr writes s escaped for a double-quoted attribute value; tabs and line
// breaks become character references so that they survive normalisation.
func (x *xmlWriter) attr(s string) { x.escape(s, true) }

// text writes s escaped for element content.
func (x *xmlWriter) text(s string) { x.escape(s, false) }

func (x *xmlWriter) escape(s string, attr bool) {
	if x.err != nil {
		return
	}
	for _, r := range s {
		var esc string
		switch {
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '"' && attr:
			esc = "&quot;"
		case r == '\r':
			esc = "&#xD;"
		case (r == '\n' || r == '\t') && attr:
			esc = "&#x" + strconv.FormatInt(int64(r), 16) + ";"
		case !validXMLChar(r):
			x.err = fmt.Errorf("rdfx: character %U cannot be written in XML: %w", r, ErrUnsupported)
			return
		default:
			x.w.WriteRune(r)
			continue
		}
		x.w.WriteString(esc)
	}
}

// validXMLChar is XML 1.0's Char production.
func validXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// validNCName reports whether s is an XML name without colons. Its
// characters are Turtle's: NameStartChar is PN_CHARS_U, NameChar is
// PN_CHARS or '.'.
func validNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if i == 0 && !isPNCharsU(r) || i > 0 && !isPNChars(r) && r != '.' {
			return false
		}
	}
	return true
}

// ncNameSuffix returns where the longest NCName at the end of iri starts,
// or len(iri) if there is none.
func ncNameSuffix(iri string) int {
	i := len(iri)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(iri[:i])
		if !isPNChars(r) && r != '.' {
			break
		}
		i -= size
	}
	for i < len(iri) {
		r, size := utf8.DecodeRuneInString(iri[i:])
		if isPNCharsU(r) {
			break
		}
		i += size
	}
	return i
}
