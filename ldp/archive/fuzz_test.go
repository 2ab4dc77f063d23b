package archive_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/archive"
	"github.com/weconomics/kluis/storage/memory"
)

// FuzzImport: whatever the archive, Import never panics, never writes
// outside the pod, its registry record and its access log, and leaves
// nothing when it fails.
func FuzzImport(f *testing.F) {
	ctx := context.Background()
	b := memory.New()
	s, err := ldp.New(ctx, b, ldp.Config{BaseURL: oldBase, Pods: true})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.CreatePod(ctx, "alice", ldp.PodOwner{}); err != nil {
		f.Fatal(err)
	}
	put(f, b, "r/alice/photos/", "text/turtle", []byte("<> <http://purl.org/dc/terms/title> \"Photos\" ."))
	var good bytes.Buffer
	if err := archive.Export(ctx, b, "alice", &good); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add(makeArchive(f, dir("pod/"), file("pod/../x", "a")))
	f.Add(makeArchive(f, file("pod/a/b", "b"), file("pod/a", "a")))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := memory.New()
		err := archive.Import(context.Background(), b, "", bytes.NewReader(data), archive.Options{MaxEntryBytes: 1 << 20, MaxEntries: 100})
		for _, o := range objects(t, b, "") {
			if err != nil {
				t.Fatalf("failed (%v) but left %q", err, o.Key)
			}
			if !strings.HasPrefix(o.Key, "r/") && !strings.HasPrefix(o.Key, "sys/pods/") &&
				!strings.HasPrefix(o.Key, "sys/access-log/") && !strings.HasPrefix(o.Key, "sys/access-log-imported/") {
				t.Fatalf("wrote %q", o.Key)
			}
		}
	})
}
