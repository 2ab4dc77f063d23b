package acl

import (
	"context"
	"log/slog"
	"slices"
)

// maxGroupDepth bounds nested group lookups (a Groups implementation that
// evaluates access itself, which asks for another group, ...).
const maxGroupDepth = 4

// groupChainKey is the context key of the group lookups in progress.
type groupChainKey struct{}

// groupChain lists the group lookups in progress on a context, innermost
// first, so that a lookup which ends up needing its own group again is
// seen as a loop and denied instead of recursing.
type groupChain struct {
	iri   string
	depth int
	next  *groupChain
}

// groupResult is a group lookup already done in this evaluation.
type groupResult struct {
	iri     string
	members []string
	ok      bool
}

// matcher evaluates compiled authorizations for one agent. It memoizes
// group lookups for the duration of one call.
type matcher struct {
	ctx    context.Context
	groups Groups
	log    *slog.Logger
	agent  Agent
	// origin is the request's origin when it restricts access (WAC 1.0
	// §5.3.2), "" when the request has none or a trusted one.
	origin string
	// strict applies OriginStrict rather than OriginRestrictNamed.
	strict bool
	// noConds ignores acl:condition, to tell a refusal for the client or
	// issuer from one for the agent.
	noConds bool
	memo    []groupResult
}

// grant returns the modes the rules grant to the agent (WAC 1.0 §5.3
// "Authorization Evaluation"): the union of the modes of every matching
// authorization. A rule that could add no mode is skipped, so a group is
// only looked up when it can change the outcome.
func (m *matcher) grant(rules []*rule) Mode {
	var granted Mode
	for _, r := range rules {
		modes := r.modes
		if !m.originAllows(r) {
			// OriginStrict: the owner's trusted apps (Agent.OriginModes)
			// keep the modes the owner trusts the origin with.
			modes &= m.agent.OriginModes
			if !m.strict {
				modes = 0
			}
		}
		if modes&^granted == 0 {
			continue
		}
		if m.matches(r) {
			granted |= modes
		}
	}
	return granted
}

// grantedBy returns the first authorization of rules, in document order,
// that grants the agent one of need: the one that allowed a request,
// for the access log. "" when none does.
func (m *matcher) grantedBy(rules []*rule, need Mode) string {
	for _, r := range rules {
		modes := r.modes
		if !m.originAllows(r) {
			modes &= m.agent.OriginModes
			if !m.strict {
				modes = 0
			}
		}
		if modes&need != 0 && m.matches(r) {
			return r.iri
		}
	}
	return ""
}

// originAllows applies WAC 1.0 §5.3.2 "Web Origin Authorization" to one
// authorization. When the request has an Origin that is not trusted, an
// authorization grants only if it lists that origin in acl:origin, or if it
// is public (acl:agentClass foaf:Agent) and lists no origin at all: "when
// the required access mode is not available to all agents". A public
// authorization that lists origins is restricted to them like any other.
// Without an Origin header, acl:origin is ignored (§5.3: "taken into
// account in the evaluation only when the HTTP request includes the Origin
// header").
//
// Under OriginRestrictNamed (not strict) an authorization that lists no
// origin allows every origin.
func (m *matcher) originAllows(r *rule) bool {
	if m.origin == "" {
		return true
	}
	if len(r.origins) == 0 {
		return r.public || !m.strict
	}
	for _, o := range r.origins {
		if sameOrigin(o, m.origin) {
			return true
		}
	}
	return false
}

// matches reports whether r's subjects include the agent and all its
// conditions hold. Lookups of groups come last, after every check that
// needs none has passed.
func (m *matcher) matches(r *rule) bool {
	a := &m.agent
	// WAC 1.0 §4.3 "Access Subjects".
	subject := r.public ||
		r.authenticated && a.WebID != "" ||
		a.WebID != "" && slices.Contains(r.agents, a.WebID)
	if !subject && (a.WebID == "" || len(r.groups) == 0) {
		return false
	}
	// WAC ED §5.3.2 "Condition Evaluation": "MUST match an Authorization
	// only when all such conditions are satisfied."
	pending := 0 // conditions that only a group can still satisfy
	conds := r.conds
	if m.noConds {
		conds = nil
	}
	for i := range conds {
		c := &r.conds[i]
		if c.holdsWithoutGroups(a) {
			continue
		}
		if len(c.groups) == 0 || c.valueOf(a) == "" {
			return false
		}
		pending++
	}
	if !subject && !m.inAnyGroup(r.groups, a.WebID, false) {
		return false
	}
	if pending == 0 {
		return true
	}
	for i := range r.conds {
		c := &r.conds[i]
		if c.holdsWithoutGroups(a) {
			continue
		}
		if !m.inAnyGroup(c.groups, c.valueOf(a), c.kind == issuerCond) {
			return false
		}
	}
	return true
}

// inAnyGroup reports whether v is listed with vcard:hasMember in one of
// groups. issuer selects issuer comparison.
func (m *matcher) inAnyGroup(groups []string, v string, issuer bool) bool {
	for _, g := range groups {
		members, ok := m.members(g)
		if !ok {
			continue
		}
		for _, x := range members {
			if x == v || issuer && sameIssuer(x, v) {
				return true
			}
		}
	}
	return false
}

// members looks up a group once per evaluation. A failed lookup, a loop
// or too deep a nesting gives ok false: the authorizations naming the
// group do not match through it, and the request goes on.
func (m *matcher) members(g string) ([]string, bool) {
	for _, r := range m.memo {
		if r.iri == g {
			return r.members, r.ok
		}
	}
	res := groupResult{iri: g}
	chain, _ := m.ctx.Value(groupChainKey{}).(*groupChain)
	depth := 0
	if chain != nil {
		depth = chain.depth
	}
	switch {
	case m.groups == nil:
		m.log.Warn("acl: group lookup not configured", "group", g)
	case depth >= maxGroupDepth:
		m.log.Warn("acl: group lookups nested too deeply", "group", g, "depth", depth)
	case chain.has(g):
		m.log.Warn("acl: group lookup loops", "group", g)
	default:
		ctx := context.WithValue(m.ctx, groupChainKey{}, &groupChain{iri: g, depth: depth + 1, next: chain})
		members, err := m.groups.Members(ctx, g)
		if err != nil {
			m.log.Warn("acl: group lookup failed", "group", g, "err", err)
		} else {
			res.members, res.ok = members, true
		}
	}
	m.memo = append(m.memo, res)
	return res.members, res.ok
}

// has reports whether the lookup of g is in progress.
func (c *groupChain) has(g string) bool {
	for ; c != nil; c = c.next {
		if c.iri == g {
			return true
		}
	}
	return false
}
