package rdfx

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
)

// ParseSPARQLUpdate reads a SPARQL 1.1 Update request (media type
// application/sparql-update) made of the operations Solid clients send:
//
//	PREFIX and BASE declarations
//	INSERT DATA { triples }
//	DELETE DATA { triples }
//	DELETE { template } INSERT { template } WHERE { pattern }
//	DELETE { template } WHERE { pattern }
//	INSERT { template } WHERE { pattern }
//	DELETE WHERE { pattern }
//
// separated by ";" (a trailing ";" is allowed, as @inrupt/solid-client
// sends "DELETE DATA {...}; INSERT DATA {...};"). Patterns are basic graph
// patterns, with nested { } groups flattened into them. OPTIONAL, FILTER,
// UNION, MINUS, BIND, VALUES, SERVICE, sub-queries, property paths, GRAPH,
// WITH, USING and the graph management operations (LOAD, CLEAR, ...) are
// ErrUnsupported. A syntax error, a variable in DATA, or a blank node in
// DELETE DATA or a delete template (SPARQL 1.1 Update §3.1.2, §3.1.3) is an
// error wrapping ErrMalformedPatch (answered with 400 upstream).
//
// ParseSPARQLUpdate applies the default limits of ParseOptions; ParsePatch
// takes others, and a context.
func ParseSPARQLUpdate(r io.Reader, baseIRI string) (*Patch, error) {
	return parseSPARQLUpdate(r, baseIRI, newBudget(context.Background(), ParseOptions{}))
}

func parseSPARQLUpdate(r io.Reader, baseIRI string, b *budget) (*Patch, error) {
	p := newParser(skipBOM(r), baseIRI, dialectSPARQL, b)
	var ops []operation
	if err := run(func() { ops = p.parseUpdate() }); err != nil {
		return nil, sparqlError(err)
	}
	for _, op := range ops {
		if err := checkOperation(op); err != nil {
			return nil, err
		}
	}
	return &Patch{ops: ops}, nil
}

// sparqlError wraps syntax errors with ErrMalformedPatch; unsupported
// features and I/O errors stay as they are.
func sparqlError(err error) error {
	if isSyntax(err) {
		return malformed(err)
	}
	return err
}

func isSyntax(err error) bool {
	var serr *SyntaxError
	return errors.As(err, &serr)
}

// checkOperation applies the rules of SPARQL 1.1 Update §3.1 on variables
// and blank nodes.
func checkOperation(op operation) error {
	for _, t := range op.deletes {
		for _, x := range [3]Term{t.S, t.P, t.O} {
			if x.kind == KindBlank {
				return malformedf("blank node in a delete template or DELETE DATA (%s)", t)
			}
		}
	}
	if op.kind == opInsertData || op.kind == opDeleteData {
		for _, t := range slices.Concat(op.inserts, op.deletes) {
			for _, x := range [3]Term{t.S, t.P, t.O} {
				if x.kind == KindVariable {
					return malformedf("variable ?%s in INSERT DATA or DELETE DATA", x.value)
				}
			}
		}
	}
	return nil
}

