// Package mail sends e-mail over SMTP: the password reset mails of the
// account pages (server/accounts/forgot.go). A Sender holds one SMTP URL and one
// From address, and opens a connection per mail.
//
// Transport security follows the URL: smtps:// is TLS from the first byte
// (RFC 8314 §3.3, port 465 by default); smtp:// must upgrade with STARTTLS
// (RFC 3207, port 587 by default) and the mail is not sent when the server
// does not offer it, unless the host is a loopback address or localhost,
// where the mail never leaves the machine and plain SMTP is allowed.
// Certificates are verified against the system's roots.
//
// It is the only importer of github.com/wneessen/go-mail, and imports
// nothing of Kluis. Its mailtest package, a real SMTP server for tests, is
// the only importer of github.com/emersion/go-smtp. The SMTP URL may hold a user name and password: no
// error or String of this package repeats them.
package mail
