package databrowser

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var testBase, _ = url.Parse("https://pods.example/")

// TestEmbedded: the embedded release loads, its page loads the assets from
// the versioned folder, the policy allows its inline script by hash and
// nothing else inline, and the entry script's public path is the folder.
func TestEmbedded(t *testing.T) {
	h, err := New(Config{BaseURL: testBase})
	if err != nil {
		t.Fatal(err)
	}
	pin, _ := fs.ReadFile(release, "mashlib/PIN")
	version := strings.Fields(string(pin))[0]
	if h.version != version || h.prefix != "/.databrowser/mashlib-"+version+"/" {
		t.Fatalf("version %q, prefix %q", h.version, h.prefix)
	}
	for _, want := range []string{`src="` + h.prefix + `mashlib.min.js"`, `href="` + h.prefix + `mash.css"`} {
		if !bytes.Contains(h.page, []byte(want)) {
			t.Errorf("the page lacks %s", want)
		}
	}
	scripts := inlineScript.FindAllSubmatch(h.page, -1)
	if len(scripts) != 1 {
		t.Fatalf("%d inline scripts, want the release's one", len(scripts))
	}
	sum := sha256.Sum256(scripts[0][1])
	if !strings.Contains(h.csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Errorf("the policy does not allow the inline script by its hash: %s", h.csp)
	}
	for _, want := range []string{"default-src 'none'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
		"worker-src 'self'", "connect-src 'self' https://pods.example wss://pods.example"} {
		if !strings.Contains(h.csp, want) {
			t.Errorf("the policy lacks %q: %s", want, h.csp)
		}
	}
	if strings.Contains(regexp.MustCompile(`script-src [^;]*`).FindString(h.csp), "unsafe") {
		t.Errorf("scripts may run unsafely: %s", h.csp)
	}
	if err := h.loaded(); err != nil {
		t.Fatal(err)
	}
	entry := h.assets["mashlib.min.js"].data
	if !bytes.Contains(entry, []byte(`.p="`+h.prefix+`"`)) || bytes.Contains(entry, []byte(webpackRoot)) {
		t.Errorf("the entry script's public path is not the folder")
	}
	if _, ok := h.assets["PIN"]; ok {
		t.Errorf("the pin is served")
	}
}

// TestFolder: a hoster's build is served from /.databrowser/local/, its
// public path set there only when it was left at the root, and refused
// when it is not a mashlib build.
func TestFolder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(Config{Source: dir, BaseURL: testBase}); err == nil {
		t.Fatal("an empty folder was taken")
	}
	write("mashlib.min.js", `var a={};a.p="/";load(a.p+"1.js")`)
	write("mash.css", "body{}")
	write("mashlib.min.js.map", "{}")
	write(".git/config", "secret")
	h, err := New(Config{Source: dir, BaseURL: testBase})
	if err != nil {
		t.Fatal(err)
	}
	if h.prefix != "/.databrowser/local/" || h.immutable {
		t.Errorf("prefix %q, immutable %v", h.prefix, h.immutable)
	}
	if got := string(h.assets["mashlib.min.js"].data); got != `var a={};a.p="/.databrowser/local/";load(a.p+"1.js")` {
		t.Errorf("entry %q", got)
	}
	for _, hidden := range []string{"mashlib.min.js.map", ".git/config"} {
		if _, ok := h.assets[hidden]; ok {
			t.Errorf("%s is served", hidden)
		}
	}
	if !bytes.Contains(h.page, []byte(`src="/.databrowser/local/mashlib.min.js"`)) {
		t.Errorf("the embedded page does not load the folder's copy")
	}

	// A build with its own public path is left as it is.
	write("mashlib.min.js", `var a={};a.p="/.databrowser/local/";`)
	if h, err = New(Config{Source: dir, BaseURL: testBase}); err != nil {
		t.Fatal(err)
	}
	if got := string(h.assets["mashlib.min.js"].data); got != `var a={};a.p="/.databrowser/local/";` {
		t.Errorf("entry %q", got)
	}
}

// TestURL: another copy on a CDN: the page loads it from there, the policy
// allows that origin, and Kluis serves no assets.
func TestURL(t *testing.T) {
	h, err := New(Config{Source: "https://cdn.example/npm/mashlib@2.3.3/dist", BaseURL: testBase})
	if err != nil {
		t.Fatal(err)
	}
	if h.files != nil || h.prefix != "" || h.Serves("/.databrowser/x") {
		t.Errorf("assets served for a URL source")
	}
	if !bytes.Contains(h.page, []byte(`src="https://cdn.example/npm/mashlib@2.3.3/dist/mashlib.min.js"`)) {
		t.Errorf("page %s", h.page)
	}
	if !strings.Contains(h.csp, "script-src 'self' 'sha256-") || !strings.Contains(h.csp, " https://cdn.example;") {
		t.Errorf("policy %s", h.csp)
	}
	for _, bad := range []string{"https://user:pw@cdn.example/", "https://cdn.example/?x=1", "https:///x"} {
		if _, err := New(Config{Source: bad, BaseURL: testBase}); err == nil {
			t.Errorf("%q was taken", bad)
		}
	}
}

func TestPublicPath(t *testing.T) {
	for in, want := range map[string]string{
		`a.p="/";x`:                 `a.p="/p/";x`,
		`var x=".p=\"/\"";a.p="/";`: `var x=".p=\"/\"";a.p="/p/";`,
		`a.p="/";b.p="/";`:          `a.p="/";b.p="/";`,
		`a.p="/other/";`:            `a.p="/other/";`,
		`.p="/";`:                   `.p="/";`,
		``:                          ``,
	} {
		if got := string(publicPath([]byte(in), "/p/")); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// BenchmarkNew is the data browser's part of every server's start.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(Config{BaseURL: testBase}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "gzip": true, "gzip, deflate, br": true, "br;q=1, gzip;q=0.5": true,
		"gzip;q=0": false, "GZIP": true, "identity": false, "x-gzip2": false, "gzip; q=0.000": false,
	} {
		if got := acceptsGzip(v); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}
