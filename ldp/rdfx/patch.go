package rdfx

import "slices"

// opKind is the kind of one patch operation; the kinds differ in how they
// treat matches and missing triples (see Plan).
type opKind uint8

const (
	// opN3 is an N3 Patch: the where clause must match exactly once and
	// every triple to delete must exist (Solid Protocol 0.11 §5.3.1).
	opN3 opKind = iota
	// opInsertData is SPARQL INSERT DATA.
	opInsertData
	// opDeleteData is SPARQL DELETE DATA; Kluis answers a missing triple
	// with a conflict, which Solid clients rely on to detect a stale save.
	opDeleteData
	// opModify is SPARQL DELETE/INSERT ... WHERE and DELETE WHERE: the
	// templates are applied for every match, none being no error.
	opModify
)

// operation is one step of a patch: triple patterns, which may hold
// variables, and blank nodes (existential in where, fresh in inserts).
type operation struct {
	kind    opKind
	where   []Triple
	deletes []Triple
	inserts []Triple
}

// Patch is a parsed N3 Patch or SPARQL Update request: a sequence of
// operations applied in order by Plan and Apply. Make one with ParseN3Patch
// or ParseSPARQLUpdate. A Patch is immutable and may be used concurrently.
type Patch struct {
	ops []operation
}

// Access is what a patch needs the agent to be allowed on the target
// resource.
type Access struct {
	// Read: the patch has conditions (a where clause) or deletes, whose
	// success tells the agent what the resource holds.
	Read bool
	// Append: the patch inserts triples.
	Append bool
	// Write: the patch deletes triples.
	Write bool
}

// Access reports the access modes the patch needs, following Solid
// Protocol 0.11 §5.3.1 for N3 Patch ("When ?conditions is non-empty,
// servers MUST treat the request as a Read operation. When ?insertions is
// non-empty, servers MUST (also) treat the request as an Append operation.
// When ?deletions is non-empty, servers MUST treat the request as a Read
// and Write operation.") and the same rule for SPARQL Update.
func (p *Patch) Access() Access {
	var a Access
	for _, op := range p.ops {
		if len(op.where) > 0 || len(op.deletes) > 0 {
			a.Read = true
		}
		if len(op.inserts) > 0 {
			a.Append = true
		}
		if len(op.deletes) > 0 {
			a.Write = true
		}
	}
	return a
}

// OnlyInserts reports whether the patch neither reads (no where clause) nor
// deletes, so that acl:Append is enough to apply it. An empty patch only
// inserts.
func (p *Patch) OnlyInserts() bool {
	a := p.Access()
	return !a.Read && !a.Write
}

// Touches returns the triple patterns the patch may delete or insert, each
// once, in the order they appear. They may hold variables (bound only when
// the patch is applied) and blank nodes; a caller that protects
// server-managed triples should treat a variable as matching anything, or
// check the concrete triples in the Changes that Plan returns.
func (p *Patch) Touches() []Triple {
	var ts []Triple
	for _, op := range p.ops {
		for _, t := range slices.Concat(op.deletes, op.inserts) {
			if !slices.Contains(ts, t) {
				ts = append(ts, t)
			}
		}
	}
	return ts
}
