package ldp

import "sync"

// Container representations kept between GETs.
//
// Serialising a large container is most of what its GET costs once the
// listing is kept (storage/filesystem/dirs.go, listings.go): 1,000
// children are 7,000 triples. A container's strong ETag is a digest of its
// marker (which holds the triples a client stored with it) and of every
// child's name, tag, size and time (listing.etag), plus the media type's
// variant: every byte of the representation follows from the ETag and
// the path. So a body kept under (path, ETag) is the body the GET would
// build, and a change of any of those makes a new ETag that misses.
type bodies struct {
	mu    sync.Mutex
	m     map[Path]keptBody
	bytes int
}

type keptBody struct {
	etag string
	body []byte
}

const (
	// minKeptChildren is the size from which container bodies are kept:
	// smaller ones cost less to build than to keep.
	minKeptChildren = 64
	// maxKeptBodyBytes bounds the bodies kept together; when a body would
	// pass it, all are dropped.
	maxKeptBodyBytes = 16 << 20
)

// get returns the body kept for p under etag. It is shared: read only.
func (k *bodies) get(p Path, etag string) ([]byte, bool) {
	k.mu.Lock()
	b, ok := k.m[p]
	k.mu.Unlock()
	if !ok || b.etag != etag {
		return nil, false
	}
	return b.body, true
}

// put keeps body as p's representation under etag.
func (k *bodies) put(p Path, etag string, body []byte) {
	if len(body) > maxKeptBodyBytes/4 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if old, ok := k.m[p]; ok {
		k.bytes -= len(old.body)
	}
	if k.m == nil || k.bytes+len(body) > maxKeptBodyBytes {
		k.m, k.bytes = make(map[Path]keptBody), 0
	}
	k.m[p] = keptBody{etag: etag, body: body}
	k.bytes += len(body)
}
