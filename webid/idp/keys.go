package idp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/storage"
)

// keyCacheTTL is how long a process trusts its copy of the key set before
// reading storage again, so that it sees keys another process made.
const keyCacheTTL = time.Minute

// maxKeyWrites bounds the retries of a key set update that lost a race.
const maxKeyWrites = 5

// signingAlgs are the algorithms the provider signs with, each from a key
// set of its own: ES256, the default for every token, and RS256 for the ID
// tokens of clients that register id_token_signed_response_alg RS256
// (OpenID Connect Discovery 1.0 §3: id_token_signing_alg_values_supported
// "MUST include RS256"). Keys publishes them in this order.
var signingAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// keyStorage is where the key set of each algorithm is stored. RS256 keys
// have an object of their own rather than a place in the ES256 set, so
// that a process of an older Kluis sharing the storage, which signs with
// the newest key of signing.json as ES256, never picks an RSA key.
var keyStorage = map[jose.SignatureAlgorithm]string{
	jose.ES256: keySigningKeys,
	jose.RS256: keySigningKeysRS256,
}

// rsaKeyBits is the size of RS256 keys (RFC 7518 §3.3: 2048 or larger).
const rsaKeyBits = 2048

// signingKey is one key of a set, with its schedule: it signs from
// SignFrom until SignUntil and is published until PublishUntil, when every
// token it signed has expired.
type signingKey struct {
	JWK          json.RawMessage `json:"jwk,omitempty"`    // private JWK, with kid, in the clear
	Sealed       string          `json:"sealed,omitempty"` // or sealed (sealer)
	SignFrom     time.Time       `json:"sign_from"`
	SignUntil    time.Time       `json:"sign_until"`
	PublishUntil time.Time       `json:"publish_until"`

	key *jose.JSONWebKey // parsed JWK
}

// keySet is the stored object at keySigningKeys (ES256) or
// keySigningKeysRS256 (RS256).
type keySet struct {
	Keys []*signingKey `json:"keys"`
}

// keyring keeps the signing keys of one algorithm in storage and a copy in
// memory. The schedule is a pure function of the stored set and the clock,
// so every process sharing the storage signs with the same key and
// publishes the same set, and a rotation is a conditional write that one
// process wins.
type keyring struct {
	alg    jose.SignatureAlgorithm
	stored string // the storage key of the set
	store  storage.Backend
	sealer sealer
	now    func() time.Time
	every  time.Duration // how long a key signs
	ahead  time.Duration // how long the next key is published before it signs
	life   time.Duration // how long a token signed with a key may be verified
	logger *slog.Logger

	mu         sync.Mutex
	set        *keySet
	validUntil time.Time
}

func newKeyring(alg jose.SignatureAlgorithm, store storage.Backend, seal sealer, now func() time.Time, every, tokenLife time.Duration, logger *slog.Logger) *keyring {
	return &keyring{
		alg: alg, stored: keyStorage[alg],
		store: store, sealer: seal, now: now, every: every, life: tokenLife, logger: logger,
		// Verifiers cache key sets and refetch on an unknown kid; a next
		// key published ahead is known before anyone sees it.
		ahead: min(every/4, time.Hour),
	}
}

// current returns the key set, reading, rotating and pruning it in
// storage when the cached copy may be stale.
func (k *keyring) current(ctx context.Context) (*keySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if k.set != nil && now.Before(k.validUntil) {
		return k.set, nil
	}
	for range maxKeyWrites {
		var set keySet
		etag, err := getJSON(ctx, k.store, k.stored, &set)
		exists := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		reseal, err := set.parse(k.alg, k.sealer)
		if err != nil {
			return nil, err
		}
		changed, err := set.maintain(k.alg, now, k.every, k.ahead, k.life)
		if err != nil {
			return nil, err
		}
		if changed || reseal {
			if err := set.seal(k.sealer); err != nil {
				return nil, err
			}
			o := storage.PutOptions{IfMatch: etag, IfNoneMatch: !exists}
			if _, err := putJSON(ctx, k.store, k.stored, &set, o); errors.Is(err, storage.ErrPreconditionFailed) {
				continue // another process rotated first: use theirs
			} else if err != nil {
				return nil, err
			}
			k.logger.Info("idp: signing keys updated", "alg", string(k.alg), "kids", set.kids())
		}
		k.set = &set
		k.validUntil = set.nextEvent(now, k.ahead, now.Add(keyCacheTTL))
		return k.set, nil
	}
	return nil, fmt.Errorf("idp: %s signing keys: too many concurrent updates", k.alg)
}

