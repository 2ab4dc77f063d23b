package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestAnonymousLimitsPerAddress: 101 anonymous webhook subscriptions from
// one client address once made every anonymous subscriber, from any
// address, get 429 for up to 14 days (issue 13, #6). Anonymous channels
// now count per client address and in all, and end within a day.
func TestAnonymousLimitsPerAddress(t *testing.T) {
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newTestService(t, Config{Webhooks: http.DefaultClient, Now: clock.Now,
		Limits: Limits{MaxChannels: 1000, MaxAnonymous: 300}})
	anon := func(addr string) Subscriber {
		return Subscriber{Address: addr, CanRead: func(context.Context, string) bool { return true }}
	}
	hook := Request{Type: Webhook, Topic: "https://pod.example/quiet", SendTo: "https://hook.example/"}
	var refused int
	for i := range 101 {
		_, err := s.Subscribe(hook, anon(fmt.Sprintf("192.0.2.1:%d", 1000+i)))
		switch {
		case err == nil:
		case errors.Is(err, ErrTooManyChannels):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if refused != 101-20 {
		t.Fatalf("%d of 101 anonymous subscriptions from one address refused, want %d", refused, 101-20)
	}
	// Another address, and another kind of channel from it, are free.
	ch, err := s.Subscribe(hook, anon("192.0.2.2:1000"))
	if err != nil {
		t.Fatalf("another address: %v", err)
	}
	if _, err := s.Subscribe(Request{Type: WebSocket, Topic: "https://pod.example/quiet"}, anon("192.0.2.3:1")); err != nil {
		t.Fatalf("a WebSocket channel from a third address: %v", err)
	}
	// An anonymous channel ends within a day, whatever endAt asked.
	if want := clock.Now().Add(24 * time.Hour); !ch.EndAt.Equal(want) {
		t.Errorf("anonymous endAt %v, want %v", ch.EndAt, want)
	}
	// Authenticated agents are not counted with anonymous subscribers.
	agent := Subscriber{Agent: "https://alice.example/#me", Address: "192.0.2.1:1",
		CanRead: func(context.Context, string) bool { return true }}
	ach, err := s.Subscribe(hook, agent)
	if err != nil {
		t.Fatalf("an agent from the full address: %v", err)
	}
	if want := clock.Now().Add(14 * 24 * time.Hour); !ach.EndAt.Equal(want) {
		t.Errorf("an agent's endAt %v, want %v", ach.EndAt, want)
	}
	// An IPv6 client is one address per /64.
	for i := range 20 {
		if _, err := s.Subscribe(hook, anon(fmt.Sprintf("[2001:db8:0:1::%x]:1", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Subscribe(hook, anon("[2001:db8:0:1:ffff::1]:1")); !errors.Is(err, ErrTooManyChannels) {
		t.Fatalf("the 21st from one /64: %v", err)
	}
	// Many addresses together stop at MaxAnonymous (300): 20 + 1 + 1 +
	// 20 are held.
	held := 42
	for i := 0; held < 300; i++ {
		if _, err := s.Subscribe(hook, anon(fmt.Sprintf("198.51.100.%d:1", i))); err != nil {
			t.Fatalf("anonymous channel %d: %v", held, err)
		}
		held++
	}
	if _, err := s.Subscribe(hook, anon("203.0.113.1:1")); !errors.Is(err, ErrTooManyChannels) {
		t.Fatalf("past MaxAnonymous: %v", err)
	}
	if _, err := s.Subscribe(hook, agent); err != nil {
		t.Fatalf("an agent once anonymous subscribers are full: %v", err)
	}
}
