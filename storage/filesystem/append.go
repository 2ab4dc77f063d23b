package filesystem

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Appended records (storage.Appender).
//
// An object written whole is its header and its body, whose length the
// header holds. An Append adds a record after them, in place:
//
//	magic "KLA1" | uint32 length of the record header's rest |
//	etag | int64 modification time (Unix ns) | uint64 data length |
//	uvarint number of metadata pairs | name | value | ... |
//	data | uint32 CRC-32C of all the record before it
//
// The object's body is its first body followed by the data of every
// record; its ETag, modification time and metadata are those of the last
// record. A record is written with one pwrite and made durable with one
// fdatasync, under the key's lock: one journal commit, where replacing the
// file takes a new file, its fsync, a rename and the folder's fsync.
//
// A record that is not whole (a reader that came while it was being
// written, or a crash that cut it) fails its length or its checksum; it
// and anything after it are not part of the object, and the next Append
// cuts them off before writing. The records an object holds are bounded
// (maxRegion), so reading one costs at most that much more than reading a
// file written whole; a Put writes it whole again.

const (
	recordMagic = "KLA1"
	// maxRegion is the most bytes of records (data and their headers) a
	// file holds.
	maxRegion = storage.MaxAppended
	crcLen    = 4
)

// record is the header of one appended record.
type record struct {
	etag     string
	modified time.Time
	size     int64 // of its data
	metadata map[string]string
}

// encode appends the record with data to dst.
func (r *record) encode(dst []byte, data []byte) []byte {
	start := len(dst)
	dst = append(dst, recordMagic...)
	dst = append(dst, 0, 0, 0, 0)
	dst = appendString(dst, r.etag)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.modified.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, uint64(len(data)))
	dst = binary.AppendUvarint(dst, uint64(len(r.metadata)))
	for k, v := range r.metadata {
		dst = appendString(dst, k)
		dst = appendString(dst, v)
	}
	binary.BigEndian.PutUint32(dst[start+4:], uint32(len(dst)-start-prefixLen))
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli()))
}

func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// appended is what the records of a file add to its object.
type appended struct {
	tail  []byte // the data of every whole record, in order (when asked)
	size  int64  // their length
	last  record // the last whole record
	valid int64  // bytes of whole records, from the end of the first body
	n     int    // whole records
}

// parseRecords reads the whole records at the start of region, stopping
// at the first that is not whole, and gathers their data when withData.
// Only the last record's header is decoded whole: the others' checksums
// and data lengths are all a read needs of them.
func parseRecords(region []byte, withData bool) appended {
	var a appended
	var lastHeader []byte
	for rest := region; len(rest) >= prefixLen && string(rest[:4]) == recordMagic; {
		hl := int(binary.BigEndian.Uint32(rest[4:8]))
		if hl > maxHeaderSize || hl > len(rest)-prefixLen {
			break
		}
		header := rest[prefixLen : prefixLen+hl]
		size, ok := recordSize(header)
		if !ok || size > int64(len(rest)-prefixLen-hl-crcLen) {
			break
		}
		end := prefixLen + hl + int(size)
		if binary.BigEndian.Uint32(rest[end:]) != crc32.Checksum(rest[:end], castagnoli()) {
			break
		}
		if withData {
			a.tail = append(a.tail, rest[prefixLen+hl:end]...)
		}
		lastHeader = header
		a.size += size
		a.n++
		a.valid += int64(end + crcLen)
		rest = rest[end+crcLen:]
	}
	if withData && a.tail == nil {
		a.tail = []byte{}
	}
	if a.n > 0 {
		if r, ok := decodeRecord(lastHeader); ok {
			a.last = r
		} else {
			// Its checksum held, so only a bug writes this: read the
			// object as its first body.
			return appended{tail: a.tail[:0:0]}
		}
	}
	return a
}

// recordSize reads the data length of a record header: after its ETag
// and its time.
func recordSize(header []byte) (int64, bool) {
	n, k := binary.Uvarint(header)
	if k <= 0 || n > uint64(len(header)-k) || len(header)-k-int(n) < 16 {
		return 0, false
	}
	size := int64(binary.BigEndian.Uint64(header[k+int(n)+8:]))
	return size, size >= 0
}

