package archive_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/archive"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

const oldBase = "https://old.example/"

// seedPod makes the pod alice in b as the server does, plus resources of
// every kind: binary of 1 MiB, an empty file, a container with its own
// triples, nested containers, names with spaces, Unicode and more than
// 100 bytes (a PAX path), a .meta and ACLs.
func seedPod(t testing.TB, b storage.Backend) {
	t.Helper()
	ctx := context.Background()
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: oldBase, Pods: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePod(ctx, "alice", ldp.PodOwner{Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<20)
	rand.Read(big)
	long := strings.Repeat("long-name-", 12)
	put(t, b, "r/alice/photos/", "text/turtle", []byte("<> <http://purl.org/dc/terms/title> \"Photos\" .\n"))
	put(t, b, "r/alice/photos/.acl", "text/turtle", []byte("@prefix acl: <http://www.w3.org/ns/auth/acl#>.\n<#o> a acl:Authorization; acl:agent <https://old.example/alice/profile/card#me>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.\n"))
	put(t, b, "r/alice/photos/big.bin", "image/png", big)
	put(t, b, "r/alice/photos/big.bin.meta", "text/turtle", []byte("<big.bin> <http://purl.org/dc/terms/title> \"Big\" .\n"))
	put(t, b, "r/alice/photos/empty", "application/octet-stream", nil)
	put(t, b, "r/alice/a/", "text/turtle", nil)
	put(t, b, "r/alice/a/b/", "text/turtle", nil)
	put(t, b, "r/alice/a/b/ünï cødé.txt", "text/plain; charset=utf-8", []byte("héllo\n"))
	put(t, b, "r/alice/a/b/"+long+".ttl", "text/turtle", []byte("<#x> <http://schema.org/name> \"x\" .\n"))
	// Another pod and server data, which an export must leave out.
	if _, err := s.CreatePod(ctx, "bob", ldp.PodOwner{}); err != nil {
		t.Fatal(err)
	}
	put(t, b, "sys/other", "application/json", []byte("{}"))
}

// TestRoundTrip exports a pod and imports it into a fresh backend of each
// kind, through a pipe (both stream), and compares every object byte for
// byte with its content type, and the registry record.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, from := range backends() {
		for _, to := range backends() {
			if from.name != to.name && from.name != "memory" && to.name != "memory" {
				continue
			}
			t.Run(from.name+"-to-"+to.name, func(t *testing.T) {
				src, dst := from.open(t), to.open(t)
				seedPod(t, src)
				pr, pw := io.Pipe()
				go func() { pw.CloseWithError(archive.Export(ctx, src, "alice", pw)) }()
				if err := archive.Import(ctx, dst, "", pr, archive.Options{}); err != nil {
					t.Fatalf("import: %v", err)
				}
				want, got := objects(t, src, "r/alice/"), objects(t, dst, "r/")
				if len(want) < 15 {
					t.Fatalf("the seeded pod has %d objects only", len(want))
				}
				compareObjects(t, want, got)
				wp, err := ldp.ReadPod(ctx, src, "alice")
				if err != nil {
					t.Fatal(err)
				}
				gp, err := ldp.ReadPod(ctx, dst, "alice")
				if err != nil || gp.Owner != wp.Owner || !gp.Created.Equal(wp.Created) {
					t.Errorf("registry record = %+v, %v; want %+v", gp, err, wp)
				}
				if _, err := ldp.ReadPod(ctx, dst, "bob"); !errors.Is(err, ldp.ErrNoPod) {
					t.Errorf("bob was imported too: %v", err)
				}
				if _, _, err := dst.Get(ctx, "sys/other", storage.GetOptions{}); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("server data was imported: %v", err)
				}
			})
		}
	}
}

func compareObjects(t *testing.T, want, got []object) {
	t.Helper()
	if len(want) != len(got) {
		var w, g []string
		for _, o := range want {
			w = append(w, o.Key)
		}
		for _, o := range got {
			g = append(g, o.Key)
		}
		t.Fatalf("%d objects, want %d:\ngot  %q\nwant %q", len(got), len(want), g, w)
	}
	for i := range want {
		if want[i].Key != got[i].Key || want[i].ContentType != got[i].ContentType || !bytes.Equal(want[i].Body, got[i].Body) {
			t.Errorf("object %d: got %q (%s, %d bytes), want %q (%s, %d bytes)", i,
				got[i].Key, got[i].ContentType, len(got[i].Body), want[i].Key, want[i].ContentType, len(want[i].Body))
		}
	}
}

