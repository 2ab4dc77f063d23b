package rdfx

import (
	"strings"
)

// Namespaces and datatypes rdfx itself needs. Other vocabularies belong to
// the packages that use them.
const (
	// NSRDF is the RDF namespace.
	NSRDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	// NSXSD is the XML Schema datatypes namespace.
	NSXSD = "http://www.w3.org/2001/XMLSchema#"

	// RDFType is rdf:type, written "a" in Turtle.
	RDFType = NSRDF + "type"
	// RDFLangString is the datatype of every language-tagged string.
	RDFLangString = NSRDF + "langString"
	// XSDString is the datatype of a plain string literal.
	XSDString = NSXSD + "string"
	// XSDBoolean is the datatype of true and false.
	XSDBoolean = NSXSD + "boolean"
	// XSDInteger is the datatype of Turtle's bare integers.
	XSDInteger = NSXSD + "integer"
	// XSDDecimal is the datatype of Turtle's bare decimals.
	XSDDecimal = NSXSD + "decimal"
	// XSDDouble is the datatype of Turtle's bare doubles.
	XSDDouble = NSXSD + "double"
	// XSDDateTime is the datatype of timestamps such as dcterms:modified.
	XSDDateTime = NSXSD + "dateTime"

	rdfFirst = NSRDF + "first"
	rdfRest  = NSRDF + "rest"
	rdfNil   = NSRDF + "nil"
)

// Kind says what a Term is.
type Kind uint8

// The kinds of Term. The zero Term has kind KindNone and stands for "any
// term" in Graph.Match.
const (
	KindNone Kind = iota
	KindIRI
	KindBlank
	KindLiteral
	// KindVariable is a query variable (?x). Variables occur only in patch
	// patterns, never in a Graph.
	KindVariable

	// kindFormula is an N3 formula ({ ... }) while an N3 Patch is parsed;
	// its value is the formula's index. It never leaves the package.
	kindFormula
)

// Term is an RDF term: an IRI, a blank node, a literal, or (in patches only)
// a variable. Terms are small comparable values: use == to compare them and
// use them as map keys. Language tags are kept in lower case, since RDF 1.1
// compares them without regard to case.
type Term struct {
	kind     Kind
	value    string // the IRI, the blank node label, the lexical form or the variable name
	datatype string // literals only: the datatype IRI
	lang     string // language-tagged literals only
}

// IRI returns the IRI term for iri, which should be absolute.
func IRI(iri string) Term { return Term{kind: KindIRI, value: iri} }

// Blank returns the blank node with the given label (without "_:"). Labels
// are local to one graph. Parsers produce labels that match Turtle's
// BLANK_NODE_LABEL; serialisers rewrite other labels.
func Blank(label string) Term { return Term{kind: KindBlank, value: label} }

// Literal returns the literal with the given lexical form and datatype IRI.
// An empty datatype means xsd:string. For a language-tagged string use
// LangLiteral.
func Literal(lexical, datatype string) Term {
	if datatype == "" {
		datatype = XSDString
	}
	return Term{kind: KindLiteral, value: lexical, datatype: datatype}
}

// LangLiteral returns the language-tagged string lexical@lang, whose datatype
// is rdf:langString. An empty lang gives a plain xsd:string literal.
func LangLiteral(lexical, lang string) Term {
	if lang == "" {
		return Literal(lexical, "")
	}
	return Term{kind: KindLiteral, value: lexical, datatype: RDFLangString, lang: strings.ToLower(lang)}
}

// Variable returns the query variable ?name, for building patterns.
func Variable(name string) Term { return Term{kind: KindVariable, value: name} }

// Kind reports what t is.
func (t Term) Kind() Kind { return t.kind }

// Value returns the IRI of an IRI, the label of a blank node, the lexical
// form of a literal or the name of a variable.
func (t Term) Value() string { return t.value }

// Datatype returns the datatype IRI of a literal, or "" for other terms.
func (t Term) Datatype() string { return t.datatype }

// Lang returns the language tag of a language-tagged literal, or "".
func (t Term) Lang() string { return t.lang }

// IsZero reports whether t is the zero Term.
func (t Term) IsZero() bool { return t.kind == KindNone }

// IsIRI reports whether t is an IRI.
func (t Term) IsIRI() bool { return t.kind == KindIRI }

// IsBlank reports whether t is a blank node.
func (t Term) IsBlank() bool { return t.kind == KindBlank }

// IsLiteral reports whether t is a literal.
func (t Term) IsLiteral() bool { return t.kind == KindLiteral }

// IsVariable reports whether t is a query variable.
func (t Term) IsVariable() bool { return t.kind == KindVariable }

// String returns t in N-Triples syntax (<iri>, _:label, "lexical"^^<dt>,
// "lexical"@lang), a variable as ?name, and the zero Term as "*".
func (t Term) String() string {
	var b strings.Builder
	writeNTTerm(&b, t)
	return b.String()
}

// Compare orders terms: IRIs, then blank nodes, then literals, then
// variables; within a kind by value, then datatype, then language. It returns
// -1, 0 or +1. Serialisers use it for their deterministic output.
func (t Term) Compare(u Term) int {
	if t.kind != u.kind {
		if t.kind < u.kind {
			return -1
		}
		return 1
	}
	if c := strings.Compare(t.value, u.value); c != 0 {
		return c
	}
	if c := strings.Compare(t.datatype, u.datatype); c != 0 {
		return c
	}
	return strings.Compare(t.lang, u.lang)
}

// valid reports whether t is a well-formed ground term (no variable).
func (t Term) valid() bool {
	switch t.kind {
	case KindIRI:
		return true
	case KindBlank:
		return t.value != ""
	case KindLiteral:
		if t.datatype == "" {
			return false
		}
		return (t.datatype == RDFLangString) == (t.lang != "")
	}
	return false
}
