package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/webidtest"
)

// notifACL gives Alice every mode on everything, everyone Read on
// /public/, and Bob Read on /shared/.
const notifACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>;
  acl:accessTo </>; acl:default </>; acl:mode acl:Read, acl:Write, acl:Control.
`

const publicACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.
`

const sharedACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#bob> a acl:Authorization; acl:agent <` + bobID + `>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.
`

const ownerOnlyACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>;
  acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
`

var (
	alice = who{aliceID, "https://app.example/id", "https://idp.example/"}
	bob   = who{bobID, "https://app.example/id", "https://idp.example/"}
)

// notifServer starts a server with Web Access Control and test agents
// over a filesystem backend whose root ACL gives Alice everything;
// mutate changes only what a test needs.
func notifServer(t *testing.T, mutate func(*server.Config)) *testServer {
	t.Helper()
	store, err := filesystem.New(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Put(context.Background(), "r/.acl", strings.NewReader(notifACL), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, store, func(cfg *server.Config) {
		cfg.Authenticator = testAgents{}
		cfg.Permissions = nil
		if mutate != nil {
			mutate(cfg)
		}
	})
}

// mustSend sends a request as an agent and fails unless the status is want.
func mustSend(t *testing.T, ts *testServer, as who, method, path, ct, body string, want int) http.Header {
	t.Helper()
	st, h, b := sendAs(t, ts.Server, as, method, path, ct, body)
	if st != want {
		t.Fatalf("%s %s: %d, want %d (%s)", method, path, st, want, strings.TrimSpace(b))
	}
	return h
}

// subscribe posts a subscription request to the service of typ.
func subscribe(t *testing.T, ts *testServer, as who, typ notify.ChannelType, body string) (int, map[string]any) {
	t.Helper()
	st, _, b := sendAs(t, ts.Server, as, "POST", notify.ServicePath(typ), "application/ld+json", body)
	var d map[string]any
	if st == http.StatusOK {
		if err := json.Unmarshal([]byte(b), &d); err != nil {
			t.Fatalf("subscription response %q: %v", b, err)
		}
	} else {
		d = map[string]any{"error": b}
	}
	return st, d
}

func wsRequest(typ notify.ChannelType, topic string, extra string) string {
	return `{"@context": ["https://www.w3.org/ns/solid/notification/v1"], "type": "` + string(typ) +
		`", "topic": "` + testBaseURL + strings.TrimPrefix(topic, "/") + `"` + extra + `}`
}

// local turns a public URL of the test server into one that reaches it.
func local(ts *testServer, u string) string {
	host := strings.TrimPrefix(ts.URL, "http://")
	u = strings.Replace(u, "ws://pod.example/", "ws://"+host+"/", 1)
	return strings.Replace(u, "http://pod.example/", "http://"+host+"/", 1)
}

// dialChannel subscribes as an agent and opens the channel's receiveFrom.
func dialChannel(t *testing.T, ts *testServer, as who, topic, extra string) *websocket.Conn {
	t.Helper()
	st, d := subscribe(t, ts, as, notify.WebSocket, wsRequest(notify.WebSocket, topic, extra))
	if st != http.StatusOK {
		t.Fatalf("subscribe to %s: %d %v", topic, st, d)
	}
	from, _ := d["receiveFrom"].(string)
	if !strings.HasPrefix(from, "ws://pod.example/.notifications/ws?auth=") || len(from) < 60 {
		t.Fatalf("receiveFrom = %q", from)
	}
	return dial(t, local(ts, from), nil)
}

func dial(t *testing.T, u string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// activity is the part of a notification the tests check.
type activity struct {
	Context   []string `json:"@context"`
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Object    string   `json:"object"`
	Target    string   `json:"target"`
	State     string   `json:"state"`
	Published string   `json:"published"`
}

// next reads the next message, failing after 5 seconds.
func next(t *testing.T, conn *websocket.Conn) activity {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("reading a notification: %v", err)
	}
	var a activity
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatalf("notification %q: %v", data, err)
	}
	if !strings.HasPrefix(a.ID, "urn:uuid:") || a.Published == "" || len(a.Context) != 2 {
		t.Errorf("notification lacks id, published or @context: %s", data)
	}
	return a
}

