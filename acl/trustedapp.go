package acl

import "github.com/weconomics/kluis/ldp/rdfx"

// TrustedApp is acl:trustedApp, by which a WebID profile lists the web
// applications (by origin) its owner trusts, and with which modes:
//
//	<#me> acl:trustedApp [ acl:origin <https://app.example>;
//	                       acl:mode acl:Read, acl:Write ].
//
// Node Solid Server reads it from the profile of the resource's owner to
// admit an Origin that an ACL does not list; WAC 1.0 has no such term.
// Under OriginStrict the server passes what TrustedModes finds as
// Agent.OriginModes.
const TrustedApp = nsACL + "trustedApp"

// TrustedModes returns the modes that the profile graph g says its subject
// owner trusts origin with: the union of the acl:mode values of every
// acl:trustedApp of owner whose acl:origin is origin (compared without
// regard to case or a trailing slash). Write implies Append.
func TrustedModes(g *rdfx.Graph, owner, origin string) Mode {
	var m Mode
	for app := range g.Match(rdfx.IRI(owner), rdfx.IRI(TrustedApp), rdfx.Term{}) {
		listed := false
		for o := range g.Match(app.O, rdfx.IRI(aclOrigin), rdfx.Term{}) {
			listed = listed || o.O.IsIRI() && sameOrigin(o.O.Value(), origin)
		}
		if !listed {
			continue
		}
		for t := range g.Match(app.O, rdfx.IRI(aclMode), rdfx.Term{}) {
			switch t.O.Value() {
			case aclRead:
				m |= Read
			case aclAppend:
				m |= Append
			case aclWrite:
				m |= Write
			case aclControl:
				m |= Control
			}
		}
	}
	return m.implied()
}
