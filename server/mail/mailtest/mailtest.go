// Package mailtest is a real SMTP server on 127.0.0.1 for tests, on
// github.com/emersion/go-smtp: it keeps every mail it accepts, and can ask
// for a password (AUTH PLAIN) and offer STARTTLS or speak TLS from the
// first byte. Only tests import it.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options shape a Server; the zero Options are a plain server without
// authentication.
type Options struct {
	// User and Password, when User is set, are the only credentials
	// accepted, and a mail is refused without them.
	User, Password string
	// TLS, when set, is offered through STARTTLS, or spoken from the first
	// byte with ImplicitTLS.
	TLS         *tls.Config
	ImplicitTLS bool
	// TempFailures is how many mails are first refused with 451 "try
	// again later" before any is accepted.
	TempFailures int
}

// Message is a mail the server accepted.
type Message struct {
	// Hello is the name the client gave in EHLO.
	Hello string
	// From and To are the envelope's addresses; User is who logged in.
	From string
	To   []string
	User string
	// Header is the mail's header; Text its body, decoded from its
	// transfer encoding.
	Header mail.Header
	Text   string
}

// Server is a running SMTP server.
type Server struct {
	// Addr is its host:port on 127.0.0.1.
	Addr string
	opts Options

	mu      sync.Mutex
	msgs    []Message
	refused int // mails refused so far (Options.TempFailures)
}

// Start starts a server for the test; it stops when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	var ln net.Listener
	var err error
	if o.ImplicitTLS {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", o.TLS)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), opts: o}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{srv: s, conn: c}, nil }))
	srv.Domain = "mail.test"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 1 << 20
	if !o.ImplicitTLS {
		srv.TLSConfig = o.TLS
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// URL is an smtp:// URL of the server (smtps:// with ImplicitTLS), with
// its credentials.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr}
	if s.opts.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if s.opts.User != "" {
		u.User = url.UserPassword(s.opts.User, s.opts.Password)
	}
	return u.String()
}

// Messages returns the mails accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// session is one SMTP connection.
type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (x *session) AuthMechanisms() []string {
	if x.srv.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != x.srv.opts.User || password != x.srv.opts.Password {
			return smtp.ErrAuthFailed
		}
		x.user = user
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.srv.opts.User != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	var body io.Reader = m.Body
	switch strings.ToLower(m.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(m.Body)
	case "base64":
		return errors.New("mailtest: base64 bodies are not decoded")
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if mt, _, err := mime.ParseMediaType(m.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return errors.New("mailtest: only text/plain mails are kept")
	}
	x.srv.mu.Lock()
	defer x.srv.mu.Unlock()
	if x.srv.refused < x.srv.opts.TempFailures {
		x.srv.refused++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	x.srv.msgs = append(x.srv.msgs, Message{Hello: x.conn.Hostname(), From: x.from, To: slices.Clone(x.to), User: x.user, Header: m.Header, Text: string(text)})
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }

// Certificate makes a self-signed certificate for host, and returns a
// server TLS configuration that presents it and a pool that trusts it.
func Certificate(t testing.TB, host string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}, pool
}
