package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// groupsStore is a server with pods alice and bob. Bob keeps a private
// group (his pod's default ACL: only he reads it) and a public one.
func groupsStore(t *testing.T) *ldp.Store {
	t.Helper()
	ctx := context.Background()
	b := memory.New()
	store, err := ldp.New(ctx, b, ldp.Config{BaseURL: "https://pods.example/", Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		if _, err := store.CreatePod(ctx, name, ldp.PodOwner{}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(key, ct, body string) {
		if _, err := b.Put(ctx, key, strings.NewReader(body), storage.PutOptions{ContentType: ct}); err != nil {
			t.Fatal(err)
		}
	}
	const group = `@prefix vcard: <http://www.w3.org/2006/vcard/ns#>.
<#g> a vcard:Group; vcard:hasMember <https://friend.example/#me>.`
	put("r/bob/friends.ttl", "text/turtle", group)
	put("r/bob/public.ttl", "text/turtle", group)
	put("r/bob/public.ttl.acl", "text/turtle", `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <public.ttl>; acl:mode acl:Read.`)
	return store
}

// TestGroupsInAnotherPod is the decision on issue 13's "a group document
// in another person's pod is read without that person's ACL being
// consulted": an ACL may rely on a group document of its own pod, or on a
// public one, and not on another pod's private group.
func TestGroupsInAnotherPod(t *testing.T) {
	store := groupsStore(t)
	gs := NewGroups(store, nil)
	const (
		private = "https://pods.example/bob/friends.ttl#g"
		public  = "https://pods.example/bob/public.ttl#g"
		inAlice = "https://pods.example/alice/notes/n.ttl"
		inBob   = "https://pods.example/bob/notes/n.ttl"
	)
	for _, tt := range []struct {
		name, scope, group string
		wantErr            error
	}{
		{"a private group for an ACL of its own pod", inBob, private, nil},
		{"a private group for an ACL of another pod", inAlice, private, ErrGroupNotShared},
		{"a private group with no scope", "", private, ErrGroupNotShared},
		{"a public group for an ACL of another pod", inAlice, public, nil},
		{"a public group with no scope", "", public, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.scope != "" {
				ctx = withGroupScope(ctx, tt.scope)
			}
			members, err := gs.Members(ctx, tt.group)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Members: %v, want %v", err, tt.wantErr)
			}
			if err == nil && !slices.Equal(members, []string{"https://friend.example/#me"}) {
				t.Errorf("members %v", members)
			}
		})
	}
}

// TestRemoteGroupsParsedOncePerResponse: a remote group document is parsed
// again only when the fetcher returns other bytes (issue 13: it was parsed
// on every request).
func TestRemoteGroupsParsedOncePerResponse(t *testing.T) {
	var fetches atomic.Int32
	body := []byte(`{"@id": "https://remote.example/g#g", "http://www.w3.org/2006/vcard/ns#hasMember": {"@id": "https://a.example/#me"}}`)
	gs := NewGroups(groupsStore(t), func(ctx context.Context, url string) ([]byte, string, error) {
		fetches.Add(1)
		return body, "application/ld+json", nil
	})
	ctx := context.Background()
	first, err := gs.document(ctx, "https://remote.example/g#g")
	if err != nil {
		t.Fatal(err)
	}
	again, err := gs.document(ctx, "https://remote.example/g#g")
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Error("the same response was parsed again")
	}
	body = []byte(`{"@id": "https://remote.example/g#g", "http://www.w3.org/2006/vcard/ns#hasMember": {"@id": "https://b.example/#me"}}`)
	members, err := gs.Members(ctx, "https://remote.example/g#g")
	if err != nil || !slices.Equal(members, []string{"https://b.example/#me"}) {
		t.Errorf("after the document changed: %v %v", members, err)
	}
	if n := fetches.Load(); n != 3 {
		t.Errorf("%d fetches, want 3 (the fetcher decides freshness)", n)
	}
}

// TestWACUsesGroupsByPod runs the same decision through WAC.Check, which
// tells Groups whose access it decides.
func TestWACUsesGroupsByPod(t *testing.T) {
	store := groupsStore(t)
	ctx := context.Background()
	b := store.Backend()
	aclFor := func(doc, group string) string {
		return `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#g> a acl:Authorization; acl:agentGroup <` + group + `>; acl:accessTo <` + doc + `>; acl:mode acl:Read.`
	}
	for key, body := range map[string]string{
		"r/alice/a.ttl":     "<#x> <#y> <#z>.",
		"r/alice/a.ttl.acl": aclFor("a.ttl", "https://pods.example/bob/friends.ttl#g"),
		"r/alice/b.ttl":     "<#x> <#y> <#z>.",
		"r/alice/b.ttl.acl": aclFor("b.ttl", "https://pods.example/bob/public.ttl#g"),
		"r/bob/c.ttl":       "<#x> <#y> <#z>.",
		"r/bob/c.ttl.acl":   aclFor("c.ttl", "https://pods.example/bob/friends.ttl#g"),
	} {
		if _, err := b.Put(ctx, key, strings.NewReader(body), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
			t.Fatal(err)
		}
	}
	w := NewWAC(store, NewGroups(store, nil), acl.Options{})
	friend := Agent{WebID: "https://friend.example/#me"}
	for _, tt := range []struct {
		path ldp.Path
		ok   bool
	}{
		{"/alice/a.ttl", false}, // Bob's private group, Alice's ACL
		{"/alice/b.ttl", true},  // Bob's public group
		{"/bob/c.ttl", true},    // Bob's private group, Bob's ACL
	} {
		_, err := w.Check(ctx, friend, Operation{Method: "GET", Path: tt.path, Exists: true})
		if (err == nil) != tt.ok {
			t.Errorf("GET %s by a member: %v, want allowed %v", tt.path, err, tt.ok)
		}
	}
}

// TestGroupCacheBound: the cache of group documents holds at most
// maxCachedGroupTriples triples, whatever the number of documents.
func TestGroupCacheBound(t *testing.T) {
	var doc strings.Builder
	doc.WriteString(`@prefix vcard: <http://www.w3.org/2006/vcard/ns#>. <#g> vcard:hasMember `)
	for i := range 25_000 {
		if i > 0 {
			doc.WriteString(", ")
		}
		fmt.Fprintf(&doc, "<https://m.example/%d#me>", i)
	}
	doc.WriteString(".")
	gs := NewGroups(groupsStore(t), func(ctx context.Context, url string) ([]byte, string, error) {
		return []byte(doc.String()), "text/turtle", nil
	})
	for i := range 22 {
		if _, err := gs.Members(context.Background(), fmt.Sprintf("https://remote%d.example/g#g", i)); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, d := range gs.remote {
		total += d.g.Len()
	}
	if total != gs.remoteTriples || total > maxCachedGroupTriples {
		t.Errorf("the cache holds %d triples (counted %d), bound %d", total, gs.remoteTriples, maxCachedGroupTriples)
	}
	if len(gs.remote) == 0 {
		t.Error("nothing cached")
	}
}
