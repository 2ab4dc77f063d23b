package rdfx

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// dialect selects what the shared triples parser accepts beyond Turtle.
type dialect uint8

const (
	// dialectTurtle is Turtle 1.1 (and N-Triples, a subset of it).
	dialectTurtle dialect = iota
	// dialectN3 reads text/n3 into a graph: the Turtle part of N3 is
	// parsed, formulae, variables and N3 keywords are ErrUnsupported.
	dialectN3
	// dialectN3Patch reads N3 Patch documents: variables and one level of
	// formulae (Solid Protocol 0.11 §5.3.1).
	dialectN3Patch
	// dialectSPARQL reads the triple blocks of SPARQL Update: variables,
	// case-insensitive true and false, no property paths.
	dialectSPARQL
)

// parser is a recursive-descent parser over the shared lexer for Turtle,
// N3 and the triple blocks of SPARQL. Errors abort it by panic (see fail)
// and are recovered by catch at the entry points.
type parser struct {
	lx       *lexer
	tok      token
	peeked   bool
	dialect  dialect
	base     string
	prefixes map[string]string
	labels   labeler
	scratch  []byte
	depth    int

	// Where triples go: into g (data) or, for patterns, appended to
	// *out; b counts them against the limits either way.
	g         *Graph
	out       *[]Triple
	b         *budget
	nPatterns int // patterns appended to any out

	// N3 Patch formulae, by index; inFormula is set while one is parsed.
	formulas  [][]Triple
	inFormula bool
}

func newParser(r io.Reader, base string, d dialect, b *budget) *parser {
	return &parser{
		b:        b,
		lx:       newLexer(r),
		dialect:  d,
		base:     base,
		prefixes: make(map[string]string),
		labels:   newLabeler(),
		scratch:  make([]byte, 0, 128),
	}
}

func (p *parser) patterns() bool { return p.dialect == dialectN3Patch || p.dialect == dialectSPARQL }

func (p *parser) peek() token {
	if !p.peeked {
		p.b.tick()
		p.tok = p.lx.next()
		p.peeked = true
	}
	return p.tok
}

func (p *parser) next() token {
	t := p.peek()
	p.peeked = false
	return t
}

func (p *parser) expect(punct string) token {
	t := p.next()
	if !t.is(punct) {
		syntaxErrorf(t.line, t.col, "expected %q, found %s", punct, t.describe())
	}
	return t
}

// unsupported aborts with ErrUnsupported at t.
func unsupported(t token, what string) {
	fail(fmt.Errorf("rdfx: %d:%d: %s: %w", t.line, t.col, what, ErrUnsupported))
}

func (p *parser) emit(t Triple) {
	if p.out != nil {
		p.nPatterns++
		p.b.spend(termBytes(t.S) + termBytes(t.P) + termBytes(t.O))
		p.b.count(p.nPatterns)
		*p.out = append(*p.out, t)
		return
	}
	p.b.add(p.g, t)
}

// parseDocument parses a Turtle or N3 document (Turtle 1.1 [1]).
func (p *parser) parseDocument() {
	for p.peek().kind != tokEOF {
		p.parseStatement()
	}
}

// parseStatement parses a directive or "triples ." (Turtle 1.1 [2]).
func (p *parser) parseStatement() {
	t := p.peek()
	switch {
	case t.kind == tokAt:
		p.next()
		switch t.text {
		case "prefix":
			p.parsePrefix()
		case "base":
			p.parseBase()
		case "keywords", "forAll", "forSome":
			if p.dialect == dialectN3 || p.dialect == dialectN3Patch {
				unsupported(t, "N3 @"+t.text)
			}
			fallthrough
		default:
			syntaxErrorf(t.line, t.col, "unknown directive @%s", t.text)
		}
		p.expect(".")
	case t.kind == tokWord && strings.EqualFold(t.text, "PREFIX"):
		p.next()
		p.parsePrefix()
	case t.kind == tokWord && strings.EqualFold(t.text, "BASE"):
		p.next()
		p.parseBase()
	default:
		p.parseTriples()
		p.expect(".")
	}
}