func TestNotificationsDiscovery(t *testing.T) {
	ts := notifServer(t, nil)
	_, _, body := sendAs(t, ts.Server, alice, "GET", "/.well-known/solid", "", "")
	for _, want := range []string{
		"<> notify:subscription <http://pod.example/.notifications/StreamingHTTPChannel2023/>, <http://pod.example/.notifications/WebSocketChannel2023/>, <http://pod.example/.notifications/WebhookChannel2023/> .",
		"<http://pod.example/.notifications/WebSocketChannel2023/> notify:channelType notify:WebSocketChannel2023",
		"notify:feature notify:accept, notify:endAt, notify:rate, notify:startAt, notify:state",
		"<http://pod.example/.notifications/WebhookChannel2023/> notify:channelType notify:WebhookChannel2023",
		"<http://pod.example/.notifications/StreamingHTTPChannel2023/> notify:channelType notify:StreamingHTTPChannel2023",
	} {
		if !strings.Contains(strings.Join(strings.Fields(body), " "), want) {
			t.Errorf("storage description lacks %q:\n%s", want, body)
		}
	}
	req, _ := http.NewRequest("GET", ts.URL+"/.well-known/solid", nil)
	req.Header.Set("Accept", "application/ld+json")
	req.Header.Set("Authorization", alice.header())
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(data), "http://www.w3.org/ns/solid/notifications#WebSocketChannel2023") {
		t.Errorf("JSON-LD storage description: %d %s", res.StatusCode, data)
	}
	res, body = do(t, ts, "GET", notify.ServicePath(notify.WebSocket), nil, map[string]string{"Accept": "application/ld+json"})
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/ld+json" ||
		!strings.Contains(body, `"channelType":"WebSocketChannel2023"`) || !strings.Contains(body, `"state"`) {
		t.Errorf("subscription service: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	for _, m := range []string{"HEAD", "OPTIONS"} {
		if res, _ := do(t, ts, m, notify.ServicePath(notify.WebSocket), nil, nil); res.StatusCode >= 300 || !strings.Contains(res.Header.Get("Allow"), "POST") {
			t.Errorf("%s on the subscription service: %d, Allow %q", m, res.StatusCode, res.Header.Get("Allow"))
		}
	}
	if res, _ := do(t, ts, "GET", "/.notifications/nothing", nil, nil); res.StatusCode != 404 {
		t.Errorf("GET /.notifications/nothing: %d", res.StatusCode)
	}
	mustSend(t, ts, alice, "PUT", "/doc", "text/turtle", "<#a> <#b> <#c>.", 201)
	// Alice's answer names it with her ticket (TestNotificationsLegacyTicket).
	if h := mustSend(t, ts, alice, "GET", "/doc", "", "", 200); !strings.HasPrefix(h.Get("Updates-Via"), "ws://pod.example/.notifications/legacy?ticket=") {
		t.Errorf("Updates-Via = %q", h.Get("Updates-Via"))
	}
	off := notifServer(t, func(c *server.Config) { c.Notifications.Off = true })
	mustSend(t, off, alice, "PUT", "/doc", "text/turtle", "<#a> <#b> <#c>.", 201)
	if h := mustSend(t, off, alice, "GET", "/doc", "", "", 200); h.Get("Updates-Via") != "" {
		t.Errorf("Updates-Via with notifications off = %q", h.Get("Updates-Via"))
	}
}

