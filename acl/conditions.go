package acl

import "github.com/weconomics/kluis/ldp/rdfx"

// condKind is a supported condition type.
type condKind uint8

const (
	clientCond condKind = iota + 1 // acl:ClientCondition
	issuerCond                     // acl:IssuerCondition
)

// condition is one compiled acl:condition of one supported type (WAC ED
// §4.4 "Access Conditions"). It holds when the request's client (or
// issuer) is one of values, a member of one of groups, or when public is
// set (the class foaf:Agent, "any client" or "any agent").
type condition struct {
	kind   condKind
	values []string
	groups []string
	public bool
}

// compileCondition compiles the acl:condition node c into one condition
// per type it has. It reports false when the authorization holding it can
// never match:
//
//   - c has no type, or a type Kluis does not support. WAC ED §5.3.2
//     "Condition Evaluation" says conditions whose types the server does not
//     signal "are not used in Authorization Evaluation", and §7.3 that
//     consumers "MUST continue processing the access conditions as if those
//     properties were not present". Kluis reads this as: the unsupported
//     condition cannot be used to grant, so the authorization it restricts
//     does not match. Ignoring the condition instead would give the
//     authorization's agents more access than its author allowed, the risk
//     WAC ED §8.1 warns of ("could result in access rights broader than
//     those intended"); Kluis fails closed, as WAC 1.0 §7.2 requires for
//     unknown modes ("MUST NOT cause increased access").
//   - a supported condition lists no client (or issuer), group or class
//     that could ever satisfy it.
func compileCondition(c rdfx.Term, props map[rdfx.Term][]rdfx.Triple) ([]condition, bool) {
	var out []condition
	for _, t := range props[c] {
		if t.P.Value() != rdfx.RDFType {
			continue
		}
		var k condKind
		switch {
		case t.O.IsIRI() && t.O.Value() == aclConditionClass:
			continue // the superclass every condition entails; not a type to test
		case t.O.IsIRI() && t.O.Value() == ClientCondition:
			k = clientCond
		case t.O.IsIRI() && t.O.Value() == IssuerCondition:
			k = issuerCond
		default:
			return nil, false
		}
		cond := condition{kind: k}
		valueP, groupP, classP := aclClient, aclClientGroup, aclClientClass
		if k == issuerCond {
			valueP, groupP, classP = aclIssuer, aclIssuerGroup, aclIssuerClass
		}
		for _, u := range props[c] {
			if !u.O.IsIRI() {
				continue
			}
			switch u.P.Value() {
			case valueP:
				cond.values = append(cond.values, u.O.Value())
			case groupP:
				cond.groups = append(cond.groups, u.O.Value())
			case classP:
				// WAC ED §4.4 defines one class for each: foaf:Agent, "any
				// client, i.e., the public" and "any agent, i.e., the
				// public". Other classes are unknown and match nothing.
				if u.O.Value() == foafAgent {
					cond.public = true
				}
			}
		}
		if !cond.public && len(cond.values) == 0 && len(cond.groups) == 0 {
			return nil, false
		}
		out = append(out, cond)
	}
	if len(out) == 0 {
		return nil, false // no type at all
	}
	return out, true
}

// valueOf returns what the condition tests in a: the client_id or the
// issuer.
func (c *condition) valueOf(a *Agent) string {
	if c.kind == clientCond {
		return a.ClientID
	}
	return a.Issuer
}

// same compares a listed client or issuer with the request's.
func (c *condition) same(listed, got string) bool {
	if c.kind == issuerCond {
		return sameIssuer(listed, got)
	}
	return listed == got
}

// holdsWithoutGroups reports whether the condition holds by class or by a
// listed value, which needs no lookup.
func (c *condition) holdsWithoutGroups(a *Agent) bool {
	if c.public {
		// foaf:Agent: any client or issuer, also none, as acl:agentClass
		// foaf:Agent includes the anonymous agent.
		return true
	}
	v := c.valueOf(a)
	if v == "" {
		return false
	}
	for _, l := range c.values {
		if c.same(l, v) {
			return true
		}
	}
	return false
}