// parsePrefix parses the rest of a prefix directive: PNAME_NS IRIREF.
func (p *parser) parsePrefix() {
	t := p.next()
	if t.kind != tokPName || t.text != "" {
		syntaxErrorf(t.line, t.col, "expected a prefix such as ex:, found %s", t.describe())
	}
	iri := p.next()
	if iri.kind != tokIRI {
		syntaxErrorf(iri.line, iri.col, "expected <namespace IRI>, found %s", iri.describe())
	}
	ns := resolveIRI(p.base, iri.text)
	p.b.spend(len(ns))
	p.prefixes[t.aux] = ns
}

// parseBase parses the rest of a base directive: IRIREF.
func (p *parser) parseBase() {
	iri := p.next()
	if iri.kind != tokIRI {
		syntaxErrorf(iri.line, iri.col, "expected <base IRI>, found %s", iri.describe())
	}
	// Each base is resolved against the one before: "@base <a/>."
	// repeated makes it longer each time, so its bytes count.
	p.base = resolveIRI(p.base, iri.text)
	p.b.spend(len(p.base))
}

// parseTriples parses "subject predicateObjectList" or
// "blankNodePropertyList predicateObjectList?" (Turtle 1.1 [6]).
func (p *parser) parseTriples() {
	t := p.peek()
	if t.is("[") {
		p.next()
		if p.peek().is("]") { // [] is a subject like any other
			p.next()
			p.parsePredicateObjectList(Blank(p.labels.fresh()))
			return
		}
		s := p.parseBlankNodePropertyList(t)
		if p.startsVerb(p.peek()) {
			p.parsePredicateObjectList(s)
		}
		return
	}
	p.parsePredicateObjectList(p.parseSubject())
}

// parseSubject parses a subject (Turtle 1.1 [10]).
func (p *parser) parseSubject() Term {
	t := p.peek()
	switch t.kind {
	case tokString, tokInteger, tokDecimal, tokDouble:
		syntaxErrorf(t.line, t.col, "a literal cannot be a subject")
	case tokWord:
		if isBooleanWord(t.text, p.dialect) {
			syntaxErrorf(t.line, t.col, "a literal cannot be a subject")
		}
	}
	return p.parseObject()
}

// parsePredicateObjectList parses "verb objectList (';' (verb
// objectList)?)*" (Turtle 1.1 [7]).
func (p *parser) parsePredicateObjectList(s Term) {
	for {
		verb := p.parseVerb()
		p.parseObjectList(s, verb)
		if !p.peek().is(";") {
			return
		}
		for p.peek().is(";") {
			p.next()
		}
		if !p.startsVerb(p.peek()) {
			return
		}
	}
}

func (p *parser) startsVerb(t token) bool {
	switch t.kind {
	case tokIRI, tokPName:
		return true
	case tokWord:
		return t.text == "a"
	case tokVar:
		return p.patterns()
	}
	return false
}

// parseVerb parses a predicate or "a" (Turtle 1.1 [9]).
func (p *parser) parseVerb() Term {
	t := p.next()
	var v Term
	switch t.kind {
	case tokIRI:
		v = p.iri(t)
	case tokPName:
		v = p.expand(t)
	case tokWord:
		if t.text != "a" {
			syntaxErrorf(t.line, t.col, "expected a predicate, found %s", t.describe())
		}
		v = IRI(RDFType)
	case tokVar:
		if !p.patterns() {
			p.variableNotAllowed(t)
		}
		v = Variable(t.text)
	case tokPunct:
		switch {
		case p.dialect == dialectSPARQL && (t.text == "^" || t.text == "!" || t.text == "("):
			unsupported(t, "SPARQL property paths")
		case (p.dialect == dialectN3 || p.dialect == dialectN3Patch) && (t.text == "=" || t.text == "=>"):
			unsupported(t, "N3 "+t.text)
		}
		fallthrough
	default:
		syntaxErrorf(t.line, t.col, "expected a predicate, found %s", t.describe())
	}
	if p.dialect == dialectSPARQL {
		if n := p.peek(); n.kind == tokPunct && strings.Contains("/|^*+?", n.text) {
			unsupported(n, "SPARQL property paths")
		}
	}
	return v
}

