package server

import (
	"strconv"
	"strings"

	"github.com/weconomics/kluis/storage"
)

// byteRange is the one range of a Range header (RFC 9110, section 14.1.2):
// first-last, first- (to the end), or -suffix (the last bytes).
type byteRange struct {
	first, last int64 // last < 0: to the end
	suffix      int64 // > 0 or zero-length-suffix: the last suffix bytes
	isSuffix    bool
}

// parseRange parses a Range header holding a single byte range. Anything
// else (other units, several ranges, bad syntax) reports false: the header
// is then ignored and the whole object is sent, as section 14.2 allows.
func parseRange(h string) (byteRange, bool) {
	unit, spec, ok := strings.Cut(strings.TrimSpace(h), "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return byteRange{}, false
	}
	spec = strings.TrimSpace(spec)
	if strings.Contains(spec, ",") {
		return byteRange{}, false
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return byteRange{}, false
	}
	if a == "" {
		n, ok := parseDigits(b)
		if !ok {
			return byteRange{}, false
		}
		return byteRange{suffix: n, isSuffix: true}, true
	}
	first, ok := parseDigits(a)
	if !ok {
		return byteRange{}, false
	}
	if b == "" {
		return byteRange{first: first, last: -1}, true
	}
	last, ok := parseDigits(b)
	if !ok || last < first {
		return byteRange{}, false
	}
	return byteRange{first: first, last: last}, true
}

// parseDigits parses a non-empty string of ASCII digits that fits an int64.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// storageRange turns a first-last or first- range into the backend's form.
// Suffix ranges need the object's size: see suffixRange.
func (r byteRange) storageRange() *storage.Range {
	if r.last < 0 {
		return &storage.Range{Offset: r.first, Length: -1}
	}
	return &storage.Range{Offset: r.first, Length: r.last - r.first + 1}
}

// suffixRange turns a -suffix range into the backend's form for an object
// of size bytes; false means it is not satisfiable (a zero suffix).
func (r byteRange) suffixRange(size int64) (*storage.Range, bool) {
	if r.suffix == 0 {
		return nil, false
	}
	return &storage.Range{Offset: max(size-r.suffix, 0), Length: -1}, true
}
