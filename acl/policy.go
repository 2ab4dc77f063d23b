package acl

import (
	"bytes"
	"fmt"

	"github.com/weconomics/kluis/ldp/rdfx"
)

// policy is the compiled form of one ACL document, for the resource it
// belongs to. Compiling once per document version keeps RDF out of the
// per-request path: evaluation only compares strings.
type policy struct {
	// aclIRI is the document's own IRI, for logs and errors.
	aclIRI string
	// own are the authorizations with acl:accessTo the resource: they apply
	// when the document is the resource's own ACL.
	own []*rule
	// inherited are the authorizations with acl:default the resource (a
	// container): they apply to the resources below it that have no ACL of
	// their own.
	inherited []*rule
}

// rule is one authorization that can grant something: it has modes, at
// least one agent subject, and only conditions Kluis supports.
type rule struct {
	// iri names the authorization: its node, or the ACL document when
	// the node is blank.
	iri   string
	modes Mode
	// Access subjects (WAC 1.0 §4.3).
	public        bool // acl:agentClass foaf:Agent
	authenticated bool // acl:agentClass acl:AuthenticatedAgent
	agents        []string
	groups        []string
	// origins are the acl:origin values (WAC 1.0 §5.3.2).
	origins []string
	// conds must all hold (WAC ED §5.3.2 "Condition Evaluation").
	conds []condition
}

// compileOptions are the parts of Options that change what compile keeps.
type compileOptions struct {
	untyped bool // Options.AcceptUntypedAuthorizations
}

// compile extracts the authorizations of g that can apply to resource, the
// IRI of the resource the ACL document belongs to.
//
// Authorizations are the nodes typed acl:Authorization (WAC 1.0 §5.2
// "Authorization Conformance": "At least one rdf:type property whose object
// is acl:Authorization"), or with co.untyped any node with an acl:mode. Of
// those, a node is kept when it has acl:accessTo or acl:default naming
// resource, at least one mode Kluis knows (unknown modes are ignored, WAC
// 1.0 §7.2), at least one agent subject it can match, and conditions that
// can all be satisfied. Everything else could never grant access and is
// dropped here, so evaluation never sees it.
func compile(g *rdfx.Graph, resource, aclIRI string, co compileOptions) *policy {
	// One pass groups the triples by subject; every later lookup is local.
	props := make(map[rdfx.Term][]rdfx.Triple)
	var nodes []rdfx.Term // candidate authorizations, in document order
	seen := make(map[rdfx.Term]bool)
	for t := range g.All() {
		props[t.S] = append(props[t.S], t)
		p := t.P.Value()
		if !seen[t.S] && (p == rdfx.RDFType && t.O.IsIRI() && t.O.Value() == aclAuthorization ||
			co.untyped && p == aclMode) {
			seen[t.S] = true
			nodes = append(nodes, t.S)
		}
	}

	pol := &policy{aclIRI: aclIRI}
	for _, n := range nodes {
		r, accessTo, def := compileRule(n, props, resource)
		if r == nil {
			continue
		}
		r.iri = aclIRI
		if n.IsIRI() {
			r.iri = n.Value()
		}
		if accessTo {
			pol.own = append(pol.own, r)
		}
		if def {
			pol.inherited = append(pol.inherited, r)
		}
	}
	return pol
}