// parseObjectList parses "object (',' object)*" and emits the triples
// (Turtle 1.1 [8]).
func (p *parser) parseObjectList(s, verb Term) {
	for {
		o := p.parseObject()
		p.emit(Triple{S: s, P: verb, O: o})
		if !p.peek().is(",") {
			return
		}
		p.next()
	}
}

// parseObject parses an object (Turtle 1.1 [12]); subjects use it too.
func (p *parser) parseObject() Term {
	t := p.next()
	switch t.kind {
	case tokIRI:
		return p.iri(t)
	case tokPName:
		return p.expand(t)
	case tokBlank:
		return Blank(p.labels.label(t.text))
	case tokString:
		return p.parseLiteralRest(t)
	case tokInteger:
		return Literal(t.text, XSDInteger)
	case tokDecimal:
		return Literal(t.text, XSDDecimal)
	case tokDouble:
		return Literal(t.text, XSDDouble)
	case tokWord:
		if isBooleanWord(t.text, p.dialect) {
			return Literal(strings.ToLower(t.text), XSDBoolean)
		}
	case tokVar:
		if !p.patterns() {
			p.variableNotAllowed(t)
		}
		return Variable(t.text)
	case tokPunct:
		switch t.text {
		case "[":
			if p.peek().is("]") {
				p.next()
				return Blank(p.labels.fresh())
			}
			return p.parseBlankNodePropertyList(t)
		case "(":
			return p.parseCollection(t)
		case "{":
			return p.parseFormula(t)
		}
	}
	syntaxErrorf(t.line, t.col, "expected a term, found %s", t.describe())
	return Term{}
}

func (p *parser) variableNotAllowed(t token) {
	if p.dialect == dialectN3 {
		unsupported(t, "N3 variables in an RDF document")
	}
	syntaxErrorf(t.line, t.col, "unexpected variable ?%s", t.text)
}

func isBooleanWord(w string, d dialect) bool {
	if d == dialectSPARQL {
		return strings.EqualFold(w, "true") || strings.EqualFold(w, "false")
	}
	return w == "true" || w == "false"
}

// parseLiteralRest parses the language tag or datatype that may follow a
// string (Turtle 1.1 [128s]).
func (p *parser) parseLiteralRest(s token) Term {
	n := p.peek()
	switch {
	case n.kind == tokAt:
		p.next()
		if !validLangTag(n.text) {
			syntaxErrorf(n.line, n.col, "invalid language tag @%s", n.text)
		}
		return LangLiteral(s.text, n.text)
	case n.is("^^"):
		p.next()
		dt := p.next()
		var d Term
		switch dt.kind {
		case tokIRI:
			d = p.iri(dt)
		case tokPName:
			d = p.expand(dt)
		default:
			syntaxErrorf(dt.line, dt.col, "expected a datatype IRI, found %s", dt.describe())
		}
		if d.value == RDFLangString {
			syntaxErrorf(dt.line, dt.col, "rdf:langString needs a language tag")
		}
		return Literal(s.text, d.value)
	}
	return Literal(s.text, XSDString)
}

// validLangTag checks LANGTAG: [a-zA-Z]+ ('-' [a-zA-Z0-9]+)*.
func validLangTag(tag string) bool {
	for i, sub := range strings.Split(tag, "-") {
		if sub == "" {
			return false
		}
		for _, r := range sub {
			if !isASCIILetter(r) && (i == 0 || !isDigit(r)) {
				return false
			}
		}
	}
	return true
}

func (p *parser) nest(t token) {
	p.depth++
	if p.depth > p.b.lim.depth {
		syntaxErrorf(t.line, t.col, "nested more than %d levels deep", p.b.lim.depth)
	}
}

