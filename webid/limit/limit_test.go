package limit

import (
	"strings"
	"testing"
	"time"
)

func TestAddressKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:4431", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"fe80::1%eth0", "fe80::/64"},
		{"", "?"},
		{"not an address", "?not an address"},
		{strings.Repeat("x", 100), "?" + strings.Repeat("x", 64)},
	}
	for _, tc := range tests {
		if got := AddressKey(tc.in); got != tc.want {
			t.Errorf("AddressKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBuckets(t *testing.T) {
	now := time.Unix(1e9, 0)
	b := NewBuckets(2, 10*time.Second, 2)
	for i := range 2 {
		if _, ok := b.Take("k", now); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if wait, ok := b.Take("k", now); ok || wait != 10*time.Second {
		t.Fatalf("third attempt: %v %v, want refused for 10s", wait, ok)
	}
	b.Give("k", now)
	if _, ok := b.Take("k", now); !ok {
		t.Fatal("a given attempt is not there")
	}
	if _, ok := b.Take("k", now.Add(5*time.Second)); ok {
		t.Fatal("half a token was enough")
	}
	if _, ok := b.Take("k", now.Add(15*time.Second)); !ok {
		t.Fatal("no token after a refill")
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		b.Take(k, now)
	}
	if n := b.Tracked(); n > 2 {
		t.Fatalf("%d keys tracked, bound 2", n)
	}
}

func TestPending(t *testing.T) {
	now := time.Unix(1e9, 0)
	p := NewPending(2, 3)
	exp := now.Add(time.Hour)
	for _, r := range []struct{ id, addr string }{{"1", "a"}, {"2", "a"}} {
		if _, ok := p.Reserve(r.id, r.addr, now, exp); !ok {
			t.Fatalf("%s refused", r.id)
		}
	}
	if wait, ok := p.Reserve("3", "a", now, exp); ok || wait != time.Hour {
		t.Fatalf("a third for one address: %v %v", wait, ok)
	}
	if _, ok := p.Reserve("3", "b", now, exp); !ok {
		t.Fatal("another address refused")
	}
	if _, ok := p.Reserve("4", "c", now, exp); ok {
		t.Fatal("past the total")
	}
	p.Release("1")
	if _, ok := p.Reserve("4", "c", now, exp); !ok {
		t.Fatal("no room after a release")
	}
	if _, ok := p.Reserve("5", "a", exp, exp.Add(time.Hour)); !ok {
		t.Fatal("expired records still counted")
	}
}
