package credential_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/storage/seal"
)

// TestKeysSealed: with the server's secret key, the signing keys are
// stored sealed: keys made in the clear before a secret key was set are
// sealed at the next read, the stored bytes no longer hold the private
// key, the same key goes on signing and verifying, and a process with
// another secret key cannot open them.
func TestKeysSealed(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	store := memory.New()
	cfg := openConfig(store, &now)
	stored := func() []byte {
		t.Helper()
		rc, _, err := store.Get(ctx, "sys/consent/keys.json", storage.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		raw, _ := io.ReadAll(rc)
		return raw
	}
	clear, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := clear.Issue(ctx, credential.Agent{WebID: alice}, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, "")))
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Seed, Sealed string
		}
	}
	if err := json.Unmarshal(stored(), &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Seed == "" {
		t.Fatalf("keys without a secret key: %+v %v", set, err)
	}
	seed := set.Keys[0].Seed

	key := bytes.Repeat([]byte{7}, seal.KeySize)
	cfg.Seal = seal.Sealer{Current: key}
	sealed, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := sealed.Verify(ctx, doc); len(v.Errors) != 0 {
		t.Fatalf("a credential signed before sealing: %v", v.Errors)
	}
	raw := stored()
	if bytes.Contains(raw, []byte(seed)) || !bytes.Contains(raw, []byte(`"sealed"`)) {
		t.Fatalf("the stored keys after sealing: %s", raw)
	}
	doc2, _, err := sealed.Issue(ctx, credential.Agent{WebID: alice}, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, "")))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := sealed.Verify(ctx, doc2); len(v.Errors) != 0 {
		t.Fatalf("a credential signed with the sealed key: %v", v.Errors)
	}

	cfg.Seal = seal.Sealer{Current: bytes.Repeat([]byte{8}, seal.KeySize)}
	other, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Keys(ctx); !errors.Is(err, seal.ErrKey) {
		t.Fatalf("keys read with another secret key: %v, want seal.ErrKey", err)
	}
}
