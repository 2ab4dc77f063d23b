package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost
// and its key as PEM files in a fresh folder, and returns a pool that
// trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kluis test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// startRunMatching calls run with args and an empty environment, with
// the storage open to everyone, and waits for stdout to match re.
func startRunMatching(t *testing.T, re *regexp.Regexp, args ...string) (*running, []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: newWatcher(), stderr: newWatcher(), cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(r.exited)
		r.err = run(ctx, withOpenRoot(args), env(nil), r.stdout, r.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		r.wait(t)
	})
	m := r.stdout.waitFor(t, re, r.exited)
	r.url = m[1]
	return r, m
}

// get GETs u with client and returns status, body and the response.
func get(t *testing.T, client *http.Client, u string) (int, string, *http.Response) {
	t.Helper()
	res, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body), res
}

// TestRunTLS serves HTTPS from certificate files on a loopback port, with
// the redirect listener, and passes its own health check.
func TestRunTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	r, m := startRunMatching(t,
		regexp.MustCompile(`Kluis is listening on (https://\S+/)\n(?s:.*)Kluis redirects http://(\S+)/ to (https://\S+/)`),
		"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-tls-cert", certFile, "-tls-key", keyFile,
		"-http-addr", "127.0.0.1:0")
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	status, body, res := get(t, client, r.url+".well-known/kluis/live")
	if status != 200 || strings.TrimSpace(body) != "ok" || res.TLS == nil {
		t.Fatalf("liveness over TLS: %d %q (TLS %v)", status, body, res.TLS != nil)
	}
	if m[3] != r.url {
		t.Errorf("the redirect goes to %s, want the base URL %s", m[3], r.url)
	}

	// Plain HTTP to the TLS port is refused.
	plainURL := "http://" + strings.TrimPrefix(r.url, "https://")
	if status, _, _ := get(t, http.DefaultClient, plainURL+".well-known/kluis/live"); status != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port: %d, want 400", status)
	}
	// The redirect listener sends every path to the base URL.
	status, _, res = get(t, client, "http://"+m[2]+"/alice/notes/?x=1")
	if loc := res.Header.Get("Location"); status != http.StatusPermanentRedirect || loc != r.url+"alice/notes/?x=1" {
		t.Errorf("redirect listener: %d %q, want 308 to %salice/notes/?x=1", status, loc, r.url)
	}

	// -healthcheck with the same settings trusts the certificate file.
	addr := strings.TrimSuffix(strings.TrimPrefix(r.url, "https://"), "/")
	var out strings.Builder
	err := run(context.Background(), []string{"-healthcheck", "-addr", addr, "-tls-cert", certFile, "-tls-key", keyFile},
		env(nil), &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), "live: https://"+addr+livenessPath) {
		t.Errorf("health check over TLS: %v, %q", err, out.String())
	}
}

// TestRunMetrics scrapes the metrics listener after a few requests: the
// series are there with bounded labels, and the listener serves nothing
// else, while the pods' port serves no metrics.
func TestRunMetrics(t *testing.T) {
	r, m := startRunMatching(t,
		regexp.MustCompile(`Kluis is listening on (http://\S+/)\n(?s:.*)Kluis serves metrics on (http://\S+/metrics)`),
		"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-metrics-addr", "127.0.0.1:0")
	metricsURL := m[2]

	if status, _ := request(t, "PUT", r.url+"notes/a.txt", "text/plain", "hello"); status != 201 {
		t.Fatalf("PUT: %d", status)
	}
	for _, p := range []string{"notes/", "notes/a.txt", "notes/.acl", ".well-known/kluis/ready", ".well-known/solid"} {
		request(t, "GET", r.url+p, "", "")
	}
	req, _ := http.NewRequest("GET", r.url+"notes/a.txt", nil)
	req.Header.Set("Authorization", "Bearer not-a-dpop-token")
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != 401 {
		t.Fatalf("a Bearer token: %d, want 401", res.StatusCode)
	}

	status, body, _ := get(t, http.DefaultClient, metricsURL)
	if status != 200 {
		t.Fatalf("scrape: %d", status)
	}
	for _, series := range []string{
		`kluis_http_requests_total{method="PUT",route="resource",status="201"} 1`,
		`kluis_http_requests_total{method="GET",route="container",status="200"} 1`,
		`kluis_http_requests_total{method="GET",route="health",status="200"} 1`,
		`kluis_http_requests_total{method="GET",route="well-known",status="200"} 1`, // the origin's /.well-known/solid (notification gateway)
		`kluis_http_requests_total{method="GET",route="resource",status="401"} 1`,
		`kluis_http_request_duration_seconds_count{method="GET",route="resource"} 2`,
		`kluis_auth_failures_total{reason="bearer"} 1`,
		`kluis_storage_operation_duration_seconds_count{backend="fs",operation="put"}`,
		`kluis_storage_operation_duration_seconds_count{backend="fs",operation="check"} 1`,
		`kluis_storage_operation_errors_total{backend="fs",error="not_found",operation="stat"}`,
		`kluis_build_info{goversion="`,
		`kluis_notification_channels 0`,
		`kluis_cache_lookups_total{cache="acl",result="hit"}`,
		`kluis_cache_lookups_total{cache="acl",result="miss"}`,
		`kluis_cache_lookups_total{cache="fetch",result="miss"}`,
	} {
		if !strings.Contains(body, series) {
			t.Errorf("the scrape lacks %s", series)
		}
	}
	if strings.Contains(body, "notes") || strings.Contains(body, "a.txt") {
		t.Error("a path shows in a label")
	}

	// The metrics listener serves nothing else, the pods' port no metrics.
	metricsRoot := strings.TrimSuffix(metricsURL, "metrics")
	for _, p := range []string{"", ".well-known/kluis/live", "notes/a.txt"} {
		if status, _, _ := get(t, http.DefaultClient, metricsRoot+p); status != 404 {
			t.Errorf("metrics listener, /%s: %d, want 404", p, status)
		}
	}
	if _, body, _ := get(t, http.DefaultClient, r.url+"metrics"); strings.Contains(body, "kluis_http_requests_total") {
		t.Error("the pods' port serves the metrics")
	}
}