// keyword reports whether t is the SPARQL keyword kw (case-insensitive).
func keyword(t token, kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

// parseUpdate parses Update ::= Prologue ( Update1 ( ';' Update )? )?
// (SPARQL 1.1 Query §19.8 [29]).
func (p *parser) parseUpdate() []operation {
	var ops []operation
	for {
		p.parsePrologue()
		if p.peek().kind == tokEOF {
			return ops
		}
		ops = append(ops, p.parseUpdate1())
		t := p.next()
		switch {
		case t.is(";"):
		case t.kind == tokEOF:
			return ops
		default:
			syntaxErrorf(t.line, t.col, "expected ';' or the end of the request, found %s", t.describe())
		}
	}
}

// parsePrologue parses BASE and PREFIX declarations.
func (p *parser) parsePrologue() {
	for {
		t := p.peek()
		switch {
		case keyword(t, "PREFIX"):
			p.next()
			p.parsePrefix()
		case keyword(t, "BASE"):
			p.next()
			p.parseBase()
		default:
			return
		}
	}
}

// parseUpdate1 parses one operation (SPARQL 1.1 Query §19.8 [30]).
func (p *parser) parseUpdate1() operation {
	p.labels = newLabeler() // blank node labels are local to an operation
	t := p.next()
	switch {
	case keyword(t, "INSERT"):
		if keyword(p.peek(), "DATA") {
			p.next()
			return operation{kind: opInsertData, inserts: p.parseQuads()}
		}
		op := operation{kind: opModify, inserts: p.parseQuads()}
		op.where = p.parseWhere()
		return op
	case keyword(t, "DELETE"):
		switch n := p.peek(); {
		case keyword(n, "DATA"):
			p.next()
			return operation{kind: opDeleteData, deletes: p.parseQuads()}
		case keyword(n, "WHERE"):
			p.next()
			ts := p.parseQuads()
			return operation{kind: opModify, where: ts, deletes: ts}
		}
		op := operation{kind: opModify, deletes: p.parseQuads()}
		if keyword(p.peek(), "INSERT") {
			p.next()
			op.inserts = p.parseQuads()
		}
		op.where = p.parseWhere()
		return op
	case keyword(t, "WITH"):
		unsupported(t, "SPARQL WITH (named graphs)")
	case keyword(t, "LOAD"), keyword(t, "CLEAR"), keyword(t, "DROP"), keyword(t, "CREATE"),
		keyword(t, "ADD"), keyword(t, "MOVE"), keyword(t, "COPY"):
		unsupported(t, "SPARQL "+strings.ToUpper(t.text))
	}
	syntaxErrorf(t.line, t.col, "expected INSERT or DELETE, found %s", t.describe())
	return operation{}
}

// parseQuads parses "{ triples }" of QuadData or QuadPattern; GRAPH blocks
// are unsupported.
func (p *parser) parseQuads() []Triple {
	p.expect("{")
	var ts []Triple
	p.out = &ts
	for {
		t := p.peek()
		if t.is("}") {
			break
		}
		if keyword(t, "GRAPH") {
			unsupported(t, "SPARQL GRAPH (named graphs)")
		}
		p.parseTriples()
		if !p.peek().is(".") {
			break
		}
		p.next()
	}
	p.expect("}")
	p.out = nil
	return ts
}

// parseWhere parses "WHERE { pattern }" after a Modify's templates.
func (p *parser) parseWhere() []Triple {
	t := p.next()
	if keyword(t, "USING") {
		unsupported(t, "SPARQL USING (named graphs)")
	}
	if !keyword(t, "WHERE") {
		syntaxErrorf(t.line, t.col, "expected WHERE, found %s", t.describe())
	}
	var ts []Triple
	p.out = &ts
	p.parseGroup(p.expect("{"))
	p.out = nil
	return ts
}

// parseGroup parses the rest of a GroupGraphPattern after its '{' as a
// basic graph pattern (SPARQL 1.1 Query §19.8 [53]-[54]); nested groups
// are joined into it.
func (p *parser) parseGroup(open token) {
	p.nest(open)
	for {
		t := p.peek()
		switch {
		case t.is("}"):
			p.next()
			p.depth--
			if n := p.peek(); keyword(n, "UNION") {
				unsupported(n, "SPARQL UNION")
			}
			return
		case t.is("{"):
			p.next()
			p.parseGroup(t)
		case t.kind == tokWord && isGraphPatternKeyword(t.text):
			unsupported(t, "SPARQL "+strings.ToUpper(t.text))
		default:
			p.parseTriples()
			if n := p.peek(); !n.is(".") && !n.is("}") && !n.is("{") && !(n.kind == tokWord && isGraphPatternKeyword(n.text)) {
				syntaxErrorf(n.line, n.col, "expected '.' or '}', found %s", n.describe())
			}
		}
		if p.peek().is(".") {
			p.next()
		}
	}
}

func isGraphPatternKeyword(w string) bool {
	switch strings.ToUpper(w) {
	case "OPTIONAL", "MINUS", "GRAPH", "SERVICE", "FILTER", "BIND", "VALUES", "SELECT", "UNION":
		return true
	}
	return false
}
