package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/webid/webidtest"
)

// TestDPoPReplayTwoProcesses: two Kluis processes share one S3 bucket and
// one NATS subject. A DPoP proof accepted by process A is refused as a
// replay by process B (RFC 9449 §11.1), which still accepts fresh proofs.
func TestDPoPReplayTwoProcesses(t *testing.T) {
	env := append(s3TestEnv(t), natsTestEnv(t)...)
	env = append(env, "KLUIS_FETCH_ALLOW=127.0.0.0/8,::1/128")
	issuer := webidtest.NewIssuer(t)
	profile := webidtest.NewProfile(t, webidtest.ProfileOptions{Issuers: []string{issuer.URL}})
	client := webidtest.NewClient(t, "ES256")
	args := []string{"-addr", "127.0.0.1:0", "-base-url", "http://kluis.test/", "-log-level", "debug", "-storage", "s3"}
	a := startChild(t, env, true, args...)
	b := startChild(t, env, true, args...)

	send := func(through *child, method, body, proof, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, through.url+"shared/replay", strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "text/plain")
		}
		if proof != "" {
			req.Header.Set("Authorization", "DPoP "+token)
			req.Header.Set("DPoP", proof)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := send(a, "PUT", "hello", "", ""); res.StatusCode/100 != 2 {
		t.Fatalf("PUT: %d", res.StatusCode)
	}
	// The public URL, which both processes serve and proofs name.
	const target = "http://kluis.test/shared/replay"
	token := issuer.Token(webidtest.TokenOptions{WebID: profile.WebID, ClientID: "https://app.example/id",
		JKT: client.Thumbprint(), Expiry: time.Now().Add(time.Hour)})
	proof := client.Proof("GET", target, token)
	if res := send(a, "GET", "", proof, token); res.StatusCode != 200 {
		t.Fatalf("authenticated GET on A: %d\nA's log:\n%s", res.StatusCode, a.stderr)
	}
	// B hears of it over NATS.
	b.stderr.waitFor(t, regexp.MustCompile(`a proof used by another process is remembered`), b.exited)
	res := send(b, "GET", "", proof, token)
	if res.StatusCode != 401 || !strings.Contains(strings.Join(res.Header.Values("WWW-Authenticate"), " "), "already used") {
		t.Fatalf("the proof used on A, replayed on B: %d %q", res.StatusCode, res.Header.Values("WWW-Authenticate"))
	}
	if res := send(b, "GET", "", client.Proof("GET", target, token), token); res.StatusCode != 200 {
		t.Fatalf("a fresh proof on B: %d\nB's log:\n%s", res.StatusCode, b.stderr)
	}
}
