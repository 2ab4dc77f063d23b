package filesystem

import (
	"encoding/binary"
	"errors"
	"time"
)

// The header that starts every object file:
//
//	magic "KLS1" | uint32 length of the rest of the header |
//	etag | content type | int64 modification time (Unix ns) |
//	uvarint number of metadata pairs | name | value | ...
//
// where each string is a uvarint length and its bytes. All integers are big
// endian.
const (
	magic         = "KLS1"
	prefixLen     = 8 // magic + length
	maxHeaderSize = 16 << 10
)

var errBadHeader = errors.New("filesystem: corrupt object header")

type header struct {
	etag        string
	contentType string
	modified    time.Time
	metadata    map[string]string
}

// encode appends the header to dst.
func (h *header) encode(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, magic...)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendString(dst, h.etag)
	dst = appendString(dst, h.contentType)
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.modified.UnixNano()))
	dst = binary.AppendUvarint(dst, uint64(len(h.metadata)))
	for k, v := range h.metadata {
		dst = appendString(dst, k)
		dst = appendString(dst, v)
	}
	binary.BigEndian.PutUint32(dst[start+4:], uint32(len(dst)-start-prefixLen))
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// headerLen returns the whole header's length from its first prefixLen
// bytes.
func headerLen(b []byte) (int, error) {
	if len(b) < prefixLen || string(b[:4]) != magic {
		return 0, errBadHeader
	}
	n := int(binary.BigEndian.Uint32(b[4:8]))
	if n > maxHeaderSize {
		return 0, errBadHeader
	}
	return prefixLen + n, nil
}

// decode parses a whole header, as sized by headerLen.
func (h *header) decode(b []byte) error {
	d := decoder{b: b[prefixLen:]}
	h.etag = d.string()
	h.contentType = d.string()
	h.modified = time.Unix(0, int64(d.uint64())).UTC()
	n := d.uvarint()
	if n > 0 && d.err == nil {
		h.metadata = make(map[string]string, min(n, 64))
		for range n {
			k := d.string()
			v := d.string()
			if d.err != nil {
				break
			}
			h.metadata[k] = v
		}
	}
	if d.err != nil || len(d.b) != 0 {
		return errBadHeader
	}
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadHeader
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.err = errBadHeader
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errBadHeader
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
