package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestParseProxies(t *testing.T) {
	got, err := ParseProxies(" 10.0.0.0/8, 172.16.0.1 ,::1, 2001:db8::/32,,192.168.1.7/24")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "172.16.0.1/32", "::1/128", "2001:db8::/32", "192.168.1.0/24"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	if p, err := ParseProxies(""); err != nil || p != nil {
		t.Errorf("empty: %v, %v", p, err)
	}
	if _, err := ParseProxies("10.0.0.0/33, proxy.example, 1.2.3.4"); err == nil {
		t.Error("bad entries accepted")
	} else if want := `"10.0.0.0/33" is not a CIDR range or an IP address` + "\n" +
		`"proxy.example" is not a CIDR range or an IP address`; err.Error() != want {
		t.Errorf("error %q, want every bad entry: %q", err, want)
	}
}

// TestTrustedProxies is the table of whom to believe: the peer, the
// headers, and the client address, proto and host the server then uses.
func TestTrustedProxies(t *testing.T) {
	trusted, err := ParseProxies("10.0.0.0/8, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		peer    string
		headers map[string]string
		// wantAddr is the RemoteAddr (and RealIP host) handlers see.
		wantAddr string
		// wantProxy is the proxy address logged, "" when none is.
		wantProxy             string
		wantProto, wantHost   string
		wantForwardingHeaders bool
	}{
		{name: "no proxy, no headers", peer: "203.0.113.9:5555", wantAddr: "203.0.113.9:5555"},
		{name: "untrusted peer: headers ignored and removed", peer: "203.0.113.9:5555",
			headers: map[string]string{"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https",
				"X-Forwarded-Host": "evil.example", "Forwarded": "for=1.2.3.4", "X-Real-Ip": "1.2.3.4"},
			wantAddr: "203.0.113.9:5555"},
		{name: "trusted peer without headers", peer: "10.0.0.2:4000", wantAddr: "10.0.0.2:4000"},
		{name: "trusted peer, X-Forwarded-For", peer: "10.0.0.2:4000",
			headers:  map[string]string{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "pods.example"},
			wantAddr: "198.51.100.7:0", wantProxy: "10.0.0.2:4000", wantProto: "https", wantHost: "pods.example",
			wantForwardingHeaders: true},
		{name: "a spoofed first entry is skipped: the rightmost untrusted address wins", peer: "10.0.0.2:4000",
			headers:  map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.7"},
			wantAddr: "198.51.100.7:0", wantProxy: "10.0.0.2:4000", wantForwardingHeaders: true},
		{name: "a chain of trusted proxies", peer: "10.0.0.2:4000",
			headers:  map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.1.1.1, 10.2.2.2"},
			wantAddr: "198.51.100.7:0", wantProxy: "10.0.0.2:4000", wantForwardingHeaders: true},
		{name: "every hop trusted: the farthest", peer: "10.0.0.2:4000",
			headers:  map[string]string{"X-Forwarded-For": "10.9.9.9, 10.1.1.1"},
			wantAddr: "10.9.9.9:0", wantProxy: "10.0.0.2:4000", wantForwardingHeaders: true},
		{name: "an unreadable hop stops the walk at the last trusted proxy", peer: "10.0.0.2:4000",
			headers:  map[string]string{"X-Forwarded-For": "198.51.100.7, garbage, 10.1.1.1"},
			wantAddr: "10.1.1.1:0", wantProxy: "10.0.0.2:4000", wantForwardingHeaders: true},
		{name: "an unreadable nearest hop: the peer", peer: "10.0.0.2:4000",
			headers:  map[string]string{"X-Forwarded-For": "unknown"},
			wantAddr: "10.0.0.2:4000", wantProxy: "10.0.0.2:4000", wantForwardingHeaders: true},
		{name: "IPv6 in X-Forwarded-For", peer: "[fd00::1]:4000",
			headers:  map[string]string{"X-Forwarded-For": "2001:db8::7"},
			wantAddr: "[2001:db8::7]:0", wantProxy: "[fd00::1]:4000", wantForwardingHeaders: true},
		{name: "IPv4-mapped peer is trusted", peer: "[::ffff:10.0.0.2]:4000",
			headers:  map[string]string{"X-Forwarded-For": "198.51.100.7"},
			wantAddr: "198.51.100.7:0", wantProxy: "[::ffff:10.0.0.2]:4000", wantForwardingHeaders: true},
		{name: "Forwarded (RFC 7239 §7.1 examples)", peer: "10.0.0.2:4000",
			headers: map[string]string{"Forwarded": `for="_gazonk", For="[2001:db8:cafe::17]:4711";proto=https;host="pods.example", for=10.3.3.3`,
				"X-Forwarded-For": "6.6.6.6"},
			wantAddr: "[2001:db8:cafe::17]:4711", wantProxy: "10.0.0.2:4000", wantProto: "https", wantHost: "pods.example",
			wantForwardingHeaders: true},
		{name: "Forwarded with a quoted comma", peer: "10.0.0.2:4000",
			headers:  map[string]string{"Forwarded": `for=192.0.2.43;host="a,b", for=10.3.3.3`},
			wantAddr: "192.0.2.43:0", wantProxy: "10.0.0.2:4000", wantHost: "a,b", wantForwardingHeaders: true},
		{name: "Forwarded without for", peer: "10.0.0.2:4000",
			headers:  map[string]string{"Forwarded": `proto=https`},
			wantAddr: "10.0.0.2:4000", wantProxy: "10.0.0.2:4000", wantProto: "https", wantForwardingHeaders: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			e.IPExtractor = echo.ExtractIPDirect()
			e.Use(proxies{trusted: trusted}.middleware())
			var gotAddr, gotRealIP string
			var gotFw *forwarded
			var gotHeaders http.Header
			e.GET("/", func(c echo.Context) error {
				gotAddr, gotRealIP = c.Request().RemoteAddr, c.RealIP()
				gotFw, _ = c.Get(ctxKeyForwarded).(*forwarded)
				gotHeaders = c.Request().Header
				return c.NoContent(204)
			})
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.peer
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			e.ServeHTTP(httptest.NewRecorder(), req)

			if gotAddr != tc.wantAddr {
				t.Errorf("RemoteAddr = %q, want %q", gotAddr, tc.wantAddr)
			}
			if ap := netip.MustParseAddrPort(tc.wantAddr); gotRealIP != ap.Addr().String() {
				t.Errorf("RealIP = %q, want %s", gotRealIP, ap.Addr())
			}
			switch {
			case tc.wantProxy == "" && gotFw != nil:
				t.Errorf("forwarded %+v, want none", gotFw)
			case tc.wantProxy != "" && gotFw == nil:
				t.Errorf("no forwarded, want proxy %s", tc.wantProxy)
			case gotFw != nil && (gotFw.proxy != tc.wantProxy || gotFw.proto != tc.wantProto || gotFw.host != tc.wantHost):
				t.Errorf("forwarded %+v, want proxy %s proto %q host %q", gotFw, tc.wantProxy, tc.wantProto, tc.wantHost)
			}
			for _, h := range forwardingHeaders {
				if _, ok := tc.headers[h]; ok && (gotHeaders.Get(h) != "") != tc.wantForwardingHeaders {
					t.Errorf("header %s kept = %v, want %v", h, gotHeaders.Get(h) != "", tc.wantForwardingHeaders)
				}
			}
		})
	}
}

func TestRouteClass(t *testing.T) {
	for path, want := range map[string]string{
		"/":                                 RouteContainer,
		"/alice/":                           RouteContainer,
		"/alice/notes/todo.ttl":             RouteResource,
		"/alice/photo.jpg":                  RouteResource,
		"/alice/.acl":                       RouteACL,
		"/alice/notes/todo.ttl.acl":         RouteACL,
		"/alice/notes/todo.ttl.meta":        RouteMeta,
		"/.meta":                            RouteMeta,
		"/.account":                         RouteAccount,
		"/.account/":                        RouteAccount,
		"/.account/account/abc/pod/":        RouteAccount,
		"/.oidc/token":                      RouteOIDC,
		"/.well-known/openid-configuration": RouteOIDC,
		"/.well-known/solid":                RouteWellKnown,
		"/.well-known/kluis/live":           RouteHealth,
		"/.well-known/kluis/ready":          RouteHealth,
		"/.accounting/x":                    RouteResource,
	} {
		if got := routeClass(path); got != want {
			t.Errorf("routeClass(%q) = %q, want %q", path, got, want)
		}
	}
	for m, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "PROPFIND": "OTHER", "get": "OTHER"} {
		if got := methodLabel(m); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", m, got, want)
		}
	}
}
