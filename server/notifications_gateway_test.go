package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/notify"
)

// firstSubjectGateway reads a discovery document as
// @inrupt/solid-client-notifications does: the gateway is taken from the
// first subject in the document.
func firstSubjectGateway(t *testing.T, doc, body string) string {
	t.Helper()
	g, err := rdfx.Parse(strings.NewReader(body), rdfx.Turtle, doc, rdfx.ParseOptions{})
	if err != nil {
		t.Fatalf("%s: %v\n%s", doc, err, body)
	}
	var first string
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(strings.ToLower(line), "@prefix") || strings.HasPrefix(strings.ToLower(line), "@base") {
			continue
		}
		first, _, _ = strings.Cut(line, " ")
		break
	}
	iri, ok := strings.CutPrefix(first, "<")
	iri, ok2 := strings.CutSuffix(iri, ">")
	if !ok || !ok2 {
		t.Fatalf("first subject %q is no IRI in\n%s", first, body)
	}
	base, _ := url.Parse(doc)
	ref, err := url.Parse(iri)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := g.Object(rdfx.IRI(base.ResolveReference(ref).String()), rdfx.IRI(notify.GatewayPredicate))
	if !ok {
		return ""
	}
	return o.Value()
}

// TestNotificationGateway walks the discovery and negotiation of
// @inrupt/solid-client-notifications' connect(): the gateway in
// /.well-known/solid, the protocol negotiation, the connection request as
// the subscriber, the WebSocket, a notification.
func TestNotificationGateway(t *testing.T) {
	ts := notifServer(t, nil)
	mustSend(t, ts, alice, "PUT", "/doc", "text/turtle", "<#a> <#b> 1.", http.StatusCreated)
	_, _, body := sendAs(t, ts.Server, alice, "GET", "/.well-known/solid", "", "")
	if got := firstSubjectGateway(t, "http://pod.example/.well-known/solid", body); got != "http://pod.example/.notifications/gateway" {
		t.Fatalf("gateway of the first subject = %q in\n%s", got, body)
	}

	st, _, b := sendAs(t, ts.Server, who{}, "POST", notify.GatewayPath, "application/json", `{"protocols":["ws"],"features":["state","ttl"]}`)
	var neg struct {
		Endpoint string
		Features []string
	}
	if st != 200 || json.Unmarshal([]byte(b), &neg) != nil || neg.Endpoint != "http://pod.example/.notifications/gateway/ws" ||
		len(neg.Features) != 1 || neg.Features[0] != "state" {
		t.Fatalf("negotiation: %d %s", st, b)
	}
	for _, tc := range []struct {
		name, path, ct, body string
		as                   who
		want                 int
	}{
		{"no ws", notify.GatewayPath, "application/json", `{"protocols":["sse"]}`, who{}, http.StatusUnprocessableEntity},
		{"not JSON", notify.GatewayPath, "application/json", `protocols`, who{}, http.StatusUnprocessableEntity},
		{"text", notify.GatewayPath, "text/plain", `{"protocols":["ws"]}`, who{}, http.StatusUnsupportedMediaType},
		{"anonymous", notify.GatewayWebSocketPath, "application/json", `{"topic":"http://pod.example/doc"}`, who{}, http.StatusUnauthorized},
		{"not allowed", notify.GatewayWebSocketPath, "application/json", `{"topic":"http://pod.example/doc"}`, bob, http.StatusForbidden},
		{"elsewhere", notify.GatewayWebSocketPath, "application/json", `{"topic":"https://other.example/doc"}`, alice, http.StatusUnprocessableEntity},
		{"no topic", notify.GatewayWebSocketPath, "application/json", `{}`, alice, http.StatusUnprocessableEntity},
	} {
		if st, _, b := sendAs(t, ts.Server, tc.as, "POST", tc.path, tc.ct, tc.body); st != tc.want {
			t.Errorf("%s: %d, want %d (%s)", tc.name, st, tc.want, b)
		}
	}

	st, _, b = sendAs(t, ts.Server, alice, "POST", notify.GatewayWebSocketPath, "application/json", `{"topic":"http://pod.example/doc","rate":"PT0S"}`)
	var conn struct {
		Endpoint    string
		Subprotocol *string
		ID          string
	}
	if st != 200 || json.Unmarshal([]byte(b), &conn) != nil || !strings.HasPrefix(conn.Endpoint, "ws://pod.example/.notifications/ws?auth=") ||
		conn.Subprotocol != nil || conn.ID == "" {
		t.Fatalf("connection: %d %s", st, b)
	}
	ws := dial(t, local(ts, conn.Endpoint), nil)
	mustSend(t, ts, alice, "PUT", "/doc", "text/turtle", "<#a> <#b> 2.", http.StatusNoContent)
	if a := next(t, ws); a.Type != "Update" || a.Object != "http://pod.example/doc" {
		t.Errorf("notification %+v", a)
	}
}

// TestNotificationGatewayOrigin: when pods live below the root, the
// origin's /.well-known/solid is a document of its own that names the
// gateway.
func TestNotificationGatewayOrigin(t *testing.T) {
	ts := notifServer(t, func(c *server.Config) { c.Pods = true })
	st, h, body := sendAs(t, ts.Server, who{}, "GET", "/.well-known/solid", "", "")
	if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/turtle") {
		t.Fatalf("GET /.well-known/solid: %d %s", st, body)
	}
	if got := firstSubjectGateway(t, "http://pod.example/.well-known/solid", body); got != "http://pod.example/.notifications/gateway" {
		t.Fatalf("gateway = %q in\n%s", got, body)
	}
}
