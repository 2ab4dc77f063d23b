package seal_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/weconomics/kluis/storage/seal"
)

// TestSealOpen: what the current key sealed opens, not in the clear;
// what the previous key sealed opens and is reported stale; another key,
// or none, cannot open it; a changed record does not decrypt.
func TestSealOpen(t *testing.T) {
	k1, k2, k3 := bytes.Repeat([]byte{1}, seal.KeySize), bytes.Repeat([]byte{2}, seal.KeySize), bytes.Repeat([]byte{3}, seal.KeySize)
	secret := []byte("a signing key's seed")
	sealed, err := seal.Sealer{Current: k1}.Seal(secret)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, string(secret)) {
		t.Fatalf("sealed in the clear: %s", sealed)
	}
	if got, stale, err := (seal.Sealer{Current: k1}).Open(sealed); err != nil || stale || !bytes.Equal(got, secret) {
		t.Fatalf("open with the current key: %q %v %v", got, stale, err)
	}
	if got, stale, err := (seal.Sealer{Current: k2, Previous: k1}).Open(sealed); err != nil || !stale || !bytes.Equal(got, secret) {
		t.Fatalf("open with the previous key: %q %v %v", got, stale, err)
	}
	for name, s := range map[string]seal.Sealer{"another key": {Current: k3}, "no key": {}} {
		if _, _, err := s.Open(sealed); !errors.Is(err, seal.ErrKey) {
			t.Errorf("%s: %v, want ErrKey", name, err)
		}
	}
	parts := strings.Split(sealed, ".")
	parts[3] = strings.Repeat("A", len(parts[3]))
	if _, _, err := (seal.Sealer{Current: k1}).Open(strings.Join(parts, ".")); err == nil || errors.Is(err, seal.ErrKey) {
		t.Fatalf("a changed record: %v", err)
	}
}