// TestExportOrder: every ACL comes before what it guards, every container
// before its contents but after its ACL, and the manifest first.
func TestExportOrder(t *testing.T) {
	b := memory.New()
	seedPod(t, b)
	var buf bytes.Buffer
	if err := archive.Export(context.Background(), b, "alice", &buf); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var names []string
	pos := map[string]int{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name != "kluis-pod.json" && hdr.PAXRecords["SCHILY.xattr.user.mime_type"] == "" {
			t.Errorf("%s has no media type record", hdr.Name)
		}
		pos[hdr.Name] = len(names)
		names = append(names, hdr.Name)
	}
	if names[0] != "kluis-pod.json" {
		t.Fatalf("first entry %q", names[0])
	}
	before := [][2]string{
		{"pod/.acl", "pod/"}, {"pod/", "pod/profile/"}, {"pod/profile/card.acl", "pod/profile/card"},
		{"pod/photos/.acl", "pod/photos/"}, {"pod/photos/", "pod/photos/big.bin"},
		{"pod/photos/big.bin", "pod/photos/big.bin.meta"}, {"pod/inbox/.acl", "pod/inbox/"},
	}
	for _, b := range before {
		i, ok1 := pos[b[0]]
		j, ok2 := pos[b[1]]
		if !ok1 || !ok2 || i >= j {
			t.Errorf("%s (%d, %v) is not before %s (%d, %v)", b[0], i, ok1, b[1], j, ok2)
		}
	}
}

// TestExportMissingPod: no registry record, no archive.
func TestExportMissingPod(t *testing.T) {
	err := archive.Export(context.Background(), memory.New(), "carol", io.Discard)
	if !errors.Is(err, ldp.ErrNoPod) {
		t.Fatalf("err = %v, want ErrNoPod", err)
	}
}

