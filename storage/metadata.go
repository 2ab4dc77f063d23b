package storage

import (
	"fmt"
	"maps"
	"strings"
)

// MaxMetadataSize is the most user metadata an object may carry, names and
// values together, in bytes: S3 allows 2 KiB.
const MaxMetadataSize = 2048

// ValidateMetadata reports whether m may be stored as user metadata, wrapping
// ErrInvalidMetadata when it may not. Names are lower-case ASCII letters,
// digits and hyphens, starting with a letter; values are printable ASCII,
// since S3 carries them in HTTP headers.
func ValidateMetadata(m map[string]string) error {
	total := 0
	for k, v := range m {
		total += len(k) + len(v)
		if !validMetaName(k) {
			return fmt.Errorf("%w: name %q", ErrInvalidMetadata, truncate(k))
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return fmt.Errorf("%w: value of %q is not printable ASCII", ErrInvalidMetadata, k)
			}
		}
		if strings.TrimSpace(v) != v {
			return fmt.Errorf("%w: value of %q has surrounding spaces", ErrInvalidMetadata, k)
		}
	}
	if total > MaxMetadataSize {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidMetadata, total, MaxMetadataSize)
	}
	return nil
}

func validMetaName(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// CloneMetadata returns a copy of m, or nil when m is empty.
func CloneMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// MaxContentTypeLength is the longest content type an object may carry.
const MaxContentTypeLength = 256

// CheckPut validates the key and options of a Put, so that every backend
// refuses the same input.
func CheckPut(key string, o PutOptions) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if len(o.ContentType) > MaxContentTypeLength {
		return fmt.Errorf("%w: content type longer than %d bytes", ErrInvalidMetadata, MaxContentTypeLength)
	}
	for i := 0; i < len(o.ContentType); i++ {
		if c := o.ContentType[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: content type is not printable ASCII", ErrInvalidMetadata)
		}
	}
	if o.IfMatch != "" && o.IfNoneMatch {
		return fmt.Errorf("%w: both If-Match and If-None-Match", ErrPreconditionFailed)
	}
	return ValidateMetadata(o.Metadata)
}