// TestNotificationsWebSocket: a subscriber of a resource and one of its
// container hear of every write through HTTP (Solid Notifications
// Protocol §3.4): Create, Update and Delete on the resource, Add and
// Remove on the container, each with the new state where there is one.
func TestNotificationsWebSocket(t *testing.T) {
	ts := notifServer(t, nil)
	mustSend(t, ts, alice, "PUT", "/c/doc", "text/turtle", "<#a> <#b> <#c>.", 201)
	doc := dialChannel(t, ts, alice, "/c/doc", "")
	dir := dialChannel(t, ts, alice, "/c/", "")
	res := testBaseURL + "c/doc"
	steps := []struct {
		name             string
		method, path     string
		ct, body         string
		status           int
		docWant, dirWant string // activity types, "" for none
	}{
		{"PUT replaces", "PUT", "/c/doc", "text/turtle", "<#a> <#b> <#d>.", 204, "Update", ""},
		{"PATCH updates", "PATCH", "/c/doc", "application/sparql-update", "INSERT DATA { <#x> <#y> <#z> }", 204, "Update", ""},
		{"DELETE removes", "DELETE", "/c/doc", "", "", 204, "Delete", "Remove"},
		{"PUT creates", "PUT", "/c/doc", "text/plain", "hello", 201, "Create", "Add"},
	}
	for _, s := range steps {
		h := mustSend(t, ts, alice, s.method, s.path, s.ct, s.body, s.status)
		if s.docWant != "" {
			a := next(t, doc)
			if a.Type != s.docWant || a.Object != res {
				t.Errorf("%s: resource channel heard %+v, want %s of %s", s.name, a, s.docWant, res)
			}
			if etag := strings.Trim(h.Get("ETag"), `"`); etag != "" && a.State != etag {
				t.Errorf("%s: state %q, ETag %q", s.name, a.State, etag)
			}
		}
		if s.dirWant != "" {
			a := next(t, dir)
			if a.Type != s.dirWant || a.Object != res || a.Target != testBaseURL+"c/" {
				t.Errorf("%s: container channel heard %+v, want %s of %s", s.name, a, s.dirWant, res)
			}
		}
	}
	// POST to the container: an Add with the new resource's IRI.
	h := mustSend(t, ts, alice, "POST", "/c/", "text/plain", "posted", 201)
	if a := next(t, dir); a.Type != "Add" || a.Object != h.Get("Location") {
		t.Errorf("POST: container channel heard %+v, want Add of %s", a, h.Get("Location"))
	}
	// PUT below creates intermediate containers: each is an Add.
	mustSend(t, ts, alice, "PUT", "/c/sub/deep", "text/plain", "x", 201)
	if a := next(t, dir); a.Type != "Add" || a.Object != testBaseURL+"c/sub/" {
		t.Errorf("intermediate container: %+v", a)
	}
	// The same receiveFrom cannot be opened twice; an unknown token is 404.
	if res, _ := do(t, ts, "GET", "/.notifications/ws?auth=nothing", nil, nil); res.StatusCode != 404 {
		t.Errorf("unknown token: %d", res.StatusCode)
	}
}

// TestNotificationsFeatures: state sends the current state at once when
// the subscriber's is stale; endAt in the past is refused.
func TestNotificationsFeatures(t *testing.T) {
	ts := notifServer(t, nil)
	h := mustSend(t, ts, alice, "PUT", "/doc", "text/plain", "one", 201)
	conn := dialChannel(t, ts, alice, "/doc", `, "state": "stale", "rate": "PT0S"`)
	if a := next(t, conn); a.Type != "Update" || a.State != strings.Trim(h.Get("ETag"), `"`) {
		t.Errorf("stale state: %+v, want Update with %s", a, h.Get("ETag"))
	}
	st, d := subscribe(t, ts, alice, notify.WebSocket, wsRequest(notify.WebSocket, "/doc", `, "endAt": "2001-01-01T00:00:00Z"`))
	if st != 422 {
		t.Errorf("endAt in the past: %d %v", st, d)
	}
	st, d = subscribe(t, ts, alice, notify.WebSocket, wsRequest(notify.WebSocket, "/doc", `, "endAt": "2999-01-01T00:00:00Z", "rate": "PT10S", "accept": "application/ld+json"`))
	if st != 200 || d["rate"] != "PT10S" || d["accept"] != "application/ld+json" || !strings.HasPrefix(d["endAt"].(string), "20") {
		t.Errorf("features in the description: %d %v", st, d)
	}
}

