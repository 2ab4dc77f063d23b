package storage

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on keys, chosen so that every backend can store every valid key:
// S3 allows 1,024 bytes of key, and most file systems 255 bytes of name.
// The last segment of a marker key (one ending in "/") is shorter: MinIO
// keeps such an object on its disks under the segment plus a 9-byte
// suffix ("__XLDIR__"), and refuses any request naming a longer one.
const (
	MaxKeyLength           = 1000
	MaxSegmentLength       = 255
	MaxMarkerSegmentLength = MaxSegmentLength - 9
)

// ValidateKey reports whether key may name an object, wrapping ErrInvalidKey
// when it may not. A key is a non-empty, slash-separated path of UTF-8
// segments with no leading slash and no empty segment, except that it may end
// in a single "/" (a marker object for a level of keys). No segment is "." or
// "..", and no key holds a control character (NUL included) or a backslash.
// Segments have at most MaxSegmentLength bytes, the last one of a marker key
// at most MaxMarkerSegmentLength.
// Spaces, "%", "+", "#" and other Unicode are allowed.
func ValidateKey(key string) error {
	if err := validatePath(key, true); err != nil {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, truncate(key), err.Error())
	}
	return nil
}

// ValidatePrefix reports whether prefix may be listed: "" (everything) or a
// valid key ending in "/".
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if !strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("%w %q: a prefix must end in /", ErrInvalidKey, truncate(prefix))
	}
	// A level is listed whatever the length of its name; only its marker
	// object is limited to MaxMarkerSegmentLength.
	if err := validatePath(prefix, false); err != nil {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, truncate(prefix), err.Error())
	}
	return nil
}

type keyError string

func (e keyError) Error() string { return string(e) }

func validatePath(key string, markerRule bool) error {
	switch {
	case key == "":
		return keyError("empty")
	case len(key) > MaxKeyLength:
		return keyError("too long")
	case !utf8.ValidString(key):
		return keyError("not UTF-8")
	case key[0] == '/':
		return keyError("leading slash")
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < 0x20 || c == 0x7f {
			return keyError("control character")
		}
		if c == '\\' {
			return keyError("backslash")
		}
	}
	body, marker := strings.CutSuffix(key, "/")
	if marker && markerRule && len(body)-strings.LastIndexByte(body, '/')-1 > MaxMarkerSegmentLength {
		return keyError("marker segment too long")
	}
	for seg := range strings.SplitSeq(body, "/") {
		switch {
		case seg == "":
			return keyError("empty segment")
		case seg == "." || seg == "..":
			return keyError("dot segment")
		case len(seg) > MaxSegmentLength:
			return keyError("segment too long")
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Parent returns the level a key belongs to: "a/b/" for "a/b/c" and for
// "a/b/c/", and "" for a top-level key.
func Parent(key string) string {
	k := strings.TrimSuffix(key, "/")
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return ""
	}
	return k[:i+1]
}
