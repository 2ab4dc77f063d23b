package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password rules: at least MinPasswordLength characters, at most
// MaxPasswordBytes bytes, not only spaces. Nothing else is demanded (NIST
// SP 800-63B §3.1.1.2 advises against composition rules).
const (
	MinPasswordLength = 8
	MaxPasswordBytes  = 1024
)

// CheckPassword reports whether password may be used, as an *InputError
// saying why not.
func CheckPassword(password string) error {
	switch {
	case strings.TrimSpace(password) == "":
		return &InputError{Field: "password", Reason: "a password is required"}
	case !utf8.ValidString(password):
		return &InputError{Field: "password", Reason: "the password is not valid UTF-8 text"}
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return &InputError{Field: "password", Reason: fmt.Sprintf("the password must have at least %d characters", MinPasswordLength)}
	case len(password) > MaxPasswordBytes:
		return &InputError{Field: "password", Reason: fmt.Sprintf("the password must have at most %d bytes", MaxPasswordBytes)}
	}
	return nil
}

// maxEmailLength is the longest address accepted (RFC 5321 §4.5.3.1.3
// limits a path to 256 octets, less the angle brackets).
const maxEmailLength = 254

// NormaliseEmail trims and lower-cases an e-mail address and checks that
// it is one bare address (local@domain), as an *InputError if not.
func NormaliseEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	bad := &InputError{Field: "email", Reason: "not a valid e-mail address"}
	if e == "" {
		return "", &InputError{Field: "email", Reason: "an e-mail address is required"}
	}
	if len(e) > maxEmailLength || strings.ContainsAny(e, " \t\r\n<>\"") {
		return "", bad
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", bad
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", bad
	}
	return e, nil
}

// Argon2Params are the argon2id parameters of new password hashes
// (RFC 9106). Stored hashes carry their own parameters, so changing these
// does not invalidate them.
type Argon2Params struct {
	// Time is the number of passes.
	Time uint32
	// MemoryKiB is the memory used, in KiB.
	MemoryKiB uint32
	// Threads is the degree of parallelism.
	Threads uint8
}

// DefaultArgon2 returns the parameters OWASP's Password Storage Cheat
// Sheet recommends for argon2id: 19 MiB, 2 passes, 1 thread.
func DefaultArgon2() Argon2Params { return Argon2Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1} }

func (p Argon2Params) withDefaults() Argon2Params {
	if p.Time == 0 || p.MemoryKiB == 0 || p.Threads == 0 {
		return DefaultArgon2()
	}
	return p
}

// Lengths of salt and hash, in bytes.
const (
	saltLength = 16
	keyLength  = 32
)

// hash returns the argon2id hash of password with a fresh random salt, in
// the PHC string format: $argon2id$v=19$m=...,t=...,p=...$salt$hash.
func (s *Store) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	salt := make([]byte, saltLength)
	_, _ = rand.Read(salt)
	return hashPassword(password, salt, s.argon), nil
}

// verify is verifyPassword, one of at most Options.MaxHashing at once.
func (s *Store) verify(ctx context.Context, password, encoded string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	return verifyPassword(password, encoded), nil
}

// acquire waits for a turn to hash, so that a burst of logins cannot take
// all memory (each hash takes Argon2Params.MemoryKiB).
func (s *Store) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) release() { <-s.hashing }

func hashPassword(password string, salt []byte, p Argon2Params) string {
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLength)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Bounds on the parameters read from a stored hash, so a damaged record
// cannot make a login take forever.
const (
	maxStoredMemoryKiB = 1 << 20
	maxStoredTime      = 16
)

// verifyPassword reports whether password matches the PHC string
// encoded, comparing in constant time.
func verifyPassword(password, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var p Argon2Params
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return false
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return false
			}
			p.Threads = uint8(n)
		}
	}
	if p.MemoryKiB == 0 || p.MemoryKiB > maxStoredMemoryKiB || p.Time == 0 || p.Time > maxStoredTime || p.Threads == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
