package webid_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the rule of doc.go: webid, webid/fetch,
// webid/webidtest and webid/internal depend on no Kluis package but
// webid/... and ldp/rdfx (so not on server, storage or ldp).
func TestDependencies(t *testing.T) {
	const module = "github.com/weconomics/kluis/"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".", "./fetch", "./webidtest", "./internal/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(p, module)
		if !ok {
			continue
		}
		if rel != "webid" && !strings.HasPrefix(rel, "webid/") && rel != "ldp/rdfx" {
			t.Errorf("webid depends on %s", p)
		}
	}
}
