package credential_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weconomics/kluis/credential"
)

// TestDetachedSignatures: a detached signature holds for its bytes and
// its key only, also when checked from storage alone (as kluis log
// verify does), and no longer once its key is unpublished.
func TestDetachedSignatures(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := newService(t, &now)
	d := s.Detached()
	kid, sig, err := d.SignDetached(ctx, []byte("head"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.VerifyDetached(ctx, kid, []byte("head"), sig); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	if err := d.VerifyDetached(ctx, kid, []byte("heaD"), sig); !errors.Is(err, credential.ErrSignature) {
		t.Fatalf("other bytes: %v", err)
	}
	if err := d.VerifyDetached(ctx, "nope", []byte("head"), sig); !errors.Is(err, credential.ErrSignature) {
		t.Fatalf("other key: %v", err)
	}
	keys, err := s.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != base+"keys#"+kid {
		t.Fatalf("published keys %v %v, signed by %s", keys, err, kid)
	}
	// A year and more later the key is no longer published.
	now = now.Add(credential.DefaultKeyRotation + credential.DefaultMaxLifetime + time.Hour)
	if _, _, err := d.SignDetached(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := d.VerifyDetached(ctx, kid, []byte("head"), sig); !errors.Is(err, credential.ErrSignature) {
		t.Fatalf("retired key: %v", err)
	}
}
