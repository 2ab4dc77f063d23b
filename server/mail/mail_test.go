package mail_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/weconomics/kluis/server/mail"
	"github.com/weconomics/kluis/server/mail/mailtest"
)

const password = "sw0rdf1sh-smtp"

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // "" for good, else a part of the error
	}{
		{"smtp://mail.example", ""},
		{"smtp://user:" + password + "@mail.example:2525", ""},
		{"smtps://user:" + password + "@mail.example", ""},
		{"smtp://127.0.0.1:25/", ""},
		{"smtp://[::1]:25", ""},
		{"http://user:" + password + "@mail.example", "smtp://"},
		{"mail.example:25", "smtp://"},
		{"smtp://", "no host"},
		{"smtp://:" + password + "@mail.example", "no user name"},
		{"smtp://mail.example:99999", "port"},
		{"smtp://mail.example:x", "URL"},
		{"smtp://user:" + password + "@mail.example/path", "no path"},
		{"smtp://user:" + password + "@mail.example?auth=plain", "no path"},
		{"smtp://user:" + password + "@mail.example#x", "no path"},
		{"smtp://user:" + password + "@mail example", "URL"},
		{"smtp:user:" + password + "@mail.example", "no host"},
		{"%%%" + password, "not a URL"},
	}
	for _, tc := range tests {
		err := mail.CheckURL(tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckURL(%q) = %v, want an error about %q", tc.url, err, tc.want)
		case err != nil && strings.Contains(err.Error(), password):
			t.Errorf("CheckURL(%q) shows the password: %v", tc.url, err)
		}
	}
}

func TestCheckFrom(t *testing.T) {
	for from, ok := range map[string]bool{
		"noreply@pods.example":         true,
		"Kluis <noreply@pods.example>": true,
		"":                             false,
		"noreply":                      false,
		"a@b.example, c@d.example":     false,
	} {
		if err := mail.CheckFrom(from); (err == nil) != ok {
			t.Errorf("CheckFrom(%q) = %v", from, err)
		}
	}
}

// dialTo dials addr whatever address is asked for, so that a URL can name
// a host that is not loopback.
func dialTo(addr string) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func TestSend(t *testing.T) {
	ctx := context.Background()
	tlsCfg, roots := mailtest.Certificate(t, "mail.example")
	tests := []struct {
		name string
		opts mailtest.Options
		// url builds the Sender's URL from the server's.
		url  func(s *mailtest.Server) string
		dial bool
		// want is "" when the mail must arrive, else a part of the error.
		want string
	}{
		{"loopback, plain, with a password", mailtest.Options{User: "kluis", Password: password},
			(*mailtest.Server).URL, false, ""},
		{"loopback, no authentication", mailtest.Options{}, (*mailtest.Server).URL, false, ""},
		{"wrong password", mailtest.Options{User: "kluis", Password: password},
			func(s *mailtest.Server) string { return "smtp://kluis:wrong-" + password + "@" + s.Addr }, false, "AUTH"},
		{"STARTTLS to a remote host", mailtest.Options{User: "kluis", Password: password, TLS: tlsCfg},
			func(s *mailtest.Server) string { return "smtp://kluis:" + password + "@mail.example:" + port(s) }, true, ""},
		{"a remote host without STARTTLS", mailtest.Options{User: "kluis", Password: password},
			func(s *mailtest.Server) string { return "smtp://kluis:" + password + "@mail.example:" + port(s) }, true, "STARTTLS"},
		{"a certificate for another host", mailtest.Options{TLS: tlsCfg},
			func(s *mailtest.Server) string { return "smtp://other.example:" + port(s) }, true, "certificate"},
		{"implicit TLS", mailtest.Options{User: "kluis", Password: password, TLS: tlsCfg, ImplicitTLS: true},
			func(s *mailtest.Server) string { return "smtps://kluis:" + password + "@mail.example:" + port(s) }, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, tc.opts)
			cfg := mail.Config{URL: tc.url(srv), From: "Kluis <noreply@pods.example>", HelloName: "pods.example", RootCAs: roots}
			if tc.dial {
				cfg.DialContext = dialTo(srv.Addr)
			}
			s, err := mail.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s.String(), password) || strings.Contains(s.String(), "kluis") {
				t.Errorf("String() = %s shows the credentials", s)
			}
			text := "Hello,\n\nopen " + strings.Repeat("https://pods.example/reset/?rid=abc", 3) + " to go on.\n"
			err = s.Send(ctx, "Alice@Example.org", "Reset your password", text)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Send = %v, want an error about %q", err, tc.want)
				}
				if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "rid=") {
					t.Fatalf("the error shows a secret: %v", err)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Fatalf("%d mails arrived", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d mails arrived, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Hello != "pods.example" {
				t.Errorf("EHLO %q", m.Hello)
			}
			if m.From != "noreply@pods.example" || len(m.To) != 1 || m.To[0] != "Alice@Example.org" || m.User != tc.opts.User {
				t.Errorf("envelope %q -> %q as %q", m.From, m.To, m.User)
			}
			for k, want := range map[string]string{
				"From": `"Kluis" <noreply@pods.example>`, "To": "<Alice@Example.org>", "Subject": "Reset your password",
				"Auto-Submitted": "auto-generated",
			} {
				if got := m.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if m.Header.Get("Date") == "" || !strings.HasSuffix(m.Header.Get("Message-Id"), "@pods.example>") {
				t.Errorf("Date %q, Message-ID %q", m.Header.Get("Date"), m.Header.Get("Message-Id"))
			}
			if got := strings.ReplaceAll(m.Text, "\r\n", "\n"); got != text {
				t.Errorf("text %q, want %q", got, text)
			}
		})
	}
}

func port(s *mailtest.Server) string {
	_, p, _ := net.SplitHostPort(s.Addr)
	return p
}

// TestSendServerDown: no server listening; the error names the server,
// not its password.
func TestSendServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := mail.New(mail.Config{URL: "smtp://kluis:" + password + "@" + addr, From: "noreply@pods.example"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), "alice@example.org", "x", "y")
	if err == nil || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), password) {
		t.Fatalf("Send = %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, cfg := range []mail.Config{
		{URL: "smtp://u:" + password + "@mail.example/x", From: "noreply@pods.example"},
		{URL: "smtp://mail.example", From: "no reply"},
	} {
		_, err := mail.New(cfg)
		if err == nil || strings.Contains(err.Error(), password) {
			t.Errorf("New(%v) = %v", cfg.From, err)
		}
	}
}

// TestHelloName: an IP address is given in EHLO as an address literal
// (RFC 5321 §4.1.3).
func TestHelloName(t *testing.T) {
	for name, want := range map[string]string{
		"":             "localhost",
		"pods.example": "pods.example",
		"192.0.2.1":    "[192.0.2.1]",
		"2001:db8::1":  "[IPv6:2001:db8::1]",
	} {
		srv := mailtest.Start(t, mailtest.Options{})
		s, err := mail.New(mail.Config{URL: srv.URL(), From: "noreply@pods.example", HelloName: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), "alice@example.org", "x", "y"); err != nil {
			t.Fatal(err)
		}
		if got := srv.Messages()[0].Hello; got != want {
			t.Errorf("HelloName %q: EHLO %q, want %q", name, got, want)
		}
	}
}