// TestNotificationsSubscriptionRefused: a subscription needs Read on the
// topic, a JSON-LD body with a known context and channel type, and a topic
// on this server.
func TestNotificationsSubscriptionRefused(t *testing.T) {
	ts := notifServer(t, nil)
	mustSend(t, ts, alice, "PUT", "/private/doc", "text/plain", "secret", 201)
	good := wsRequest(notify.WebSocket, "/private/doc", "")
	tests := []struct {
		name    string
		as      who
		service notify.ChannelType
		ct      string
		body    string
		want    int
	}{
		{"the owner", alice, notify.WebSocket, "application/ld+json", good, 200},
		{"the type as a full IRI", alice, notify.WebSocket, "application/ld+json", strings.Replace(good, `"WebSocketChannel2023"`, `"http://www.w3.org/ns/solid/notifications#WebSocketChannel2023"`, 1), 200},
		{"anonymous", who{}, notify.WebSocket, "application/ld+json", good, 401},
		{"another agent", bob, notify.WebSocket, "application/ld+json", good, 403},
		{"not JSON-LD", alice, notify.WebSocket, "text/turtle", good, 415},
		{"an unknown profile", alice, notify.WebSocket, `application/ld+json; profile="https://example.org/ctx"`, good, 415},
		{"an unknown context", alice, notify.WebSocket, "application/ld+json", strings.Replace(good, "https://www.w3.org/ns/solid/notification/v1", "https://evil.example/ctx", 1), 422},
		{"an unknown type", alice, notify.WebSocket, "application/ld+json", strings.Replace(good, "WebSocketChannel2023", "PigeonChannel", 1), 422},
		{"another service's type", alice, notify.StreamingHTTP, "application/ld+json", good, 422},
		{"a topic elsewhere", alice, notify.WebSocket, "application/ld+json", `{"type": "WebSocketChannel2023", "topic": "https://elsewhere.example/doc"}`, 422},
		{"no topic", alice, notify.WebSocket, "application/ld+json", `{"type": "WebSocketChannel2023"}`, 422},
		{"not JSON", alice, notify.WebSocket, "application/ld+json", `{"type": `, 422},
		{"a webhook to http", alice, notify.Webhook, "application/ld+json", wsRequest(notify.Webhook, "/private/doc", `, "sendTo": "http://hooks.example/x"`), 422},
		{"a webhook without sendTo", alice, notify.Webhook, "application/ld+json", wsRequest(notify.Webhook, "/private/doc", ""), 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := sendAs(t, ts.Server, tc.as, "POST", notify.ServicePath(tc.service), tc.ct, tc.body)
			if st != tc.want {
				t.Errorf("status %d, want %d (%s)", st, tc.want, strings.TrimSpace(body))
			}
		})
	}
}

// TestNotificationsReadWithdrawn: a channel asks for Read before every
// notification, so it stops delivering, and closes, once the ACL
// withdraws it, and never tells of a write the subscriber may not see.
func TestNotificationsReadWithdrawn(t *testing.T) {
	ts := notifServer(t, nil)
	mustSend(t, ts, alice, "PUT", "/shared/doc", "text/plain", "v1", 201)
	mustSend(t, ts, alice, "PUT", "/shared/.acl", "text/turtle", sharedACL, 201)
	conn := dialChannel(t, ts, bob, "/shared/doc", "")
	mustSend(t, ts, alice, "PUT", "/shared/doc", "text/plain", "v2", 204)
	if a := next(t, conn); a.Type != "Update" {
		t.Fatalf("Bob heard %+v, want an Update", a)
	}
	// Alice withdraws Bob's Read; the next write is not told.
	mustSend(t, ts, alice, "PUT", "/shared/.acl", "text/turtle", ownerOnlyACL, 204)
	mustSend(t, ts, alice, "PUT", "/shared/doc", "text/plain", "v3 secret", 204)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := conn.Read(ctx)
	if err == nil {
		t.Fatalf("Bob heard %s after losing Read", data)
	}
	if st := websocket.CloseStatus(err); st != websocket.StatusPolicyViolation {
		t.Errorf("close status %v (%v), want policy violation", st, err)
	}
}

