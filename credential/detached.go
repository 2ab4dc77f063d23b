package credential

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/seal"
)

// ErrSignature is a detached signature that does not hold.
var ErrSignature = errors.New("credential: signature does not hold")

// detachedContext starts every message a detached signature covers, so
// that no such signature can stand for a credential's proof, which signs
// the 64 bytes of two hashes (Ed25519Signature2020), nor the other way.
const detachedContext = "kluis detached signature v1\n"

// Detached signs and checks detached signatures over bytes with the keys
// the credential service publishes at /.vc/keys and rotates: one key
// store for every signature Kluis makes (the access log's segment heads
// among them), so what Kluis signs is checked against one published set.
type Detached struct {
	k *keyring
}

// Detached is the service's signer of detached signatures.
func (s *Service) Detached() Detached { return Detached{s.keys} }

// PublishedKeys checks detached signatures against the keys stored in b,
// opened with sl (the server's secret keys, when it seals them), for a
// command that runs beside the server (kluis log verify); it signs with
// the default rotation.
func PublishedKeys(b storage.Backend, sl seal.Sealer) Detached {
	return Detached{&keyring{store: b, now: time.Now, every: DefaultKeyRotation, life: DefaultMaxLifetime, seal: sl}}
}

// SignDetached signs msg with the current signing key; kid is the key's
// id in the published key set.
func (d Detached) SignDetached(ctx context.Context, msg []byte) (string, []byte, error) {
	set, err := d.k.current(ctx)
	if err != nil {
		return "", nil, err
	}
	sk := set.signing(d.k.now())
	if sk == nil {
		return "", nil, errors.New("credential: no signing key")
	}
	return sk.ID, ed25519.Sign(sk.priv, detachedMessage(msg)), nil
}

// VerifyDetached checks that sig is the signature over msg of the
// published key kid; ErrSignature when it is not, or when no such key is
// published (any more).
func (d Detached) VerifyDetached(ctx context.Context, kid string, msg, sig []byte) error {
	set, err := d.k.published(ctx)
	if err != nil {
		return err
	}
	sk := set.find(kid)
	if sk == nil {
		return fmt.Errorf("%w: no published key %q", ErrSignature, kid)
	}
	if !ed25519.Verify(sk.pub, detachedMessage(msg), sig) {
		return ErrSignature
	}
	return nil
}

func detachedMessage(msg []byte) []byte {
	var b strings.Builder
	b.Grow(len(detachedContext) + len(msg))
	b.WriteString(detachedContext)
	b.Write(msg)
	return []byte(b.String())
}

// published is the stored key set as it is, rotating nothing: a check
// never writes.
func (k *keyring) published(ctx context.Context) (*keySet, error) {
	k.mu.Lock()
	if k.set != nil && k.now().Before(k.validUntil) {
		set := k.set
		k.mu.Unlock()
		return set, nil
	}
	k.mu.Unlock()
	var set keySet
	if _, err := k.read(ctx, &set); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if _, err := set.parse(k.seal); err != nil {
		return nil, err
	}
	return &set, nil
}

// PublicKey is the Ed25519 public key of kid, while it is published, for
// keeping with what it signed (the access log keeps the keys of its
// segments, so that an exported log still verifies).
func (d Detached) PublicKey(ctx context.Context, kid string) ([]byte, error) {
	set, err := d.k.published(ctx)
	if err != nil {
		return nil, err
	}
	sk := set.find(kid)
	if sk == nil {
		return nil, fmt.Errorf("%w: no published key %q", ErrSignature, kid)
	}
	return sk.pub, nil
}
