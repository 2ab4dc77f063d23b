package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Anonymous state (issue 13, #5 and #6): what anyone may make without an
// account, client registrations and notification channels, is bounded per
// client address, so that one client reaching its limits leaves others
// free. The second client is another loopback address (127.0.0.2).

// clientFrom is an HTTP client whose connections come from the loopback
// address local, one connection per request.
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: waitLimit}
	return &http.Client{Timeout: waitLimit, Transport: &http.Transport{
		DialContext:       d.DialContext,
		DisableKeepAlives: true,
	}}
}

// postFrom sends a POST with body from c and returns the status, the
// Retry-After header and how long the answer took.
func postFrom(t *testing.T, c *http.Client, url, contentType, body string) (int, string, time.Duration) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, res.Header.Get("Retry-After"), time.Since(start)
}

// TestHostileRegistrationsPerAddress: 1,000 anonymous 60 KB client
// registrations were all kept, forever. Now a registration is at most
// 8 KiB, and one address gets 429 once it has made its share, while
// another still registers.
func TestHostileRegistrationsPerAddress(t *testing.T) {
	for _, b := range hostileBackends() {
		t.Run(b.name, func(t *testing.T) {
			c := startHostile(t, b, nil)
			reg := c.url + ".oidc/reg"
			baseline := c.goroutines(t)
			t.Cleanup(func() { c.noGoroutinesLeft(t, baseline) }) // after the test's connections close
			attacker, other := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
			const meta = `{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none","client_name":"x"}`

			big := `{"redirect_uris":["https://app.example/cb"],"client_name":"` + strings.Repeat("x", 60<<10) + `"}`
			// The server answers 413 and closes without reading the rest:
			// the client may see the answer, or the reset of the connection
			// while it still sends.
			req, _ := http.NewRequest(http.MethodPost, reg, strings.NewReader(big))
			req.Header.Set("Content-Type", "application/json")
			if res, err := attacker.Do(req); err == nil {
				res.Body.Close()
				if res.StatusCode != http.StatusRequestEntityTooLarge {
					t.Fatalf("a 60 KB registration: %d, want 413", res.StatusCode)
				}
			} else if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("a 60 KB registration: %v, want 413 or a reset", err)
			}
			created := 0
			var status int
			var retry string
			for range 100 {
				var took time.Duration
				status, retry, took = postFrom(t, attacker, reg, "application/json", meta)
				if took > hostileAnswer {
					t.Errorf("a registration took %s", took)
				}
				if status != http.StatusCreated {
					break
				}
				created++
			}
			if status != http.StatusTooManyRequests || retry == "" {
				t.Fatalf("after %d registrations from one address: %d (Retry-After %q), want 429 with Retry-After", created, status, retry)
			}
			if created == 0 || created > 20 {
				t.Fatalf("%d registrations from one address before 429, want 1 to 20", created)
			}
			if status, _, _ := postFrom(t, other, reg, "application/json", meta); status != http.StatusCreated {
				t.Fatalf("a registration from another address: %d, want 201", status)
			}
		})
	}
}

// TestHostileWebhooksPerAddress: 101 anonymous webhook subscriptions on a
// quiet topic made every anonymous subscriber, from any address, get 429
// for up to 14 days. Now they count per client address: the attacker's
// are refused once it has its share, and another address subscribes.
func TestHostileWebhooksPerAddress(t *testing.T) {
	for _, b := range hostileBackends() {
		t.Run(b.name, func(t *testing.T) {
			c := startHostile(t, b, nil)
			signUp(t, c.url) // a pod whose profile anyone may read: the quiet topic
			baseline := c.goroutines(t)
			// Each accepted channel lives on, with a goroutine of its own
			// (bounded by the channel limits); none for a refused one.
			accepted := 0
			t.Cleanup(func() { c.noGoroutinesLeft(t, baseline+accepted) }) // after the test's connections close
			service := c.url + ".notifications/WebhookChannel2023/"
			// The sendTo is never called: nothing changes on the topic,
			// and the guarded fetcher refuses loopback addresses anyway.
			body := `{"@context":["https://www.w3.org/ns/solid/notification/v1"],"type":"WebhookChannel2023",` +
				`"topic":"` + c.url + `alice/profile/card","sendTo":"https://127.0.0.1:9/hook"}`
			attacker, other := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
			counts := map[int]int{}
			for range 101 {
				status, _, _ := postFrom(t, attacker, service, "application/ld+json", body)
				counts[status]++
			}
			if counts[http.StatusOK] == 0 || counts[http.StatusTooManyRequests] == 0 || counts[http.StatusOK]+counts[http.StatusTooManyRequests] != 101 {
				t.Fatalf("101 anonymous subscriptions from one address: %v, want some 200 then 429", counts)
			}
			accepted = counts[http.StatusOK]
			for i := range 3 {
				if status, _, _ := postFrom(t, other, service, "application/ld+json", body); status != http.StatusOK {
					t.Fatalf("subscription %d from another address: %d, want 200", i, status)
				}
				accepted++
			}
		})
	}
}