func TestHealthCheck(t *testing.T) {
	r := startRun(t, "-addr", "127.0.0.1:0", "-data", t.TempDir())
	addr := strings.TrimSuffix(strings.TrimPrefix(r.url, "http://"), "/")
	var out strings.Builder
	if err := run(context.Background(), []string{"-healthcheck"}, env(map[string]string{"KLUIS_ADDR": addr}), &out, io.Discard); err != nil {
		t.Fatalf("health check of a live server: %v", err)
	}

	// A port nobody listens on, and settings that do not load: exit 1
	// (not 2, which a container HEALTHCHECK reserves).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"nobody listens", []string{"KLUIS_ADDR=" + closed}, nil},
		{"bad settings", nil, []string{"-log-format", "xml"}},
		{"no fixed port", nil, []string{"-addr", "127.0.0.1:0"}},
	} {
		c := startProcess(t, tc.env, false, append([]string{"-healthcheck"}, tc.args...)...)
		if code := c.exitCode(t); code != 1 {
			t.Errorf("%s: exit code %d, want 1; stderr:\n%s", tc.name, code, c.stderr)
		}
	}
	c := startProcess(t, []string{"KLUIS_ADDR=" + addr}, false, "-healthcheck")
	if code := c.exitCode(t); code != 0 {
		t.Errorf("a live server: exit code %d, want 0; stderr:\n%s", code, c.stderr)
	}
}

func TestVersion(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-version"}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != "kluis "+version+"\n" {
		t.Errorf("-version printed %q", out.String())
	}
}

