package filesystem

import (
	"sync"

	"github.com/weconomics/kluis/storage"
)

// heads keeps the headers that List read, by file path, each with the
// identity of the file it was read from, so that listing a folder again
// costs one lstat per object (which reading the folder does anyway), not
// an open and a read of each: a container of 10,000 resources is listed
// without opening 10,000 files (issue 18).
//
// A kept header answers only for the file it was read from: same inode,
// size, modification and status-change times. Every Put renames a new
// file (a new inode, a new ctime) into place, in this process or another,
// and every Append grows the file in place (a new size), so a write is
// never hidden; this process also drops a key's header when it writes or
// deletes it. The one case the identity cannot tell is a
// file of another process that reuses a freed inode number, with the same
// size, within the file system's timestamp granularity of the replaced
// one: then List (never Get or Stat) may answer the replaced header until
// the file changes again.
type heads struct {
	mu sync.Mutex
	m  map[string]keptHead
}

// maxHeads bounds the headers kept; when full, all are dropped.
const maxHeads = 1 << 15

type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // ns
}

type keptHead struct {
	id   fileID
	info storage.Info
}

// get returns the header kept for path, if it was read from file id.
func (h *heads) get(path string, id fileID) (storage.Info, bool) {
	h.mu.Lock()
	k, ok := h.m[path]
	h.mu.Unlock()
	if !ok || k.id != id {
		return storage.Info{}, false
	}
	info := k.info
	info.Metadata = storage.CloneMetadata(info.Metadata)
	return info, true
}

// put keeps info, read from a file whose identity before the read was id:
// if it changed in between, id no longer matches, and the header is read
// again next time.
func (h *heads) put(path string, id fileID, info storage.Info) {
	h.mu.Lock()
	if h.m == nil || len(h.m) >= maxHeads {
		h.m = make(map[string]keptHead)
	}
	info.Metadata = storage.CloneMetadata(info.Metadata)
	h.m[path] = keptHead{id: id, info: info}
	h.mu.Unlock()
}

// drop forgets the header of path.
func (h *heads) drop(path string) {
	h.mu.Lock()
	delete(h.m, path)
	h.mu.Unlock()
}
