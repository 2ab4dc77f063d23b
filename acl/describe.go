package acl

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/weconomics/kluis/ldp/rdfx"
)

// Authorization is one authorization of an ACL document as it is
// written, for a person to read (the access page): every subject, origin
// and condition it names, whether or not the Evaluator could use it.
type Authorization struct {
	// ID identifies the authorization within its document: its IRI, or
	// for a blank node a digest of what it says (blank node labels are
	// not stable from one parse to the next).
	ID string
	// AccessTo and Default are the resources named by acl:accessTo and
	// acl:default (WAC 1.0 §4.1).
	AccessTo, Default []string
	// Modes are the modes Kluis knows (WAC 1.0 §4.2).
	Modes Mode
	// The access subjects (WAC 1.0 §4.3): acl:agent, acl:agentGroup,
	// acl:agentClass foaf:Agent (Public) and acl:AuthenticatedAgent;
	// OtherClasses are any other acl:agentClass.
	Agents, Groups        []string
	Public, Authenticated bool
	OtherClasses          []string
	Origins               []string // acl:origin (WAC 1.0 §5.3.2)
	Clients, ClientGroups []string // of acl:ClientCondition (WAC ED §4.4)
	Issuers, IssuerGroups []string // of acl:IssuerCondition (WAC ED §4.4)
	AnyClient, AnyIssuer  bool     // acl:clientClass / acl:issuerClass foaf:Agent
	OtherConditions       bool     // a condition of a type Kluis does not support
	node                  rdfx.Term
	conditionNodes        []rdfx.Term
}

// Authorizations lists the authorizations of an ACL document (the nodes
// typed acl:Authorization, WAC 1.0 §5.2), in document order.
func Authorizations(g *rdfx.Graph) []Authorization {
	props := make(map[rdfx.Term][]rdfx.Triple)
	var nodes []rdfx.Term
	seen := make(map[rdfx.Term]bool)
	for t := range g.All() {
		props[t.S] = append(props[t.S], t)
		if !seen[t.S] && t.P.Value() == rdfx.RDFType && t.O.IsIRI() && t.O.Value() == aclAuthorization {
			seen[t.S] = true
			nodes = append(nodes, t.S)
		}
	}
	out := make([]Authorization, 0, len(nodes))
	for _, n := range nodes {
		a := Authorization{node: n, ID: n.Value()}
		for _, t := range props[n] {
			iri := ""
			if t.O.IsIRI() {
				iri = t.O.Value()
			}
			switch t.P.Value() {
			case aclAccessTo:
				a.AccessTo = appendIRI(a.AccessTo, iri)
			case aclDefault:
				a.Default = appendIRI(a.Default, iri)
			case aclMode:
				switch iri {
				case aclRead:
					a.Modes |= Read
				case aclWrite:
					a.Modes |= Write | Append
				case aclAppend:
					a.Modes |= Append
				case aclControl:
					a.Modes |= Control
				}
			case aclAgent:
				a.Agents = appendIRI(a.Agents, iri)
			case aclAgentGroup:
				a.Groups = appendIRI(a.Groups, iri)
			case aclAgentClass:
				switch iri {
				case foafAgent:
					a.Public = true
				case aclAuthenticatedAgent:
					a.Authenticated = true
				default:
					a.OtherClasses = appendIRI(a.OtherClasses, iri)
				}
			case aclOrigin:
				if t.O.IsIRI() || t.O.IsLiteral() {
					a.Origins = append(a.Origins, t.O.Value())
				}
			case aclCondition:
				a.conditionNodes = append(a.conditionNodes, t.O)
				a.condition(t.O, props)
			}
		}
		if n.IsBlank() {
			a.ID = "_:" + digest(n, props)
		}
		out = append(out, a)
	}
	return out
}

// condition reads one acl:condition node (WAC ED §4.4).
func (a *Authorization) condition(c rdfx.Term, props map[rdfx.Term][]rdfx.Triple) {
	typed := false
	for _, t := range props[c] {
		if t.P.Value() != rdfx.RDFType || !t.O.IsIRI() {
			continue
		}
		switch t.O.Value() {
		case aclConditionClass:
		case ClientCondition, IssuerCondition:
			typed = true
		default:
			a.OtherConditions = true
		}
	}
	if !typed {
		a.OtherConditions = true
	}
	for _, t := range props[c] {
		if !t.O.IsIRI() {
			continue
		}
		v := t.O.Value()
		switch t.P.Value() {
		case aclClient:
			a.Clients = appendIRI(a.Clients, v)
		case aclClientGroup:
			a.ClientGroups = appendIRI(a.ClientGroups, v)
		case aclClientClass:
			a.AnyClient = a.AnyClient || v == foafAgent
		case aclIssuer:
			a.Issuers = appendIRI(a.Issuers, v)
		case aclIssuerGroup:
			a.IssuerGroups = appendIRI(a.IssuerGroups, v)
		case aclIssuerClass:
			a.AnyIssuer = a.AnyIssuer || v == foafAgent
		}
	}
}

// digest names a blank authorization by its triples and those of its
// blank condition nodes, sorted, so that it is the same in every parse
// of the same document.
func digest(n rdfx.Term, props map[rdfx.Term][]rdfx.Triple) string {
	var lines []string
	for _, t := range props[n] {
		o := t.O.String()
		if t.O.IsBlank() {
			var sub []string
			for _, u := range props[t.O] {
				sub = append(sub, u.P.String()+" "+u.O.String())
			}
			slices.Sort(sub)
			o = "[" + strings.Join(sub, "; ") + "]"
		}
		lines = append(lines, t.P.String()+" "+o)
	}
	slices.Sort(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(h[:12])
}

func appendIRI(xs []string, iri string) []string {
	if iri == "" || slices.Contains(xs, iri) {
		return xs
	}
	return append(xs, iri)
}

// Without returns a copy of g without the authorization id (an
// Authorization.ID) and without its blank condition nodes, and whether
// it was there.
func Without(g *rdfx.Graph, id string) (*rdfx.Graph, bool) {
	for _, a := range Authorizations(g) {
		if a.ID != id {
			continue
		}
		out := g.Clone()
		out.RemoveMatches(a.node, rdfx.Term{}, rdfx.Term{})
		for _, c := range a.conditionNodes {
			if c.IsBlank() && !referencedElsewhere(out, c) {
				out.RemoveMatches(c, rdfx.Term{}, rdfx.Term{})
			}
		}
		return out, true
	}
	return nil, false
}

// referencedElsewhere reports whether a node is still the object of a
// triple in g.
func referencedElsewhere(g *rdfx.Graph, n rdfx.Term) bool {
	for range g.Match(rdfx.Term{}, rdfx.Term{}, n) {
		return true
	}
	return false
}
