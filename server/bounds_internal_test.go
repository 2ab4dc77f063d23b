package server

import (
	"net"
	"testing"
	"time"
)

// TestBodyWait: each read of a body may wait the timeout, less when the
// body would fall below the minimum rate, averaged over the time waited
// after a head start of the timeout (guardBody).
func TestBodyWait(t *testing.T) {
	const timeout = 10 * time.Second
	for _, tc := range []struct {
		name    string
		rate    int64
		read    int64
		waited  time.Duration
		want    time.Duration
		tooSlow bool
	}{
		{name: "first read", rate: 1024, want: timeout},
		{name: "head start half used", rate: 1024, waited: 5 * time.Second, want: 5 * time.Second},
		{name: "fast body: the pause bound", rate: 1024, read: 1 << 20, waited: 2 * time.Second, want: timeout},
		{name: "on the rate exactly", rate: 1024, read: 20 << 10, waited: 30 * time.Second, want: 0, tooSlow: true},
		{name: "a little ahead of the rate", rate: 1024, read: 21 << 10, waited: 30 * time.Second, want: time.Second},
		{name: "a trickle after the head start", rate: 1024, read: 10, waited: 11 * time.Second, tooSlow: true},
		{name: "no rate", rate: 0, read: 0, waited: time.Hour, want: timeout},
	} {
		got := bodyWait(timeout, tc.rate, tc.read, tc.waited)
		if tc.tooSlow && got > 0 || !tc.tooSlow && got != tc.want {
			t.Errorf("%s: bodyWait = %s, want %s (too slow: %v)", tc.name, got, tc.want, tc.tooSlow)
		}
	}
}

// TestClientKey: connections count by IPv4 address, or by the /64 of an
// IPv6 address; other addresses are not counted.
func TestClientKey(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 5}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 5}, "2001:db8:1:2::"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 5, Zone: "eth0"}, "2001:db8:1:2::"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1"), Port: 5}, "2001:db8:1:3::"},
		{&net.UnixAddr{Name: "/run/kluis.sock", Net: "unix"}, ""},
	} {
		got, ok := clientKey(tc.addr)
		if tc.want == "" {
			if ok {
				t.Errorf("%v: counted as %v", tc.addr, got)
			}
			continue
		}
		if !ok || got.String() != tc.want {
			t.Errorf("%v: %v %v, want %s", tc.addr, got, ok, tc.want)
		}
	}
}
