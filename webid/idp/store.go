package idp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/weconomics/kluis/storage"
)

// Storage keys. Everything lives under sys/idp/, out of reach of LDP
// requests (ldp stores resources under "r/").
const (
	keySigningKeys      = "sys/idp/keys/signing.json"
	keySigningKeysRS256 = "sys/idp/keys/signing-rs256.json"
	keySecret           = "sys/idp/secret"
	prefixCodes         = "sys/idp/codes/"
	prefixRefresh       = "sys/idp/refresh/"
	prefixClients       = "sys/idp/clients/"
)

// maxRecord bounds a stored record read back.
const maxRecord = 1 << 20

// getJSON reads the JSON object at key into v and returns its ETag, or
// storage.ErrNotFound.
func getJSON(ctx context.Context, b storage.Backend, key string, v any) (string, error) {
	rc, info, err := b.Get(ctx, key, storage.GetOptions{})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxRecord+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxRecord {
		return "", fmt.Errorf("idp: record %s too large", key)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return "", fmt.Errorf("idp: record %s: %w", key, err)
	}
	return info.ETag, nil
}

// putJSON writes v at key with the conditions of o and returns the new
// ETag. A condition that fails is storage.ErrPreconditionFailed.
func putJSON(ctx context.Context, b storage.Backend, key string, v any, o storage.PutOptions) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	o.ContentType = "application/json"
	info, err := b.Put(ctx, key, bytes.NewReader(data), o)
	if err != nil {
		return "", err
	}
	return info.ETag, nil
}

// randomToken is n random bytes, base64url: codes, secrets, ids.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashKey is the hex SHA-256 of a secret value, the storage name of what
// the value unlocks: storage never holds a usable code or token.
func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secret is the provider's HMAC key for CSRF tokens, made once and shared
// through storage by every process.
type secret struct {
	store  storage.Backend
	sealer sealer

	mu  sync.Mutex
	key []byte
}

// secretRecord is the stored key: in the clear, or sealed (sealer).
type secretRecord struct {
	Key    []byte `json:"key,omitempty"`
	Sealed string `json:"sealed,omitempty"`
}

// record returns the record that stores key as s.sealer would now.
func (s *secret) record(key []byte) (secretRecord, error) {
	if !s.sealer.on() {
		return secretRecord{Key: key}, nil
	}
	sealed, err := s.sealer.seal(key)
	return secretRecord{Sealed: sealed}, err
}

// get returns the key, creating it when no process has yet.
func (s *secret) get(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	for range 3 {
		var rec secretRecord
		etag, err := getJSON(ctx, s.store, keySecret, &rec)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			key, reseal := rec.Key, s.sealer.on()
			if rec.Sealed != "" {
				var stale bool
				if key, stale, err = s.sealer.open(rec.Sealed); err != nil {
					return nil, fmt.Errorf("idp: CSRF secret: %w", err)
				}
				reseal = stale
			}
			if len(key) < 32 {
				return nil, errors.New("idp: stored CSRF secret unreadable")
			}
			if reseal {
				// Sealed as it is now to be; losing the race to another
				// process that does the same is fine.
				nrec, err := s.record(key)
				if err != nil {
					return nil, err
				}
				if _, err := putJSON(ctx, s.store, keySecret, nrec, storage.PutOptions{IfMatch: etag}); err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
					return nil, err
				}
			}
			s.key = key
			return s.key, nil
		}
		key := make([]byte, 32)
		rand.Read(key)
		rec, err = s.record(key)
		if err != nil {
			return nil, err
		}
		_, err = putJSON(ctx, s.store, keySecret, rec, storage.PutOptions{IfNoneMatch: true})
		if err == nil {
			s.key = key
			return s.key, nil
		}
		if !errors.Is(err, storage.ErrPreconditionFailed) {
			return nil, err
		}
		// Another process made it first: read theirs.
	}
	return nil, errors.New("idp: could not settle the CSRF secret")
}