// TestHostingSettings is the table of the hosting settings that Validate
// accepts and refuses.
func TestHostingSettings(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
		// wantErr are the texts of the problems; none means valid.
		wantErr []string
	}{
		{name: "defaults: plain HTTP, no metrics, no proxies", check: func(t *testing.T, c Config) {
			if c.Hosting != (HostingConfig{}) {
				t.Errorf("hosting %+v, want all off", c.Hosting)
			}
		}},
		{name: "certificate files: the derived base URL is https",
			env: map[string]string{"KLUIS_TLS_CERT": certFile, "KLUIS_TLS_KEY": keyFile, "KLUIS_ADDR": ":8443"},
			check: func(t *testing.T, c Config) {
				if c.BaseURL != "https://localhost:8443/" || c.Hosting.HTTPAddr != "" {
					t.Errorf("base %q, http %q", c.BaseURL, c.Hosting.HTTPAddr)
				}
			}},
		{name: "ACME: cache in the data folder, redirect on :80",
			env: map[string]string{"KLUIS_ACME": "true", "KLUIS_BASE_URL": "https://pods.example.org/", "KLUIS_DATA": "/srv/kluis",
				"KLUIS_ACME_EMAIL": "admin@example.org", "KLUIS_ADDR": ":443"},
			check: func(t *testing.T, c Config) {
				if c.Hosting.ACMECache != "/srv/kluis/acme" || c.Hosting.HTTPAddr != ":80" {
					t.Errorf("cache %q, http %q", c.Hosting.ACMECache, c.Hosting.HTTPAddr)
				}
			}},
		{name: "ACME without the redirect listener",
			env: map[string]string{"KLUIS_ACME": "true", "KLUIS_BASE_URL": "https://pods.example.org/", "KLUIS_HTTP_ADDR": "off",
				"KLUIS_ACME_CACHE": "/var/cache/kluis"},
			check: func(t *testing.T, c Config) {
				if c.Hosting.ACMECache != "/var/cache/kluis" || c.Hosting.HTTPAddr != "" {
					t.Errorf("cache %q, http %q", c.Hosting.ACMECache, c.Hosting.HTTPAddr)
				}
			}},
		{name: "proxies and metrics",
			env: map[string]string{"KLUIS_TRUSTED_PROXIES": "10.0.0.0/8, ::1", "KLUIS_METRICS_ADDR": "127.0.0.1:9090"}},
		{name: "certificate without key",
			env:     map[string]string{"KLUIS_TLS_CERT": certFile},
			wantErr: []string{"-tls-cert ($KLUIS_TLS_CERT) and -tls-key ($KLUIS_TLS_KEY) go together"}},
		{name: "certificate file missing",
			env:     map[string]string{"KLUIS_TLS_CERT": "/nonexistent/cert.pem", "KLUIS_TLS_KEY": keyFile},
			wantErr: []string{`-tls-cert ($KLUIS_TLS_CERT): "/nonexistent/cert.pem" is not a readable file`}},
		{name: "TLS with an http base URL",
			env:     map[string]string{"KLUIS_TLS_CERT": certFile, "KLUIS_TLS_KEY": keyFile, "KLUIS_BASE_URL": "http://pods.example.org/"},
			wantErr: []string{"must be https when Kluis serves TLS itself"}},
		{name: "ACME with a non-https base URL",
			env:     map[string]string{"KLUIS_ACME": "true", "KLUIS_BASE_URL": "http://pods.example.org/"},
			wantErr: []string{"must be https when Kluis serves TLS itself"}},
		{name: "ACME for localhost",
			env:     map[string]string{"KLUIS_ACME": "true", "KLUIS_ADDR": ":443"},
			wantErr: []string{"public DNS names only"}},
		{name: "ACME for an IP address",
			env:     map[string]string{"KLUIS_ACME": "true", "KLUIS_BASE_URL": "https://192.0.2.10/"},
			wantErr: []string{"public DNS names only"}},
		{name: "ACME and certificate files",
			env: map[string]string{"KLUIS_ACME": "true", "KLUIS_TLS_CERT": certFile, "KLUIS_TLS_KEY": keyFile,
				"KLUIS_BASE_URL": "https://pods.example.org/"},
			wantErr: []string{"choose certificate files or ACME, not both"}},
		{name: "bad ACME e-mail and directory",
			env: map[string]string{"KLUIS_ACME": "true", "KLUIS_BASE_URL": "https://pods.example.org/",
				"KLUIS_ACME_EMAIL": "Admin <admin@example.org>", "KLUIS_ACME_DIRECTORY": "http://acme.example/dir"},
			wantErr: []string{"-acme-email ($KLUIS_ACME_EMAIL)", "-acme-directory ($KLUIS_ACME_DIRECTORY)"}},
		{name: "ACME e-mail without ACME",
			env:     map[string]string{"KLUIS_ACME_EMAIL": "admin@example.org"},
			wantErr: []string{"need -acme ($KLUIS_ACME)"}},
		{name: "a redirect listener without TLS",
			env:     map[string]string{"KLUIS_HTTP_ADDR": ":80"},
			wantErr: []string{"-http-addr ($KLUIS_HTTP_ADDR) redirects to HTTPS: it needs -tls-cert or -acme"}},
		{name: "the redirect listener on the main port",
			env: map[string]string{"KLUIS_TLS_CERT": certFile, "KLUIS_TLS_KEY": keyFile, "KLUIS_ADDR": ":8443",
				"KLUIS_HTTP_ADDR": "127.0.0.1:8443"},
			wantErr: []string{"-http-addr ($KLUIS_HTTP_ADDR) and -addr ($KLUIS_ADDR) must differ"}},
		{name: "metrics on the pods' port",
			env:     map[string]string{"KLUIS_METRICS_ADDR": ":3000"},
			wantErr: []string{"-metrics-addr ($KLUIS_METRICS_ADDR) needs a port of its own"}},
		{name: "metrics address without a port",
			env:     map[string]string{"KLUIS_METRICS_ADDR": "localhost"},
			wantErr: []string{`-metrics-addr ($KLUIS_METRICS_ADDR): "localhost" is not host:port`}},
		{name: "bad proxies",
			env:     map[string]string{"KLUIS_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"},
			wantErr: []string{`-trusted-proxies ($KLUIS_TRUSTED_PROXIES): "proxy.local" is not a CIDR range`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(nil, env(tc.env))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %v", c)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the problems lack %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestPodHostPolicy: in subdomain pod mode, ACME certificates are asked
// for the host names of registered pods only.
func TestPodHostPolicy(t *testing.T) {
	if podHostPolicy(false, "pods.example", nil) != nil {
		t.Fatal("a policy for pod hosts outside subdomain mode")
	}
	store := memory.New()
	if _, err := store.Put(context.Background(), "sys/pods/alice", strings.NewReader("{}"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	policy := podHostPolicy(true, "pods.example", store)
	for name, ok := range map[string]bool{
		"alice.pods.example": true, "ALICE.pods.example": true, "bob.pods.example": false,
		"alice.evil.example": false, "x.alice.pods.example": false, "pods.example": false,
	} {
		if err := policy(context.Background(), name); (err == nil) != ok {
			t.Errorf("%s: %v, want allowed=%v", name, err, ok)
		}
	}
}
