package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// modeSet is a set of access modes for the permission table.
type modeSet struct{ read, append, write bool }

func (m modeSet) String() string {
	var s []string
	if m.read {
		s = append(s, "R")
	}
	if m.append {
		s = append(s, "A")
	}
	if m.write {
		s = append(s, "W")
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, "")
}

// turtle lists the modes as acl:mode objects.
func (m modeSet) turtle() string {
	var s []string
	if m.read {
		s = append(s, "acl:Read")
	}
	if m.append {
		s = append(s, "acl:Append")
	}
	if m.write {
		s = append(s, "acl:Write")
	}
	return strings.Join(s, ", ")
}

// canAppend: acl:Write implies acl:Append (WAC 1.0 §4 "Access Modes").
func (m modeSet) canAppend() bool { return m.append || m.write }

// TestPermissionTable ports the reference server's permission table to
// Kluis: for each method, whether the target exists, and the modes Bob holds
// on the parent container and on the target, the status follows from the
// rules of WAC 1.0 §5.3.1 as written below, independently of the acl
// package's own table. Bob is authenticated, so a refusal is 403.
func TestPermissionTable(t *testing.T) {
	sets := []modeSet{{}, {read: true}, {append: true}, {write: true}, {read: true, write: true}, {read: true, append: true}}
	type method struct {
		name, verb, ct, body string
		// want gives the status from existence and the modes.
		want func(exists bool, parent, target modeSet) int
	}
	const insert = `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#new> <#p> <#o>. }.`
	const rewrite = `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:where { ?s <#p> <#o>. }; solid:deletes { ?s <#p> <#o>. }; solid:inserts { ?s <#p> <#x>. }.`
	read := func(ok int) func(bool, modeSet, modeSet) int {
		return func(exists bool, _, target modeSet) int {
			switch {
			case !target.read:
				return 403
			case !exists:
				return 404
			}
			return ok
		}
	}
	methods := []method{
		{"GET", "GET", "", "", read(200)},
		{"HEAD", "HEAD", "", "", read(200)},
		{"OPTIONS", "OPTIONS", "", "", func(_ bool, _, target modeSet) int {
			// OPTIONS answers what may be done, also where a resource may
			// be created.
			if !target.read {
				return 403
			}
			return 204
		}},
		{"PUT", "PUT", "text/turtle", "<#s> <#p> <#o>.", func(exists bool, parent, target modeSet) int {
			// Write on the target; creating also needs Append on the parent.
			switch {
			case !target.write, !exists && !parent.canAppend():
				return 403
			case exists:
				return 204
			}
			return 201
		}},
		{"PATCH insert", "PATCH", "text/n3", insert, func(exists bool, parent, target modeSet) int {
			// Solid Protocol §5.3.1: inserting is Append.
			switch {
			case !target.canAppend(), !exists && !parent.canAppend():
				return 403
			case exists:
				return 204
			}
			return 201
		}},
		{"PATCH where+delete", "PATCH", "text/n3", rewrite, func(exists bool, parent, target modeSet) int {
			// A where clause is Read, deletes are Read and Write.
			switch {
			case !target.read || !target.write, !exists && !parent.canAppend():
				return 403
			case !exists:
				return 409 // the where clause matches nothing
			}
			return 204
		}},
		{"DELETE", "DELETE", "", "", func(exists bool, parent, target modeSet) int {
			// Write on the resource and on its container.
			switch {
			case !target.write || !parent.write:
				return 403
			case !exists:
				return 404
			}
			return 204
		}},
	}
	ctx := context.Background()
	for _, m := range methods {
		for _, exists := range []bool{true, false} {
			for _, pm := range sets {
				for _, tm := range sets {
					name := fmt.Sprintf("%s/exists=%v/parent=%s/target=%s", m.name, exists, pm, tm)
					t.Run(name, func(t *testing.T) {
						store := memory.New()
						seed := map[string]string{
							"r/.acl": rootACL, // Alice owns everything
							"r/c/.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
` + grant("./", pm),
							"r/c/t.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <t>; acl:mode acl:Read, acl:Write, acl:Control.
` + grant("t", tm),
							"r/c/": "",
						}
						if exists {
							seed["r/c/t"] = "<#s> <#p> <#o>."
						}
						for k, v := range seed {
							if _, err := store.Put(ctx, k, strings.NewReader(v), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
								t.Fatal(err)
							}
						}
						ts := wacServerOn(t, store, nil)
						got, _, body := sendAs(t, ts, who{bobID, "https://app.example/id", "https://idp.example/"}, m.verb, "/c/t", m.ct, m.body)
						if want := m.want(exists, pm, tm); got != want {
							t.Errorf("status %d, want %d (%s)", got, want, strings.TrimSpace(body))
						}
					})
				}
			}
		}
	}
}

// grant is an authorization giving Bob modes on target, or nothing.
func grant(target string, m modeSet) string {
	if m == (modeSet{}) {
		return ""
	}
	return `<#bob> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <` + target + `>; acl:mode ` + m.turtle() + ".\n"
}

