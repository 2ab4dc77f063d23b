package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// browserDir holds the browser test: a Solid app (app/), its build
// (build.mjs), the playwright driver (browser.mjs) and their pinned
// packages; bash .ci/test installs them (npm ci) and Chromium.
const browserDir = "testdata/browser"

// chromiumPath is Debian's Chromium, which the driver runs headless.
const chromiumPath = "/usr/bin/chromium"

// TestBrowser runs testdata/browser/browser.mjs: in headless Chromium,
// people sign up on Kluis's own HTML pages, then use a Solid app built
// from @inrupt/solid-client-authn-browser, @inrupt/solid-client and
// @inrupt/solid-client-notifications, served from another site
// (http://127.0.0.1:PORT/ against Kluis at http://localhost:PORT/): login
// with the authorization code flow, reads and writes, sharing, a
// WebSocket notification, an access request allowed on the consent page,
// and the grant seen and revoked on the person's access page;
// and CORS, cross-site forms and KLUIS_WAC_ORIGIN=strict (on a second Kluis) as a browser meets them.
// Screenshots of every page stay in a kluis-browser-* folder of the
// temporary directory, which the test prints.
func TestBrowser(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(chromiumPath)
	}
	if err == nil {
		_, err = os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core"))
	}
	if err != nil {
		const how = "CI=true bash .ci/test installs them, or: apt-get install chromium && (cd testdata/browser && npm ci)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but Node, Chromium or the browser test's packages are missing (%v): %s", err, how)
		}
		t.Skipf("Node, Chromium or the browser test's packages are missing (%v); %s", err, how)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The app, built now and served from 127.0.0.1: another site than
	// localhost, where Kluis is.
	site := t.TempDir()
	build := exec.CommandContext(ctx, node, "build.mjs", site)
	build.Dir = browserDir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the app: %v\n%s", err, out)
	}
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appSrv := httptest.NewUnstartedServer(http.FileServer(http.Dir(site)))
	appSrv.Listener.Close()
	appSrv.Listener = appLn
	appSrv.Start()
	defer appSrv.Close()

	kluis := startOnLocalhost(t, nil)
	strict := startOnLocalhost(t, []string{"KLUIS_WAC_ORIGIN=strict"})

	shots, err := os.MkdirTemp("", "kluis-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	fmt.Printf("TestBrowser: screenshots in %s\n", shots)

	cmd := exec.CommandContext(ctx, node, "browser.mjs")
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(),
		"KLUIS_URL="+kluis.url,
		"STRICT_KLUIS_URL="+strict.url,
		"APP_URL="+appSrv.URL+"/",
		"SHOTS_DIR="+shots,
		"CHROMIUM="+chromiumPath,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser.mjs failed: %v\nKluis log:\n%s\nstrict Kluis log:\n%s", err, kluis.stderr, strict.stderr)
	}
}

// startOnLocalhost starts Kluis with filesystem storage in a temporary
// folder, listening on a free loopback port and known as
// http://localhost:PORT/, so that pages on 127.0.0.1 are another site.
// The base URL must name the port before Kluis listens, so the port is
// found free first (another process could take it in between; the test
// then fails to start Kluis rather than testing something else).
func startOnLocalhost(t *testing.T, env []string) *child {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	base := fmt.Sprintf("http://localhost:%d/", port)
	c := startKluis(t, env, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-base-url", base,
		"-data", t.TempDir(), "-log-level", "warn")
	c.url = base
	return c
}
