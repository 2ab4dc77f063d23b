package server

import (
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
)

// connLimit bounds the connections one client address may hold at once.
type connLimit struct {
	// max is the bound; less than zero, none.
	max int
	// exempt are the peers never bounded: trusted proxies, which carry
	// many clients over their connections.
	exempt []netip.Prefix
}

// Listener wraps ln so that one client address holds at most
// Config.MaxConnsPerClient of its connections at once. A connection past
// the bound is reset as soon as it is accepted, before a byte of it is
// read, so that one client cannot hold the connections, goroutines and
// buffers that others need however slowly it sends. An IPv6 client counts
// by its /64, which one host usually holds whole; the TrustedProxies are
// not bounded (bound their clients at the proxy). Give it the TCP
// listener, under TLS: the bound is on TCP connections.
func (s *Server) Listener(ln net.Listener) net.Listener {
	if s.conns.max < 0 {
		return ln
	}
	return &limitedListener{Listener: ln, limit: s.conns, open: map[netip.Addr]int{}}
}

// limitedListener is the listener of Server.Listener.
type limitedListener struct {
	net.Listener
	limit connLimit
	mu    sync.Mutex
	open  map[netip.Addr]int // connections held, by clientKey
}

// Accept returns the next connection within the bound of its client.
func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, ok := clientKey(c.RemoteAddr())
		if !ok || slices.ContainsFunc(l.limit.exempt, func(p netip.Prefix) bool { return p.Contains(key) }) {
			return c, nil
		}
		if l.take(key) {
			return &countedConn{Conn: c, release: func() { l.give(key) }}, nil
		}
		if tc, ok := c.(*net.TCPConn); ok {
			// A reset, not a close: no TIME_WAIT is left on the server
			// for a connection it never served.
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// take counts a connection of key, when within the bound.
func (l *limitedListener) take(key netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.limit.max {
		return false
	}
	l.open[key]++
	return true
}

// give forgets a connection of key.
func (l *limitedListener) give(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// clientKey is what connections count by: the IPv4 address, or the /64 of
// an IPv6 address. ok is false for an address that is not IP (a Unix
// socket), which is not bounded.
func clientKey(a net.Addr) (netip.Addr, bool) {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}, false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() {
		return netip.Addr{}, false
	}
	if ip.Is6() {
		p, err := ip.Prefix(64)
		if err != nil {
			return netip.Addr{}, false
		}
		ip = p.Addr()
	}
	return ip, true
}

// countedConn is a connection counted against its client until it is
// closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and uncounts it, once.
func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes the connection when it can, which net/http does
// before closing a connection whose request body it did not read, so that
// the client reads the answer before a reset.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the connection's own ReadFrom (sendfile for files), which
// net/http uses to send a response body.
func (c *countedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
