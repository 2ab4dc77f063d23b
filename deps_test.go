package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// module is this module's path.
const module = "github.com/weconomics/kluis"

// depRule is one arrow of the dependency direction in STYLE.md. Package
// patterns are relative to the module: "." is main, "x" is package x
// alone, "x/..." is x and every package below it. External names are
// import path prefixes ("net/http" covers net/http/httptest too).
type depRule struct {
	name string
	// from selects the packages the rule governs, less except.
	from   []string
	except []string
	// transitive checks every dependency; otherwise direct imports only.
	transitive bool
	// denyKluis and denyExternal are what the governed packages must not
	// depend on.
	denyKluis    []string
	denyExternal []string
	// onlyKluis, when set, is every Kluis package they may depend on.
	onlyKluis []string
}

// depRules are the arrows. A new package is covered by every rule whose
// patterns match it, with no change here.
func depRules() []depRule {
	rules := []depRule{
		{name: "only storage/s3 imports minio-go",
			from: []string{"./..."}, except: []string{"storage/s3/..."},
			denyExternal: []string{"github.com/minio/minio-go"}},
		{name: "only server imports echo",
			from: []string{"./..."}, except: []string{"server/..."},
			denyExternal: []string{"github.com/labstack/echo", "github.com/labstack/gommon"}},
		{name: "only server/metrics imports the Prometheus client",
			from: []string{"./..."}, except: []string{"server/metrics/..."},
			denyExternal: []string{"github.com/prometheus"}},
		{name: "only server/tracing imports OpenTelemetry",
			from: []string{"./..."}, except: []string{"server/tracing/..."},
			denyExternal: []string{"go.opentelemetry.io"}},
		{name: "only server/notify/natsbus imports NATS",
			from: []string{"./..."}, except: []string{"server/notify/natsbus/..."},
			denyExternal: []string{"github.com/nats-io"}},
		{name: "only server/certs imports ACME",
			from: []string{"./..."}, except: []string{"server/certs/..."},
			denyExternal: []string{"golang.org/x/crypto/acme"}},
		{name: "only server/mail imports go-mail",
			from: []string{"./..."}, except: []string{"server/mail"},
			denyExternal: []string{"github.com/wneessen/go-mail"}},
		{name: "only the test SMTP server imports go-smtp",
			from: []string{"./..."}, except: []string{"server/mail/mailtest"},
			denyExternal: []string{"github.com/emersion/go-smtp", "github.com/emersion/go-sasl"}},
		{name: "mail knows nothing else of Kluis",
			from: []string{"server/mail/..."}, transitive: true,
			onlyKluis: []string{"server/mail/..."}},
		{name: "metrics, tracing and certificates know no routes or backends",
			from: []string{"server/metrics/...", "server/tracing/...", "server/certs/..."}, transitive: true,
			onlyKluis: []string{"storage"}, denyExternal: []string{"github.com/labstack/echo"}},
		{name: "only ldp/rdfx imports the RDF libraries",
			from: []string{"./..."}, except: []string{"ldp/rdfx/...", "credential"},
			denyExternal: []string{"github.com/knakk/rdf", "github.com/piprate/json-gold"}},
		// credential canonicalises credentials (URDNA2015) with a document
		// loader that knows only its embedded contexts: that is a matter of
		// credentials, not of the resource space's RDF, so it is the one
		// other importer of json-gold, and of nothing but it.
		{name: "credential imports json-gold alone of the RDF libraries",
			from: []string{"credential/..."}, denyExternal: []string{"github.com/knakk/rdf"}},
		{name: "credential depends on storage (its expiry index and its sealing) only",
			from: []string{"credential/..."}, transitive: true,
			onlyKluis: []string{"credential/...", "storage", "storage/expiry", "storage/seal"}},
		{name: "nothing imports server but main",
			from: []string{"./..."}, except: []string{".", "server/..."},
			denyKluis: []string{"server/..."}},
		// The access log (ldp/accesslog) finds the logs due for trimming
		// through storage's expiry index.
		{name: "ldp depends on storage (and its expiry index) and itself only",
			from: []string{"ldp/..."}, transitive: true,
			onlyKluis: []string{"ldp/...", "storage", "storage/expiry"}},
		{name: "the access log depends on storage (and its expiry index) only",
			from: []string{"ldp/accesslog/..."}, transitive: true,
			onlyKluis: []string{"ldp/accesslog/...", "storage", "storage/expiry"}},
		{name: "acl depends on no storage, server or LDP semantics",
			from: []string{"acl/..."}, transitive: true,
			denyKluis: []string{"storage/...", "server/...", "ldp"}},
		{name: "acl has no HTTP types",
			from:         []string{"acl/..."},
			denyExternal: []string{"net/http"}},
		{name: "webid does not depend on server",
			from: []string{"webid/..."}, transitive: true,
			denyKluis: []string{"server/..."}},
		{name: "the token verifier and the fetcher read no storage",
			from: []string{"webid", "webid/fetch/...", "webid/webidtest/...", "webid/internal/..."}, transitive: true,
			onlyKluis: []string{"webid", "webid/fetch/...", "webid/internal/...", "ldp/rdfx"}},
		{name: "webid/account depends on storage (and its expiry index), ldp/rdfx and the shared limits only",
			from: []string{"webid/account/..."}, transitive: true,
			onlyKluis: []string{"webid/account/...", "storage", "storage/expiry", "ldp/rdfx/...", "webid/limit"}},
		{name: "the shared limits know nothing else of Kluis",
			from: []string{"webid/limit/..."}, transitive: true,
			onlyKluis: []string{"webid/limit/..."}},
		{name: "storage depends on nothing else of Kluis",
			from: []string{"storage/..."}, transitive: true,
			onlyKluis: []string{"storage/..."}},
		{name: "server does not pick a storage backend",
			from: []string{"server/..."}, transitive: true,
			denyKluis: []string{"storage/filesystem/...", "storage/s3/...", "storage/memory/...", "storage/storagetest/..."}},
		{name: "nothing below server imports server",
			from: []string{"server/..."}, except: []string{"server"}, transitive: true,
			denyKluis: []string{"server"}},
		{name: "the shared error map knows no audience and no request plumbing",
			from: []string{"server/problem/..."}, transitive: true,
			denyKluis: append([]string{"server", "server/request/..."}, audiences...)},
		{name: "the request accessors know nothing else of Kluis",
			from: []string{"server/request/..."}, transitive: true,
			onlyKluis: []string{"server/request/..."}},
	}
	for _, a := range audiences {
		rules = append(rules, depRule{name: a + " imports no other audience and not server",
			from: []string{a}, transitive: true,
			denyKluis: append([]string{"server"}, others(audiences, a)...)})
	}
	return rules
}

