package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    Request
		wantErr string
	}{
		{"short type", `{"@context": ["https://www.w3.org/ns/solid/notification/v1"], "type": "WebSocketChannel2023", "topic": "https://pod.example/a"}`,
			Request{Type: WebSocket, Topic: "https://pod.example/a"}, ""},
		{"full IRI, @type, node topic", `{"@type": "http://www.w3.org/ns/solid/notifications#WebhookChannel2023", "topic": {"id": "https://pod.example/a"}, "sendTo": "https://hook.example/"}`,
			Request{Type: Webhook, Topic: "https://pod.example/a", SendTo: "https://hook.example/"}, ""},
		{"prefixed type, protocol context", `{"@context": "https://www.w3.org/ns/solid/notifications-context/v1", "type": "notify:StreamingHTTPChannel2023", "topic": ["https://pod.example/a"]}`,
			Request{Type: StreamingHTTP, Topic: "https://pod.example/a"}, ""},
		{"features", `{"type": "WebSocketChannel2023", "topic": "https://pod.example/a", "startAt": "2030-01-01T00:00:00Z", "endAt": "2030-01-02T00:00:00.5+01:00", "rate": "PT1M30S", "state": "abc", "accept": "application/ld+json"}`,
			Request{Type: WebSocket, Topic: "https://pod.example/a", StartAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
				EndAt: time.Date(2030, 1, 1, 23, 0, 0, 5e8, time.UTC), Rate: 90 * time.Second, State: "abc", Accept: "application/ld+json"}, ""},
		{"remote context", `{"@context": "https://evil.example/ctx", "type": "WebSocketChannel2023", "topic": "x"}`, Request{}, "unrecognised JSON-LD context"},
		{"inline context", `{"@context": {"topic": "http://evil.example/t"}, "type": "WebSocketChannel2023", "topic": "x"}`, Request{}, "unrecognised JSON-LD context"},
		{"unknown type", `{"type": "LongPoll", "topic": "x"}`, Request{}, "unknown channel type"},
		{"no type", `{"topic": "x"}`, Request{}, "no channel type"},
		{"no topic", `{"type": "WebSocketChannel2023"}`, Request{}, "no topic"},
		{"two topics", `{"type": "WebSocketChannel2023", "topic": ["a", "b"]}`, Request{}, "topic must be one string"},
		{"bad date", `{"type": "WebSocketChannel2023", "topic": "x", "endAt": "tomorrow"}`, Request{}, "endAt"},
		{"bad rate", `{"type": "WebSocketChannel2023", "topic": "x", "rate": "10s"}`, Request{}, "rate"},
		{"not an object", `[1]`, Request{}, "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tc.body))
			if tc.wantErr != "" {
				var re *RequestError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want a RequestError with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.StartAt.Equal(tc.want.StartAt) || !got.EndAt.Equal(tc.want.EndAt) {
				t.Errorf("times %v %v, want %v %v", got.StartAt, got.EndAt, tc.want.StartAt, tc.want.EndAt)
			}
			got.StartAt, got.EndAt, tc.want.StartAt, tc.want.EndAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT10S": 10 * time.Second, "PT1M": time.Minute, "P1DT2H": 26 * time.Hour, "PT0.5S": 500 * time.Millisecond, "P1W": 7 * 24 * time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P", "PT", "10S", "P1Y", "PT1D", "PTS", "P1M"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
	if got := FormatDuration(90 * time.Second); got != "PT90S" {
		t.Errorf("FormatDuration = %q", got)
	}
}

func TestActivities(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)
	iri := func(p ldp.Path) string { return "https://pod.example" + string(p) }
	tests := []struct {
		change ldp.Change
		want   []string
	}{
		{ldp.Change{Path: "/a/b", Type: ldp.Create, Container: "/a/", ETag: "e1", Time: now}, []string{"Create https://pod.example/a/b  https://pod.example/a/b e1", "Add https://pod.example/a/b https://pod.example/a/ https://pod.example/a/ "}},
		{ldp.Change{Path: "/a/b", Type: ldp.Update, ETag: "e2", Time: now}, []string{"Update https://pod.example/a/b  https://pod.example/a/b e2"}},
		{ldp.Change{Path: "/a/b", Type: ldp.Delete, Container: "/a/", Time: now}, []string{"Delete https://pod.example/a/b  https://pod.example/a/b ", "Remove https://pod.example/a/b https://pod.example/a/ https://pod.example/a/ "}},
	}
	for _, tc := range tests {
		evs := Activities(tc.change, iri)
		var got []string
		for _, e := range evs {
			got = append(got, strings.Join([]string{e.Type, e.Object, e.Target, e.Topic, e.State}, " "))
			if !e.Published.Equal(now) || !strings.HasPrefix(e.ID, "urn:uuid:") || len(e.ID) != 45 {
				t.Errorf("event %+v", e)
			}
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Activities(%+v) =\n%q\nwant\n%q", tc.change, got, tc.want)
		}
	}
	msg := string(evs(t)[0].JSON())
	want := `{"@context":["https://www.w3.org/ns/activitystreams","https://www.w3.org/ns/solid/notification/v1"],"id":"urn:uuid:x","type":"Add","object":"https://pod.example/a","target":"https://pod.example/","published":"2030-01-02T03:04:05.006Z"}`
	if msg != want {
		t.Errorf("JSON =\n%s\nwant\n%s", msg, want)
	}
}

func evs(t *testing.T) []Event {
	return []Event{{ID: "urn:uuid:x", Type: TypeAdd, Object: "https://pod.example/a", Target: "https://pod.example/", Topic: "https://pod.example/",
		Published: time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)}}
}