// decodeRecord decodes a whole record header.
func decodeRecord(header []byte) (record, bool) {
	d := decoder{b: header}
	var r record
	r.etag = d.string()
	r.modified = time.Unix(0, int64(d.uint64())).UTC()
	r.size = int64(d.uint64())
	if n := d.uvarint(); n > 0 && d.err == nil {
		r.metadata = make(map[string]string, min(n, 64))
		for range n {
			k, v := d.string(), d.string()
			if d.err != nil {
				break
			}
			r.metadata[k] = v
		}
	}
	return r, d.err == nil && len(d.b) == 0
}

// readAppended reads the records of f (at path), which hold the bytes from
// hd.bodyEnd to hd.fileEnd, and their data when withData; fi is what fstat
// told of f, or nil. The head's buf holds the file's first bytes (all of
// them when whole); its tkey is set.
//
// Without data, only the records written since this process last read the
// file are read (tails): the bytes before the end of the last whole record
// seen never change while the file does not, since an Append only adds
// after it (cutting off what is not whole first) and a Put makes a new
// file. So a Stat, and the Append after it, of an object with many records
// read only the new ones.
func (b *Backend) readAppended(f *os.File, fi fs.FileInfo, path string, hd *head, withData bool) (appended, error) {
	start, end := hd.bodyEnd, hd.fileEnd
	if end-start > maxRegion {
		return appended{}, errBadHeader
	}
	if fi == nil {
		var err error
		if fi, err = f.Stat(); err != nil {
			return appended{}, err
		}
	}
	id, known := identity(fi)
	key := tailKey{id: fileID{dev: id.dev, ino: id.ino}, base: hd.base, start: start}
	hd.tkey, hd.tkeyOK = key, known
	if !withData && known {
		if k, ok := b.tails.get(path, key); ok && k.end <= end {
			more, err := readRegion(f, hd, k.end, end, false)
			if err != nil {
				return appended{}, err
			}
			a := k.app
			if more.n > 0 {
				a.size += more.size
				a.n += more.n
				a.last = more.last
				a.valid += more.valid
				b.tails.put(path, key, a)
			}
			return a, nil
		}
	}
	a, err := readRegion(f, hd, start, end, withData)
	if err == nil && known && a.n > 0 {
		kept := a
		kept.tail = nil
		b.tails.put(path, key, kept)
	}
	return a, err
}

// readRegion parses the records in the bytes from start to end of f.
func readRegion(f *os.File, hd *head, start, end int64, withData bool) (appended, error) {
	if start == end {
		return appended{}, nil
	}
	var region []byte
	if hd.whole {
		region = hd.buf[start:end]
	} else {
		region = make([]byte, end-start)
		n, err := f.ReadAt(region, start)
		if err != nil && !errors.Is(err, io.EOF) {
			return appended{}, err
		}
		region = region[:n] // cut short since the stat: as far as there is
	}
	return parseRecords(region, withData), nil
}

// tails keeps, per object file with records, what its whole records came
// to (without their data) and where the last ends, by path and tailKey
// (readAppended).
type tails struct {
	mu sync.Mutex
	m  map[string]keptTail
}

// tailKey tells one object file from every other that had its path: its
// device and inode, and, since a file system reuses the inode numbers of
// deleted files, the ETag its header holds (a new one at every Put) and
// where its first body ends.
type tailKey struct {
	id    fileID // device and inode only
	base  string
	start int64
}

type keptTail struct {
	key tailKey
	end int64 // where the last whole record ends in the file
	app appended
}

// maxTails bounds the files kept; when full, all are dropped.
const maxTails = 1 << 14

func (t *tails) get(path string, key tailKey) (keptTail, bool) {
	t.mu.Lock()
	k, ok := t.m[path]
	t.mu.Unlock()
	return k, ok && k.key == key
}