// audiences are the subpackages of server that each serve one audience
// and mount their own routes (issue 14). They share only server/problem
// (the error map) and server/request (what the middleware leaves on a
// request); package server builds and mounts them. A new audience is
// added here.
var audiences = []string{"server/accounts/...", "server/oidc/...", "server/notifications/...", "server/consent/...", "server/databrowser/..."}

// others is list without x.
func others(list []string, x string) []string {
	var out []string
	for _, v := range list {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// matchKluis reports whether the full import path p matches a
// module-relative pattern.
func matchKluis(p, pattern string) bool {
	if pattern == "." || pattern == "./..." {
		return p == module || pattern == "./..." && strings.HasPrefix(p, module+"/")
	}
	base, tree := strings.CutSuffix(pattern, "/...")
	full := module + "/" + base
	return p == full || tree && strings.HasPrefix(p, full+"/")
}

func matchAny(p string, patterns []string) bool {
	for _, pat := range patterns {
		if matchKluis(p, pat) {
			return true
		}
	}
	return false
}

func matchExternal(p string, prefixes []string) bool {
	for _, pre := range prefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// listedPackage is the part of `go list -json` the rules read.
type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages lists the module's packages with their dependencies,
// leaving out tests.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list packages: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-e", "-json=ImportPath,Imports,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestDependencyDirection keeps the arrows of STYLE.md true:
// main -> server -> {ldp, acl, webid, storage}; ldp -> storage; each
// third-party library behind the one package that wraps it; inside the
// HTTP front, server -> its audiences (server/accounts, server/oidc,
// server/notifications, server/consent) -> {server/problem,
// server/request}, and never back up or sideways.
func TestDependencyDirection(t *testing.T) {
	pkgs := listPackages(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.ImportPath] = true
	}
	for _, must := range []string{module, module + "/server", module + "/storage", module + "/server/problem", module + "/server/accounts"} {
		if !seen[must] {
			t.Fatalf("go list did not list %s; the rules would check nothing", must)
		}
	}

	for _, rule := range depRules() {
		t.Run(rule.name, func(t *testing.T) {
			for _, v := range rule.violations(pkgs) {
				t.Error(v)
			}
		})
	}
}

// violations are the dependencies of pkgs that break the rule.
func (rule depRule) violations(pkgs []listedPackage) []string {
	var out []string
	for _, p := range pkgs {
		if !matchAny(p.ImportPath, rule.from) || matchAny(p.ImportPath, rule.except) {
			continue
		}
		deps := p.Imports
		if rule.transitive {
			deps = p.Deps
		}
		for _, d := range deps {
			bad := matchExternal(d, rule.denyExternal) || matchAny(d, rule.denyKluis)
			if rule.onlyKluis != nil && strings.HasPrefix(d, module+"/") && !matchAny(d, rule.onlyKluis) {
				bad = true
			}
			if bad {
				out = append(out, p.ImportPath+" depends on "+d)
			}
		}
	}
	return out
}

// TestDependencyRulesCatchArrowsUp makes sure the rules of the split
// HTTP front fail on an arrow pointing back up or sideways, with package
// lists made up for the purpose.
func TestDependencyRulesCatchArrowsUp(t *testing.T) {
	k := func(p string) string { return module + "/" + p }
	bad := []listedPackage{
		{ImportPath: k("server/accounts"), Deps: []string{k("server"), k("server/problem")}},
		{ImportPath: k("server/oidc"), Deps: []string{k("server/accounts")}},
		{ImportPath: k("server/problem"), Deps: []string{k("server/oidc")}},
		{ImportPath: k("server/request"), Deps: []string{k("ldp")}},
		{ImportPath: k("ldp"), Imports: []string{"github.com/labstack/echo/v4"}, Deps: []string{"github.com/labstack/echo/v4"}},
	}
	caught := map[string]bool{}
	for _, rule := range depRules() {
		for _, v := range rule.violations(bad) {
			caught[v] = true
		}
	}
	for _, want := range []string{
		k("server/accounts") + " depends on " + k("server"),
		k("server/oidc") + " depends on " + k("server/accounts"),
		k("server/problem") + " depends on " + k("server/oidc"),
		k("server/request") + " depends on " + k("ldp"),
		k("ldp") + " depends on github.com/labstack/echo/v4",
	} {
		if !caught[want] {
			t.Errorf("no rule catches: %s", want)
		}
	}
	if caught[k("server/accounts")+" depends on "+k("server/problem")] {
		t.Error("an audience may depend on server/problem")
	}
}

func TestDependencyPatterns(t *testing.T) {
	tests := []struct {
		path, pattern string
		want          bool
	}{
		{module, ".", true},
		{module + "/server", ".", false},
		{module, "./...", true},
		{module + "/ldp/rdfx", "./...", true},
		{module + "/ldp", "ldp", true},
		{module + "/ldp/rdfx", "ldp", false},
		{module + "/ldp/rdfx", "ldp/...", true},
		{module + "/ldpx", "ldp/...", false},
		{module + "/storage", "storage/...", true},
	}
	for _, tc := range tests {
		if got := matchKluis(tc.path, tc.pattern); got != tc.want {
			t.Errorf("matchKluis(%q, %q) = %v, want %v", tc.path, tc.pattern, got, tc.want)
		}
	}
	if !matchExternal("github.com/minio/minio-go/v7/pkg/s3utils", []string{"github.com/minio/minio-go"}) ||
		matchExternal("github.com/minio/minio-gox", []string{"github.com/minio/minio-go"}) {
		t.Error("matchExternal does not respect path boundaries")
	}
}