// TestNotificationsLegacy: the solid-0.1 protocol of SolidOS tells, with
// no authentication, of changes to what everyone may read, and of
// nothing else.
func TestNotificationsLegacy(t *testing.T) {
	ts := notifServer(t, nil)
	mustSend(t, ts, alice, "PUT", "/public/doc", "text/plain", "v1", 201)
	mustSend(t, ts, alice, "PUT", "/public/.acl", "text/turtle", publicACL, 201)
	mustSend(t, ts, alice, "PUT", "/private/doc", "text/plain", "v1", 201)
	conn := dial(t, "ws://"+strings.TrimPrefix(ts.URL, "http://")+"/.notifications/legacy", &websocket.DialOptions{Subprotocols: []string{"solid-0.1"}})
	if conn.Subprotocol() != "solid-0.1" {
		t.Errorf("subprotocol %q", conn.Subprotocol())
	}
	read := legacySub(t, conn, "private/doc", "public/doc", "public/")
	// A private change is not told; the public ones after it are, for the
	// resource and for its container.
	mustSend(t, ts, alice, "PUT", "/private/doc", "text/plain", "v2", 204)
	mustSend(t, ts, alice, "PUT", "/public/doc", "text/plain", "v2", 204)
	if got := read(); got != "pub "+testBaseURL+"public/doc" {
		t.Errorf("after the public update: %q", got)
	}
	mustSend(t, ts, alice, "PUT", "/public/new", "text/plain", "x", 201)
	if got := read(); got != "pub "+testBaseURL+"public/" {
		t.Errorf("after a creation in the container: %q", got)
	}
}

// legacySub subscribes a legacy connection to paths below the test base
// URL, checking each ack, and returns a reader of its next message (5 s at
// most, from now).
func legacySub(t *testing.T, conn *websocket.Conn, paths ...string) func() string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	read := func() string {
		t.Helper()
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("legacy read: %v", err)
		}
		return string(data)
	}
	for _, u := range paths {
		if err := conn.Write(ctx, websocket.MessageText, []byte("sub "+testBaseURL+u)); err != nil {
			t.Fatal(err)
		}
		if got := read(); got != "ack "+testBaseURL+u {
			t.Fatalf("sub %s: %q", u, got)
		}
	}
	return read
}

// TestNotificationsLegacyTicket: the Updates-Via of an answer to an
// authenticated GET carries a ticket, with which the legacy WebSocket
// tells of changes to what that agent may read (private ones too), from
// the connection's origin; without it, or with a forged or altered one,
// only public changes are told.
func TestNotificationsLegacyTicket(t *testing.T) {
	ts := notifServer(t, nil)
	mustSend(t, ts, alice, "PUT", "/private/doc", "text/plain", "v1", 201)
	mustSend(t, ts, alice, "PUT", "/public/doc", "text/plain", "v1", 201)
	mustSend(t, ts, alice, "PUT", "/public/.acl", "text/turtle", publicACL, 201)

	h := mustSend(t, ts, alice, "GET", "/private/doc", "", "", 200)
	via := h.Get("Updates-Via")
	base := "ws://pod.example/.notifications/legacy"
	if !strings.HasPrefix(via, base+"?ticket=") || len(via) < len(base)+60 {
		t.Fatalf("Updates-Via of an authenticated GET = %q, want the legacy URL with a ticket", via)
	}
	if again := mustSend(t, ts, alice, "GET", "/private/doc", "", "", 200).Get("Updates-Via"); again != via {
		t.Errorf("a second GET names another URL: %q, then %q (tickets stay the same within the hour)", via, again)
	}
	if anon := mustSend(t, ts, who{}, "GET", "/public/doc", "", "", 200).Get("Updates-Via"); anon != base {
		t.Errorf("Updates-Via of an anonymous GET = %q, want %q", anon, base)
	}
	ticket := strings.TrimPrefix(via, base+"?ticket=")
	altered := []byte(ticket)
	altered[10] ^= 1
	wsURL := "ws://" + strings.TrimPrefix(ts.URL, "http://") + "/.notifications/legacy"

	for _, c := range []struct {
		name, query string
		private     bool
	}{
		{"with alice's ticket", "?ticket=" + ticket, true},
		{"without a ticket", "", false},
		{"with an altered ticket", "?ticket=" + string(altered), false},
		{"with a forged ticket", "?ticket=eyJ3IjoiaHR0cHM6Ly9hbGljZS5leGFtcGxlL3Byb2ZpbGUvY2FyZCNtZSIsImUiOjQxMDI0NDQ4MDB9.AAAA", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := dial(t, wsURL+c.query, &websocket.DialOptions{Subprotocols: []string{"solid-0.1"}})
			read := legacySub(t, conn, "private/doc", "public/doc")
			mustSend(t, ts, alice, "PUT", "/private/doc", "text/plain", "v-"+c.name, 204)
			mustSend(t, ts, alice, "PUT", "/public/doc", "text/plain", "v-"+c.name, 204)
			first := read()
			if c.private && first != "pub "+testBaseURL+"private/doc" {
				t.Errorf("first message %q, want the private change", first)
			}
			if !c.private && first != "pub "+testBaseURL+"public/doc" {
				t.Errorf("first message %q, want only the public change", first)
			}
		})
	}
}

