package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// This file finds the client of a request that came through reverse
// proxies. Only when the peer (the address the connection comes from) is
// a trusted proxy are the Forwarded (RFC 7239) or X-Forwarded-For,
// -Proto and -Host headers believed; from anyone else they are removed
// before any handler runs. What they give is used for the client address
// in logs and rate limits only: the public URL of every resource comes
// from Config.BaseURL, never from a header.

// ctxKeyForwarded is the echo.Context key of a request's *forwarded.
const ctxKeyForwarded = "kluis.forwarded"

// forwardingHeaders are the headers that only a trusted proxy may set.
// X-Real-Ip is among them because echo would otherwise read it.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip"}

// maxForwardedValue bounds the proto and host values kept for the log.
const maxForwardedValue = 256

// forwarded is what trusted proxies said about a request.
type forwarded struct {
	// proxy is the peer address, the nearest proxy.
	proxy string
	// proto and host are the scheme and Host the client used, when the
	// proxies told them.
	proto, host string
}

// ParseProxies parses a comma-separated list of CIDR ranges or single
// addresses ("10.0.0.0/8, 172.16.0.1, ::1") into prefixes. An empty list
// is none.
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		errs = append(errs, fmt.Errorf("%q is not a CIDR range or an IP address", item))
	}
	return out, errors.Join(errs...)
}

// proxies decides whom to believe.
type proxies struct {
	trusted []netip.Prefix
}

func (p proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pre := range p.trusted {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// middleware removes the forwarding headers of an untrusted peer, and for
// a trusted one replaces the request's RemoteAddr with the client's, so
// that the request log, the rate limits and echo's RealIP all see the
// client; the proxy's address, proto and host go to the request log.
func (p proxies) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			peer, err := netip.ParseAddrPort(req.RemoteAddr)
			if err != nil || !p.trusts(peer.Addr()) {
				stripForwarding(req)
				return next(c)
			}
			client, fw, ok := p.client(req.Header, peer)
			if !ok {
				return next(c)
			}
			fw.proxy = req.RemoteAddr
			c.Set(ctxKeyForwarded, fw)
			r := new(http.Request)
			*r = *req
			r.RemoteAddr = client.String()
			c.SetRequest(r)
			return next(c)
		}
	}
}

// stripForwarding removes the forwarding headers, on a copy of the header
// map when there are any.
func stripForwarding(req *http.Request) {
	for _, name := range forwardingHeaders {
		if _, ok := req.Header[name]; ok {
			h := req.Header.Clone()
			for _, n := range forwardingHeaders {
				h.Del(n)
			}
			req.Header = h
			return
		}
	}
}

// hop is one address in a chain of proxies, with what it said about the
// request.
type hop struct {
	addr        netip.AddrPort
	ok          bool // addr could be read
	proto, host string
}

// client finds the client behind the trusted peer: going from the nearest
// hop outwards, the first address that is not a trusted proxy, or the
// farthest one when every hop is trusted. A hop that cannot be read (an
// obfuscated or "unknown" node, or garbage) stops the walk at the last
// trusted proxy. Forwarded wins over X-Forwarded-For when both are sent.
// ok is false when no proxy header is there.
func (p proxies) client(h http.Header, peer netip.AddrPort) (netip.AddrPort, *forwarded, bool) {
	hops := forwardedHops(h.Values("Forwarded"))
	if hops == nil {
		hops = xForwardedHops(h)
	}
	if len(hops) == 0 {
		return peer, nil, false
	}
	client := hop{addr: peer, ok: true}
	for i := len(hops) - 1; i >= 0; i-- {
		if !hops[i].ok {
			break
		}
		client = hops[i]
		if !p.trusts(hops[i].addr.Addr()) {
			break
		}
	}
	fw := &forwarded{proto: clip(client.proto), host: clip(client.host)}
	if fw.proto == "" && fw.host == "" {
		// The nearest proxy's word, when the client's hop has none.
		fw.proto, fw.host = clip(hops[len(hops)-1].proto), clip(hops[len(hops)-1].host)
	}
	return netip.AddrPortFrom(client.addr.Addr().Unmap(), client.addr.Port()), fw, true
}

// clip bounds a header value kept for the log.
func clip(s string) string {
	if len(s) > maxForwardedValue {
		return s[:maxForwardedValue]
	}
	return s
}

// xForwardedHops reads X-Forwarded-For (every line, in order), with
// X-Forwarded-Proto and -Host as the nearest proxy set them (their last
// value).
func xForwardedHops(h http.Header) []hop {
	var hops []hop
	for _, line := range h.Values("X-Forwarded-For") {
		for item := range strings.SplitSeq(line, ",") {
			a, ok := parseNode(strings.TrimSpace(item))
			hops = append(hops, hop{addr: a, ok: ok})
		}
	}
	if len(hops) > 0 {
		hops[len(hops)-1].proto = lastValue(h.Values("X-Forwarded-Proto"))
		hops[len(hops)-1].host = lastValue(h.Values("X-Forwarded-Host"))
	}
	return hops
}

// lastValue is the last item of a comma-separated header.
func lastValue(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	items := strings.Split(lines[len(lines)-1], ",")
	return strings.TrimSpace(items[len(items)-1])
}

// forwardedHops reads the elements of Forwarded headers (RFC 7239 §4):
// comma-separated elements of semicolon-separated name=value pairs, values
// tokens or quoted strings. An element without "for" is a hop that cannot
// be read. It returns nil when there is no Forwarded header.
func forwardedHops(lines []string) []hop {
	if len(lines) == 0 {
		return nil
	}
	var hops []hop
	for _, element := range splitQuoted(strings.Join(lines, ","), ',') {
		var hp hop
		for _, pair := range splitQuoted(element, ';') {
			name, value, found := strings.Cut(strings.TrimSpace(pair), "=")
			if !found {
				continue
			}
			value = unquote(strings.TrimSpace(value))
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "for":
				hp.addr, hp.ok = parseNode(value)
			case "proto":
				hp.proto = value
			case "host":
				hp.host = value
			}
		}
		hops = append(hops, hp)
	}
	return hops
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote undoes a quoted-string (RFC 9110 §5.6.4); a token is returned
// as it is.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseNode reads a node address: "192.0.2.1", "192.0.2.1:4711",
// "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:4711". Port 0 means no
// port was given.
func parseNode(s string) (netip.AddrPort, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.AddrPortFrom(a.Unmap(), 0), true
	}
	return netip.AddrPort{}, false
}
