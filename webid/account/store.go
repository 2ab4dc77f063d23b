package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/expiry"
)

// Key prefixes (see doc.go).
const (
	keyPrefix     = "sys/accounts/"
	accountPrefix = keyPrefix + "account/"
	emailPrefix   = keyPrefix + "by-email/"
	sessionPrefix = keyPrefix + "session/"
	credPrefix    = keyPrefix + "credential/"
	resetPrefix   = keyPrefix + "reset/"
	// The indexes (index.go): an account's sessions, a pod's accounts,
	// and what expires when.
	byAccountPrefix = keyPrefix + "by-account/"
	byPodPrefix     = keyPrefix + "by-pod/"
	expiryPrefix    = keyPrefix + "expiry/"
	// keyLayout marks that the records stored before the indexes existed
	// have been indexed (Migrate).
	keyLayout = keyPrefix + "layout"
)

// Limits of one account, so that its record stays small.
const (
	// MaxWebIDs is the most WebIDs an account may link.
	MaxWebIDs = 100
	// MaxCredentials is the most client credentials an account may hold.
	MaxCredentials = 100
	// DefaultMaxPods is Options.MaxPods when zero.
	DefaultMaxPods = 20
	// maxProofs bounds the WebID proofs an account may have pending.
	maxProofs = 20
)

// Defaults of Options.
const (
	DefaultSessionTTL = 14 * 24 * time.Hour
	// DefaultProofTTL is how long a WebID proof token is accepted, as in
	// the Community Solid Server (30 minutes).
	DefaultProofTTL = 30 * time.Minute
)

// FetchFunc fetches a WebID profile document for a proof of control: the
// body, its media type, or an error. It must be safe to call with any URL
// a person types (the server gives its guarded fetcher).
type FetchFunc func(ctx context.Context, url string) (body []byte, mediaType string, err error)

// Options tune a Store. The zero Options are the defaults.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Fetch reads WebID documents outside the account's pods, to check a
	// proof of control; nil means such WebIDs cannot be linked.
	Fetch FetchFunc
	// SessionTTL is how long a login session lasts (default 14 days).
	SessionTTL time.Duration
	// ProofTTL is how long a WebID proof token is accepted (default 30
	// minutes).
	ProofTTL time.Duration
	// ResetTTL is how long a password reset link works (default 1 hour).
	ResetTTL time.Duration
	// MaxPods is the most pods an account may create (default 20).
	MaxPods int
	// Limits are the rate limits of logins, sign-ups and password
	// resets.
	Limits Limits
	// Argon2 are the password hashing parameters; zero means
	// DefaultArgon2.
	Argon2 Argon2Params
	// MaxHashing bounds the password hashes computed at once (each takes
	// Argon2.MemoryKiB of memory); others wait their turn (default 4).
	MaxHashing int
}

// Store keeps accounts in a storage.Backend. It is safe for concurrent
// use, also by several processes sharing the backend (the rate limits are
// per process).
type Store struct {
	backend  storage.Backend
	now      func() time.Time
	fetch    FetchFunc
	session  time.Duration
	proofTTL time.Duration
	resetTTL time.Duration
	maxPods  int
	argon    Argon2Params
	// dummy is a hash verified when an e-mail address is unknown, so a
	// failed login takes as long whether or not the account exists.
	dummy string
	// Login attempts per e-mail address and client address, per e-mail
	// address from all addresses, and per client address; sign-ups per
	// client address; password reset mails per e-mail address and per
	// client address.
	perAccount, accountTotal, perAddress, signups *limiter
	resetsPerAccount, resetsPerAddress            *limiter
	// pending counts the accounts made without a login.
	pending *pendingAccounts
	// hashing holds a token for each password hash being computed.
	hashing chan struct{}
	// expiry indexes what expires by the hour (index.go).
	expiry expiry.Index
	// migrated is set once the layout marker has been seen (Migrate).
	migrated atomic.Bool
}