// parse reads every stored JWK, opening the sealed ones; each must be a
// private key for alg. reseal reports that a key is not stored as seal
// would store it now: in the clear while a secret key is configured, or
// sealed with the previous key.
func (s *keySet) parse(alg jose.SignatureAlgorithm, seal sealer) (reseal bool, err error) {
	for _, sk := range s.Keys {
		raw := []byte(sk.JWK)
		switch {
		case sk.Sealed != "":
			var stale bool
			if raw, stale, err = seal.open(sk.Sealed); err != nil {
				return false, fmt.Errorf("idp: stored signing key: %w", err)
			}
			reseal = reseal || stale
		case seal.on():
			reseal = true
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil || jwk.IsPublic() {
			return false, errors.New("idp: stored signing key unreadable")
		}
		if jwk.Algorithm != string(alg) {
			return false, fmt.Errorf("idp: stored signing key is for %.10q, not %s", jwk.Algorithm, alg)
		}
		sk.key = &jwk
	}
	return reseal, nil
}

// seal puts every key in the form it is stored in: sealed when a secret
// key is configured, in the clear otherwise.
func (s *keySet) seal(seal sealer) error {
	for _, sk := range s.Keys {
		raw, err := sk.key.MarshalJSON()
		if err != nil {
			return fmt.Errorf("idp: signing key: %w", err)
		}
		if !seal.on() {
			sk.JWK, sk.Sealed = raw, ""
			continue
		}
		if sk.Sealed, err = seal.seal(raw); err != nil {
			return err
		}
		sk.JWK = nil
	}
	return nil
}

// maintain brings the set up to date at now: it drops keys no longer
// published, makes a signing key for alg when none signs now, and makes
// the next key once the last one has less than ahead left to sign. It
// reports whether the set changed.
func (s *keySet) maintain(alg jose.SignatureAlgorithm, now time.Time, every, ahead, life time.Duration) (bool, error) {
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
	if s.signer(now) == nil {
		sk, err := newSigningKey(alg, now, every, life)
		if err != nil {
			return false, err
		}
		s.Keys = append(s.Keys, sk)
		changed = true
	}
	last := s.Keys[0]
	for _, sk := range s.Keys {
		if sk.SignUntil.After(last.SignUntil) {
			last = sk
		}
	}
	if !last.SignUntil.After(now.Add(ahead)) {
		sk, err := newSigningKey(alg, last.SignUntil, every, life)
		if err != nil {
			return false, err
		}
		s.Keys = append(s.Keys, sk)
		changed = true
	}
	return changed, nil
}

// nextEvent is when the set must next be looked at: a key to retire or to
// make. It is never later than limit.
func (s *keySet) nextEvent(now time.Time, ahead time.Duration, limit time.Time) time.Time {
	t := limit
	var last time.Time
	for _, sk := range s.Keys {
		if sk.PublishUntil.Before(t) {
			t = sk.PublishUntil
		}
		if sk.SignUntil.After(last) {
			last = sk.SignUntil
		}
	}
	if due := last.Add(-ahead); due.Before(t) {
		t = due
	}
	if !t.After(now) {
		t = now.Add(time.Second)
	}
	return t
}

// signer is the key that signs at now: of those whose signing period
// holds now, the one that started last.
func (s *keySet) signer(now time.Time) *signingKey {
	var best *signingKey
	for _, sk := range s.Keys {
		if !now.Before(sk.SignFrom) && now.Before(sk.SignUntil) && (best == nil || sk.SignFrom.After(best.SignFrom)) {
			best = sk
		}
	}
	return best
}

// public is the published key set: the public half of every key.
func (s *keySet) public() jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, sk := range s.Keys {
		set.Keys = append(set.Keys, sk.key.Public())
	}
	return set
}

// byKID returns the key with the kid, or nil.
func (s *keySet) byKID(kid string) *signingKey {
	for _, sk := range s.Keys {
		if sk.key.KeyID == kid {
			return sk
		}
	}
	return nil
}

func (s *keySet) kids() []string {
	var ids []string
	for _, sk := range s.Keys {
		ids = append(ids, sk.key.KeyID)
	}
	return ids
}

// newSigningKey makes a key for alg (ES256: P-256; RS256: RSA of
// rsaKeyBits) that signs from from for every, named by its RFC 7638
// thumbprint.
func newSigningKey(alg jose.SignatureAlgorithm, from time.Time, every, life time.Duration) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaKeyBits)
	default:
		err = fmt.Errorf("idp: no signing keys for %s", alg)
	}
	if err != nil {
		return nil, err
	}
	jwk := jose.JSONWebKey{Key: priv, Algorithm: string(alg), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	raw, err := jwk.MarshalJSON()
	if err != nil {
		return nil, err
	}
	until := from.Add(every)
	return &signingKey{
		JWK: raw, SignFrom: from.UTC(), SignUntil: until.UTC(), PublishUntil: until.Add(life).UTC(),
		key: &jwk,
	}, nil
}

// Keys returns the public key set served at jwks_uri: for each algorithm of
// signingAlgs, the key signing now, the next one, and retired ones whose
// tokens may still be valid.
func (p *Provider) Keys(ctx context.Context) (jose.JSONWebKeySet, error) {
	all := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, alg := range signingAlgs {
		set, err := p.keys[alg].current(ctx)
		if err != nil {
			return jose.JSONWebKeySet{}, err
		}
		all.Keys = append(all.Keys, set.public().Keys...)
	}
	return all, nil
}

// sign signs claims as a JWT of type typ with the alg key signing now.
func (p *Provider) sign(ctx context.Context, alg jose.SignatureAlgorithm, typ string, claims any) (string, error) {
	ring, ok := p.keys[alg]
	if !ok {
		return "", fmt.Errorf("idp: no signing keys for %s", alg)
	}
	set, err := ring.current(ctx)
	if err != nil {
		return "", err
	}
	sk := set.signer(p.cfg.Now())
	if sk == nil {
		return "", errors.New("idp: no signing key for now")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: *sk.key},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// verifyOwn checks that raw is a JWT this provider signed with a key it
// still publishes, and returns its payload. Expiry is the caller's. The
// key is looked up in the set of the header's alg only.
func (p *Provider) verifyOwn(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return nil, errors.New("idp: not a JWS of this provider")
	}
	ring, ok := p.keys[jose.SignatureAlgorithm(jws.Signatures[0].Header.Algorithm)]
	if !ok {
		return nil, errors.New("idp: not a JWS of this provider")
	}
	set, err := ring.current(ctx)
	if err != nil {
		return nil, err
	}
	sk := set.byKID(jws.Signatures[0].Header.KeyID)
	if sk == nil {
		return nil, errors.New("idp: JWS signed with an unknown key")
	}
	payload, err := jws.Verify(sk.key.Public())
	if err != nil {
		return nil, fmt.Errorf("idp: JWS signature does not verify")
	}
	return payload, nil
}
