// Package certs supplies the TLS certificates of a Kluis server that
// serves HTTPS itself: from PEM files, read again when they change (a
// renewal by certbot, say, needs no restart), or from an ACME certificate
// authority such as Let's Encrypt through golang.org/x/crypto/acme/autocert,
// for the base URL's host only. It also makes the plain-HTTP handler that
// redirects to the base URL (and answers ACME http-01 challenges).
//
// It knows nothing of routes, storage or Solid. It is the only Kluis
// package that imports golang.org/x/crypto/acme.
package certs