// New returns a Store over b.
func New(b storage.Backend, o Options) *Store {
	s := &Store{
		backend: b, now: o.Now, fetch: o.Fetch, session: o.SessionTTL, proofTTL: o.ProofTTL,
		resetTTL: o.ResetTTL, maxPods: o.MaxPods, argon: o.Argon2.withDefaults(),
		expiry: expiry.Index{Backend: b, Prefix: expiryPrefix},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.session <= 0 {
		s.session = DefaultSessionTTL
	}
	if s.proofTTL <= 0 {
		s.proofTTL = DefaultProofTTL
	}
	if s.resetTTL <= 0 {
		s.resetTTL = DefaultResetTTL
	}
	if s.maxPods <= 0 {
		s.maxPods = DefaultMaxPods
	}
	if o.MaxHashing <= 0 {
		o.MaxHashing = 4
	}
	s.hashing = make(chan struct{}, o.MaxHashing)
	l := o.Limits.withDefaults()
	s.perAccount = newLimiter(s.now, l.AccountBurst, l.AccountEvery, l.MaxTracked)
	s.accountTotal = newLimiter(s.now, l.AccountTotalBurst, l.AccountTotalEvery, l.MaxTracked)
	s.pending = newPendingAccounts(l.PendingPerAddress, l.MaxPending)
	s.perAddress = newLimiter(s.now, l.AddressBurst, l.AddressEvery, l.MaxTracked)
	s.signups = newLimiter(s.now, l.SignupBurst, l.SignupEvery, l.MaxTracked)
	s.resetsPerAccount = newLimiter(s.now, l.ResetBurst, l.ResetEvery, l.MaxTracked)
	s.resetsPerAddress = newLimiter(s.now, l.ResetAddressBurst, l.ResetAddressEvery, l.MaxTracked)
	s.dummy = hashPassword("kluis-dummy-password", make([]byte, saltLength), s.argon)
	return s
}

// Account is what the identity provider and the account pages know of an
// account.
type Account struct {
	// ID is the account's random identifier.
	ID string
	// Email is the address of its password login, "" while it has none.
	Email string
	// WebIDs are the WebIDs the account may log in as.
	WebIDs []string
	// Pods are the base URLs of the pods the account created.
	Pods []string
	// Created is when the account was made.
	Created time.Time
	// SignedOutAt is when a password reset last ended every sign-in of
	// the account (zero: never): sessions and the identity provider's
	// grants from before it no longer hold.
	SignedOutAt time.Time
}

// HasLogin reports whether the account has a login method.
func (a Account) HasLogin() bool { return a.Email != "" }

// Linked reports whether the account may act as webID.
func (a Account) Linked(webID string) bool { return slices.Contains(a.WebIDs, webID) }

// record is an account as stored.
type record struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Email   string    `json:"email,omitempty"`
	// Password is the argon2id hash of the password, in PHC form.
	Password    string           `json:"password,omitempty"`
	WebIDs      []string         `json:"webIds,omitempty"`
	Pods        []string         `json:"pods,omitempty"`
	Credentials []credentialItem `json:"credentials,omitempty"`
	Proofs      map[string]proof `json:"proofs,omitempty"`
	// SessionGen is the generation of the account's sessions: a session
	// made in an earlier one has ended (a password reset ends them all).
	SessionGen int `json:"sessionGen,omitempty"`
	// SignedOutAt is when SessionGen last moved (Account.SignedOutAt).
	SignedOutAt time.Time `json:"signedOutAt,omitzero"`
}

func (r record) account() Account {
	return Account{
		ID: r.ID, Email: r.Email, Created: r.Created, SignedOutAt: r.SignedOutAt,
		WebIDs: slices.Clone(r.WebIDs), Pods: slices.Clone(r.Pods),
	}
}

// proof is a pending proof of control of a WebID.
type proof struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// maxRecord bounds what is read of a stored object.
const maxRecord = 1 << 20

// digest is the hex SHA-256 of s, the key of indexes and secrets.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newID returns a random version 4 UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// validID reports whether id looks like one newID made, so that no other
// text becomes part of a key.
func validID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// readJSON reads the object at key into v and returns its ETag.
func (s *Store) readJSON(ctx context.Context, key string, v any) (string, error) {
	body, info, err := s.backend.Get(ctx, key, storage.GetOptions{})
	if err != nil {
		return "", err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxRecord+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxRecord {
		return "", fmt.Errorf("account: %s is larger than %d bytes", key, maxRecord)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return "", fmt.Errorf("account: %s does not parse: %w", key, err)
	}
	return info.ETag, nil
}

// writeJSON stores v at key under the conditions of o.
func (s *Store) writeJSON(ctx context.Context, key string, v any, o storage.PutOptions) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	o.ContentType = "application/json"
	info, err := s.backend.Put(ctx, key, bytes.NewReader(data), o)
	if err != nil {
		return "", err
	}
	return info.ETag, nil
}

