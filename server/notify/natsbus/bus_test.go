package natsbus_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/server/notify/natsbus"
)

// natsURL is the NATS server that .ci/test starts; the tests skip without
// one, except in CI, where they fail.
func natsURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("KLUIS_NATS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but KLUIS_NATS_URL is not set: the NATS tests must run in CI")
		}
		t.Skip("KLUIS_NATS_URL is not set; run bash .ci/test for the NATS tests")
	}
	return u
}

// open opens a Bus on prefix, closed when the test ends.
func open(t *testing.T, prefix string) *natsbus.Bus {
	t.Helper()
	b, err := natsbus.Open(natsbus.Config{URL: natsURL(t), Prefix: prefix, Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// freshPrefix keeps the tests' events apart from any other's.
func freshPrefix() string { return "kluistest." + strings.ToLower(rand.Text()[:12]) }

func event(topic, id string) notify.Event {
	return notify.Event{ID: id, Type: notify.TypeUpdate, Object: topic, Topic: topic, State: "abc",
		Published: time.Date(2026, 5, 1, 12, 0, 0, 123e6, time.UTC)}
}

// next waits, within a bound, for the next event of sub.
func next(t *testing.T, sub notify.Subscription) notify.Event {
	t.Helper()
	select {
	case e := <-sub.Events():
		return *e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
		return notify.Event{}
	}
}

// TestBusAcrossProcesses: an event published through one Bus reaches the
// subscribers of another on the same prefix, whole, and those of its own
// exactly once.
func TestBusAcrossProcesses(t *testing.T) {
	prefix := freshPrefix()
	a, b := open(t, prefix), open(t, prefix)
	other := open(t, freshPrefix())
	const topic = "http://pod.example/doc"
	subA, subB, subOther := a.Subscribe(8), b.Subscribe(8), other.Subscribe(8)
	for _, s := range []notify.Subscription{subA, subB, subOther} {
		s.Add(topic)
		defer s.Close()
	}
	sent := event(topic, "urn:uuid:1")
	sent.Target = "http://pod.example/"
	if err := a.Publish(context.Background(), sent); err != nil {
		t.Fatal(err)
	}
	if got := next(t, subB); got != sent {
		t.Errorf("B heard %+v, want %+v", got, sent)
	}
	if got := next(t, subA); got != sent {
		t.Errorf("A heard %+v, want %+v", got, sent)
	}
	// A second event from B: A hears it; had NATS echoed the first one
	// back to A, A would hear that first.
	if err := b.Publish(context.Background(), event(topic, "urn:uuid:2")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, subA); got.ID != "urn:uuid:2" {
		t.Errorf("A heard %s, want urn:uuid:2 (its own event twice?)", got.ID)
	}
	if got := next(t, subB); got.ID != "urn:uuid:2" {
		t.Errorf("B heard %s, want urn:uuid:2", got.ID)
	}
	select {
	case e := <-subOther.Events():
		t.Errorf("a Bus of another prefix heard %s", e.ID)
	default:
	}
}

// TestBusIgnoresForeignMessages: a message on the subject that is not an
// event reaches no subscriber.
func TestBusIgnoresForeignMessages(t *testing.T) {
	prefix := freshPrefix()
	a, b := open(t, prefix), open(t, prefix)
	sub := a.Subscribe(8)
	defer sub.Close()
	sub.Add("http://pod.example/doc")
	if err := natsbus.PublishRaw(b, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), event("http://pod.example/doc", "urn:uuid:after")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, sub); got.ID != "urn:uuid:after" {
		t.Errorf("heard %+v first", got)
	}
}

func TestValidPrefix(t *testing.T) {
	for _, p := range []string{"kluis", "kluis.prod-1", "a_b.c"} {
		if err := natsbus.ValidPrefix(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"", "a..b", ".a", "a.", "a.*", "a.>", "a b", "a\tb", "é"} {
		if natsbus.ValidPrefix(p) == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestOpenFails(t *testing.T) {
	if _, err := natsbus.Open(natsbus.Config{URL: "nats://127.0.0.1:1", Prefix: "ok"}); err == nil {
		t.Error("Open succeeded with no server")
	}
	if _, err := natsbus.Open(natsbus.Config{URL: "nats://127.0.0.1:1", Prefix: "a.*"}); err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("bad prefix: %v", err)
	}
}

// TestBusSharesProofs: a DPoP proof announced through one Bus reaches the
// OnProof handler of another on the same prefix, whole, and not one of
// another prefix; a message that is no announcement is left out.
func TestBusSharesProofs(t *testing.T) {
	prefix := freshPrefix()
	a, b, other := open(t, prefix), open(t, prefix), open(t, freshPrefix())
	type proof struct {
		key        [32]byte
		iat, until time.Time
	}
	got, stray := make(chan proof, 4), make(chan proof, 4)
	if err := b.OnProof(func(key [32]byte, iat, until time.Time) { got <- proof{key, iat, until} }); err != nil {
		t.Fatal(err)
	}
	if err := other.OnProof(func(key [32]byte, iat, until time.Time) { stray <- proof{key, iat, until} }); err != nil {
		t.Fatal(err)
	}
	if err := natsbus.PublishRawProof(a, []byte("not a proof")); err != nil {
		t.Fatal(err)
	}
	want := proof{key: [32]byte{1, 2, 3, 31: 9}, iat: time.Unix(1_772_000_000, 123), until: time.Unix(1_772_000_060, 123)}
	a.Share(want.key, want.iat, want.until)
	select {
	case p := <-got:
		if p.key != want.key || !p.iat.Equal(want.iat) || !p.until.Equal(want.until) {
			t.Fatalf("received %+v, want %+v", p, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no proof within 5s")
	}
	select {
	case p := <-got:
		t.Errorf("a second proof arrived: %+v", p)
	case p := <-stray:
		t.Errorf("a Bus of another prefix heard %+v", p)
	default:
	}
}
