package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// interopDir holds the Node interoperability test and its pinned packages;
// bash .ci/test installs them (npm ci).
const interopDir = "testdata/interop"

// TestInteropWithInruptClients runs testdata/interop/interop.mjs, which
// uses @inrupt/solid-client-authn-node and @inrupt/solid-client against the
// real Kluis binary: two accounts through the JSON account API, client
// credentials login with DPoP, a container, a dataset, a binary file, and
// access granted with the library's access API and refused elsewhere; and
// @inrupt/solid-client-notifications connecting with no configuration
// (the notification gateway) and hearing of a change.
func TestInteropWithInruptClients(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(interopDir, "node_modules", "@inrupt", "solid-client"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but Node or the interop packages are missing (%v): bash .ci/test installs them", err)
		}
		t.Skipf("Node or the interop packages are missing (%v); bash .ci/test installs them", err)
	}
	c := startKluis(t, nil, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "warn")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "interop.mjs")
	cmd.Dir = interopDir
	cmd.Env = append(os.Environ(), "KLUIS_URL="+c.url)
	out, err := cmd.CombinedOutput()
	t.Logf("interop.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("interop.mjs failed: %v\nserver log:\n%s", err, c.stderr)
	}
}

// TestAccessGrantsWithInruptLibrary runs testdata/interop/grants.mjs:
// @inrupt/solid-client-access-grants 4.0.1, unchanged, against the real
// Kluis binary: discovery, issue, approve (updateAcr: false), deny,
// cancel, getAccessRequest, getAccessGrant, getAccessGrantAll, query,
// isValidAccessGrant, getFile and overwriteFile with a grant (the UMA
// exchange), plain DPoP reads covered by the grant, and revocation.
func TestAccessGrantsWithInruptLibrary(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(interopDir, "node_modules", "@inrupt", "solid-client-access-grants"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but Node or the interop packages are missing (%v): bash .ci/test installs them", err)
		}
		t.Skipf("Node or the interop packages are missing (%v); bash .ci/test installs them", err)
	}
	c := startKluis(t, nil, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "warn")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "grants.mjs")
	cmd.Dir = interopDir
	cmd.Env = append(os.Environ(), "KLUIS_URL="+c.url)
	out, err := cmd.CombinedOutput()
	t.Logf("grants.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("grants.mjs failed: %v\nserver log:\n%s", err, c.stderr)
	}
}
