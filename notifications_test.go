package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// natsTestEnv returns the environment of a child process using the NATS
// server that .ci/test started, with a fresh subject prefix; it skips
// without one, except in CI.
func natsTestEnv(t *testing.T) []string {
	t.Helper()
	if os.Getenv("KLUIS_NATS_URL") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but KLUIS_NATS_URL is not set: the NATS tests must run in CI")
		}
		t.Skip("KLUIS_NATS_URL is not set; run bash .ci/test for the NATS tests")
	}
	return []string{"KLUIS_NATS_PREFIX=kluistest." + strings.ToLower(rand.Text()[:12])}
}

// TestNotificationsTwoProcesses: two Kluis processes share one S3 bucket
// and one NATS subject. A subscriber of process A over
// WebSocketChannel2023 hears of a write made through process B, once.
func TestNotificationsTwoProcesses(t *testing.T) {
	env := append(s3TestEnv(t), natsTestEnv(t)...)
	args := []string{"-addr", "127.0.0.1:0", "-base-url", "http://kluis.test/", "-log-level", "warn", "-storage", "s3"}
	a := startChild(t, env, true, args...)
	b := startChild(t, env, true, args...)
	const topic = "http://kluis.test/shared/doc"
	put := func(through *child, body string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", through.url+"shared/doc", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/turtle")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("PUT: %d", res.StatusCode)
		}
	}
	put(b, `<#it> <http://example.org/ns#n> 1.`)

	// Anonymous subscription on A: the open root ACL lets everyone read.
	sub := `{"@context": ["https://www.w3.org/ns/solid/notification/v1"], "type": "WebSocketChannel2023", "topic": "` + topic + `"}`
	res, err := http.Post(a.url+".notifications/WebSocketChannel2023/", "application/ld+json", strings.NewReader(sub))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var ch struct{ ReceiveFrom string }
	if res.StatusCode != 200 || json.Unmarshal(body, &ch) != nil || !strings.HasPrefix(ch.ReceiveFrom, "ws://kluis.test/") {
		t.Fatalf("subscribing on A: %d %s", res.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(ch.ReceiveFrom, "ws://kluis.test/", "ws://"+strings.TrimPrefix(a.url, "http://"), 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	read := func(what string) (n struct{ ID, Type, Object, State string }) {
		t.Helper()
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("no notification on A of %s: %v\nA's log:\n%s\nB's log:\n%s", what, err, a.stderr, b.stderr)
		}
		if err := json.Unmarshal(msg, &n); err != nil || n.Type != "Update" || n.Object != topic || n.State == "" {
			t.Fatalf("notification of %s: %s", what, msg)
		}
		return n
	}
	put(b, `<#it> <http://example.org/ns#n> 2.`)
	fromB := read("the write through B")
	// A write through A itself: A's subscriber hears of it once, not a
	// second time when NATS carries it back; so the next notification is
	// of the next write, through B again.
	put(a, `<#it> <http://example.org/ns#n> 3.`)
	fromA := read("its own write")
	put(b, `<#it> <http://example.org/ns#n> 4.`)
	again := read("the second write through B")
	if fromB.State == fromA.State || fromA.State == again.State || fromA.ID == again.ID {
		t.Fatalf("notifications %+v, %+v, %+v: one write was told twice", fromB, fromA, again)
	}
}

// TestNATSConfig: -nats-url takes nats:// and tls:// URLs (a list for a
// cluster) and never shows them; -nats-prefix must make a NATS subject.
func TestNATSConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{name: "unset"},
		{name: "nats", env: map[string]string{"KLUIS_NATS_URL": "nats://127.0.0.1:4222"}},
		{name: "tls with credentials", args: []string{"-nats-url", "tls://kluis:s3cret@nats.example:4222"}},
		{name: "cluster", env: map[string]string{"KLUIS_NATS_URL": "nats://a:4222, nats://b:4222"}},
		{name: "http", env: map[string]string{"KLUIS_NATS_URL": "http://kluis:s3cret@nats.example:4222"}, wantErr: "-nats-url ($KLUIS_NATS_URL): URL 1 is not a nats:// or tls:// URL"},
		{name: "no host", args: []string{"-nats-url", "nats://a:1,nats://"}, wantErr: "URL 2 has no host"},
		{name: "path", args: []string{"-nats-url", "nats://h:1/x"}, wantErr: "no path or query"},
		{name: "bad prefix", args: []string{"-nats-url", "nats://h:1", "-nats-prefix", "kluis.>"}, wantErr: "-nats-prefix ($KLUIS_NATS_PREFIX)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(append([]string{"-data", t.TempDir()}, tc.args...), env(tc.env))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the credentials: %v", err)
			}
			if s := cfg.String(); strings.Contains(s, "s3cret") {
				t.Errorf("the settings show the credentials: %s", s)
			}
			if tc.wantErr == "" && cfg.NATS.Prefix != "kluis" {
				t.Errorf("prefix = %q, want kluis", cfg.NATS.Prefix)
			}
		})
	}
}
