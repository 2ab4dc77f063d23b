package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
)

// TestPodExportImport runs kluis pod export and kluis pod import as the
// binary would: a pod made by account create moves to a second server
// under another host, and is copied under a new name on the first.
func TestPodExportImport(t *testing.T) {
	ctx := context.Background()
	one, two := filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "two")
	env1 := env(map[string]string{"KLUIS_DATA": one, "KLUIS_BASE_URL": "https://one.example/", "KLUIS_LOG_LEVEL": "warn"})
	env2 := env(map[string]string{"KLUIS_DATA": two, "KLUIS_BASE_URL": "https://two.example/", "KLUIS_LOG_LEVEL": "warn"})
	var out, errOut bytes.Buffer
	if err := runCommand(ctx, []string{"account", "create", "-email", "alice@example.org", "-pod", "alice"}, env1, strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("account create: %v\n%s", err, errOut.String())
	}

	var tarball bytes.Buffer
	if err := runCommand(ctx, []string{"pod", "export", "alice"}, env1, nil, &tarball, &errOut); err != nil {
		t.Fatalf("pod export: %v\n%s", err, errOut.String())
	}
	data := tarball.Bytes()
	out.Reset()
	if err := runCommand(ctx, []string{"pod", "import", "-old-base-url", "https://one.example"}, env2, bytes.NewReader(data), &out, &errOut); err != nil {
		t.Fatalf("pod import: %v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := runCommand(ctx, []string{"pod", "list"}, env2, nil, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "alice  https://two.example/alice/  https://two.example/alice/profile/card#me") {
		t.Errorf("pod list on two: %v\n%s", err, out.String())
	}
	fsb, err := filesystem.New(two)
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := fsb.Get(ctx, "r/alice/profile/card", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	card, err := io.ReadAll(body)
	body.Close()
	fsb.Close()
	if err != nil || bytes.Contains(card, []byte("one.example")) || !bytes.Contains(card, []byte("https://two.example/")) {
		t.Errorf("the profile on two: %v\n%s", err, card)
	}

	// A copy under a new name on the same server.
	if err := runCommand(ctx, []string{"pod", "import", "-name", "alice-copy"}, env1, bytes.NewReader(data), &out, &errOut); err != nil {
		t.Fatalf("pod import -name: %v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := runCommand(ctx, []string{"pod", "list"}, env1, nil, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "alice-copy  https://one.example/alice-copy/  https://one.example/alice-copy/profile/card#me") {
		t.Errorf("pod list on one: %v\n%s", err, out.String())
	}

	// Refusals.
	err = runCommand(ctx, []string{"pod", "import"}, env1, bytes.NewReader(data), &out, &errOut)
	if !errors.Is(err, ldp.ErrPodExists) {
		t.Errorf("import over alice: %v", err)
	}
	var ce *configError
	if err := runCommand(ctx, []string{"pod", "export"}, env1, nil, &out, &errOut); !errors.As(err, &ce) {
		t.Errorf("export without a name: %v", err)
	}
	if err := runCommand(ctx, []string{"pod", "export", "carol"}, env1, nil, &out, &errOut); !errors.Is(err, ldp.ErrNoPod) {
		t.Errorf("export of no pod: %v", err)
	}
}

// TestMigrateCSSServes migrates the checked-in CSS data folder with kluis
// migrate css and serves it: access control holds as the CSS ACLs said,
// under the new host's IRIs.
func TestMigrateCSSServes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	const base = "https://pods.example/"
	var out, errOut bytes.Buffer
	err := runCommand(ctx, []string{"migrate", "css", "-from", "testdata/css-fixture/root", "-data", dir, "-base-url", base},
		env(map[string]string{"KLUIS_LOG_LEVEL": "warn"}), nil, &out, &errOut)
	if err != nil {
		t.Fatalf("migrate css: %v\n%s", err, errOut.String())
	}
	if errOut.Len() > 0 || !strings.Contains(out.String(), "alice  https://pods.example/alice/  https://pods.example/alice/profile/card#me") {
		t.Errorf("output:\n%s\n%s", out.String(), errOut.String())
	}

	r := startRun(t, "-addr", "127.0.0.1:0", "-data", dir, "-base-url", base, "-log-level", "warn")
	pixel, err := os.ReadFile("testdata/css-fixture/root/alice/photos/pixel.png")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path       string
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{"alice/photos/pixel.png", 200, "image/png", string(pixel)}, // its own ACL: public read
		{"alice/profile/card", 200, "text/turtle", "https://pods.example/"},
		{"alice/README", 200, "text/markdown", "Welcome"},
		{"alice/notes/hello.ttl", 401, "", ""}, // notes/.acl: Alice and Bob only
		{"alice/notes/", 401, "", ""},
		{"alice/photos/blob", 401, "", ""}, // the root ACL: the owner only
		{"bob/diary.ttl", 401, "", ""},
	}
	for _, tc := range tests {
		res, err := http.Get(r.url + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.wantStatus || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.wantType) || !strings.Contains(body.String(), tc.wantBody) {
			t.Errorf("GET %s: %d %s %q, want %d %s with %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"),
				truncateBody(body.String()), tc.wantStatus, tc.wantType, tc.wantBody)
		}
		if tc.wantType == "text/turtle" && strings.Contains(body.String(), "localhost:3456/alice") {
			t.Errorf("GET %s names the old host (only RDF is rewritten):\n%s", tc.path, body.String())
		}
	}
}

func truncateBody(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
