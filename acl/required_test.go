package acl_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/acl/acltest"
)

// TestRequired lists the requirements of each operation (WAC 1.0 §5.3.1).
func TestRequired(t *testing.T) {
	const (
		c   = pod + "c/"
		doc = pod + "c/doc"
	)
	anyAW := acl.Append | acl.Write
	tests := []struct {
		op   acl.Operation
		want []acl.Requirement
	}{
		{acl.Operation{Method: "GET", Target: doc, Exists: true}, []acl.Requirement{{IRI: doc, Modes: acl.Read}}},
		{acl.Operation{Method: "GET", Target: doc}, []acl.Requirement{{IRI: doc, Modes: acl.Read}}},
		{acl.Operation{Method: "HEAD", Target: c, Exists: true}, []acl.Requirement{{IRI: c, Modes: acl.Read}}},
		{acl.Operation{Method: "OPTIONS", Target: doc, Exists: true}, []acl.Requirement{{IRI: doc, Modes: acl.Read}}},
		{acl.Operation{Method: "OPTIONS", Target: doc}, []acl.Requirement{{IRI: doc, Modes: acl.Read}}},
		{acl.Operation{Method: "PUT", Target: doc, Exists: true}, []acl.Requirement{{IRI: doc, Modes: acl.Write}}},
		{acl.Operation{Method: "PUT", Target: doc}, []acl.Requirement{{IRI: doc, Modes: acl.Write}, {IRI: c, Modes: anyAW, AnyOf: true}}},
		{acl.Operation{Method: "PUT", Target: pod + "c/d/"}, []acl.Requirement{{IRI: pod + "c/d/", Modes: acl.Write}, {IRI: c, Modes: anyAW, AnyOf: true}}},
		{acl.Operation{Method: "PUT", Target: pod, Exists: false}, []acl.Requirement{{IRI: pod, Modes: acl.Write}}},
		// Missing containers on the way: each one created, and the nearest
		// existing one, gains a member (Solid Protocol §5.3, WAC 1.0 note
		// "Container Permissions").
		{acl.Operation{Method: "PUT", Target: doc, Ancestor: c}, []acl.Requirement{{IRI: doc, Modes: acl.Write}, {IRI: c, Modes: anyAW, AnyOf: true}}},
		{acl.Operation{Method: "PUT", Target: pod + "c/nested/new.txt", Ancestor: c}, []acl.Requirement{
			{IRI: pod + "c/nested/new.txt", Modes: acl.Write}, {IRI: pod + "c/nested/", Modes: anyAW, AnyOf: true}, {IRI: c, Modes: anyAW, AnyOf: true}}},
		{acl.Operation{Method: "PUT", Target: pod + "c/a/b/c/new.txt", Ancestor: c}, []acl.Requirement{
			{IRI: pod + "c/a/b/c/new.txt", Modes: acl.Write}, {IRI: pod + "c/a/b/c/", Modes: anyAW, AnyOf: true},
			{IRI: pod + "c/a/b/", Modes: anyAW, AnyOf: true}, {IRI: pod + "c/a/", Modes: anyAW, AnyOf: true}, {IRI: c, Modes: anyAW, AnyOf: true}}},
		{acl.Operation{Method: "PUT", Target: pod + "c/d/e/", Ancestor: pod}, []acl.Requirement{
			{IRI: pod + "c/d/e/", Modes: acl.Write}, {IRI: pod + "c/d/", Modes: anyAW, AnyOf: true}, {IRI: c, Modes: anyAW, AnyOf: true}, {IRI: pod, Modes: anyAW, AnyOf: true}}},
		{acl.Operation{Method: "PATCH", Target: pod + "c/nested2/new.ttl", Ancestor: c, PatchAppend: true}, []acl.Requirement{
			{IRI: pod + "c/nested2/new.ttl", Modes: acl.Append}, {IRI: pod + "c/nested2/", Modes: anyAW, AnyOf: true}, {IRI: c, Modes: anyAW, AnyOf: true}}},
		// An existing target creates nothing, whatever Ancestor says.
		{acl.Operation{Method: "PUT", Target: pod + "c/nested/new.txt", Exists: true, Ancestor: pod}, []acl.Requirement{{IRI: pod + "c/nested/new.txt", Modes: acl.Write}}},
		// Description resources are no members: no container access.
		{acl.Operation{Method: "PUT", Target: pod + "c/nested/x.meta", Ancestor: c}, []acl.Requirement{{IRI: pod + "c/nested/x", Modes: acl.Write}}},
		{acl.Operation{Method: "POST", Target: c, Exists: true}, []acl.Requirement{{IRI: c, Modes: anyAW, AnyOf: true}}},
		{acl.Operation{Method: "PATCH", Target: doc, Exists: true, PatchAppend: true}, []acl.Requirement{{IRI: doc, Modes: acl.Append}}},
		{acl.Operation{Method: "PATCH", Target: doc, Exists: true, PatchRead: true, PatchAppend: true}, []acl.Requirement{{IRI: doc, Modes: acl.Read | acl.Append}}},
		{acl.Operation{Method: "PATCH", Target: doc, Exists: true, PatchRead: true, PatchWrite: true}, []acl.Requirement{{IRI: doc, Modes: acl.Read | acl.Write}}},
		{acl.Operation{Method: "PATCH", Target: doc, Exists: true}, []acl.Requirement{{IRI: doc, Modes: acl.Append}}},
		{acl.Operation{Method: "PATCH", Target: doc, PatchAppend: true}, []acl.Requirement{{IRI: doc, Modes: acl.Append}, {IRI: c, Modes: anyAW, AnyOf: true}}},
		{acl.Operation{Method: "DELETE", Target: doc, Exists: true}, []acl.Requirement{{IRI: doc, Modes: acl.Write}, {IRI: c, Modes: acl.Write}}},
		{acl.Operation{Method: "DELETE", Target: c, Exists: true}, []acl.Requirement{{IRI: c, Modes: acl.Write}, {IRI: pod, Modes: acl.Write}}},
		{acl.Operation{Method: "DELETE", Target: pod, Exists: true}, []acl.Requirement{{IRI: pod, Modes: acl.Write}}},
		// ACL resources: acl:Control on the resource they control, whatever the method.
		{acl.Operation{Method: "GET", Target: doc + ".acl", Exists: true}, []acl.Requirement{{IRI: doc, Modes: acl.Control}}},
		{acl.Operation{Method: "OPTIONS", Target: doc + ".acl"}, []acl.Requirement{{IRI: doc, Modes: acl.Control}}},
		{acl.Operation{Method: "PUT", Target: doc + ".acl"}, []acl.Requirement{{IRI: doc, Modes: acl.Control}}},
		{acl.Operation{Method: "PATCH", Target: c + ".acl", PatchAppend: true}, []acl.Requirement{{IRI: c, Modes: acl.Control}}},
		{acl.Operation{Method: "DELETE", Target: pod + ".acl", Exists: true}, []acl.Requirement{{IRI: pod, Modes: acl.Control}}},
		{acl.Operation{Method: "GET", Target: doc + ".meta.acl"}, []acl.Requirement{{IRI: doc, Modes: acl.Control}}},
		// Description resources: the rules of their subject, as an existing resource.
		{acl.Operation{Method: "GET", Target: doc + ".meta"}, []acl.Requirement{{IRI: doc, Modes: acl.Read}}},
		{acl.Operation{Method: "PUT", Target: doc + ".meta"}, []acl.Requirement{{IRI: doc, Modes: acl.Write}}},
		// Changing a description needs Write on its subject, also for a
		// patch that only inserts: Append is not enough (Kluis's choice).
		{acl.Operation{Method: "PATCH", Target: c + ".meta", PatchAppend: true}, []acl.Requirement{{IRI: c, Modes: acl.Write}}},
		{acl.Operation{Method: "POST", Target: c + ".meta", Exists: true}, []acl.Requirement{{IRI: c, Modes: acl.Write}}},
		{acl.Operation{Method: "PATCH", Target: c + ".meta", PatchRead: true, PatchAppend: true}, []acl.Requirement{{IRI: c, Modes: acl.Read | acl.Write}}},
		{acl.Operation{Method: "DELETE", Target: doc + ".meta", Exists: true}, []acl.Requirement{{IRI: doc, Modes: acl.Write}}},
		{acl.Operation{Method: "GET", Target: doc + ".acl.meta"}, []acl.Requirement{{IRI: doc, Modes: acl.Control}}},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("%s %s exists=%v", tc.op.Method, strings.TrimPrefix(tc.op.Target, pod), tc.op.Exists)
		t.Run(name, func(t *testing.T) {
			got, err := acl.Required(tc.op)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Required = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestRequiredBadAncestor: an Ancestor that is not a container above the
// target is a caller's bug, refused rather than guessed at.
func TestRequiredBadAncestor(t *testing.T) {
	for _, anc := range []string{pod + "d/", pod + "c/doc", pod + "c/nested/new.txt/", "https://other.example/", pod + "c/nested/new.txt"} {
		_, err := acl.Required(acl.Operation{Method: "PUT", Target: pod + "c/nested/new.txt", Ancestor: anc})
		if !errors.Is(err, acl.ErrInvalidIRI) {
			t.Errorf("Ancestor %q: %v, want ErrInvalidIRI", anc, err)
		}
	}
}

func TestRequiredUnknownMethod(t *testing.T) {
	for _, m := range []string{"COPY", "get", "PROPFIND", ""} {
		if reqs, err := acl.Required(acl.Operation{Method: m, Target: pod}); !errors.Is(err, acl.ErrUnknownMethod) || reqs != nil {
			t.Errorf("Required(%q) = %v, %v; want ErrUnknownMethod", m, reqs, err)
		}
	}
}

func TestSatisfiedBy(t *testing.T) {
	tests := []struct {
		req     acl.Requirement
		granted acl.Mode
		want    bool
	}{
		{acl.Requirement{Modes: acl.Read}, acl.Read, true},
		{acl.Requirement{Modes: acl.Read}, acl.Write, false},
		{acl.Requirement{Modes: acl.Append}, acl.Write, true}, // Write implies Append
		{acl.Requirement{Modes: acl.Read | acl.Write}, acl.Read, false},
		{acl.Requirement{Modes: acl.Read | acl.Append}, acl.Read | acl.Write, true},
		{acl.Requirement{Modes: acl.Append | acl.Write, AnyOf: true}, acl.Append, true},
		{acl.Requirement{Modes: acl.Append | acl.Write, AnyOf: true}, acl.Read | acl.Control, false},
		{acl.Requirement{Modes: acl.Control}, acl.Read | acl.Write | acl.Append, false},
	}
	for _, tc := range tests {
		if got := tc.req.SatisfiedBy(tc.granted); got != tc.want {
			t.Errorf("%+v.SatisfiedBy(%q) = %v, want %v", tc.req, tc.granted, got, tc.want)
		}
	}
}

// spec is the expected outcome of an operation given the modes an ACL
// grants on the container (p) and inherits to the target (t), written from
// the text of WAC 1.0 §5.3.1 independently of Required. The grants are as
// written in the ACL, so "append or write" is spelled out.
func spec(method string, exists bool, patch string, p, t acl.Mode) bool {
	has := func(m, want acl.Mode) bool { return m&want != 0 }
	appendOrWrite := func(m acl.Mode) bool { return has(m, acl.Append) || has(m, acl.Write) }
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return has(t, acl.Read)
	case "PUT":
		if exists {
			return has(t, acl.Write)
		}
		return appendOrWrite(p) && has(t, acl.Write)
	case "POST":
		return appendOrWrite(t)
	case "PATCH":
		var ok bool
		switch patch {
		case "insert":
			ok = appendOrWrite(t)
		case "where+insert":
			ok = has(t, acl.Read) && appendOrWrite(t)
		case "delete":
			ok = has(t, acl.Read) && has(t, acl.Write)
		}
		if !exists {
			ok = ok && appendOrWrite(p)
		}
		return ok
	case "DELETE":
		return has(t, acl.Write) && has(p, acl.Write)
	}
	panic("no rule for " + method)
}

// modeTerms writes m as an acl:mode object list.
func modeTerms(m acl.Mode) string {
	var ts []string
	for _, x := range []struct {
		m acl.Mode
		t string
	}{{acl.Read, "acl:Read"}, {acl.Append, "acl:Append"}, {acl.Write, "acl:Write"}, {acl.Control, "acl:Control"}} {
		if m&x.m != 0 {
			ts = append(ts, x.t)
		}
	}
	return strings.Join(ts, ", ")
}

// TestPermissionTable ports the idea of the Community Solid Server's
// permission table: every method, with the target existing or not, for
// every combination of modes granted on the container and inherited by
// the target, through real ACL documents and Check, against spec.
func TestPermissionTable(t *testing.T) {
	const (
		container = pod + "c/"
		target    = pod + "c/t"
	)
	type patchKind struct {
		name                string
		read, append, write bool
	}
	methods := []struct {
		method string
		patch  patchKind
	}{
		{method: "GET"}, {method: "HEAD"}, {method: "OPTIONS"}, {method: "PUT"}, {method: "POST"}, {method: "DELETE"},
		{method: "PATCH", patch: patchKind{name: "insert", append: true}},
		{method: "PATCH", patch: patchKind{name: "where+insert", read: true, append: true}},
		{method: "PATCH", patch: patchKind{name: "delete", read: true, write: true}},
	}
	src := newTableSource()
	e := acl.NewEvaluator(src, nil, acl.Options{})
	ctx := context.Background()
	combos, checked := 0, 0
	// Modes are subsets of {Read, Append, Write}; Control plays no part
	// outside ACL resources, which TestRequired covers.
	for p := range acl.Mode(8) {
		for tm := range acl.Mode(8) {
			doc := prefixes
			if p != 0 {
				doc += `<#p> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:mode ` + modeTerms(p) + ".\n"
			}
			if tm != 0 {
				doc += `<#t> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <./>; acl:mode ` + modeTerms(tm) + ".\n"
			}
			src.set(container, doc)
			combos++
			for _, m := range methods {
				for _, exists := range []bool{true, false} {
					op := acl.Operation{Method: m.method, Target: target, Exists: exists,
						PatchRead: m.patch.read, PatchAppend: m.patch.append, PatchWrite: m.patch.write}
					if m.method == "POST" {
						op.Target = container + "t/"
					}
					want := spec(m.method, exists, m.patch.name, p, tm)
					reqs, err := acl.Required(op)
					if err != nil {
						t.Fatal(err)
					}
					err = e.Check(ctx, reqs, alice)
					if err != nil && !errors.Is(err, acl.ErrDenied) {
						t.Fatal(err)
					}
					if got := err == nil; got != want {
						t.Errorf("%s %s exists=%v, container [%s], target [%s]: allowed = %v, want %v (%v)",
							m.method, m.patch.name, exists, modeTerms(p), modeTerms(tm), got, want, err)
					}
					checked++
				}
			}
		}
	}
	if combos != 64 || checked != 64*len(methods)*2 {
		t.Errorf("checked %d combinations, %d cases", combos, checked)
	}
}

// tableSource is a Source over one container's ACL with a version counter,
// kept local so the table owns its data.
type tableSource struct {
	turtle  map[string]string
	version int
}

func newTableSource() *tableSource { return &tableSource{turtle: map[string]string{}} }

func (s *tableSource) set(iri, ttl string) { s.turtle[iri] = ttl; s.version++ }

func (s *tableSource) ACLVersion(ctx context.Context, iri string) (string, error) {
	if _, ok := s.turtle[iri]; !ok {
		return "", acl.ErrNoACL
	}
	return fmt.Sprint(s.version), nil
}

func (s *tableSource) ReadACL(ctx context.Context, iri string) ([]byte, string, string, error) {
	ttl, ok := s.turtle[iri]
	if !ok {
		return nil, "", "", acl.ErrNoACL
	}
	return []byte(ttl), fmt.Sprint(s.version), iri + ".acl", nil
}

// TestPermissionTableACLResources checks the ACL resource rule end to end:
// any method on <x.acl> needs acl:Control on <x>, and nothing else helps.
func TestPermissionTableACLResources(t *testing.T) {
	const target = pod + "c/t"
	src := newTableSource()
	e := acl.NewEvaluator(src, nil, acl.Options{})
	for m := range acl.Mode(16) {
		doc := prefixes
		if m != 0 {
			doc += `<#t> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <./>; acl:mode ` + modeTerms(m) + ".\n"
		}
		src.set(pod+"c/", doc)
		for _, method := range []string{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"} {
			for _, exists := range []bool{true, false} {
				reqs, err := acl.Required(acl.Operation{Method: method, Target: target + ".acl", Exists: exists, PatchAppend: true})
				if err != nil {
					t.Fatal(err)
				}
				err = e.Check(context.Background(), reqs, alice)
				if got, want := err == nil, m&acl.Control != 0; got != want {
					t.Errorf("%s %s.acl exists=%v with [%s]: allowed = %v, want %v", method, target, exists, modeTerms(m), got, want)
				}
			}
		}
	}
}

// TestCheck covers the DeniedError a refused request gets.
func TestCheck(t *testing.T) {
	const app = "https://app.example"
	e, _ := newEvaluator(t, map[string]string{pod: `
		<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:origin <` + app + `>;
			acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write.
		<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`}, nil, acl.Options{})
	ctx := context.Background()
	put, err := acl.Required(acl.Operation{Method: "PUT", Target: pod + "new"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(ctx, put, acl.Agent{WebID: aliceID, Origin: app}); err != nil {
		t.Errorf("alice from the app: %v", err)
	}
	tests := []struct {
		name  string
		agent acl.Agent
		want  acl.DeniedError
	}{
		{"anonymous", anon, acl.DeniedError{Requirement: put[0], Granted: acl.Read}},
		{"bob", bob, acl.DeniedError{Requirement: put[0], Granted: acl.Read}},
		{"alice from another origin", acl.Agent{WebID: aliceID, Origin: "https://evil.example"},
			acl.DeniedError{Requirement: put[0], Granted: acl.Read, Origin: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.Check(ctx, put, tc.agent)
			var d *acl.DeniedError
			if !errors.As(err, &d) || !errors.Is(err, acl.ErrDenied) {
				t.Fatalf("err = %v, want a *DeniedError", err)
			}
			if *d != tc.want {
				t.Errorf("DeniedError = %+v, want %+v", *d, tc.want)
			}
			if d.Error() == "" {
				t.Error("empty message")
			}
		})
	}
}

// TestCheckSharesGroupLookups checks that the requirements of one request
// look a group up once, and that a resource and its container share one
// resolution of the ACL documents.
func TestCheckSharesGroupLookups(t *testing.T) {
	groups := acltest.NewGroups()
	groups.Set(pod+"groups#editors", bobID)
	e, src := newEvaluator(t, map[string]string{pod: `
		<#e> a acl:Authorization; acl:agentGroup <groups#editors>; acl:accessTo <./>; acl:default <./>;
			acl:mode acl:Read, acl:Write.`}, groups, acl.Options{})
	reqs, err := acl.Required(acl.Operation{Method: "PUT", Target: pod + "a/b/new"})
	if err != nil {
		t.Fatal(err)
	}
	versionsBefore, _ := src.Calls()
	if err := e.Check(context.Background(), reqs, bob); err != nil {
		t.Fatal(err)
	}
	versionsAfter, _ := src.Calls()
	if n := groups.Calls(); n != 1 {
		t.Errorf("%d group lookups, want 1", n)
	}
	if n := versionsAfter - versionsBefore; n != 4 {
		t.Errorf("%d ACLVersion calls, want 4 (the new resource and its three containers, once)", n)
	}
}
