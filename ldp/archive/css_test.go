package archive_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/archive"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage/memory"
)

// fixture is the data folder of a Community Solid Server 7.2.0 (see its
// PROVENANCE.md).
const fixture = "../../testdata/css-fixture/root"

const newBase = "https://pods.example/"

func openFixture(t *testing.T) *os.Root {
	t.Helper()
	root, err := os.OpenRoot(fixture)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}

// TestMigrateCSS migrates the fixture on every backend: every resource
// arrives with its media type, bytes, ACL and description triples, the
// owners come from CSS's accounts, and the old host's IRIs are gone from
// every RDF document.
func TestMigrateCSS(t *testing.T) {
	ctx := context.Background()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			b := be.open(t)
			report, err := archive.MigrateCSS(ctx, b, openFixture(t).FS(), archive.CSSOptions{Options: archive.Options{BaseURL: newBase}})
			if err != nil {
				t.Fatal(err)
			}
			if len(report.Skipped) > 0 {
				t.Errorf("skipped: %+v", report.Skipped)
			}
			if len(report.Pods) != 2 || report.Pods[0].Name != "alice" || report.Pods[1].Name != "bob" {
				t.Fatalf("pods %+v", report.Pods)
			}
			for _, name := range []string{"alice", "bob"} {
				p, err := ldp.ReadPod(ctx, b, name)
				if want := newBase + name + "/profile/card#me"; err != nil || p.Owner != want {
					t.Errorf("pod %s: %+v, %v; want owner %s", name, p, err, want)
				}
			}

			// Path -> media type of every object, and nothing else.
			want := map[string]string{
				"/alice/":                     rdfx.Turtle,
				"/alice/.acl":                 rdfx.Turtle,
				"/alice/README":               "text/markdown",
				"/alice/README.acl":           rdfx.Turtle,
				"/alice/profile/":             rdfx.Turtle,
				"/alice/profile/card":         rdfx.Turtle,
				"/alice/profile/card.acl":     rdfx.Turtle,
				"/alice/notes/":               rdfx.Turtle,
				"/alice/notes/.acl":           rdfx.Turtle,
				"/alice/notes/hello.ttl":      rdfx.Turtle,
				"/alice/notes/hello.ttl.meta": rdfx.Turtle,
				"/alice/notes/data.jsonld":    rdfx.Turtle, // JSON-LD, stored as Turtle like a PUT
				"/alice/notes/my file.txt":    "text/plain",
				"/alice/notes/page.html":      "text/markdown",
				"/alice/notes/readme":         "text/plain",
				"/alice/notes/custom.thing":   "application/x-kluis-custom",
				"/alice/photos/":              rdfx.Turtle,
				"/alice/photos/.meta":         rdfx.Turtle,
				"/alice/photos/blob":          "application/octet-stream",
				"/alice/photos/pixel.png":     "image/png",
				"/alice/photos/pixel.png.acl": rdfx.Turtle,
				"/bob/":                       rdfx.Turtle,
				"/bob/.acl":                   rdfx.Turtle,
				"/bob/README":                 "text/markdown",
				"/bob/README.acl":             rdfx.Turtle,
				"/bob/profile/":               rdfx.Turtle,
				"/bob/profile/card":           rdfx.Turtle,
				"/bob/profile/card.acl":       rdfx.Turtle,
				"/bob/diary.ttl":              rdfx.Turtle,
				"/bob/posted":                 "text/plain",
			}
			got := map[string]object{}
			for _, o := range objects(t, b, "r/") {
				got["/"+strings.TrimPrefix(o.Key, "r/")] = o
				if _, ok := want["/"+strings.TrimPrefix(o.Key, "r/")]; !ok {
					t.Errorf("unexpected %s (%s):\n%s", o.Key, o.ContentType, o.Body)
				}
			}
			for p, ct := range want {
				o, ok := got[p]
				if !ok {
					t.Errorf("%s is missing", p)
					continue
				}
				if o.ContentType != ct {
					t.Errorf("%s is %s, want %s", p, o.ContentType, ct)
				}
				if ct == rdfx.Turtle && bytes.Contains(o.Body, []byte("<http://localhost:3456")) {
					t.Errorf("%s still names the old host:\n%s", p, o.Body)
				}
			}

			// Bytes: binary and text kept as they were.
			for p, file := range map[string]string{
				"/alice/photos/pixel.png":   "alice/photos/pixel.png",
				"/alice/photos/blob":        "alice/photos/blob",
				"/alice/notes/readme":       "alice/notes/readme$.txt",
				"/alice/notes/page.html":    "alice/notes/page.html$.markdown",
				"/alice/notes/my file.txt":  "alice/notes/my file.txt",
				"/bob/README":               "bob/README$.markdown",
				"/alice/notes/custom.thing": "alice/notes/custom.thing$.unknown",
			} {
				data, err := os.ReadFile(filepath.Join(fixture, file))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got[p].Body, data) {
					t.Errorf("%s: %q, want %q", p, got[p].Body, data)
				}
			}

			graph := func(p string) *rdfx.Graph {
				t.Helper()
				g, err := rdfx.Parse(bytes.NewReader(got[p].Body), rdfx.Turtle, newBase+p[1:], rdfx.ParseOptions{})
				if err != nil {
					t.Fatalf("%s: %v\n%s", p, err, got[p].Body)
				}
				return g
			}
			has := func(p string, s, pred, o rdfx.Term) {
				t.Helper()
				if !graph(p).Has(rdfx.Triple{S: s, P: pred, O: o}) {
					t.Errorf("%s lacks %v %v %v:\n%s", p, s, pred, o, got[p].Body)
				}
			}
			iri := rdfx.IRI
			const acl, dc = "http://www.w3.org/ns/auth/acl#", "http://purl.org/dc/terms/"
			aliceID, bobID := iri(newBase+"alice/profile/card#me"), iri(newBase+"bob/profile/card#me")
			// The custom ACL still grants Bob Read, under his new WebID.
			has("/alice/notes/.acl", iri(newBase+"alice/notes/.acl#bob"), iri(acl+"agent"), bobID)
			has("/alice/notes/.acl", iri(newBase+"alice/notes/.acl#bob"), iri(acl+"mode"), iri(acl+"Read"))
			has("/alice/notes/.acl", iri(newBase+"alice/notes/.acl#bob"), iri(acl+"default"), iri(newBase+"alice/notes/"))
			has("/alice/.acl", iri(newBase+"alice/.acl#owner"), iri(acl+"agent"), aliceID)
			has("/alice/photos/pixel.png.acl", iri(newBase+"alice/photos/pixel.png.acl#public"), iri(acl+"accessTo"), iri(newBase+"alice/photos/pixel.png"))
			// The profile names the new issuer.
			has("/alice/profile/card", aliceID, iri("http://www.w3.org/ns/solid/terms#oidcIssuer"), iri(newBase))
			// Absolute and relative IRIs; literals untouched.
			hello := iri(newBase + "alice/notes/hello.ttl")
			has("/alice/notes/hello.ttl", hello, iri(dc+"creator"), aliceID)
			has("/alice/notes/hello.ttl", hello, iri(dc+"references"), bobID)
			has("/alice/notes/hello.ttl", hello, iri(dc+"references"), iri(newBase+"alice/photos/pixel.png"))
			has("/alice/notes/hello.ttl", hello, iri(dc+"description"),
				rdfx.Literal("The old host was http://localhost:3456/ (literals are not rewritten).", "http://www.w3.org/2001/XMLSchema#string"))
			has("/alice/notes/data.jsonld", iri(newBase+"alice/notes/data.jsonld#it"), iri("http://schema.org/author"), aliceID)
			// Description triples a client wrote stay; CSS's own go.
			has("/alice/notes/hello.ttl.meta", hello, iri(dc+"subject"), rdfx.Literal("greetings", "http://www.w3.org/2001/XMLSchema#string"))
			has("/alice/photos/.meta", iri(newBase+"alice/photos/"), iri(dc+"title"), rdfx.Literal("Photos", "http://www.w3.org/2001/XMLSchema#string"))
			// A second run refuses before writing anything.
			before := objects(t, b, "")
			if _, err := archive.MigrateCSS(ctx, b, openFixture(t).FS(), archive.CSSOptions{Options: archive.Options{BaseURL: newBase}}); !errors.Is(err, ldp.ErrPodExists) {
				t.Errorf("second migration: %v, want ErrPodExists", err)
			}
			compareObjects(t, before, objects(t, b, ""))
		})
	}
}