// TestNotificationsLimits: channels per agent and per server are capped
// (429).
func TestNotificationsLimits(t *testing.T) {
	ts := notifServer(t, func(c *server.Config) {
		c.Notifications.Limits = notify.Limits{MaxChannelsPerAgent: 2, MaxChannels: 3}
	})
	mustSend(t, ts, alice, "PUT", "/shared/doc", "text/plain", "v1", 201)
	mustSend(t, ts, alice, "PUT", "/shared/.acl", "text/turtle", sharedACL, 201)
	req := wsRequest(notify.WebSocket, "/shared/doc", "")
	for i, want := range []int{200, 200, 429} {
		if st, d := subscribe(t, ts, alice, notify.WebSocket, req); st != want {
			t.Errorf("Alice's subscription %d: %d %v, want %d", i+1, st, d, want)
		}
	}
	for i, want := range []int{200, 429} {
		if st, d := subscribe(t, ts, bob, notify.WebSocket, req); st != want {
			t.Errorf("Bob's subscription %d: %d %v, want %d (server cap)", i+1, st, d, want)
		}
	}
}

// webhookReceiver is a webhook endpoint on loopback that hands on what
// it receives.
func webhookReceiver(t *testing.T) (string, <-chan activity) {
	t.Helper()
	got := make(chan activity, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a activity
		data, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/ld+json" || json.Unmarshal(data, &a) != nil {
			t.Errorf("webhook got %s %q", r.Header.Get("Content-Type"), data)
		}
		got <- a
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook", got
}

// TestNotificationsWebhook: a webhook channel posts each notification to
// sendTo through the safe fetcher, and DELETE of the channel unsubscribes.
func TestNotificationsWebhook(t *testing.T) {
	fetcher, err := fetch.New(fetch.Config{Allow: webidtest.Loopback()})
	if err != nil {
		t.Fatal(err)
	}
	ts := notifServer(t, func(c *server.Config) {
		c.Fetcher = fetcher
		c.Notifications.InsecureHTTPWebhooks = true
	})
	sendTo, got := webhookReceiver(t)
	mustSend(t, ts, alice, "PUT", "/doc", "text/plain", "v1", 201)
	st, d := subscribe(t, ts, alice, notify.Webhook, wsRequest(notify.Webhook, "/doc", `, "sendTo": "`+sendTo+`"`))
	if st != 200 || d["sendTo"] != sendTo || d["sender"] == nil || d["id"] == nil {
		t.Fatalf("webhook subscription: %d %v", st, d)
	}
	mustSend(t, ts, alice, "PUT", "/doc", "text/plain", "v2", 204)
	select {
	case a := <-got:
		if a.Type != "Update" || a.Object != testBaseURL+"doc" {
			t.Errorf("webhook got %+v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook notification")
	}
	id := strings.TrimPrefix(d["id"].(string), "http://pod.example")
	mustSend(t, ts, bob, "DELETE", id, "", "", 404) // only its subscriber
	mustSend(t, ts, alice, "DELETE", id, "", "", 204)
	mustSend(t, ts, alice, "DELETE", id, "", "", 404)
}

// TestNotificationsStreamingHTTP: the receiveFrom of a streaming channel
// is a response that carries one JSON-LD notification per line.
func TestNotificationsStreamingHTTP(t *testing.T) {
	ts := notifServer(t, nil)
	mustSend(t, ts, alice, "PUT", "/doc", "text/plain", "v1", 201)
	st, d := subscribe(t, ts, alice, notify.StreamingHTTP, wsRequest(notify.StreamingHTTP, "/doc", ""))
	if st != 200 {
		t.Fatalf("subscription: %d %v", st, d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", local(ts, d["receiveFrom"].(string)), nil)
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/ld+json" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	mustSend(t, ts, alice, "DELETE", "/doc", "", "", 204)
	var a activity
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil || a.Type != "Delete" {
		t.Errorf("stream: %+v %v", a, err)
	}
}
