package rdfx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
)

// The Solid terms of N3 Patch (Solid Protocol 0.11 §5.3.1).
const (
	nsSolid                = "http://www.w3.org/ns/solid/terms#"
	solidInsertDeletePatch = nsSolid + "InsertDeletePatch"
	solidPatch             = nsSolid + "Patch"
	solidInserts           = nsSolid + "inserts"
	solidDeletes           = nsSolid + "deletes"
	solidWhere             = nsSolid + "where"
)

// ParseN3Patch reads an N3 Patch document (Solid Protocol 0.11 §5.3.1,
// media type text/n3). It parses the part of N3 such patches use: Turtle
// plus ?variables and one level of { } formulae, and checks the
// constraints of the specification:
//
//   - the document holds exactly one patch resource, an IRI or blank node,
//     typed solid:InsertDeletePatch;
//   - it has at most one each of solid:inserts, solid:deletes and
//     solid:where, whose values are formulae of triples and triple patterns
//     (absent ones are the empty formula);
//   - the inserts and deletes hold no blank nodes and no variable that does
//     not occur in where.
//
// Blank nodes in where are existential, like SPARQL's. Any breach, including
// a syntax error, is an error wrapping ErrMalformedPatch (Solid asks for 422);
// a syntax error also unwraps to a *SyntaxError. Errors from r are returned
// wrapped as they are.
//
// ParseN3Patch applies the default limits of ParseOptions; ParsePatch
// takes others, and a context.
func ParseN3Patch(r io.Reader, baseIRI string) (*Patch, error) {
	return parseN3Patch(r, baseIRI, newBudget(context.Background(), ParseOptions{}))
}

// ParsePatch reads a patch of mediaType: text/n3 as ParseN3Patch does,
// application/sparql-update as ParseSPARQLUpdate does, any other type is
// ErrUnsupported. The patch may hold at most opts.MaxTriples triples and
// patterns, in all its parts together, nested at most opts.MaxDepth deep
// and of at most opts.MaxBytes bytes of terms (ErrTooManyTriples,
// *SyntaxError, ErrTooLarge); parsing stops soon after ctx is done.
func ParsePatch(ctx context.Context, r io.Reader, mediaType, baseIRI string, opts ParseOptions) (*Patch, error) {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return nil, fmt.Errorf("rdfx: media type %q: %w", mediaType, ErrUnsupported)
	}
	b := newBudget(ctx, opts)
	if err := b.ctx.Err(); err != nil {
		return nil, fmt.Errorf("rdfx: parsing stopped: %w", context.Cause(b.ctx))
	}
	switch strings.ToLower(mt) {
	case N3:
		return parseN3Patch(r, baseIRI, b)
	case SPARQLUpdate:
		return parseSPARQLUpdate(r, baseIRI, b)
	}
	return nil, fmt.Errorf("rdfx: patch media type %q: %w", mt, ErrUnsupported)
}

func parseN3Patch(r io.Reader, baseIRI string, b *budget) (*Patch, error) {
	p := newParser(skipBOM(r), baseIRI, dialectN3Patch, b)
	var top []Triple
	p.out = &top
	if err := run(p.parseDocument); err != nil {
		return nil, malformed(err)
	}
	op, err := n3Operation(top, p.formulas)
	if err != nil {
		return nil, err
	}
	return &Patch{ops: []operation{op}}, nil
}

// run calls parse, turning a failure into an error.
func run(parse func()) (err error) {
	defer catch(&err)
	parse()
	return nil
}

// malformed wraps a parse error with ErrMalformedPatch, leaving I/O errors
// as they are.
func malformed(err error) error {
	var serr *SyntaxError
	switch {
	case errors.Is(err, ErrMalformedPatch):
		return err
	case errors.As(err, &serr), errors.Is(err, ErrUnsupported):
		return fmt.Errorf("%w: %w", ErrMalformedPatch, err)
	}
	return err
}

func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedPatch, fmt.Sprintf(format, args...))
}

// n3Operation finds the patch resource among the top-level triples and
// checks it (Solid Protocol 0.11 §5.3.1).
func n3Operation(top []Triple, formulas [][]Triple) (operation, error) {
	op := operation{kind: opN3}
	var patch Term
	typed := false
	seen := make(map[string]bool)
	used := make([]bool, len(formulas))
	for _, t := range top {
		if t.S.kind == KindVariable || t.P.kind == KindVariable || t.O.kind == KindVariable {
			return op, malformedf("variable outside a formula in %s", t)
		}
		if t.S.kind == kindFormula {
			return op, malformedf("a formula cannot be a subject")
		}
		role := t.P.value
		switch {
		case role == solidInserts || role == solidDeletes || role == solidWhere:
		case role == RDFType && (t.O.value == solidInsertDeletePatch || t.O.value == solidPatch):
		default:
			if t.O.kind == kindFormula {
				return op, malformedf("a formula is only allowed as the object of solid:inserts, solid:deletes or solid:where")
			}
			continue // other statements are not part of the patch
		}
		// "The patch document MUST contain exactly one patch resource,
		// identified by one or more of the triple patterns described
		// above, which all share the same ?patch subject."
		if !patch.IsZero() && t.S != patch {
			return op, malformedf("more than one patch resource (%s and %s)", patch, t.S)
		}
		patch = t.S
		if role == RDFType {
			typed = typed || t.O.value == solidInsertDeletePatch
			continue
		}
		// "A patch resource MUST contain at most one triple of the form
		// ?patch solid:deletes ?deletions" (and inserts, and where).
		if seen[role] {
			return op, malformedf("more than one %s", shortSolid(role))
		}
		seen[role] = true
		if t.O.kind != kindFormula {
			return op, malformedf("the object of %s must be a formula { ... }", shortSolid(role))
		}
		i, _ := strconv.Atoi(t.O.value)
		used[i] = true
		switch role {
		case solidInserts:
			op.inserts = formulas[i]
		case solidDeletes:
			op.deletes = formulas[i]
		default:
			op.where = formulas[i]
		}
	}
	switch {
	case patch.IsZero():
		return op, malformedf("no patch resource (a subject of solid:inserts, solid:deletes or solid:where)")
	case !typed:
		// "A patch resource MUST contain a triple ?patch rdf:type
		// solid:InsertDeletePatch."
		return op, malformedf("the patch resource must have rdf:type solid:InsertDeletePatch")
	}
	for i, u := range used {
		if !u {
			return op, malformedf("formula %d is not the value of solid:inserts, solid:deletes or solid:where", i+1)
		}
	}
	// "The ?insertions and ?deletions formulae MUST NOT contain variables
	// that do not occur in the ?conditions formula." and "MUST NOT contain
	// blank nodes."
	whereVars := make(map[string]bool)
	for _, t := range op.where {
		for _, x := range [3]Term{t.S, t.P, t.O} {
			if x.kind == KindVariable {
				whereVars[x.value] = true
			}
		}
	}
	for _, part := range [2]struct {
		name string
		ts   []Triple
	}{{"solid:inserts", op.inserts}, {"solid:deletes", op.deletes}} {
		for _, t := range part.ts {
			for _, x := range [3]Term{t.S, t.P, t.O} {
				switch {
				case x.kind == KindBlank:
					return op, malformedf("%s may not contain blank nodes (%s)", part.name, t)
				case x.kind == KindVariable && !whereVars[x.value]:
					return op, malformedf("variable ?%s in %s does not occur in solid:where", x.value, part.name)
				}
			}
		}
	}
	return op, nil
}

func shortSolid(iri string) string { return "solid:" + iri[len(nsSolid):] }
