package certs

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Files serves the certificate chain and private key of two PEM files. At
// each handshake it checks the files' size and modification time, and
// loads them again when either changed; when the new pair does not load
// (a renewal half written), it logs that and keeps serving the old one.
type Files struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	certVer fileVersion
	keyVer  fileVersion
}

// fileVersion tells whether a file changed.
type fileVersion struct {
	size int64
	mod  time.Time
}

func versionOf(name string) (fileVersion, error) {
	st, err := os.Stat(name)
	if err != nil {
		return fileVersion{}, err
	}
	return fileVersion{size: st.Size(), mod: st.ModTime()}, nil
}

// LoadFiles loads the pair once, so that a bad one is refused at start. A
// nil logger discards logs.
func LoadFiles(certFile, keyFile string, logger *slog.Logger) (*Files, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &Files{certFile: certFile, keyFile: keyFile, logger: logger}
	if err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// load reads both files; the caller holds mu or owns f alone.
func (f *Files) load() error {
	cv, err := versionOf(f.certFile)
	if err != nil {
		return fmt.Errorf("certs: certificate: %w", err)
	}
	kv, err := versionOf(f.keyFile)
	if err != nil {
		return fmt.Errorf("certs: key: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		// The error names the files and the problem, never key material.
		return fmt.Errorf("certs: loading %s and %s: %w", f.certFile, f.keyFile, err)
	}
	f.cert, f.certVer, f.keyVer = &cert, cv, kv
	return nil
}

// GetCertificate is tls.Config.GetCertificate.
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cv, cerr := versionOf(f.certFile)
	kv, kerr := versionOf(f.keyFile)
	if cerr == nil && kerr == nil && (cv != f.certVer || kv != f.keyVer) {
		old := f.cert
		if err := f.load(); err != nil {
			f.logger.Warn("TLS certificate files changed but do not load; serving the previous certificate", "error", err)
			f.cert = old
			f.certVer, f.keyVer = cv, kv // not again at every handshake
		} else {
			f.logger.Info("TLS certificate reloaded", "cert", f.certFile)
		}
	}
	return f.cert, nil
}

// TLSConfig is a server configuration that serves the files' pair.
func (f *Files) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: f.GetCertificate, MinVersion: tls.VersionTLS12}
}