// read returns the stored account id and its ETag.
func (s *Store) read(ctx context.Context, id string) (record, string, error) {
	if !validID(id) {
		return record{}, "", fmt.Errorf("account %q: %w", truncate(id), ErrNotFound)
	}
	var r record
	etag, err := s.readJSON(ctx, accountPrefix+id, &r)
	if errors.Is(err, storage.ErrNotFound) {
		return record{}, "", fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return record{}, "", fmt.Errorf("account %s: %w", id, err)
	}
	return r, etag, nil
}

// updateAttempts bounds the retries of a read-modify-write that keeps
// losing to other writers.
const updateAttempts = 50

// update applies change to the stored account id: read with its ETag,
// change, write with If-Match, and again from the read when another
// writer came first. change may run several times, each time on a fresh
// copy; an error from it stops the update and is returned.
func (s *Store) update(ctx context.Context, id string, change func(*record) error) (record, error) {
	for attempt := 0; attempt < updateAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return record{}, err
			}
		}
		r, etag, err := s.read(ctx, id)
		if err != nil {
			return record{}, err
		}
		if err := change(&r); err != nil {
			return record{}, err
		}
		if err := s.indexAccount(ctx, r); err != nil {
			return record{}, err
		}
		_, err = s.writeJSON(ctx, accountPrefix+id, r, storage.PutOptions{IfMatch: etag})
		if errors.Is(err, storage.ErrPreconditionFailed) {
			continue
		}
		if err != nil {
			return record{}, fmt.Errorf("account %s: %w", id, err)
		}
		return r, nil
	}
	return record{}, fmt.Errorf("account %s: gave up after %d conflicting writes: %w", id, updateAttempts, storage.ErrPreconditionFailed)
}

// backoff waits a little, more with each attempt, with jitter so that
// competing writers spread out.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(mrand.Int64N(int64(min(attempt, 20))*int64(2*time.Millisecond) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Get returns the account id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Account, error) {
	r, _, err := s.read(ctx, id)
	if err != nil {
		return Account{}, err
	}
	return r.account(), nil
}

// Create makes an account without a login method, as the Community Solid
// Server's account API does first; AddPasswordLogin then gives it one.
// Creations are rate-limited per client address, and the accounts still
// without a login are counted per client address and in all
// (Limits.PendingPerAddress, MaxPending; a *RateLimitedError past them);
// one left without anything for a day is deleted (Sweep).
func (s *Store) Create(ctx context.Context, clientAddr string) (Account, error) {
	addr := addressKey(clientAddr)
	if err := s.signups.take(addr); err != nil {
		return Account{}, err
	}
	now := s.now().UTC()
	r := record{ID: newID(), Created: now}
	if err := s.pending.reserve(r.ID, addr, now, now.Add(emptyAccountLife)); err != nil {
		return Account{}, err
	}
	if err := s.indexAccount(ctx, r); err != nil {
		s.pending.release(r.ID)
		return Account{}, err
	}
	if _, err := s.writeJSON(ctx, accountPrefix+r.ID, r, storage.PutOptions{IfNoneMatch: true}); err != nil {
		s.pending.release(r.ID)
		return Account{}, fmt.Errorf("account: creating: %w", err)
	}
	return r.account(), nil
}

// Register makes an account with a password login in one step, for the
// sign-up page and the command line. It is rate-limited per client
// address; an address already in use is ErrEmailTaken, and then nothing
// is stored.
func (s *Store) Register(ctx context.Context, email, password, clientAddr string) (Account, error) {
	email, err := NormaliseEmail(email)
	if err != nil {
		return Account{}, err
	}
	if err := CheckPassword(password); err != nil {
		return Account{}, err
	}
	if err := s.signups.take(addressKey(clientAddr)); err != nil {
		return Account{}, err
	}
	r := record{ID: newID(), Created: s.now().UTC(), Email: email}
	claim, err := s.claimEmail(ctx, email, r.ID)
	if err != nil {
		return Account{}, err
	}
	if r.Password, err = s.hash(ctx, password); err != nil {
		s.releaseEmail(ctx, email, claim)
		return Account{}, err
	}
	if _, err := s.writeJSON(ctx, accountPrefix+r.ID, r, storage.PutOptions{IfNoneMatch: true}); err != nil {
		s.releaseEmail(ctx, email, claim)
		return Account{}, fmt.Errorf("account: creating: %w", err)
	}
	return r.account(), nil
}

