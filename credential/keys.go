package credential

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/seal"
)

// keyStorage is where the signing keys are stored.
const keyStorage = "sys/consent/keys.json"

// keyCacheTTL is how long a process trusts its copy of the key set before
// reading storage again, to see a key another process made.
const keyCacheTTL = time.Minute

// storedKey is one Ed25519 key with its schedule: it signs from SignFrom
// until SignUntil and is published until PublishUntil, when every
// credential it signed has expired.
type storedKey struct {
	ID           string    `json:"kid"`
	Seed         string    `json:"seed,omitempty"`   // base64url, in the clear (no secret key configured)
	Sealed       string    `json:"sealed,omitempty"` // or sealed (storage/seal), like the identity provider's keys
	SignFrom     time.Time `json:"sign_from"`
	SignUntil    time.Time `json:"sign_until"`
	PublishUntil time.Time `json:"publish_until"`
	// Public, alone, is a key of this issuer's that another Kluis at the
	// same base URL made, imported with a pod's credentials (move.go): it
	// verifies what it signed there and signs nothing here.
	Public string `json:"public,omitempty"`

	priv ed25519.PrivateKey // nil for an imported key
	pub  ed25519.PublicKey
}

type keySet struct {
	Keys []*storedKey `json:"keys"`
}

// Key is a published verification key.
type Key struct {
	ID     string
	Public ed25519.PublicKey
}

// keyring keeps the signing keys in storage, rotated on a schedule that
// is a pure function of the stored set and the clock, so every process
// sharing the storage signs with the same key; a rotation is a
// conditional write one process wins.
type keyring struct {
	store storage.Backend
	now   func() time.Time
	every time.Duration // how long a key signs
	life  time.Duration // how long a credential may live
	seal  seal.Sealer   // seals the seeds in storage when on

	mu         sync.Mutex
	set        *keySet
	validUntil time.Time
}

// current returns the key set, rotating it when due.
func (k *keyring) current(ctx context.Context) (*keySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if k.set != nil && now.Before(k.validUntil) {
		return k.set, nil
	}
	for range 5 {
		var set keySet
		etag, err := k.read(ctx, &set)
		exists := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		reseal, err := set.parse(k.seal)
		if err != nil {
			return nil, err
		}
		changed, err := set.maintain(now, k.every, k.life)
		if err != nil {
			return nil, err
		}
		if changed || reseal {
			if err := set.sealAll(k.seal); err != nil {
				return nil, err
			}
			raw, err := json.Marshal(&set)
			if err != nil {
				return nil, err
			}
			_, err = k.store.Put(ctx, keyStorage, bytes.NewReader(raw), storage.PutOptions{ContentType: "application/json", IfMatch: etag, IfNoneMatch: !exists})
			if errors.Is(err, storage.ErrPreconditionFailed) {
				continue // another process rotated first
			}
			if err != nil {
				return nil, err
			}
		}
		k.set = &set
		k.validUntil = now.Add(keyCacheTTL)
		if s := set.signing(now); s != nil && s.SignUntil.Before(k.validUntil) {
			k.validUntil = s.SignUntil
		}
		return k.set, nil
	}
	return nil, errors.New("credential: signing keys: too many concurrent updates")
}

func (k *keyring) read(ctx context.Context, set *keySet) (string, error) {
	rc, info, err := k.store.Get(ctx, keyStorage, storage.GetOptions{})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(raw, set); err != nil {
		return "", fmt.Errorf("credential: stored keys unreadable: %w", err)
	}
	return info.ETag, nil
}

// parse reads every stored seed, opening the sealed ones. reseal reports
// that a key is not stored as sl would store it now: in the clear while
// a secret key is configured, or sealed with the previous key.
func (s *keySet) parse(sl seal.Sealer) (reseal bool, err error) {
	for _, sk := range s.Keys {
		if sk.Public != "" && sk.Seed == "" && sk.Sealed == "" {
			pub, ok := parseMultibaseKey(sk.Public)
			if !ok {
				return false, errors.New("credential: stored public key unreadable")
			}
			sk.pub = pub
			continue
		}
		encoded := sk.Seed
		switch {
		case sk.Sealed != "":
			raw, stale, err := sl.Open(sk.Sealed)
			if err != nil {
				return false, fmt.Errorf("credential: stored signing key: %w", err)
			}
			encoded, reseal = string(raw), reseal || stale
		case sl.On():
			reseal = true
		}
		seed, err := base64.RawURLEncoding.DecodeString(encoded)
		if err != nil || len(seed) != ed25519.SeedSize {
			return false, errors.New("credential: stored key unreadable")
		}
		sk.priv = ed25519.NewKeyFromSeed(seed)
		sk.pub = sk.priv.Public().(ed25519.PublicKey)
	}
	return reseal, nil
}

