package acl_test

import (
	"context"
	"errors"
	"testing"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/acl/acltest"
)

// FuzzACL feeds arbitrary documents to Validate and to an evaluation as
// the root ACL: neither may panic, an evaluation fails only with
// ErrInvalidACL, and Validate and the evaluation agree on what parses.
func FuzzACL(f *testing.F) {
	for _, seed := range []string{
		prefixes + `<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.`,
		prefixes + `<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read; acl:origin <https://app.example>.`,
		prefixes + `[] a acl:Authorization; acl:agentGroup <groups#g>; acl:default <./>; acl:mode acl:Append;
			acl:condition [ a acl:ClientCondition; acl:client <` + appA + `>; acl:clientGroup <groups#apps>; acl:clientClass foaf:Agent ],
			[ a acl:IssuerCondition; acl:issuer <` + idpA + `>; acl:issuerClass foaf:Agent ].`,
		prefixes + `<#a> a acl:Authorization; acl:agentClass acl:AuthenticatedAgent; acl:accessTo <./>; acl:mode acl:Write; acl:condition "x", [ a <urn:x> ].`,
		prefixes + `<#a> a acl:Authorization; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read; acl:agent _:b. _:b acl:agent <#a>.`,
		`@base <https://other.example/>. <#a> a <http://www.w3.org/ns/auth/acl#Authorization>.`,
		"", "<", "@prefix acl: <", `"""`, "[ [ [ [", "<#a> a acl:Authorization.",
	} {
		f.Add(seed)
	}
	groups := acltest.NewGroups()
	groups.Set(pod+"groups#g", aliceID)
	groups.Set(pod+"groups#apps", appA)
	agents := []acl.Agent{anon, alice, {WebID: aliceID, ClientID: appA, Issuer: idpA, Origin: "https://app.example"}}
	f.Fuzz(func(t *testing.T, turtle string) {
		src := acltest.NewSource()
		src.Set(pod, turtle)
		e := acl.NewEvaluator(src, groups, acl.Options{MaxACLBytes: 64 << 10, MaxTriples: 1000})
		verr := e.Validate([]byte(turtle), pod+"c/.acl") // no root rule for a container ACL
		for _, a := range agents {
			for _, target := range []string{pod, pod + "c/d", pod + ".acl"} {
				m, err := e.Modes(context.Background(), target, a)
				if err != nil {
					if !errors.Is(err, acl.ErrInvalidACL) {
						t.Fatalf("Modes: unexpected error %v", err)
					}
					if verr == nil {
						t.Fatalf("Modes failed (%v) but Validate accepted the document", err)
					}
					continue
				}
				if verr != nil {
					t.Fatalf("Validate refused (%v) but Modes evaluated the document", verr)
				}
				if m&acl.Write != 0 && m&acl.Append == 0 {
					t.Fatalf("Modes = %d: Write without Append", m)
				}
			}
		}
	})
}
