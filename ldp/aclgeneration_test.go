package ldp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage/memory"
)

// TestACLGenerationMoves checks that the ACL generation
// (ldp/aclgeneration.go) moves on with every write of an ACL resource
// through a Store (created, replaced, patched, deleted with its resource)
// and of a pod's ACLs (created and deleted with the pod), and stays as it
// is for every other write, so that another Store on the same backend
// (another process) can tell from it alone whether the versions of ACLs
// it kept still hold.
func TestACLGenerationMoves(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	gen := func() string {
		t.Helper()
		g, err := other.ACLGeneration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	step := func(name string, moves bool, do func() error) {
		t.Helper()
		before := gen()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if after := gen(); (after != before) != moves {
			t.Errorf("%s: generation %q -> %q, want moved: %v", name, before, after, moves)
		}
	}
	put := func(p, ct, body string) func() error {
		return func() error {
			_, err := s.Put(ctx, ldp.Path(p), ldp.WriteRequest{Body: strings.NewReader(body), ContentType: ct})
			return err
		}
	}
	const acl = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#o> a acl:Authorization; acl:agent <https://alice.example/#me>; acl:accessTo <doc>; acl:mode acl:Control.`
	step("create a pod", true, func() error { _, err := s.CreatePod(ctx, "alice", ldp.PodOwner{}); return err })
	step("create a document", false, put("/alice/doc", "text/turtle", "<#a> <#b> <#c>."))
	step("replace it", false, put("/alice/doc", "text/turtle", "<#a> <#b> <#d>."))
	step("create its ACL", true, put("/alice/doc.acl", "text/turtle", acl))
	step("replace its ACL", true, put("/alice/doc.acl", "text/turtle", acl+"\n"))
	step("patch its ACL", true, func() error {
		patch, err := s.ParsePatch(ctx, "/alice/doc.acl", strings.NewReader(`INSERT DATA { <#o> <http://example.org/n> 1. }`), rdfx.SPARQLUpdate)
		if err != nil {
			return err
		}
		_, err = s.Patch(ctx, "/alice/doc.acl", patch, ldp.Conditions{})
		return err
	})
	step("patch the document", false, func() error {
		patch, err := s.ParsePatch(ctx, "/alice/doc", strings.NewReader(`INSERT DATA { <#e> <#f> 1. }`), rdfx.SPARQLUpdate)
		if err != nil {
			return err
		}
		_, err = s.Patch(ctx, "/alice/doc", patch, ldp.Conditions{})
		return err
	})
	step("describe the document", false, put("/alice/doc.meta", "text/turtle", "<doc> <#g> 1."))
	step("delete the document, and its ACL with it", true, func() error { return s.Delete(ctx, "/alice/doc", ldp.Conditions{}) })
	step("create a document without ACL", false, put("/alice/other", "text/plain", "x"))
	step("delete it", false, func() error { return s.Delete(ctx, "/alice/other", ldp.Conditions{}) })
	step("delete the pod", true, func() error { return s.DeletePod(ctx, "alice") })
}
