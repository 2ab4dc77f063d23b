package filesystem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/weconomics/kluis/storage"
)

// The header that starts every object file:
//
//	magic "KLS2" | uint32 length of the rest of the header |
//	etag | content type | int64 modification time (Unix ns) |
//	uint64 length of the body |
//	uvarint number of metadata pairs | name | value | ...
//
// where each string is a uvarint length and its bytes. All integers are big
// endian. Files written before the body's length was kept start with
// "KLS1" and lack it; they are read as ever.
//
// The body's length tells a whole object from one a crash cut short: a new
// object is renamed into place before it is synced (see Put), so after a
// power loss its name may hold a file shorter than its header says, or an
// empty one. Such a file is an object that never was: it reads as not
// found.
const (
	magic         = "KLS2"
	magicUnsized  = "KLS1"
	prefixLen     = 8 // magic + length
	maxHeaderSize = 16 << 10
)

var errBadHeader = errors.New("filesystem: corrupt object header")

// errTorn is a file a crash left at an object's name before the write that
// made it was answered (see the header's comment).
var errTorn = fmt.Errorf("object cut short by a crash before its write was answered: %w", storage.ErrNotFound)

type header struct {
	etag        string
	contentType string
	modified    time.Time
	size        int64 // the body's length
	sized       bool  // size was read from the file (not "KLS1")
	metadata    map[string]string
}

// info is the Info of the object h heads, whose body has size bytes.
func (h *header) info(key string, size int64) storage.Info {
	return storage.Info{
		Key: key, Size: size, ETag: h.etag, ContentType: h.contentType,
		Modified: h.modified, Metadata: storage.CloneMetadata(h.metadata),
	}
}

// encode appends the header to dst.
func (h *header) encode(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, magic...)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendString(dst, h.etag)
	dst = appendString(dst, h.contentType)
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.modified.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.size))
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
	if len(b) < prefixLen || string(b[:4]) != magic && string(b[:4]) != magicUnsized {
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
	if h.sized = string(b[:4]) == magic; h.sized {
		h.size = int64(d.uint64())
	}
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
