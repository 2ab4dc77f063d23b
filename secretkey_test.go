package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/webid/idp"
)

// TestRunSealsIdPSecrets: with KLUIS_SECRET_KEY the identity provider's
// signing keys, and the access credentials', reach the data folder
// sealed, the key sets are still served, and a process started with
// another key refuses to start, saying why.
func TestRunSealsIdPSecrets(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := newWatcher(), newWatcher()
	exited := make(chan error, 1)
	go func() {
		exited <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", data}, env(map[string]string{"KLUIS_SECRET_KEY": testSecretKey}), out, errOut)
	}()
	base := out.waitFor(t, listeningLine(), nil)[1]
	if code, body := request(t, "GET", base+idp.PathJWKS, "", ""); code != 200 || !strings.Contains(body, `"kid"`) {
		t.Fatalf("GET the key set: %d %s", code, body)
	}
	if code, body := request(t, "GET", base+".vc/keys", "", ""); code != 200 || !strings.Contains(body, `"publicKeyMultibase"`) {
		t.Fatalf("GET the credential keys: %d %s", code, body)
	}
	cancel()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatal("run did not stop")
	}
	var stored, credentialKeys string
	filepath.WalkDir(data, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, "signing") {
			b, _ := os.ReadFile(p)
			stored = string(b)
		}
		if err == nil && !d.IsDir() && strings.Contains(p, "consent") && strings.Contains(p, "keys.json") {
			b, _ := os.ReadFile(p)
			credentialKeys = string(b)
		}
		return nil
	})
	if !strings.Contains(stored, `"sealed"`) || strings.Contains(stored, `"d"`) || strings.Contains(stored, `"jwk"`) {
		t.Fatalf("signing keys in the data folder are not sealed:\n%s", stored)
	}
	if !strings.Contains(credentialKeys, `"sealed"`) || strings.Contains(credentialKeys, `"seed"`) {
		t.Fatalf("credential signing keys in the data folder are not sealed:\n%s", credentialKeys)
	}

	// Another key: run returns at once, naming the cause.
	other := "Zm9yIHRoZSBwcmV2aW91cyBrZXksIDMyIGJ5dGVzISE="
	ctx2, cancel2 := context.WithTimeout(context.Background(), waitLimit)
	defer cancel2()
	err := run(ctx2, []string{"-addr", "127.0.0.1:0", "-data", data}, env(map[string]string{"KLUIS_SECRET_KEY": other}), newWatcher(), newWatcher())
	if !errors.Is(err, idp.ErrSecretKey) {
		t.Fatalf("run with another secret key = %v, want ErrSecretKey", err)
	}
}