// TestImportRenameAndRewrite imports alice's archive as alice2 on another
// host: her documents, ACLs and owner name the new IRIs.
func TestImportRenameAndRewrite(t *testing.T) {
	ctx := context.Background()
	src, dst := memory.New(), memory.New()
	seedPod(t, src)
	var buf bytes.Buffer
	if err := archive.Export(ctx, src, "alice", &buf); err != nil {
		t.Fatal(err)
	}
	opts := archive.Options{BaseURL: "https://new.example/", Rewrites: []archive.Rewrite{
		{From: oldBase, To: "https://new.example/"},
		{From: oldBase + "alice/", To: "https://new.example/alice2/"},
	}}
	if err := archive.Import(ctx, dst, "alice2", &buf, opts); err != nil {
		t.Fatal(err)
	}
	p, err := ldp.ReadPod(ctx, dst, "alice2")
	if err != nil || p.Owner != "https://new.example/alice2/profile/card#me" {
		t.Fatalf("pod = %+v, %v", p, err)
	}
	for _, key := range []string{"r/alice2/.acl", "r/alice2/profile/card", "r/alice2/photos/.acl"} {
		o, ok := read(t, dst, key)
		if !ok {
			t.Fatalf("%s is missing", key)
		}
		if bytes.Contains(o.Body, []byte("old.example")) {
			t.Errorf("%s still names the old host:\n%s", key, o.Body)
		}
		g, err := rdfx.Parse(bytes.NewReader(o.Body), rdfx.Turtle, "https://new.example/"+strings.TrimPrefix(key, "r/"), rdfx.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		named := false
		for tr := range g.All() {
			named = named || tr.S.Value() == p.Owner || tr.O.Value() == p.Owner
		}
		if !named {
			t.Errorf("%s does not name the new WebID:\n%s", key, o.Body)
		}
	}
	// Binary resources are never touched.
	w, _ := read(t, src, "r/alice/photos/big.bin")
	g, _ := read(t, dst, "r/alice2/photos/big.bin")
	if !bytes.Equal(w.Body, g.Body) {
		t.Error("the binary resource changed")
	}
	// Rewriting needs to know the new base.
	err = archive.Import(ctx, dst, "alice3", strings.NewReader(""), archive.Options{Rewrites: opts.Rewrites})
	if err == nil {
		t.Error("a rewrite without a base URL was accepted")
	}
}

// TestImportExistingPod: an import never writes into a pod, nor over a
// resource where the pod would be.
func TestImportExistingPod(t *testing.T) {
	ctx := context.Background()
	src := memory.New()
	seedPod(t, src)
	var buf bytes.Buffer
	if err := archive.Export(ctx, src, "alice", &buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	before := objects(t, src, "")
	err := archive.Import(ctx, src, "", bytes.NewReader(data), archive.Options{})
	if !errors.Is(err, ldp.ErrPodExists) {
		t.Fatalf("import over alice: %v, want ErrPodExists", err)
	}
	compareObjects(t, before, objects(t, src, ""))

	dst := memory.New()
	put(t, dst, "r/alice", "text/plain", []byte("a resource in the root"))
	if err := archive.Import(ctx, dst, "", bytes.NewReader(data), archive.Options{}); !errors.Is(err, ldp.ErrPodExists) {
		t.Fatalf("import over /alice: %v, want ErrPodExists", err)
	}
	if err := archive.Import(ctx, dst, "Bad_Name", bytes.NewReader(data), archive.Options{}); !errors.Is(err, ldp.ErrInvalidPodName) {
		t.Fatalf("import as Bad_Name: %v, want ErrInvalidPodName", err)
	}
}

// entry is one entry of a hand-made archive.
type entry struct {
	name     string
	typeflag byte
	body     string
	ct       string
	link     string
	size     int64 // when not 0, the header's size (the body is cut or padded)
}

func file(name, body string) entry {
	return entry{name: name, typeflag: tar.TypeReg, body: body, ct: "text/plain"}
}
func dir(name string) entry { return entry{name: name, typeflag: tar.TypeDir, ct: "text/turtle"} }

const goodManifest = `{"format":"kluis-pod","version":1,"name":"alice","owner":"https://old.example/alice/profile/card#me","created":"2026-01-02T03:04:05Z"}`

// makeArchive writes entries after a manifest (unless the first entry is
// named kluis-pod.json itself).
func makeArchive(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if len(entries) == 0 || entries[0].name != "kluis-pod.json" {
		entries = append([]entry{{name: "kluis-pod.json", typeflag: tar.TypeReg, body: goodManifest}}, entries...)
	}
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Linkname: e.link, Mode: 0o644, Format: tar.FormatPAX}
		if e.typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if e.ct != "" {
			hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.mime_type": e.ct}
		}
		if e.size != 0 {
			hdr.Size = e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		if e.typeflag == tar.TypeReg {
			body := []byte(e.body)
			if e.size != 0 {
				body = bytes.Repeat([]byte("x"), int(e.size))
			}
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withRawHeader returns an archive of the manifest and one header that
// archive/tar would refuse to write.
func withRawHeader(t *testing.T, name string, typeflag byte) []byte {
	t.Helper()
	a := makeArchive(t)
	a = a[:len(a)-1024] // the two zero blocks that end it
	h := make([]byte, 512)
	copy(h, name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], "00000000000\x00")
	copy(h[136:], "00000000000\x00")
	h[156] = typeflag
	copy(h[257:], "ustar\x0000")
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	return append(append(a, h...), make([]byte, 1024)...)
}

// TestImportHostile: archives that try to escape the pod, link, repeat,
// overflow or lie are refused, and leave nothing behind.
func TestImportHostile(t *testing.T) {
	ctx := context.Background()
	limits := archive.Options{MaxEntryBytes: 1024, MaxEntries: 6}
	truncated := makeArchive(t, dir("pod/"), file("pod/x", strings.Repeat("y", 900)))
	truncated = truncated[:len(truncated)-1024-124-50] // the end, the padding and 50 bytes of pod/x
	tests := []struct {
		name    string
		archive []byte
		want    error
	}{
		{"parent segment", makeArchive(t, dir("pod/"), file("pod/../x", "a")), archive.ErrUnsafeEntry},
		{"parent at the start", makeArchive(t, file("../x", "a")), archive.ErrUnsafeEntry},
		{"parent inside", makeArchive(t, file("pod/a/../../bob/x", "a")), archive.ErrUnsafeEntry},
		{"absolute", makeArchive(t, file("/etc/passwd", "a")), archive.ErrUnsafeEntry},
		{"absolute inside", makeArchive(t, file("pod//etc/passwd", "a")), archive.ErrUnsafeEntry},
		{"dot segment", makeArchive(t, file("pod/./x", "a")), archive.ErrUnsafeEntry},
		{"backslash", makeArchive(t, file(`pod/..\x`, "a")), archive.ErrUnsafeEntry},
		{"control character", makeArchive(t, file("pod/a\x01b", "a")), archive.ErrUnsafeEntry},
		{"outside pod/", makeArchive(t, file("r/bob/x", "a")), archive.ErrUnsafeEntry},
		{"registry", makeArchive(t, file("sys/pods/bob", "{}")), archive.ErrUnsafeEntry},
		{"ACL of an ACL", makeArchive(t, dir("pod/"), file("pod/x", "a"), entry{name: "pod/x.acl.acl", typeflag: tar.TypeReg, body: "", ct: "text/turtle"}), archive.ErrUnsafeEntry},
		{"name too long for its .meta", makeArchive(t, dir("pod/"), file("pod/"+strings.Repeat("n", 251), "a")), archive.ErrUnsafeEntry},
		{"symlink", makeArchive(t, dir("pod/"), entry{name: "pod/link", typeflag: tar.TypeSymlink, link: "/etc/passwd"}), archive.ErrUnsafeEntry},
		{"hard link", makeArchive(t, file("pod/x", "a"), entry{name: "pod/y", typeflag: tar.TypeLink, link: "pod/x"}), archive.ErrUnsafeEntry},
		{"device", makeArchive(t, entry{name: "pod/dev", typeflag: tar.TypeChar}), archive.ErrUnsafeEntry},
		{"fifo", makeArchive(t, entry{name: "pod/fifo", typeflag: tar.TypeFifo}), archive.ErrUnsafeEntry},
		{"duplicate file", makeArchive(t, file("pod/x", "a"), file("pod/x", "b")), archive.ErrUnsafeEntry},
		{"duplicate directory", makeArchive(t, dir("pod/a/"), dir("pod/a/")), archive.ErrUnsafeEntry},
		{"file then container", makeArchive(t, file("pod/a", "a"), file("pod/a/b", "b")), archive.ErrUnsafeEntry},
		{"container then file", makeArchive(t, file("pod/a/b", "b"), file("pod/a", "a")), archive.ErrUnsafeEntry},
		{"directory then file", makeArchive(t, dir("pod/a/"), file("pod/a", "a")), archive.ErrUnsafeEntry},
		{"file named as container", withRawHeader(t, "pod/a/", tar.TypeReg), archive.ErrUnsafeEntry},
		{"huge entry", makeArchive(t, dir("pod/"), entry{name: "pod/big", typeflag: tar.TypeReg, ct: "image/png", size: 2048}), archive.ErrTooLarge},
		{"too many entries", makeArchive(t, dir("pod/"), file("pod/1", ""), file("pod/2", ""), file("pod/3", ""),
			file("pod/4", ""), file("pod/5", ""), file("pod/6", "")), archive.ErrTooLarge},
		{"binary ACL", makeArchive(t, entry{name: "pod/.acl", typeflag: tar.TypeReg, body: "x", ct: "image/png"}), archive.ErrFormat},
		{"binary container", makeArchive(t, entry{name: "pod/a/", typeflag: tar.TypeDir, ct: "image/png"}), archive.ErrFormat},
		{"content type with a newline", makeArchive(t, entry{name: "pod/x", typeflag: tar.TypeReg, body: "x", ct: "text/plain\r\nX-Evil: 1"}), archive.ErrFormat},
		{"no manifest", makeArchive(t, entry{name: "kluis-pod.json", typeflag: tar.TypeDir}, file("pod/x", "a")), archive.ErrFormat},
		{"manifest not first", func() []byte {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			tw.WriteHeader(&tar.Header{Name: "pod/", Typeflag: tar.TypeDir})
			tw.Close()
			return buf.Bytes()
		}(), archive.ErrFormat},
		{"other version", makeArchive(t, entry{name: "kluis-pod.json", typeflag: tar.TypeReg, body: `{"format":"kluis-pod","version":2,"name":"alice","owner":"https://old.example/alice/profile/card#me"}`}), archive.ErrFormat},
		{"not tar", []byte(strings.Repeat("not a tar file ", 100)), archive.ErrFormat},
		{"truncated", truncated, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := memory.New()
			err := archive.Import(ctx, b, "", bytes.NewReader(tc.archive), limits)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if left := objects(t, b, ""); len(left) > 0 {
				t.Errorf("%d objects left behind, the first %q", len(left), left[0].Key)
			}
			// The name is free again.
			if err := archive.Import(ctx, b, "", bytes.NewReader(makeArchive(t, dir("pod/"), file("pod/x", "a"))), limits); err != nil {
				t.Errorf("a good import after the refusal: %v", err)
			}
		})
	}
}

// TestImportMakesMissingContainers: an archive without directory entries
// still gives every container its marker, the pod's root included.
func TestImportMakesMissingContainers(t *testing.T) {
	b := memory.New()
	err := archive.Import(context.Background(), b, "", bytes.NewReader(makeArchive(t, file("pod/a/b/c", "c"))), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objects(t, b, "r/") {
		keys = append(keys, o.Key+" "+o.ContentType)
	}
	want := []string{"r/alice/ text/turtle", "r/alice/a/ text/turtle", "r/alice/a/b/ text/turtle", "r/alice/a/b/c text/plain"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("objects %q, want %q", keys, want)
	}
	p, err := ldp.ReadPod(context.Background(), b, "alice")
	if err != nil || !p.Created.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("pod %+v, %v", p, err)
	}
}
