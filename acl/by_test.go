package acl_test

import (
	"context"
	"errors"
	"testing"

	"github.com/weconomics/kluis/acl"
)

// TestAuthorizationThatAllowed: AllowedBy and CheckBy name the
// authorization that grants the needed mode (for the access log): the
// first in document order that matches, a blank node by its document,
// none on a refusal.
func TestAuthorizationThatAllowed(t *testing.T) {
	ctx := context.Background()
	e, _ := newEvaluator(t, map[string]string{pod: `
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#bobRead> a acl:Authorization; acl:agent <` + bobID + `>; acl:default <./>; acl:mode acl:Read.
[] a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Append.`}, nil, acl.Options{})
	for _, tc := range []struct {
		agent  acl.Agent
		target string
		need   acl.Mode
		want   string
	}{
		{alice, pod + "doc", acl.Read, pod + ".acl#owner"},
		{bob, pod + "doc", acl.Read, pod + ".acl#bobRead"},
		{bob, pod + "doc", acl.Append, pod + ".acl"},
		{anon, pod + "doc", acl.Read, ""},
		{alice, pod + "doc.acl", acl.Read, pod + ".acl#owner"},
	} {
		_, _, by, err := e.AllowedBy(ctx, tc.target, tc.agent, tc.need)
		if err != nil || by != tc.want {
			t.Errorf("AllowedBy(%s, %s, %v) = %q, %v; want %q", tc.agent.WebID, tc.target, tc.need, by, err, tc.want)
		}
	}
	by, err := e.CheckBy(ctx, []acl.Requirement{{IRI: pod + "doc", Modes: acl.Read}}, bob)
	if err != nil || by != pod+".acl#bobRead" {
		t.Errorf("CheckBy bob read: %q %v", by, err)
	}
	by, err = e.CheckBy(ctx, []acl.Requirement{{IRI: pod + "doc", Modes: acl.Write}}, bob)
	if !errors.Is(err, acl.ErrDenied) || by != "" {
		t.Errorf("CheckBy bob write: %q %v", by, err)
	}
}
