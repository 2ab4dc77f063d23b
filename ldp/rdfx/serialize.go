package rdfx

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Serialize writes g in the given media type (parameters are ignored):
//
//   - text/turtle and text/n3: readable Turtle (which is also valid N3),
//     with the prefixes g uses, triples grouped by subject with ";" and ",",
//     and IRIs written relative to baseIRI where a short reference ("",
//     "#frag", "name") resolves back to them. Pass baseIRI "" for absolute
//     IRIs throughout.
//   - application/n-triples: one absolute triple per line.
//   - application/ld+json: expanded JSON-LD without prefixes, compacted
//     with a context of the prefixes otherwise; absolute IRIs.
//   - application/rdf+xml: one rdf:Description per subject; absolute IRIs.
//
// prefixes maps prefix names (without ':') to namespace IRIs and may be nil.
// The output is sorted (Triple.Compare, with rdf:type first in Turtle), so
// equal graphs give equal bytes. Blank node labels that Turtle cannot spell,
// or that begin with "x-", are written as "x-" and their hex encoding.
// Other media types are ErrUnsupported.
func Serialize(w io.Writer, g *Graph, mediaType, baseIRI string, prefixes map[string]string) error {
	return serialize(w, g, mediaType, baseIRI, prefixes, "")
}

// SerializeFirst is Serialize, except that in Turtle and N3 the triples
// whose subject is the IRI first come before all others. Some clients read
// only a document's first subject: @inrupt/solid-client-notifications looks
// for the notification gateway on the first subject of a storage
// description, which must then be the storage whatever the sort order.
func SerializeFirst(w io.Writer, g *Graph, mediaType, baseIRI string, prefixes map[string]string, first string) error {
	return serialize(w, g, mediaType, baseIRI, prefixes, first)
}

func serialize(w io.Writer, g *Graph, mediaType, baseIRI string, prefixes map[string]string, first string) error {
	mt, err := canonicalType(mediaType)
	if err != nil {
		return err
	}
	switch mt {
	case Turtle, N3:
		return writeTurtle(w, g, baseIRI, prefixes, first)
	case NTriples:
		return writeNTriples(w, g)
	case RDFXML:
		return writeRDFXML(w, g, prefixes)
	default: // JSONLD
		return writeJSONLD(w, g, prefixes)
	}
}