// emailIndex is the object of an e-mail index key.
type emailIndex struct {
	Account string    `json:"account"`
	Claimed time.Time `json:"claimed"`
}

// staleClaim is how old an e-mail claim must be before another account
// may take it over when the account it names does not use the address:
// the claimant crashed between claiming and storing its account.
const staleClaim = time.Minute

// claimEmail takes the e-mail index key for account id with
// If-None-Match, and returns the ETag of the claim. Of several accounts
// claiming one address at the same moment, exactly one wins.
func (s *Store) claimEmail(ctx context.Context, email, id string) (string, error) {
	key := emailPrefix + digest(email)
	idx := emailIndex{Account: id, Claimed: s.now().UTC()}
	etag, err := s.writeJSON(ctx, key, idx, storage.PutOptions{IfNoneMatch: true})
	if err == nil {
		return etag, nil
	}
	if !errors.Is(err, storage.ErrPreconditionFailed) {
		return "", fmt.Errorf("account: claiming an e-mail address: %w", err)
	}
	var cur emailIndex
	curTag, err := s.readJSON(ctx, key, &cur)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			// Released in between: one more try.
			etag, err := s.writeJSON(ctx, key, idx, storage.PutOptions{IfNoneMatch: true})
			if errors.Is(err, storage.ErrPreconditionFailed) {
				return "", ErrEmailTaken
			}
			return etag, err
		}
		return "", fmt.Errorf("account: claiming an e-mail address: %w", err)
	}
	if s.now().Sub(cur.Claimed) < staleClaim {
		return "", ErrEmailTaken
	}
	if owner, _, err := s.read(ctx, cur.Account); err == nil && owner.Email == email {
		return "", ErrEmailTaken
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	// A stale claim: its account never stored the address.
	etag, err = s.writeJSON(ctx, key, idx, storage.PutOptions{IfMatch: curTag})
	if errors.Is(err, storage.ErrPreconditionFailed) {
		return "", ErrEmailTaken
	}
	return etag, err
}

// releaseEmail gives back a claim made by claimEmail, best effort.
func (s *Store) releaseEmail(ctx context.Context, email, etag string) {
	// Also when the request was cancelled: the claim must not linger.
	_ = s.backend.Delete(context.WithoutCancel(ctx), emailPrefix+digest(email), storage.DeleteOptions{IfMatch: etag})
}

// AddPasswordLogin gives the account id its e-mail and password login.
// The address must be free (ErrEmailTaken), the password must follow
// CheckPassword, and the account must have no password login yet
// (ErrLoginExists).
func (s *Store) AddPasswordLogin(ctx context.Context, id, email, password string) error {
	email, err := NormaliseEmail(email)
	if err != nil {
		return err
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	r, _, err := s.read(ctx, id)
	if err != nil {
		return err
	}
	if r.Email != "" {
		return ErrLoginExists
	}
	claim, err := s.claimEmail(ctx, email, id)
	if err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		s.releaseEmail(ctx, email, claim)
		return err
	}
	_, err = s.update(ctx, id, func(r *record) error {
		if r.Email != "" {
			return ErrLoginExists
		}
		r.Email, r.Password = email, hash
		return nil
	})
	if err != nil {
		s.releaseEmail(ctx, email, claim)
		return err
	}
	s.pending.release(id)
	return nil
}

// ChangePassword replaces the password of account id after checking the
// old one (ErrBadCredentials). Attempts count against the account's login
// rate limit.
func (s *Store) ChangePassword(ctx context.Context, id, oldPassword, newPassword string) error {
	if err := CheckPassword(newPassword); err != nil {
		return err
	}
	r, _, err := s.read(ctx, id)
	if err != nil {
		return err
	}
	if r.Email == "" {
		return ErrNoLogin
	}
	// The owner, logged in: a bucket of their own, which failed logins
	// elsewhere do not empty.
	key := digest(r.Email) + " change"
	if err := s.perAccount.take(key); err != nil {
		return err
	}
	if ok, err := s.verify(ctx, oldPassword, r.Password); err != nil {
		return err
	} else if !ok {
		return ErrBadCredentials
	}
	s.perAccount.give(key)
	hash, err := s.hash(ctx, newPassword)
	if err != nil {
		return err
	}
	_, err = s.update(ctx, id, func(r *record) error {
		r.Password = hash
		return nil
	})
	return err
}

