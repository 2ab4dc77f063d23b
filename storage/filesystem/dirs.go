package filesystem

import (
	"sync"
	"time"

	"github.com/weconomics/kluis/storage"
)

// dirs keeps what List read of a folder, with the identity of the folder
// it was read from, so that listing an unchanged folder again costs one
// stat of the folder, not a read of it and an lstat of every object in
// it: a GET of a container of 1,000 or 10,000 resources no longer pays
// for each child (issue 18).
//
// Every change to a folder's entries, by this process or another sharing
// the folder, is a rename into it (Put), an unlink (Delete) or a mkdir or
// rmdir of a level: each sets the folder's modification and
// status-change times (POSIX rename(2), unlink(2), mkdir(2)); an Append,
// which changes a file in place, sets them itself (append.go). So a kept
// listing answers only while the folder's device, inode, mtime and ctime
// are those seen before the listing began and again after it ended.
//
// The one gap is the file system's timestamp granularity: a change within
// the same clock tick as the folder's last change, after the listing,
// would leave the times as they were. So a listing is kept only when the
// folder's last change is at least racyWindow older than the start of the
// listing (the same rule git applies to its index): any later change then
// carries a later time. A folder that changes more often than that is
// listed afresh every time, as before. The clock stepping back by more
// than racyWindow between two changes could also hide one; Kluis does not
// rely on folders over NFS, whose times come from another clock.
type dirs struct {
	mu      sync.Mutex
	m       map[string]keptDir
	entries int // objects held in m, bounded by maxDirEntries
}

type keptDir struct {
	id    fileID
	infos []storage.Info
}

const (
	// racyWindow is how much older than the listing the folder's last
	// change must be for the listing to be kept: many times the
	// coarsest kernel timestamp tick (10 ms at HZ=100).
	racyWindow = 250 * time.Millisecond
	// maxDirEntries bounds the objects of all kept listings together;
	// when a listing would pass it, all are dropped.
	maxDirEntries = 1 << 16
)

// get returns the listing kept for dir, if it was read from folder id.
// The infos are shared: callers copy what they hand out.
func (d *dirs) get(dir string, id fileID) ([]storage.Info, bool) {
	d.mu.Lock()
	k, ok := d.m[dir]
	d.mu.Unlock()
	if !ok || k.id != id {
		return nil, false
	}
	return k.infos, true
}

// put keeps infos, read from folder dir whose identity was id both before
// and after the reading began at start.
func (d *dirs) put(dir string, id fileID, start time.Time, infos []storage.Info) {
	if start.UnixNano()-id.mtime < int64(racyWindow) || start.UnixNano()-id.ctime < int64(racyWindow) {
		return
	}
	if len(infos) > maxDirEntries {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.m[dir]; ok {
		d.entries -= len(old.infos)
	}
	if d.m == nil || d.entries+len(infos) > maxDirEntries {
		d.m, d.entries = make(map[string]keptDir), 0
	}
	d.m[dir] = keptDir{id: id, infos: infos}
	d.entries += len(infos)
}