// writeNTriples writes g as N-Triples, sorted.
func writeNTriples(w io.Writer, g *Graph) error {
	bw := bufio.NewWriter(w)
	var line []byte
	for _, t := range g.Sorted() {
		line = appendNTTerm(line[:0], t.S)
		line = append(line, ' ')
		line = appendNTTerm(line, t.P)
		line = append(line, ' ')
		line = appendNTTerm(line, t.O)
		line = append(line, " .\n"...)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// writeTurtle writes g as Turtle, sorted with the subject IRI first (when
// not "") before the others and rdf:type first, declaring only the
// prefixes it uses.
func writeTurtle(w io.Writer, g *Graph, base string, prefixes map[string]string, first string) error {
	ts := g.Sorted()
	slices.SortStableFunc(ts, func(a, b Triple) int {
		if first != "" {
			if af, bf := a.S.kind == KindIRI && a.S.value == first, b.S.kind == KindIRI && b.S.value == first; af != bf {
				if af {
					return -1
				}
				return 1
			}
		}
		if c := a.S.Compare(b.S); c != 0 {
			return c
		}
		if at, bt := a.P.value == RDFType, b.P.value == RDFType; at != bt {
			if at {
				return -1
			}
			return 1
		}
		return 0 // already in predicate and object order
	})
	all := newPrefixTable(prefixes)
	used := make(map[string]string)
	note := func(iri string) {
		if p, ok := all.match(iri); ok {
			used[p.name] = p.ns
		}
	}
	for _, t := range ts {
		note(t.S.value)
		if t.P.value != RDFType {
			note(t.P.value)
		}
		switch t.O.kind {
		case KindIRI:
			note(t.O.value)
		case KindLiteral:
			if t.O.lang == "" && t.O.datatype != XSDString && !bareLiteral(t.O) {
				note(t.O.datatype)
			}
		}
	}
	tw := newTurtleWriter(w, base, newPrefixTable(used))
	for _, t := range ts {
		if err := tw.Write(t); err != nil {
			return err
		}
	}
	return tw.Close()
}

// TurtleWriter streams Turtle: each Write appends one triple, continuing
// the previous statement with ";" or "," when the subject (and predicate)
// are the same, so a caller that writes triples grouped by subject gets
// readable output without holding the graph in memory. It is meant for
// large generated documents such as container listings.
type TurtleWriter struct {
	w       *bufio.Writer
	base    string
	table   prefixTable
	started bool
	open    bool // a statement is waiting for its "."
	subj    Term
	pred    Term
	buf     []byte
	err     error
}

// NewTurtleWriter returns a TurtleWriter on w. IRIs are written relative to
// baseIRI where possible (see Serialize) and with the given prefixes, all of
// which are declared at the top since the writer cannot know which it will
// need. The output is buffered: call Close.
func NewTurtleWriter(w io.Writer, baseIRI string, prefixes map[string]string) *TurtleWriter {
	return newTurtleWriter(w, baseIRI, newPrefixTable(prefixes))
}

func newTurtleWriter(w io.Writer, base string, table prefixTable) *TurtleWriter {
	return &TurtleWriter{w: bufio.NewWriter(w), base: base, table: table, buf: make([]byte, 0, 256)}
}

// Write writes t. It fails, and keeps failing, after the first error of the
// underlying writer; a triple that is not Valid is an error too.
func (tw *TurtleWriter) Write(t Triple) error {
	if tw.err != nil {
		return tw.err
	}
	if !t.Valid() {
		return fmt.Errorf("rdfx: cannot write the invalid triple %s: %w", t, ErrUnsupported)
	}
	b := tw.header(tw.buf[:0])
	switch {
	case tw.open && t.S == tw.subj && t.P == tw.pred:
		b = append(b, ", "...)
	case tw.open && t.S == tw.subj:
		b = append(b, " ;\n    "...)
		b = tw.appendVerb(b, t.P)
		b = append(b, ' ')
	default:
		if tw.open {
			b = append(b, " .\n\n"...)
		}
		b = tw.appendTerm(b, t.S)
		b = append(b, ' ')
		b = tw.appendVerb(b, t.P)
		b = append(b, ' ')
	}
	b = tw.appendTerm(b, t.O)
	tw.open, tw.subj, tw.pred = true, t.S, t.P
	tw.buf = b
	_, tw.err = tw.w.Write(b)
	return tw.err
}

// Close ends the last statement and flushes the output. It does not close
// the underlying writer.
func (tw *TurtleWriter) Close() error {
	if tw.err != nil {
		return tw.err
	}
	b := tw.header(tw.buf[:0])
	if tw.open {
		b = append(b, " .\n"...)
		tw.open = false
	}
	if _, tw.err = tw.w.Write(b); tw.err != nil {
		return tw.err
	}
	tw.err = tw.w.Flush()
	return tw.err
}

// header appends the prefix declarations once.
func (tw *TurtleWriter) header(b []byte) []byte {
	if tw.started {
		return b
	}
	tw.started = true
	for _, p := range tw.table.byName {
		b = append(b, "@prefix "...)
		b = append(b, p.name...)
		b = append(b, ": "...)
		b = appendIRIRef(b, p.ns)
		b = append(b, " .\n"...)
	}
	if len(tw.table.byName) > 0 {
		b = append(b, '\n')
	}
	return b
}

func (tw *TurtleWriter) appendVerb(b []byte, p Term) []byte {
	if p.value == RDFType {
		return append(b, 'a')
	}
	return tw.appendIRI(b, p.value)
}

func (tw *TurtleWriter) appendIRI(b []byte, iri string) []byte {
	if p, ok := tw.table.match(iri); ok {
		b = append(b, p.name...)
		b = append(b, ':')
		return append(b, iri[len(p.ns):]...)
	}
	if rel, ok := relativeIRI(tw.base, iri); ok {
		return appendIRIRef(b, rel)
	}
	return appendIRIRef(b, iri)
}

func (tw *TurtleWriter) appendTerm(b []byte, t Term) []byte {
	switch t.kind {
	case KindIRI:
		return tw.appendIRI(b, t.value)
	case KindLiteral:
		if bareLiteral(t) {
			return append(b, t.value...)
		}
		b = appendQuoted(b, t.value)
		switch {
		case t.lang != "":
			b = append(b, '@')
			b = append(b, t.lang...)
		case t.datatype != XSDString:
			b = append(b, "^^"...)
			b = tw.appendIRI(b, t.datatype)
		}
		return b
	}
	return appendNTTerm(b, t)
}

// bareLiteral reports whether Turtle can write t without quotes: a boolean,
// or a number whose lexical form fits its datatype's Turtle shorthand.
func bareLiteral(t Term) bool {
	switch t.datatype {
	case XSDBoolean:
		return t.value == "true" || t.value == "false"
	case XSDInteger:
		return isTurtleInteger(t.value)
	case XSDDecimal:
		return isTurtleDecimal(t.value)
	case XSDDouble:
		return isTurtleDouble(t.value)
	}
	return false
}

// digits returns how many ASCII digits s starts with.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func trimSign(s string) string {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return s[1:]
	}
	return s
}

// isTurtleInteger matches INTEGER: [+-]? [0-9]+.
func isTurtleInteger(s string) bool {
	s = trimSign(s)
	return s != "" && digits(s) == len(s)
}

// isTurtleDecimal matches DECIMAL: [+-]? [0-9]* '.' [0-9]+.
func isTurtleDecimal(s string) bool {
	s = trimSign(s)
	s = s[digits(s):]
	if s == "" || s[0] != '.' {
		return false
	}
	s = s[1:]
	return s != "" && digits(s) == len(s)
}