// sealAll puts every key in the form it is stored in: sealed when a
// secret key is configured, in the clear otherwise.
func (s *keySet) sealAll(sl seal.Sealer) error {
	for _, sk := range s.Keys {
		if sk.priv == nil {
			continue // an imported public key
		}
		encoded := base64.RawURLEncoding.EncodeToString(sk.priv.Seed())
		if !sl.On() {
			sk.Seed, sk.Sealed = encoded, ""
			continue
		}
		sealed, err := sl.Seal([]byte(encoded))
		if err != nil {
			return err
		}
		sk.Seed, sk.Sealed = "", sealed
	}
	return nil
}

// maintain drops keys past publication and makes a signing key when none
// signs now.
func (s *keySet) maintain(now time.Time, every, life time.Duration) (bool, error) {
	changed := false
	kept := s.Keys[:0]
	for _, sk := range s.Keys {
		if now.Before(sk.PublishUntil) {
			kept = append(kept, sk)
		} else {
			changed = true
		}
	}
	s.Keys = kept
	if s.signing(now) != nil {
		return changed, nil
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return false, err
	}
	id := make([]byte, 9)
	if _, err := rand.Read(id); err != nil {
		return false, err
	}
	sk := &storedKey{
		ID: base64.RawURLEncoding.EncodeToString(id), Seed: base64.RawURLEncoding.EncodeToString(seed),
		SignFrom: now, SignUntil: now.Add(every), PublishUntil: now.Add(every + life),
		priv: ed25519.NewKeyFromSeed(seed),
	}
	sk.pub = sk.priv.Public().(ed25519.PublicKey)
	s.Keys = append(s.Keys, sk)
	return true, nil
}

// signing is the key that signs at now: the newest whose period holds it.
func (s *keySet) signing(now time.Time) *storedKey {
	var best *storedKey
	for _, sk := range s.Keys {
		if sk.priv != nil && !now.Before(sk.SignFrom) && now.Before(sk.SignUntil) && (best == nil || sk.SignFrom.After(best.SignFrom)) {
			best = sk
		}
	}
	return best
}

func (s *keySet) find(id string) *storedKey {
	for _, sk := range s.Keys {
		if sk.ID == id {
			return sk
		}
	}
	return nil
}

// multibaseKey is the publicKeyMultibase of an Ed25519 public key: "z",
// base58btc, over the multicodec prefix 0xed 0x01 and the key
// (Ed25519VerificationKey2020).
func multibaseKey(pub ed25519.PublicKey) string {
	return "z" + base58Encode(append([]byte{0xed, 0x01}, pub...))
}

// parseMultibaseKey reads a publicKeyMultibase of an Ed25519 key.
func parseMultibaseKey(mb string) (ed25519.PublicKey, bool) {
	if !strings.HasPrefix(mb, "z") {
		return nil, false
	}
	raw, err := base58Decode(mb[1:])
	if err != nil || len(raw) != 2+ed25519.PublicKeySize || raw[0] != 0xed || raw[1] != 0x01 {
		return nil, false
	}
	return ed25519.PublicKey(raw[2:]), true
}

// addPublic adds the public keys of this issuer that another Kluis at the
// same base URL made (kid to key), published until until, to the stored
// set; keys it has already are kept as they are.
func (k *keyring) addPublic(ctx context.Context, keys map[string]ed25519.PublicKey, until time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for range 5 {
		var set keySet
		etag, err := k.read(ctx, &set)
		exists := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if _, err := set.parse(k.seal); err != nil {
			return err
		}
		for kid, pub := range keys {
			if set.find(kid) == nil {
				set.Keys = append(set.Keys, &storedKey{ID: kid, Public: multibaseKey(pub), PublishUntil: until, pub: pub})
			}
		}
		if err := set.sealAll(k.seal); err != nil {
			return err
		}
		raw, err := json.Marshal(&set)
		if err != nil {
			return err
		}
		_, err = k.store.Put(ctx, keyStorage, bytes.NewReader(raw), storage.PutOptions{ContentType: "application/json", IfMatch: etag, IfNoneMatch: !exists})
		if errors.Is(err, storage.ErrPreconditionFailed) {
			continue
		}
		if err != nil {
			return err
		}
		k.set = nil // read again at the next use
		return nil
	}
	return errors.New("credential: signing keys: too many concurrent updates")
}