// compileRule compiles the authorization n. It returns nil when n can grant
// nothing to resource, and whether it applies by acl:accessTo and by
// acl:default.
func compileRule(n rdfx.Term, props map[rdfx.Term][]rdfx.Triple, resource string) (r *rule, accessTo, def bool) {
	r = &rule{}
	var condNodes []rdfx.Term
	for _, t := range props[n] {
		o := t.O
		iri := ""
		if o.IsIRI() {
			iri = o.Value()
		}
		switch t.P.Value() {
		case aclAccessTo:
			// WAC 1.0 §4.1: "The acl:accessTo predicate denotes the resource
			// to which access is being granted."
			accessTo = accessTo || iri == resource
		case aclDefault:
			// WAC 1.0 §4.1: "The acl:default predicate denotes the container
			// resource whose Authorization can be applied to a resource lower
			// in the collection hierarchy." It must name this container.
			def = def || iri == resource
		case aclMode:
			switch iri {
			case aclRead:
				r.modes |= Read
			case aclWrite:
				r.modes |= Write | Append
			case aclAppend:
				r.modes |= Append
			case aclControl:
				r.modes |= Control
			}
		case aclAgent:
			if iri != "" {
				r.agents = append(r.agents, iri)
			}
		case aclAgentClass:
			switch iri {
			case foafAgent:
				r.public = true
			case aclAuthenticatedAgent:
				r.authenticated = true
			}
		case aclAgentGroup:
			if iri != "" {
				r.groups = append(r.groups, iri)
			}
		case aclOrigin:
			// Origins are written as IRIs; a literal is accepted too, as it
			// can only ever restrict.
			if o.IsIRI() || o.IsLiteral() {
				r.origins = append(r.origins, o.Value())
			}
		case aclCondition:
			condNodes = append(condNodes, o)
		}
	}
	if !accessTo && !def || r.modes == 0 {
		return nil, false, false
	}
	if !r.public && !r.authenticated && len(r.agents) == 0 && len(r.groups) == 0 {
		// Only acl:origin, or nothing, as subject. WAC 1.0 §5.3.2 grants a
		// request only when "an Authorization allowing access to the
		// requesting agent (acl:agent, acl:agentGroup, acl:agentClass)"
		// matches, which this one never can.
		return nil, false, false
	}
	for _, c := range condNodes {
		cs, ok := compileCondition(c, props)
		if !ok {
			return nil, false, false
		}
		r.conds = append(r.conds, cs...)
	}
	return r, accessTo, def
}

// parse reads an ACL document within the size limits. Every failure wraps
// ErrInvalidACL and, for syntax errors, the *rdfx.SyntaxError.
func (e *Evaluator) parse(turtle []byte, aclIRI string) (*rdfx.Graph, error) {
	if len(turtle) > e.opts.MaxACLBytes {
		return nil, fmt.Errorf("acl: %s: %w: %d bytes, more than %d", aclIRI, ErrInvalidACL, len(turtle), e.opts.MaxACLBytes)
	}
	g, err := rdfx.Parse(bytes.NewReader(turtle), rdfx.Turtle, aclIRI, rdfx.ParseOptions{MaxTriples: e.opts.MaxTriples})
	if err != nil {
		return nil, fmt.Errorf("acl: %s: %w: %w", aclIRI, ErrInvalidACL, err)
	}
	return g, nil
}

// load parses and compiles the ACL document of resource.
func (e *Evaluator) load(turtle []byte, resource, aclIRI string) (*policy, error) {
	g, err := e.parse(turtle, aclIRI)
	if err != nil {
		return nil, err
	}
	return compile(g, resource, aclIRI, compileOptions{untyped: e.opts.AcceptUntypedAuthorizations}), nil
}

// Validate checks an ACL document that is about to be written at aclIRI,
// so the server can refuse a write that would leave a resource governed by
// a document the Evaluator cannot use (which denies everyone, including
// the controller who could repair it). It returns nil or an error wrapping
// ErrInvalidACL (and *rdfx.SyntaxError for syntax errors) when:
//
//   - the document is larger than Options.MaxACLBytes, has more triples
//     than Options.MaxTriples, or is not well-formed Turtle (WAC 1.0 §3.2
//     "ACL Resource Representation": an ACL resource is an RDF document);
//   - aclIRI is the ACL resource of a root container and no authorization
//     grants acl:Control on it by acl:accessTo (WAC 1.0 §3.2: "The ACL
//     resource of the root container MUST include an Authorization allowing
//     the acl:Control access privilege").
//
// Authorizations Kluis would ignore (unknown modes or condition types) are
// not errors: WAC 1.0 §7.2 and WAC ED §7.3 say consumers "MUST NOT stop
// processing or signal an error" for them.
func (e *Evaluator) Validate(turtle []byte, aclIRI string) error {
	g, err := e.parse(turtle, aclIRI)
	if err != nil {
		return err
	}
	resource, kind := subjectOf(aclIRI)
	if kind != aclAux {
		return nil
	}
	start, err := pathStart(resource)
	if err != nil || len(resource) != start+1 {
		return nil // not a root container
	}
	pol := compile(g, resource, aclIRI, compileOptions{untyped: e.opts.AcceptUntypedAuthorizations})
	for _, r := range pol.own {
		if r.modes&Control != 0 {
			return nil
		}
	}
	return fmt.Errorf("acl: %s: %w: the root container's ACL must grant acl:Control on it", aclIRI, ErrInvalidACL)
}
