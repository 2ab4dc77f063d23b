package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	stdmail "net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultTimeout bounds each step of an SMTP exchange (connecting, each
// command) when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config is what a Sender needs.
type Config struct {
	// URL is the SMTP server: smtp://[user:password@]host[:port] (STARTTLS,
	// port 587) or smtps://[user:password@]host[:port] (implicit TLS, port
	// 465). With a user, the Sender authenticates (SMTP AUTH).
	URL string
	// From is the sender of every mail, an RFC 5322 address such as
	// "Kluis <noreply@pods.example>".
	From string
	// HelloName is the name the Sender gives in EHLO, the server's host
	// name (an IP address is written as an address literal, "[192.0.2.1]");
	// "" means "localhost".
	HelloName string
	// Timeout bounds each step of the exchange; zero means DefaultTimeout.
	Timeout time.Duration
	// RootCAs verify the server's certificate; nil means the system's.
	RootCAs *x509.CertPool
	// DialContext, when set, opens the TCP connections instead of a
	// net.Dialer (for tests that reach a local server under another
	// name).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// server is an SMTP URL taken apart.
type server struct {
	implicitTLS    bool
	host           string
	port           int
	user, password string
	hasUser        bool
}

// CheckURL reports whether raw is an SMTP URL a Sender can use. Its errors
// never repeat the URL, which may hold a password.
func CheckURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

func parseURL(raw string) (server, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return server{}, errors.New("not a URL")
	}
	var s server
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.implicitTLS, s.port = true, 465
	default:
		return server{}, errors.New("not an smtp:// or smtps:// URL")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return server{}, errors.New("the URL has no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return server{}, errors.New("the URL must be smtp[s]://[user:password@]host[:port] with no path or query")
	}
	s.host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return server{}, errors.New("the URL's port is not a number from 1 to 65535")
		}
		s.port = n
	}
	if u.User != nil {
		s.hasUser = true
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
		if s.user == "" {
			return server{}, errors.New("the URL has a password but no user name")
		}
	}
	return s, nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// CheckFrom reports whether from can be the From of a mail: one address,
// with or without a display name.
func CheckFrom(from string) error {
	if strings.TrimSpace(from) == "" {
		return errors.New("an address is required")
	}
	if _, err := stdmail.ParseAddress(from); err != nil {
		return errors.New("not an e-mail address such as noreply@pods.example or Kluis <noreply@pods.example>")
	}
	return nil
}

// Sender sends mail through one SMTP server. It is safe for concurrent
// use: each Send has its own connection.
type Sender struct {
	srv        server
	from       string
	fromDomain string
	hello      string
	timeout    time.Duration
	tls        *tls.Config
	dial       func(ctx context.Context, network, addr string) (net.Conn, error)
}

// New returns a Sender for c, or an error (that never repeats the URL)
// when c.URL or c.From cannot be used.
func New(c Config) (*Sender, error) {
	srv, err := parseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP URL: %w", err)
	}
	if err := CheckFrom(c.From); err != nil {
		return nil, fmt.Errorf("mail: From %q: %w", c.From, err)
	}
	from, _ := stdmail.ParseAddress(c.From)
	_, domain, _ := strings.Cut(from.Address, "@")
	s := &Sender{srv: srv, from: c.From, fromDomain: domain, hello: c.HelloName, timeout: c.Timeout, dial: c.DialContext,
		tls: &tls.Config{ServerName: srv.host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}}
	if s.hello == "" {
		s.hello = "localhost"
	}
	if a, err := netip.ParseAddr(s.hello); err == nil {
		// RFC 5321 §4.1.3.
		if a.Is6() && !a.Is4In6() {
			s.hello = "[IPv6:" + a.String() + "]"
		} else {
			s.hello = "[" + a.Unmap().String() + "]"
		}
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

// String names the server without its credentials, for logs:
// "smtp://mail.example:587".
func (s *Sender) String() string {
	scheme := "smtp"
	if s.srv.implicitTLS {
		scheme = "smtps"
	}
	return scheme + "://" + net.JoinHostPort(s.srv.host, strconv.Itoa(s.srv.port))
}

// Send sends one plain-text mail to the address to. ctx bounds the whole
// exchange. The error names the server and the step that failed, and never
// holds the server's credentials or the mail's text.
func (s *Sender) Send(ctx context.Context, to, subject, text string) error {
	m := gomail.NewMsg()
	if err := m.From(s.from); err != nil {
		return fmt.Errorf("mail: From: %w", err)
	}
	if err := m.To(to); err != nil {
		return errors.New("mail: the recipient is not a valid address")
	}
	m.Subject(subject)
	m.SetDate()
	// The Message-ID names the From address's domain, not this machine's
	// host name (RFC 5322 §3.6.4: unique, the right side a domain).
	m.SetMessageIDWithValue(rand.Text() + "@" + s.fromDomain)
	m.SetUserAgent("Kluis")
	// RFC 3834 §5: an automatic mail; auto-responders should not answer.
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	m.SetBodyString(gomail.TypeTextPlain, text)

	c, err := gomail.NewClient(s.srv.host, s.options()...)
	if err != nil {
		return s.failed(err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return s.failed(err)
	}
	return nil
}

// options are the go-mail client options of the Sender's server.
func (s *Sender) options() []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.srv.port), gomail.WithTimeout(s.timeout), gomail.WithHELO(s.hello),
		gomail.WithTLSConfig(s.tls),
	}
	plain := false
	switch {
	case s.srv.implicitTLS:
		// dialContext speaks TLS; no STARTTLS inside it.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case loopback(s.srv.host):
		// This machine: STARTTLS is neither needed nor, with a local
		// relay's self-made certificate, likely to verify.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		plain = true
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	opts = append(opts, gomail.WithDialContextFunc(s.dialContext))
	switch {
	case !s.srv.hasUser:
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthNoAuth))
	case plain:
		// Plain-text mechanisms over a loopback connection only.
		opts = append(opts, gomail.WithUsername(s.srv.user), gomail.WithPassword(s.srv.password),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc))
	default:
		// Over TLS; go-mail's own PLAIN and LOGIN refuse to run without.
		opts = append(opts, gomail.WithUsername(s.srv.user), gomail.WithPassword(s.srv.password),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthPlain, gomail.SMTPAuthLogin, gomail.SMTPAuthCramMD5))
	}
	return opts
}

// dialContext opens the connection to the server: TCP, and with smtps://
// TLS from the first byte. (go-mail speaks TLS itself only through its
// own dialer, which Config.DialContext replaces.)
func (s *Sender) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	dial := s.dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, network, addr)
	if err != nil || !s.srv.implicitTLS {
		return conn, err
	}
	tc := tls.Client(conn, s.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

// failed words a failure of go-mail, with the credentials taken out should
// a server have echoed them.
func (s *Sender) failed(err error) error {
	msg := err.Error()
	for _, secret := range []string{s.srv.password, s.srv.user} {
		if len(secret) >= 3 {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	return fmt.Errorf("mail: sending through %s: %s", s, msg)
}