// TestMigrateCSSChosenPods: -pod picks pods; an unknown one is an error;
// the old base may be given when CSS's record of it is missing.
func TestMigrateCSSChosenPods(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	report, err := archive.MigrateCSS(ctx, b, openFixture(t).FS(), archive.CSSOptions{Options: archive.Options{BaseURL: newBase}, Pods: []string{"bob"}})
	if err != nil || len(report.Pods) != 1 || report.Pods[0].Name != "bob" {
		t.Fatalf("report %+v, %v", report, err)
	}
	if _, err := ldp.ReadPod(ctx, b, "alice"); !errors.Is(err, ldp.ErrNoPod) {
		t.Errorf("alice: %v", err)
	}
	if _, err := archive.MigrateCSS(ctx, memory.New(), openFixture(t).FS(), archive.CSSOptions{Options: archive.Options{BaseURL: newBase}, Pods: []string{"carol"}}); err == nil {
		t.Error("an unknown pod was accepted")
	}

	// A hand-made folder without .internal: the base is given, the pod
	// found by its pim:Storage type, the owner read from its root ACL,
	// and what cannot be migrated reported.
	fsys := fstest.MapFS{
		"dave/.meta":        {Data: []byte("<http://old.example/dave/> a <http://www.w3.org/ns/pim/space#Storage>.")},
		"dave/.acl":         {Data: []byte("@prefix acl: <http://www.w3.org/ns/auth/acl#>.\n<#o> acl:agent <http://old.example/dave/profile/card#me>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.")},
		"dave/a%2Fb$.txt":   {Data: []byte("an encoded slash")},
		"dave/a%252Fb$.txt": {Data: []byte("an encoded %2F")},
		"dave/photo.JPG":    {Data: []byte("jpeg")},
		"dave/bad$.ttl":     {Data: []byte("<http://old.example/x> is not Turtle <")},
		"dave/link":         {Data: []byte("/etc/passwd"), Mode: os.ModeSymlink},
		"index.html":        {Data: []byte("the server root's page")},
	}
	b = memory.New()
	_, err = archive.MigrateCSS(ctx, b, fsys, archive.CSSOptions{Options: archive.Options{BaseURL: newBase}})
	if err == nil {
		t.Fatal("no base URL: accepted")
	}
	report, err = archive.MigrateCSS(ctx, b, fsys, archive.CSSOptions{Options: archive.Options{BaseURL: newBase}, OldBaseURL: "http://old.example/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Pods) != 1 || report.Pods[0].Owner != newBase+"dave/profile/card#me" {
		t.Errorf("pods %+v", report.Pods)
	}
	skipped := map[string]bool{}
	for _, s := range report.Skipped {
		skipped[s.File] = true
	}
	for _, f := range []string{"dave/a%2Fb$.txt", "dave/link", "index.html", "dave/bad$.ttl"} {
		if !skipped[f] {
			t.Errorf("%s is not reported: %+v", f, report.Skipped)
		}
	}
	for key, ct := range map[string]string{"r/dave/a%2Fb": "text/plain", "r/dave/photo.JPG": "image/jpeg", "r/dave/bad": rdfx.Turtle} {
		if o, ok := read(t, b, key); !ok || o.ContentType != ct {
			t.Errorf("%s: %+v, %v; want %s", key, o, ok, ct)
		}
	}
	if _, ok := read(t, b, "r/dave/link"); ok {
		t.Error("the symbolic link was followed")
	}
}