// TestHubDropsSlowConsumers: a subscriber whose queue is full is dropped;
// the others still get every event, and Publish never waits.
func TestHubDropsSlowConsumers(t *testing.T) {
	h := NewHub()
	slow, fast := h.Subscribe(1), h.Subscribe(8)
	slow.Add("t")
	fast.Add("t")
	fast.Add("other")
	for i := range 3 {
		h.Publish(context.Background(), Event{Topic: "t", ID: string(rune('a' + i))})
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("the slow subscriber was not dropped")
	}
	if !slow.Dropped() || fast.Dropped() || h.Dropped() != 1 {
		t.Errorf("Dropped: slow %v, fast %v, hub %d", slow.Dropped(), fast.Dropped(), h.Dropped())
	}
	if len(fast.Events()) != 3 {
		t.Errorf("the fast subscriber has %d events, want 3", len(fast.Events()))
	}
	fast.Close()
	fast.Close()
	h.mu.RLock()
	left := len(h.topics)
	h.mu.RUnlock()
	if left != 0 {
		t.Errorf("%d topics left after every subscriber went", left)
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestService(t *testing.T, cfg Config) *Service {
	t.Helper()
	cfg.BaseURL = "https://pod.example/"
	cfg.Topic = func(iri string) (string, bool) { return iri, strings.HasPrefix(iri, "https://pod.example/") }
	s, err := NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestRunFeatures drives one channel's delivery loop with a fake clock:
// startAt holds notifications back, rate leaves out those that come too
// soon, endAt ends the channel, and a lost Read ends it too.
func TestRunFeatures(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	hub := NewHub()
	s := newTestService(t, Config{Broadcaster: hub, Now: clock.Now})
	readable := true
	var mu sync.Mutex
	ch, err := s.Subscribe(Request{Type: WebSocket, Topic: "https://pod.example/a", StartAt: clock.now.Add(time.Minute),
		EndAt: clock.now.Add(time.Hour), Rate: 10 * time.Second},
		Subscriber{Agent: "a", CanRead: func(context.Context, string) bool { mu.Lock(); defer mu.Unlock(); return readable }})
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		advance  time.Duration
		readable bool
		want     bool // delivered
	}
	steps := []step{
		{0, true, false},                 // before startAt
		{time.Minute, true, true},        // at startAt
		{5 * time.Second, true, false},   // within rate
		{5 * time.Second, true, true},    // rate elapsed
		{20 * time.Second, false, false}, // Read withdrawn: the channel ends
	}
	sent := make(chan Event)
	result := make(chan error, 1)
	go func() {
		result <- s.run(context.Background(), ch, func(_ context.Context, e Event) error { sent <- e; return nil }, nil)
	}()
	waitSubscribed(t, hub, ch.Topic)
	for i, st := range steps {
		clock.Add(st.advance)
		mu.Lock()
		readable = st.readable
		mu.Unlock()
		hub.Publish(context.Background(), Event{Topic: ch.Topic, Type: TypeUpdate, ID: "e"})
		// A marker that is always delivered cannot be used (rate), so
		// the step is observed through what comes next: a delivery, or
		// the loop's end, or neither before the next step's publish.
		if st.want {
			select {
			case <-sent:
			case err := <-result:
				t.Fatalf("step %d: the loop ended: %v", i, err)
			case <-time.After(5 * time.Second):
				t.Fatalf("step %d: nothing delivered", i)
			}
		}
	}
	select {
	case err := <-result:
		if !errors.Is(err, errAccessWithdrawn) {
			t.Errorf("the loop ended with %v, want access withdrawn", err)
		}
	case e := <-sent:
		t.Errorf("delivered %+v without Read", e)
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not end")
	}
}

// waitSubscribed waits until the hub has a subscriber on topic.
func waitSubscribed(t *testing.T, h *Hub, topic string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.RLock()
		n := len(h.topics[topic])
		h.mu.RUnlock()
		if n > 0 {
			return
		}
		runtimeGosched()
	}
	t.Fatal("no subscriber")
}

// TestRunEndAt: a notification after endAt ends the channel instead.
func TestRunEndAt(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	hub := NewHub()
	s := newTestService(t, Config{Broadcaster: hub, Now: clock.Now})
	ch, err := s.Subscribe(Request{Type: WebSocket, Topic: "https://pod.example/a", EndAt: clock.now.Add(time.Hour)},
		Subscriber{CanRead: func(context.Context, string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	result := make(chan error, 1)
	go func() {
		result <- s.run(context.Background(), ch, func(context.Context, Event) error { return errors.New("must not send") }, nil)
	}()
	waitSubscribed(t, hub, ch.Topic)
	clock.Add(2 * time.Hour)
	hub.Publish(context.Background(), Event{Topic: ch.Topic})
	if err := <-result; !errors.Is(err, errExpired) {
		t.Errorf("run = %v, want expired", err)
	}
}

// TestRunSlowConsumer: a receiver that does not keep up loses its
// channel rather than making the server buffer.
func TestRunSlowConsumer(t *testing.T) {
	hub := NewHub()
	s := newTestService(t, Config{Broadcaster: hub, Limits: Limits{Queue: 2}})
	ch, err := s.Subscribe(Request{Type: WebSocket, Topic: "https://pod.example/a"},
		Subscriber{CanRead: func(context.Context, string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	stuck := make(chan struct{})
	defer close(stuck)
	result := make(chan error, 1)
	go func() {
		result <- s.run(context.Background(), ch, func(ctx context.Context, _ Event) error {
			<-stuck
			return nil
		}, nil)
	}()
	waitSubscribed(t, hub, ch.Topic)
	for range 10 {
		hub.Publish(context.Background(), Event{Topic: ch.Topic})
	}
	// The loop is stuck in send; the queue overflowed and the
	// subscription was dropped.
	if hub.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", hub.Dropped())
	}
}

// TestWebhookRetries: a webhook that keeps failing is tried
// WebhookAttempts times with doubling waits (on the injected sleeper),
// then the channel is dropped.
func TestWebhookRetries(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	fail := true
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if fail {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer hook.Close()
	var slept []time.Duration
	s := newTestService(t, Config{
		Webhooks: hook.Client(), InsecureHTTPWebhooks: true,
		Sleep:  func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
		Limits: Limits{WebhookAttempts: 3, WebhookBackoff: time.Second},
	})
	err := s.post(context.Background(), hook.URL, []byte(`{}`))
	if !errors.Is(err, errDeliveryFailed) || calls != 3 || len(slept) != 2 || slept[0] != time.Second || slept[1] != 2*time.Second {
		t.Errorf("post = %v after %d calls, slept %v", err, calls, slept)
	}
	mu.Lock()
	fail, calls, slept = false, 0, nil
	mu.Unlock()
	if err := s.post(context.Background(), hook.URL, []byte(`{}`)); err != nil || calls != 1 || len(slept) != 0 {
		t.Errorf("post to a working hook = %v after %d calls", err, calls)
	}
	// A channel whose webhook fails is forgotten.
	mu.Lock()
	fail = true
	mu.Unlock()
	hub := NewHub()
	s.bc = hub
	ch, err := s.Subscribe(Request{Type: Webhook, Topic: "https://pod.example/a", SendTo: hook.URL},
		Subscriber{CanRead: func(context.Context, string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	waitSubscribed(t, hub, ch.Topic)
	hub.Publish(context.Background(), Event{Topic: ch.Topic})
	deadline := time.Now().Add(5 * time.Second)
	for s.Channels() != 0 && time.Now().Before(deadline) {
		runtimeGosched()
	}
	if n := s.Channels(); n != 0 {
		t.Errorf("%d channels after the webhook failed", n)
	}
}

func TestSubscribeChecks(t *testing.T) {
	s := newTestService(t, Config{Webhooks: http.DefaultClient})
	sub := Subscriber{CanRead: func(context.Context, string) bool { return true }}
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"topic elsewhere", Request{Type: WebSocket, Topic: "https://else.example/a"}, "not a resource on this server"},
		{"startAt after endAt", Request{Type: WebSocket, Topic: "https://pod.example/a", StartAt: time.Now().Add(2 * time.Hour), EndAt: time.Now().Add(time.Hour)}, "startAt"},
		{"accept without JSON-LD", Request{Type: WebSocket, Topic: "https://pod.example/a", Accept: "text/turtle"}, "accept"},
		{"sendTo on a WebSocket", Request{Type: WebSocket, Topic: "https://pod.example/a", SendTo: "https://x.example/"}, "sendTo"},
		{"webhook with credentials", Request{Type: Webhook, Topic: "https://pod.example/a", SendTo: "https://u:p@x.example/"}, "sendTo"},
	}
	for _, tc := range tests {
		if _, err := s.Subscribe(tc.req, sub); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	ch, err := s.Subscribe(Request{Type: WebSocket, Topic: "https://pod.example/a", EndAt: time.Now().Add(100 * 24 * time.Hour)}, sub)
	if err != nil || ch.EndAt.After(time.Now().Add(15*24*time.Hour)) {
		t.Errorf("endAt beyond MaxDuration: %v %v", ch.EndAt, err)
	}
}