// Authenticate returns the account whose login is email and password, or
// ErrBadCredentials. Attempts are rate-limited per client address, per
// e-mail address from that client address, and per e-mail address from
// all addresses together, with a much higher ceiling (a
// *RateLimitedError); a successful attempt does not count. So failed
// logins from one address do not lock the owner out elsewhere; only many
// addresses at once can. An unknown address costs as much time as a wrong
// password.
func (s *Store) Authenticate(ctx context.Context, email, password, clientAddr string) (Account, error) {
	email, err := NormaliseEmail(email)
	if err != nil || password == "" || len(password) > MaxPasswordBytes {
		return Account{}, ErrBadCredentials
	}
	addr, acct := addressKey(clientAddr), digest(email)
	acctAddr := acct + " " + addr
	if err := s.perAddress.take(addr); err != nil {
		return Account{}, err
	}
	if err := s.perAccount.take(acctAddr); err != nil {
		s.perAddress.give(addr)
		return Account{}, err
	}
	if err := s.accountTotal.take(acct); err != nil {
		s.perAccount.give(acctAddr)
		s.perAddress.give(addr)
		return Account{}, err
	}
	var idx emailIndex
	_, err = s.readJSON(ctx, emailPrefix+acct, &idx)
	if errors.Is(err, storage.ErrNotFound) {
		_, _ = s.verify(ctx, password, s.dummy)
		return Account{}, ErrBadCredentials
	}
	if err != nil {
		return Account{}, fmt.Errorf("account: login: %w", err)
	}
	r, _, err := s.read(ctx, idx.Account)
	if errors.Is(err, ErrNotFound) || err == nil && r.Email != email {
		_, _ = s.verify(ctx, password, s.dummy)
		return Account{}, ErrBadCredentials
	}
	if err != nil {
		return Account{}, err
	}
	if ok, err := s.verify(ctx, password, r.Password); err != nil {
		return Account{}, err
	} else if !ok {
		return Account{}, ErrBadCredentials
	}
	s.perAddress.give(addr)
	s.perAccount.give(acctAddr)
	s.accountTotal.give(acct)
	return r.account(), nil
}

// AddPod records a pod the account created, at its base URL, and links
// its WebID (when not empty) to the account.
func (s *Store) AddPod(ctx context.Context, id, podURL, webID string) error {
	if err := s.indexPod(ctx, podURL, id); err != nil {
		return err
	}
	_, err := s.update(ctx, id, func(r *record) error {
		if !slices.Contains(r.Pods, podURL) {
			if len(r.Pods) >= s.maxPods {
				return fmt.Errorf("%w: at most %d pods", ErrTooMany, s.maxPods)
			}
			r.Pods = append(r.Pods, podURL)
		}
		if webID != "" && !slices.Contains(r.WebIDs, webID) {
			if len(r.WebIDs) >= MaxWebIDs {
				return fmt.Errorf("%w: at most %d WebIDs", ErrTooMany, MaxWebIDs)
			}
			r.WebIDs = append(r.WebIDs, webID)
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		// The marker goes again unless the account holds the pod after
		// all (from an earlier AddPod); a marker left over is harmless
		// (ForgetPod drops it).
		if r, _, rerr := s.read(ctx, id); errors.Is(rerr, ErrNotFound) || rerr == nil && !slices.Contains(r.Pods, podURL) {
			_ = s.deleteKey(ctx, podKey(podURL, id))
		}
	}
	return err
}

// CanCreatePod reports whether a the account may create one more pod: it
// needs a login (ErrNoLogin) and room (ErrTooMany).
func (s *Store) CanCreatePod(a Account) error {
	if !a.HasLogin() {
		return ErrNoLogin
	}
	if len(a.Pods) >= s.maxPods {
		return fmt.Errorf("%w: at most %d pods", ErrTooMany, s.maxPods)
	}
	return nil
}