// isTurtleDouble matches DOUBLE: [+-]? ([0-9]+ '.' [0-9]* | '.' [0-9]+ |
// [0-9]+) EXPONENT.
func isTurtleDouble(s string) bool {
	s = trimSign(s)
	n := digits(s)
	s = s[n:]
	if s != "" && s[0] == '.' {
		f := digits(s[1:])
		if n == 0 && f == 0 {
			return false
		}
		s = s[1+f:]
	} else if n == 0 {
		return false
	}
	if s == "" || (s[0] != 'e' && s[0] != 'E') {
		return false
	}
	s = trimSign(s[1:])
	return s != "" && digits(s) == len(s)
}

// prefixTable finds the prefix to write an IRI with.
type prefixTable struct {
	byName  []prefixNS // for the header
	longest []prefixNS // longest namespace first, for matching
}

type prefixNS struct{ name, ns string }

// newPrefixTable keeps the prefixes Turtle can declare (PN_PREFIX names).
func newPrefixTable(prefixes map[string]string) prefixTable {
	var t prefixTable
	for _, name := range slices.Sorted(maps.Keys(prefixes)) {
		if ns := prefixes[name]; ns != "" && validPrefixName(name) {
			t.byName = append(t.byName, prefixNS{name, ns})
		}
	}
	t.longest = slices.Clone(t.byName)
	slices.SortStableFunc(t.longest, func(a, b prefixNS) int { return len(b.ns) - len(a.ns) })
	return t
}

// match returns the prefix with the longest namespace that makes iri a
// prefixed name Turtle can read back unescaped.
func (t prefixTable) match(iri string) (prefixNS, bool) {
	for _, p := range t.longest {
		if strings.HasPrefix(iri, p.ns) && validLocalName(iri[len(p.ns):]) {
			return p, true
		}
	}
	return prefixNS{}, false
}

// validPrefixName matches PN_PREFIX or the empty prefix (Turtle 1.1 [167s]).
func validPrefixName(s string) bool {
	for i, r := range s {
		switch {
		case i == 0:
			if !isPNCharsBase(r) {
				return false
			}
		case r == '.':
			if i == len(s)-1 {
				return false
			}
		case !isPNChars(r):
			return false
		}
	}
	return true
}

// validLocalName matches the part of PN_LOCAL that needs no escapes (a
// conservative subset: no ':' or '%').
func validLocalName(s string) bool {
	for i, r := range s {
		switch {
		case i == 0:
			if !isPNCharsU(r) && !isDigit(r) {
				return false
			}
		case r == '.':
			if i == len(s)-1 {
				return false
			}
		case !isPNChars(r):
			return false
		}
	}
	return true
}

// appendNTTerm appends t in N-Triples syntax.
func appendNTTerm(b []byte, t Term) []byte {
	switch t.kind {
	case KindIRI:
		return appendIRIRef(b, t.value)
	case KindBlank:
		b = append(b, "_:"...)
		return append(b, turtleBlankLabel(t.value)...)
	case KindLiteral:
		b = appendQuoted(b, t.value)
		switch {
		case t.lang != "":
			b = append(b, '@')
			b = append(b, t.lang...)
		case t.datatype != XSDString && t.datatype != "":
			b = append(b, "^^"...)
			b = appendIRIRef(b, t.datatype)
		}
		return b
	case KindVariable:
		b = append(b, '?')
		return append(b, t.value...)
	case kindFormula:
		return append(b, "{...}"...)
	}
	return append(b, '*')
}

func writeNTTerm(b *strings.Builder, t Term) {
	b.Write(appendNTTerm(make([]byte, 0, len(t.value)+len(t.datatype)+8), t))
}

// turtleBlankLabel returns label if Turtle can write it after "_:", and
// "x-" followed by its hex encoding otherwise. Labels that begin with "x-"
// are encoded too, so that no two labels are written alike.
func turtleBlankLabel(label string) string {
	if validBlankLabel(label) && !strings.HasPrefix(label, "x-") {
		return label
	}
	return "x-" + hex.EncodeToString([]byte(label))
}

// appendIRIRef appends <iri>, escaping what IRIREF does not allow as \u or
// \U escapes.
func appendIRIRef(b []byte, iri string) []byte {
	b = append(b, '<')
	for _, r := range iri {
		if validIRIRune(r) {
			b = utf8.AppendRune(b, r)
			continue
		}
		b = appendUCHAR(b, r)
	}
	return append(b, '>')
}

// appendQuoted appends s as a double-quoted string with Turtle and
// N-Triples escapes.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch r {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			if r < 0x20 || r == 0x7F {
				b = appendUCHAR(b, r)
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
	}
	return append(b, '"')
}

func appendUCHAR(b []byte, r rune) []byte {
	const hexDigits = "0123456789ABCDEF"
	n := 4
	if r > 0xFFFF {
		b = append(b, `\U`...)
		n = 8
	} else {
		b = append(b, `\u`...)
	}
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexDigits[(r>>(4*i))&0xF])
	}
	return b
}
