package acl_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/ldp/rdfx"
)

const describedACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>. @prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <https://alice.example/#me>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
[] a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:mode acl:Read; acl:origin <https://app.example>.
[] a acl:Authorization; acl:agentClass acl:AuthenticatedAgent, <https://other.example/Class>; acl:default <./>; acl:mode acl:Append;
  acl:condition [ a acl:ClientCondition; acl:client <https://app.example/id>; acl:clientGroup <https://g.example/apps#g> ],
                [ a acl:IssuerCondition; acl:issuer <https://idp.example/>; acl:issuerClass foaf:Agent ].
<#odd> a acl:Authorization; acl:agentGroup <https://g.example/friends#g>; acl:accessTo <./>; acl:mode acl:Write;
  acl:condition [ a <https://example.org/TimeCondition> ].
<#not-an-authorization> acl:agent <https://eve.example/#me>; acl:mode acl:Read.`

func parseDescribed(t *testing.T, doc string) *rdfx.Graph {
	t.Helper()
	g, err := rdfx.Parse(strings.NewReader(doc), rdfx.Turtle, "https://pod.example/c/.acl", rdfx.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestAuthorizations: every typed authorization, as written, with stable
// ids for blank nodes; Without removes one and its conditions only.
func TestAuthorizations(t *testing.T) {
	g := parseDescribed(t, describedACL)
	as := acl.Authorizations(g)
	if len(as) != 4 {
		t.Fatalf("%d authorizations: %+v", len(as), as)
	}
	owner, public, authn, odd := as[0], as[1], as[2], as[3]
	if owner.ID != "https://pod.example/c/.acl#owner" || !owner.Modes.Has(acl.Read|acl.Write|acl.Append|acl.Control) ||
		!slices.Equal(owner.AccessTo, []string{"https://pod.example/c/"}) || !slices.Equal(owner.Default, owner.AccessTo) ||
		!slices.Equal(owner.Agents, []string{"https://alice.example/#me"}) {
		t.Errorf("owner: %+v", owner)
	}
	if !public.Public || public.Modes != acl.Read || !slices.Equal(public.Origins, []string{"https://app.example"}) || !strings.HasPrefix(public.ID, "_:") {
		t.Errorf("public: %+v", public)
	}
	if !authn.Authenticated || !slices.Equal(authn.OtherClasses, []string{"https://other.example/Class"}) ||
		!slices.Equal(authn.Clients, []string{"https://app.example/id"}) || !slices.Equal(authn.ClientGroups, []string{"https://g.example/apps#g"}) ||
		!slices.Equal(authn.Issuers, []string{"https://idp.example/"}) || !authn.AnyIssuer || authn.AnyClient || authn.OtherConditions {
		t.Errorf("authenticated: %+v", authn)
	}
	if !odd.OtherConditions || !slices.Equal(odd.Groups, []string{"https://g.example/friends#g"}) {
		t.Errorf("odd: %+v", odd)
	}
	// Blank ids are the same in another parse of the same document.
	again := acl.Authorizations(parseDescribed(t, describedACL))
	if again[1].ID != public.ID || again[2].ID != authn.ID || public.ID == authn.ID {
		t.Errorf("ids %q %q, then %q %q", public.ID, authn.ID, again[1].ID, again[2].ID)
	}

	out, ok := acl.Without(g, authn.ID)
	if !ok || g.Len() == out.Len() {
		t.Fatalf("Without: %v", ok)
	}
	rest := acl.Authorizations(out)
	if len(rest) != 3 || rest[0].ID != owner.ID || rest[1].ID != public.ID || rest[2].ID != odd.ID {
		t.Errorf("left: %+v", rest)
	}
	for tr := range out.All() {
		if v := tr.O.Value(); v == "https://app.example/id" || v == "https://idp.example/" {
			t.Errorf("a condition of the removed authorization is left: %v", tr)
		}
	}
	if _, ok := acl.Without(g, "_:nothing"); ok {
		t.Error("Without of an unknown id")
	}
	if _, ok := acl.Without(g, "https://pod.example/c/.acl#not-an-authorization"); ok {
		t.Error("Without of an untyped node")
	}
}