// TestPostPermission: POST needs Append (or Write) on the container
// (WAC 1.0 §5.3.1), and an anonymous refusal is 401.
func TestPostPermission(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		modes modeSet
		as    who
		want  int
	}{
		{modeSet{}, who{bobID, "a", "b"}, 403},
		{modeSet{read: true}, who{bobID, "a", "b"}, 403},
		{modeSet{append: true}, who{bobID, "a", "b"}, 201},
		{modeSet{write: true}, who{bobID, "a", "b"}, 201},
		{modeSet{append: true}, who{}, 401},
	} {
		store := memory.New()
		for k, v := range map[string]string{
			"r/.acl": rootACL,
			"r/c/.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
` + grant("./", tc.modes),
			"r/c/": "",
		} {
			if _, err := store.Put(ctx, k, strings.NewReader(v), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
				t.Fatal(err)
			}
		}
		ts := wacServerOn(t, store, nil)
		if got, _, body := sendAs(t, ts, tc.as, "POST", "/c/", "text/plain", "hello"); got != tc.want {
			t.Errorf("POST with %s as %q: %d, want %d (%s)", tc.modes, tc.as.webid, got, tc.want, strings.TrimSpace(body))
		}
	}
}

// TestPermissionTableIntermediate extends the permission table to a write
// whose target's container is missing: PUT and PATCH /c/n/t, where /c/
// exists and /c/n/ does not. The write creates /c/n/ (Solid Protocol §5.3),
// so /c/ gains a member: Bob needs Append (or Write) on /c/ by its own
// authorizations, and on /c/n/ and Write (PUT) or Append (PATCH) on /c/n/t
// by /c/'s acl:default (WAC 1.0 §5.3.1; the note "Container Permissions").
func TestPermissionTableIntermediate(t *testing.T) {
	sets := []modeSet{{}, {read: true}, {append: true}, {write: true}, {read: true, write: true}, {read: true, append: true}}
	const insert = `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#new> <#p> <#o>. }.`
	methods := []struct {
		name, verb, ct, body string
		// own tells whether the modes below (on /c/n/t) suffice for the
		// target itself.
		own func(below modeSet) bool
	}{
		{"PUT", "PUT", "text/plain", "x", func(below modeSet) bool { return below.write }},
		{"PATCH insert", "PATCH", "text/n3", insert, func(below modeSet) bool { return below.canAppend() }},
	}
	ctx := context.Background()
	for _, m := range methods {
		for _, on := range sets {
			for _, below := range sets {
				name := fmt.Sprintf("%s/container=%s/below=%s", m.name, on, below)
				t.Run(name, func(t *testing.T) {
					store := memory.New()
					seed := map[string]string{
						"r/.acl": rootACL,
						"r/c/.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
` + grant("./", on) + inherited("./", below),
						"r/c/": "",
					}
					for k, v := range seed {
						if _, err := store.Put(ctx, k, strings.NewReader(v), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
							t.Fatal(err)
						}
					}
					ts := wacServerOn(t, store, nil)
					want := 403
					if m.own(below) && below.canAppend() && on.canAppend() {
						want = 201
					}
					got, _, body := sendAs(t, ts, who{bobID, "https://app.example/id", "https://idp.example/"}, m.verb, "/c/n/t", m.ct, m.body)
					if got != want {
						t.Errorf("status %d, want %d (%s)", got, want, strings.TrimSpace(body))
					}
					if _, err := store.Stat(ctx, "r/c/n/"); (err == nil) != (want == 201) {
						t.Errorf("after %d, /c/n/ exists: %v", got, err == nil)
					}
				})
			}
		}
	}
}

// inherited is an authorization giving Bob modes below container by
// acl:default, or nothing.
func inherited(container string, m modeSet) string {
	if m == (modeSet{}) {
		return ""
	}
	return `<#bobBelow> a acl:Authorization; acl:agent <` + bobID + `>; acl:default <` + container + `>; acl:mode ` + m.turtle() + ".\n"
}

// TestIntermediateContainerEscalation is the case of the community
// web-access-control-tests suite that issue 13 (#12) reports: Bob has Read
// and Control on c/ and, by acl:default, Write below it. Creating a
// resource under a missing container of c/ would add that container to
// c/, for which Bob lacks Append: 403, as on the Community Solid Server,
// and nothing is created. With Append on c/ the same writes succeed.
func TestIntermediateContainerEscalation(t *testing.T) {
	const insert = `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#new> <#p> <#o>. }.`
	bob := who{bobID, "https://app.example/id", "https://idp.example/"}
	writes := []struct{ method, path, ct, body string }{
		{"PUT", "/c/nested/new.txt", "text/plain", "hello"},
		{"PATCH", "/c/nested2/new.ttl", "text/n3", insert},
		{"PUT", "/c/a/b/c/new.txt", "text/plain", "hello"},
		{"PUT", "/c/new.txt", "text/plain", "hello"},
		{"PUT", "/c/nested3/", "", ""},
	}
	for _, appendOnC := range []bool{false, true} {
		ctx := context.Background()
		store := memory.New()
		extra := ""
		if appendOnC {
			extra = "<#bobAppend> a acl:Authorization; acl:agent <" + bobID + ">; acl:accessTo <./>; acl:mode acl:Append.\n"
		}
		for k, v := range map[string]string{
			"r/.acl": rootACL,
			"r/c/.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#bob> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <./>; acl:mode acl:Read, acl:Control.
<#bobBelow> a acl:Authorization; acl:agent <` + bobID + `>; acl:default <./>; acl:mode acl:Write.
` + extra,
			"r/c/": "",
		} {
			if _, err := store.Put(ctx, k, strings.NewReader(v), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
				t.Fatal(err)
			}
		}
		ts := wacServerOn(t, store, nil)
		want := 403
		if appendOnC {
			want = 201
		}
		for _, w := range writes {
			got, _, body := sendAs(t, ts, bob, w.method, w.path, w.ct, w.body)
			if got != want {
				t.Errorf("Append on c/ %v: %s %s: %d, want %d (%s)", appendOnC, w.method, w.path, got, want, strings.TrimSpace(body))
			}
		}
		if !appendOnC {
			for _, k := range []string{"r/c/nested/", "r/c/nested2/", "r/c/a/", "r/c/new.txt", "r/c/nested3/"} {
				if _, err := store.Stat(ctx, k); err == nil {
					t.Errorf("%s was created by a refused write", k)
				}
			}
		}
	}
}