// parseBlankNodePropertyList parses the rest of "[ predicateObjectList ]"
// after its '[' and returns the new blank node (Turtle 1.1 [14]).
func (p *parser) parseBlankNodePropertyList(open token) Term {
	p.nest(open)
	b := Blank(p.labels.fresh())
	p.parsePredicateObjectList(b)
	p.expect("]")
	p.depth--
	return b
}

// parseCollection parses the rest of "( object* )" after its '(' and
// returns the list's head (Turtle 1.1 [15]).
func (p *parser) parseCollection(open token) Term {
	p.nest(open)
	var items []Term
	for !p.peek().is(")") {
		items = append(items, p.parseObject())
	}
	p.next()
	p.depth--
	if len(items) == 0 {
		return IRI(rdfNil)
	}
	head := Blank(p.labels.fresh())
	cur := head
	for i, it := range items {
		p.emit(Triple{S: cur, P: IRI(rdfFirst), O: it})
		rest := IRI(rdfNil)
		if i < len(items)-1 {
			rest = Blank(p.labels.fresh())
		}
		p.emit(Triple{S: cur, P: IRI(rdfRest), O: rest})
		cur = rest
	}
	return head
}

// parseFormula parses the rest of an N3 formula "{ ... }" after its '{'.
// Only N3 Patch has formulae, and only one level of them (Solid Protocol
// 0.11 §5.3.1: "non-nested cited formulae").
func (p *parser) parseFormula(open token) Term {
	switch {
	case p.dialect == dialectN3:
		unsupported(open, "N3 formulae in an RDF document")
	case p.dialect != dialectN3Patch:
		syntaxErrorf(open.line, open.col, "unexpected '{'")
	case p.inFormula:
		fail(fmt.Errorf("%w: %d:%d: nested formula", ErrMalformedPatch, open.line, open.col))
	}
	var ts []Triple
	saved := p.out
	p.out, p.inFormula = &ts, true
	for !p.peek().is("}") {
		p.parseTriples()
		if !p.peek().is(".") {
			break
		}
		p.next()
	}
	p.expect("}")
	p.out, p.inFormula = saved, false
	p.formulas = append(p.formulas, ts)
	return Term{kind: kindFormula, value: strconv.Itoa(len(p.formulas) - 1)}
}

// iri resolves an IRIREF token against the base.
func (p *parser) iri(t token) Term {
	if p.base == "" || hasScheme(t.text) {
		return IRI(t.text)
	}
	return IRI(p.lx.internString(resolveIRI(p.base, t.text)))
}

// expand turns a prefixed name into its IRI.
func (p *parser) expand(t token) Term {
	ns, ok := p.prefixes[t.aux]
	if !ok {
		syntaxErrorf(t.line, t.col, "undefined prefix %q", t.aux+":")
	}
	p.scratch = append(append(p.scratch[:0], ns...), t.text...)
	return IRI(p.lx.intern(p.scratch))
}

// labeler gives blank nodes their labels within one parse: a document's own
// labels are kept where they do not clash, and anonymous nodes get fresh
// "bN" labels that no document label uses.
type labeler struct {
	byDoc map[string]string
	used  map[string]bool
	n     int
}

func newLabeler() labeler {
	return labeler{byDoc: make(map[string]string), used: make(map[string]bool)}
}

// label returns the graph label for the document label doc.
func (l *labeler) label(doc string) string {
	if v, ok := l.byDoc[doc]; ok {
		return v
	}
	v := doc
	if l.used[doc] || !validBlankLabel(doc) {
		v = l.fresh()
	} else {
		l.used[doc] = true
	}
	l.byDoc[doc] = v
	return v
}

// fresh returns a label not used before in this parse.
func (l *labeler) fresh() string {
	for {
		v := "b" + strconv.Itoa(l.n)
		l.n++
		if !l.used[v] {
			l.used[v] = true
			return v
		}
	}
}

// validBlankLabel reports whether s can follow "_:" in Turtle (Turtle 1.1
// [141s]).
func validBlankLabel(s string) bool {
	if s == "" {
		return false
	}
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
