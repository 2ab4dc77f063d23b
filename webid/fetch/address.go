package fetch

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// blockedRanges are the ranges a Client never connects to unless
// Config.Allow lists them: everything that is not a public unicast
// address. IPv4-mapped IPv6 addresses are unmapped and checked as IPv4.
// It is a function, not a package variable, so that nothing can change it;
// New calls it once per Client.
func blockedRanges() []netip.Prefix {
	return mustPrefixes(
		// IPv4 (RFC 6890 special-purpose registry).
		"0.0.0.0/8",       // "this network", unspecified
		"10.0.0.0/8",      // private (RFC 1918)
		"100.64.0.0/10",   // CGNAT (RFC 6598); Alibaba metadata 100.100.100.200
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local; AWS/GCP/Azure metadata 169.254.169.254
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments; Oracle metadata 192.0.0.192
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, broadcast
		// IPv6.
		"::/96",          // unspecified, loopback, IPv4-compatible
		"64:ff9b::/96",   // NAT64, would reach IPv4 ranges above
		"64:ff9b:1::/48", // local-use NAT64
		"100::/64",       // discard
		"2001::/23",      // IETF protocol assignments, Teredo
		"2001:db8::/32",  // documentation
		"2002::/16",      // 6to4, embeds any IPv4 address
		"fc00::/7",       // unique local; AWS metadata fd00:ec2::254
		"fe80::/10",      // link-local
		"fec0::/10",      // site-local (deprecated)
		"ff00::/8",       // multicast
	)
}

func mustPrefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// ParseAllowList reads a comma-separated list of CIDR ranges (the
// KLUIS_FETCH_ALLOW setting), such as "127.0.0.0/8, ::1/128", into the
// ranges for Config.Allow. A bare address stands for itself (/32 or /128).
// Blanks around entries and empty entries are ignored; the empty string is
// an empty list. Every malformed entry is reported.
func ParseAllowList(s string) ([]netip.Prefix, error) {
	var (
		out  []netip.Prefix
		errs []string
	)
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil || a.Zone() != "" {
				errs = append(errs, fmt.Sprintf("%q is not an address or CIDR range", f))
				continue
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%q is not a CIDR range", f))
			continue
		}
		out = append(out, p.Masked())
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("fetch: allow list: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// addressAllowed reports whether a Client may connect to a: when allow
// lists it, or when it is a public unicast address.
func addressAllowed(a netip.Addr, allow, blocked []netip.Prefix) bool {
	a = a.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	if !a.IsValid() || !a.IsGlobalUnicast() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// control is the net.Dialer.Control of a Client: it runs after name
// resolution, for every address the dialer tries, so the check covers
// each resolved address and every redirect hop.
func control(allow, blocked []netip.Prefix) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		switch network {
		case "tcp", "tcp4", "tcp6":
		default:
			return fmt.Errorf("%w: network %s", ErrAddressNotAllowed, network)
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrAddressNotAllowed, address)
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrAddressNotAllowed, address)
		}
		if !addressAllowed(a, allow, blocked) {
			return fmt.Errorf("%w: %s", ErrAddressNotAllowed, a)
		}
		return nil
	}
}
