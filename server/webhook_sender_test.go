package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/webid"
	"github.com/weconomics/kluis/webid/account"
)

// TestWebhookSenderIdentity: webhook notifications come as the channel's
// sender (WebhookChannel2023 §3): each POST carries a DPoP-bound token of
// the server's own WebID, issued by its own identity provider, which the
// receiver verifies with Solid-OIDC like any agent's request.
func TestWebhookSenderIdentity(t *testing.T) {
	ss := newSelfServed(t)
	store, f, ts, base := ss.store, ss.fetch, ss.ts, ss.base
	open := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#all> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.`
	srv, err := server.New(context.Background(), server.Config{
		BaseURL: base, Fetcher: f, RootACL: []byte(open), Accounts: &account.Options{},
		Notifications: server.NotificationsConfig{InsecureHTTPWebhooks: true},
	}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ss.serve(t, srv)

	// The receiver checks each POST with Kluis's own resource-side
	// verifier, as another Solid server would.
	verifier, err := webid.NewVerifier(webid.Config{Fetch: f})
	if err != nil {
		t.Fatal(err)
	}
	who := make(chan string, 4)
	var hook string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := verifier.Verify(r.Context(), r.Method, hook, r.Header.Get("Authorization"), r.Header.Values("DPoP"))
		if err != nil {
			t.Errorf("the webhook request does not verify: %v", err)
			who <- ""
			return
		}
		who <- id.WebID
	}))
	t.Cleanup(receiver.Close)
	hook = receiver.URL + "/hook"

	do := func(method, path, ct, body string) (int, string) {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b := new(strings.Builder)
		_, _ = io_copy(b, res)
		return res.StatusCode, b.String()
	}
	if st, body := do("PUT", "/doc", "text/plain", "v1"); st != 201 {
		t.Fatalf("PUT: %d %s", st, body)
	}
	sub := `{"@context": ["https://www.w3.org/ns/solid/notification/v1"], "type": "WebhookChannel2023", "topic": "` +
		ts.URL + `/doc", "sendTo": "` + hook + `"}`
	st, body := do("POST", notify.ServicePath(notify.Webhook), "application/ld+json", sub)
	sender := ts.URL + "/.notifications/sender#it"
	if st != 200 || !strings.Contains(body, `"sender":"`+sender+`"`) {
		t.Fatalf("subscription: %d %s", st, body)
	}
	if st, doc := do("GET", "/.notifications/sender", "", ""); st != 200 || !strings.Contains(doc, "oidcIssuer <"+ts.URL+"/>") {
		t.Fatalf("the sender's WebID document: %d %s", st, doc)
	}
	if st, _ := do("PUT", "/doc", "text/plain", "v2"); st != 204 {
		t.Fatalf("PUT v2: %d", st)
	}
	select {
	case id := <-who:
		if id != sender {
			t.Fatalf("the webhook came as %q, want %q", id, sender)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook notification")
	}
}

// io_copy reads a response body into b.
func io_copy(b *strings.Builder, res *http.Response) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := res.Body.Read(buf)
		b.Write(buf[:k])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}
