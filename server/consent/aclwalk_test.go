package consent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
)

const walkOwner = "http://pod.example/profile/card#me"

// walkSpace is a storage with n folders, each with a document and an
// ACL, beside the root's ACL.
func walkSpace(t *testing.T, n int) *ldp.Store {
	t.Helper()
	ctx := context.Background()
	space, err := ldp.New(ctx, memory.New(), ldp.Config{BaseURL: "http://pod.example/"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(p, body string) {
		t.Helper()
		if _, err := space.Put(ctx, ldp.Path(p), ldp.WriteRequest{Body: strings.NewReader(body), ContentType: rdfx.Turtle}); err != nil {
			t.Fatalf("PUT %s: %v", p, err)
		}
	}
	put("/.acl", `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <`+walkOwner+`>; acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`)
	for i := range n {
		dir := fmt.Sprintf("/f%02d/", i)
		put(dir+"doc", "<#a> <#b> <#c>.")
		put(dir+".acl", `@prefix acl: <http://www.w3.org/ns/auth/acl#>. @prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <`+walkOwner+`>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
[] a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:mode acl:Read.`)
	}
	return space
}

// TestWalkACLsBounded: the walk reads every ACL of a small pod, and stops
// at each bound, saying so, in a larger one.
func TestWalkACLsBounded(t *testing.T) {
	ctx := context.Background()
	space := walkSpace(t, 6)
	w, err := walkACLs(ctx, space, "/", defaultWalkLimits)
	if err != nil || w.Cut != "" || len(w.Docs) != 7 {
		t.Fatalf("unbounded: %d docs, cut %q, %v", len(w.Docs), w.Cut, err)
	}
	for _, d := range w.Docs {
		if d.Unusable || len(d.Auths) == 0 {
			t.Errorf("%s: %+v", d.Path, d)
		}
	}
	for _, tc := range []struct {
		name     string
		limits   walkLimits
		maxDocs  int
		wantWord string
	}{
		{"folders", walkLimits{containers: 3, keys: 1000, acls: 1000}, 3, "folders"},
		{"items", walkLimits{containers: 1000, keys: 10, acls: 1000}, 10, "items"},
		{"documents", walkLimits{containers: 1000, keys: 1000, acls: 2}, 2, "documents"},
	} {
		w, err := walkACLs(ctx, space, "/", tc.limits)
		if err != nil || !strings.Contains(w.Cut, tc.wantWord) || len(w.Docs) > tc.maxDocs || len(w.Docs) == 0 {
			t.Errorf("%s: %d docs, cut %q, %v", tc.name, len(w.Docs), w.Cut, err)
		}
	}
}

// TestRemoveAuthorization: a rule goes, the owner's Control stays, and
// a write that came between the read and the write is kept.
func TestRemoveAuthorization(t *testing.T) {
	ctx := context.Background()
	space := walkSpace(t, 1)
	p := ldp.Path("/f00/.acl")
	d, err := readACL(ctx, space, p)
	if err != nil || len(d.Auths) != 2 {
		t.Fatalf("%+v %v", d, err)
	}
	var public, own acl.Authorization
	for _, a := range d.Auths {
		if a.Public {
			public = a
		} else {
			own = a
		}
	}
	if !strings.HasPrefix(public.ID, "_:") || !ownControl(own, walkOwner) || ownControl(public, walkOwner) {
		t.Fatalf("ids %q %q", public.ID, own.ID)
	}
	if err := removeAuthorization(ctx, space, p, own.ID, walkOwner); !errors.Is(err, errOwnControl) {
		t.Fatalf("removing the owner's control: %v", err)
	}

	// Another writer adds a rule after the page was shown; the removal
	// keeps it.
	_, err = space.Put(ctx, p, ldp.WriteRequest{ContentType: rdfx.Turtle, Body: strings.NewReader(`@prefix acl: <http://www.w3.org/ns/auth/acl#>. @prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + walkOwner + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
[] a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:mode acl:Read.
<#bob> a acl:Authorization; acl:agent <https://bob.example/#me>; acl:accessTo <./>; acl:mode acl:Append.`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := removeAuthorization(ctx, space, p, public.ID, walkOwner); err != nil {
		t.Fatal(err)
	}
	after, err := readACL(ctx, space, p)
	if err != nil || len(after.Auths) != 2 {
		t.Fatalf("after: %+v %v", after, err)
	}
	for _, a := range after.Auths {
		if a.Public {
			t.Errorf("the public rule is still there")
		}
	}
	if !strings.Contains(fmt.Sprint(after.Auths), "https://bob.example/#me") {
		t.Errorf("the concurrent edit was lost: %+v", after.Auths)
	}
	if err := removeAuthorization(ctx, space, p, public.ID, walkOwner); !errors.Is(err, errGone) {
		t.Errorf("removing it again: %v", err)
	}
	if err := removeAuthorization(ctx, space, "/nowhere/.acl", public.ID, walkOwner); !errors.Is(err, errGone) {
		t.Errorf("a missing document: %v", err)
	}
}

// raceBackend lets another writer change one key right after the first
// read of it, as a concurrent edit between the page's read and its write.
type raceBackend struct {
	storage.Backend
	key   string
	write func()
	done  bool
}

func (b *raceBackend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	rc, info, err := b.Backend.Get(ctx, key, o)
	if err == nil && key == b.key && !b.done {
		b.done = true
		raw, _ := io.ReadAll(rc)
		rc.Close()
		b.write()
		return io.NopCloser(bytes.NewReader(raw)), info, nil
	}
	return rc, info, err
}

// TestRemoveAuthorizationRace: a write between the removal's read and
// its write makes the conditional write fail; the removal reads again
// and keeps the other writer's change.
func TestRemoveAuthorizationRace(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	rb := &raceBackend{Backend: mem, key: "r/f/.acl"}
	space, err := ldp.New(ctx, rb, ldp.Config{BaseURL: "http://pod.example/"})
	if err != nil {
		t.Fatal(err)
	}
	rb.done = true
	doc := func(extra string) string {
		return `@prefix acl: <http://www.w3.org/ns/auth/acl#>. @prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + walkOwner + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:mode acl:Read.` + extra
	}
	for _, pb := range [][2]string{{"/f/doc", "<#a> <#b> <#c>."}, {"/f/.acl", doc("")}} {
		if _, err := space.Put(ctx, ldp.Path(pb[0]), ldp.WriteRequest{Body: strings.NewReader(pb[1]), ContentType: rdfx.Turtle}); err != nil {
			t.Fatal(err)
		}
	}
	writes := 0
	rb.done, rb.write = false, func() {
		writes++
		if _, err := mem.Put(ctx, "r/f/.acl", strings.NewReader(doc("\n<#bob> a acl:Authorization; acl:agent <https://bob.example/#me>; acl:accessTo <./>; acl:mode acl:Append.")),
			storage.PutOptions{ContentType: rdfx.Turtle}); err != nil {
			t.Error(err)
		}
	}
	if err := removeAuthorization(ctx, space, "/f/.acl", "http://pod.example/f/.acl#public", walkOwner); err != nil {
		t.Fatal(err)
	}
	d, err := readACL(ctx, space, "/f/.acl")
	if err != nil || writes != 1 || len(d.Auths) != 2 || d.Auths[0].Public || d.Auths[1].Public ||
		!strings.Contains(fmt.Sprint(d.Auths), "https://bob.example/#me") {
		t.Fatalf("after a race: %d writes, %+v, %v", writes, d.Auths, err)
	}
}

// BenchmarkWalkACLs walks a pod of n folders, each with a document and
// an ACL, on the filesystem: past the bounds (500 folders, 200 ACLs) the
// cost stops growing with the pod.
func BenchmarkWalkACLs(b *testing.B) {
	for _, n := range []int{100, 200, 1000, 5000} {
		b.Run(fmt.Sprintf("folders=%d", n), func(b *testing.B) {
			ctx := context.Background()
			fs, err := filesystem.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer fs.Close()
			aclBody := `@prefix acl: <http://www.w3.org/ns/auth/acl#>. @prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + walkOwner + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:mode acl:Read.`
			put := func(key, ctype, body string) {
				if _, err := fs.Put(ctx, key, strings.NewReader(body), storage.PutOptions{ContentType: ctype}); err != nil {
					b.Fatal(err)
				}
			}
			put("r/", rdfx.Turtle, "")
			put("r/.acl", rdfx.Turtle, aclBody)
			for i := range n {
				dir := fmt.Sprintf("r/f%05d/", i)
				put(dir, rdfx.Turtle, "")
				put(dir+"doc", rdfx.Turtle, "<#a> <#b> <#c>.")
				put(dir+".acl", rdfx.Turtle, aclBody)
			}
			space, err := ldp.New(ctx, fs, ldp.Config{BaseURL: "http://pod.example/"})
			if err != nil {
				b.Fatal(err)
			}
			docs := 0
			for b.Loop() {
				w, err := walkACLs(ctx, space, "/", defaultWalkLimits)
				if err != nil {
					b.Fatal(err)
				}
				docs = len(w.Docs)
			}
			b.ReportMetric(float64(docs), "acls")
		})
	}
}
