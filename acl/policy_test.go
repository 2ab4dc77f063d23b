package acl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/ldp/rdfx"
)

func TestValidate(t *testing.T) {
	e := acl.NewEvaluator(acltestSource(), nil, acl.Options{MaxACLBytes: 2000, MaxTriples: 30})
	control := `<#o> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Control.`
	tests := []struct {
		name   string
		aclIRI string
		turtle string
		ok     bool
		syntax bool
	}{
		{"good", pod + "c/doc.acl", prefixes + `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <doc>; acl:mode acl:Read.`, true, false},
		{"empty", pod + "c/doc.acl", "", true, false},
		{"unknown modes and conditions are not errors", pod + "c/.acl", prefixes + `<#a> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>;
			acl:mode <https://example.org/Mode>; acl:condition [ a <https://example.org/Cond> ].`, true, false},
		{"root with control", pod + ".acl", prefixes + control, true, false},
		{"root without control", pod + ".acl", prefixes + `<#o> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:mode acl:Read, acl:Write.`, false, false},
		{"root with control by default only", pod + ".acl", prefixes + `<#o> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <./>; acl:mode acl:Control.`, false, false},
		{"root with control behind an unsupported condition", pod + ".acl", prefixes + strings.TrimSuffix(control, ".") + `; acl:condition [ a <https://example.org/C> ].`, false, false},
		{"other container without control", pod + "c/.acl", prefixes, true, false},
		{"broken Turtle", pod + "c/doc.acl", prefixes + `<#a> a acl:Authorization; acl:mode`, false, true},
		{"undefined prefix", pod + "c/doc.acl", `<#a> a acl:Authorization.`, false, true},
		{"not Turtle at all", pod + "c/doc.acl", `{"@context": {}}`, false, true},
		{"too large", pod + "c/doc.acl", prefixes + "# " + strings.Repeat("x", 2000) + "\n", false, false},
		{"too many triples", pod + "c/doc.acl", prefixes + strings.Repeat("<#s> <#p> [] . ", 31), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.Validate([]byte(tc.turtle), tc.aclIRI)
			if tc.ok {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, acl.ErrInvalidACL) {
				t.Fatalf("Validate = %v, want ErrInvalidACL", err)
			}
			var se *rdfx.SyntaxError
			if got := errors.As(err, &se); got != tc.syntax {
				t.Errorf("syntax error inside = %v, want %v (%v)", got, tc.syntax, err)
			}
		})
	}
}