// put keeps a, the records of the file key at path.
func (t *tails) put(path string, key tailKey, a appended) {
	t.mu.Lock()
	if t.m == nil || len(t.m) >= maxTails {
		t.m = make(map[string]keptTail)
	}
	t.m[path] = keptTail{key: key, end: key.start + a.valid, app: a}
	t.mu.Unlock()
}

// Append adds a record to the object's file under the key's lock, cutting
// off first what a crash left of an earlier one, and syncs it before the
// lock is released.
func (b *Backend) Append(ctx context.Context, key string, data []byte, o storage.AppendOptions) (storage.Info, error) {
	if err := storage.CheckAppend(key, o); err != nil {
		return storage.Info{}, fmt.Errorf("filesystem: append: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, err
	}
	path := b.path(key)
	unlock, err := b.locks.lock(key)
	if err != nil {
		return storage.Info{}, err
	}
	defer unlock()
	f, err := openFile(path, syscall.O_RDWR, 0)
	if notFound(err) || isNotDir(err) || isDir(err) {
		return storage.Info{}, fmt.Errorf("filesystem: append %s: %w", key, storage.ErrPreconditionFailed)
	}
	if err != nil {
		return storage.Info{}, wrap("append", key, err)
	}
	defer f.Close()
	hd, err := b.readHead(f, path, key, false)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Info{}, fmt.Errorf("filesystem: append %s: %w", key, storage.ErrPreconditionFailed)
	}
	if err != nil {
		return storage.Info{}, err
	}
	b.putBuf(hd.buf)
	if hd.info.ETag != o.IfMatch {
		return storage.Info{}, fmt.Errorf("filesystem: append %s: %w", key, storage.ErrPreconditionFailed)
	}
	r := record{etag: newETag(), modified: b.now().UTC(), size: int64(len(data)), metadata: o.Metadata}
	rec := r.encode(make([]byte, 0, prefixLen+64+len(data)+crcLen), data)
	if !hd.sized || hd.app.valid+int64(len(rec)) > maxRegion {
		return storage.Info{}, fmt.Errorf("filesystem: append %s: %w", key, storage.ErrAppendFull)
	}
	at := hd.bodyEnd + hd.app.valid
	if hd.fileEnd > at {
		// What a crash left of a record: not part of the object.
		if err := f.Truncate(at); err != nil {
			return storage.Info{}, wrap("append", key, err)
		}
	}
	if _, err := f.WriteAt(rec, at); err != nil {
		_ = f.Truncate(at)
		return storage.Info{}, wrap("append", key, err)
	}
	// A listing kept of the folder (dirs.go) is told by the folder's
	// times, which an append does not change: change them.
	now := time.Now()
	_ = os.Chtimes(filepath.Dir(path), now, now)
	b.heads.drop(path)
	if err := datasync(f); err != nil {
		_ = f.Truncate(at)
		return storage.Info{}, wrap("append", key, err)
	}
	if hd.tkeyOK {
		a := hd.app
		a.tail = nil
		a.size += r.size
		a.n++
		a.last = r
		a.valid += int64(len(rec))
		b.tails.put(path, hd.tkey, a)
	}
	info := hd.info
	info.Size += r.size
	info.ETag, info.Modified, info.Metadata = r.etag, r.modified, storage.CloneMetadata(r.metadata)
	return info, nil
}

// appendedBody is the body of an object with records: the first body from
// the file, then the records' data.
type appendedBody struct {
	f     *os.File
	start int64 // of the first body in the file
	first int64 // its length
	tail  []byte
}

func (a *appendedBody) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < a.first {
		m, err := a.f.ReadAt(p[:min(int64(len(p)), a.first-off)], a.start+off)
		n += m
		if err != nil {
			return n, err
		}
	}
	if n < len(p) {
		toff := off + int64(n) - a.first
		if toff >= int64(len(a.tail)) {
			return n, io.EOF
		}
		n += copy(p[n:], a.tail[toff:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// appendedReader reads a range of an appendedBody and closes its file.
type appendedReader struct {
	*io.SectionReader
	f *os.File
}

func (r *appendedReader) Close() error { return r.f.Close() }
