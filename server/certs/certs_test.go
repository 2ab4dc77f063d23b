package certs_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server/certs"
)

// writePair writes a fresh self-signed certificate for 127.0.0.1 and
// localhost, named cn, and its key as PEM files in dir.
func writePair(t *testing.T, dir, cn string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
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
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// served is the common name of the certificate the server at addr shows;
// pool holds every certificate it may show.
func served(t *testing.T, addr string, pool *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// serveTLS serves h over TLS with config on a loopback port and returns
// its address.
func serveTLS(t *testing.T, config *tls.Config, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: config, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestFilesServeAndReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, first := writePair(t, dir, "first")
	f, err := certs.LoadFiles(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, f.TLSConfig(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("over TLS"))
	}))

	// A client that trusts the self-signed certificate verifies it.
	pool := x509.NewCertPool()
	pool.AddCert(first)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.TLS == nil || res.StatusCode != 200 || string(body) != "over TLS" {
		t.Fatalf("status %d, TLS %v, body %q", res.StatusCode, res.TLS != nil, body)
	}

	// A renewal: new files, picked up at the next handshake.
	_, _, second := writePair(t, dir, "second")
	pool.AddCert(second)
	later := time.Now().Add(time.Minute)
	for _, name := range []string{certFile, keyFile} {
		if err := os.Chtimes(name, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if got := served(t, addr, pool); got != "second" {
		t.Errorf("after the renewal the server shows %q, want second", got)
	}

	// A broken renewal keeps the last good pair.
	if err := os.WriteFile(keyFile, []byte("half a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := served(t, addr, pool); got != "second" {
		t.Errorf("after a broken renewal the server shows %q, want second", got)
	}
}

func TestLoadFilesRefusesBadPairs(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := writePair(t, dir, "a")
	other := t.TempDir()
	_, otherKey, _ := writePair(t, other, "b")
	if _, err := certs.LoadFiles(certFile, otherKey, nil); err == nil {
		t.Error("a key of another certificate was accepted")
	}
	if _, err := certs.LoadFiles(certFile, filepath.Join(dir, "missing.pem"), nil); err == nil {
		t.Error("a missing key was accepted")
	}
}

// TestHostPolicy: certificates for the base URL's host only, and for
// subdomains only through the hook. No ACME server is contacted.
func TestHostPolicy(t *testing.T) {
	pods := func(_ context.Context, host string) error {
		if host == "alice.pods.example" {
			return nil
		}
		return os.ErrNotExist
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		subdomains func(context.Context, string) error
		host       string
		ok         bool
	}{
		{"the host", nil, "pods.example", true},
		{"any case, final dot", nil, "PODS.Example.", true},
		{"another host", nil, "evil.example", false},
		{"a suffix that is no subdomain", nil, "xpods.example", false},
		{"a subdomain without the hook", nil, "alice.pods.example", false},
		{"a pod subdomain", pods, "alice.pods.example", true},
		{"an unknown subdomain", pods, "bob.pods.example", false},
		{"the hook sees no other names", pods, "alice.evil.example", false},
		{"an IP address", nil, "127.0.0.1", false},
	} {
		policy := certs.HostPolicy("pods.example", tc.subdomains)
		if err := policy(ctx, tc.host); (err == nil) != tc.ok {
			t.Errorf("%s: policy(%q) = %v, want ok %v", tc.name, tc.host, err, tc.ok)
		}
	}
}

func TestNewACME(t *testing.T) {
	if _, err := certs.NewACME(certs.ACMEConfig{CacheDir: t.TempDir()}); err == nil {
		t.Error("no host accepted")
	}
	if _, err := certs.NewACME(certs.ACMEConfig{Host: "pods.example"}); err == nil {
		t.Error("no cache folder accepted")
	}
	a, err := certs.NewACME(certs.ACMEConfig{Host: "pods.example", CacheDir: t.TempDir(),
		DirectoryURL: "https://acme.invalid/directory"})
	if err != nil {
		t.Fatal(err)
	}
	c := a.TLSConfig()
	if c.GetCertificate == nil || c.MinVersion != tls.VersionTLS12 || !strings.Contains(strings.Join(c.NextProtos, ","), "acme-tls/1") {
		t.Errorf("TLS config: %+v", c)
	}
	// A handshake for a refused name fails at the policy, before any
	// authority is asked.
	if _, err := c.GetCertificate(&tls.ClientHelloInfo{ServerName: "evil.example"}); err == nil ||
		!strings.Contains(err.Error(), "evil.example") {
		t.Errorf("certificate for another host: %v", err)
	}

	// Plain HTTP: challenges are answered by autocert, the rest redirected.
	base, _ := url.Parse("https://pods.example/")
	h := a.HTTPHandler(certs.Redirect(base))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "http://pods.example/alice/notes/?x=1", nil))
	if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "https://pods.example/alice/notes/?x=1" {
		t.Errorf("redirect: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://pods.example/.well-known/acme-challenge/unknown-token", nil))
	if rec.Code == http.StatusPermanentRedirect {
		t.Error("an ACME challenge was redirected")
	}
}

func TestRedirectIgnoresHostHeader(t *testing.T) {
	base, _ := url.Parse("https://pods.example:8443/")
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://evil.example/a%20b/c?d=e", nil)
	certs.Redirect(base).ServeHTTP(rec, req)
	if got := rec.Header().Get("Location"); got != "https://pods.example:8443/a%20b/c?d=e" {
		t.Errorf("Location = %q", got)
	}
}
