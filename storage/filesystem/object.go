package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"time"

	"github.com/weconomics/kluis/storage"
)

// readSize is how much of an object file one read takes at first: the whole
// header and, for small objects, the whole body, in one system call.
const readSize = 4096

// copySize is the buffer with which Put copies a body to its file.
const copySize = 64 << 10

// Get opens the object's file and returns a reader over its body. Small
// bodies are read whole with the header and the file closed at once.
func (b *Backend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, storage.Info{}, fmt.Errorf("filesystem: get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, storage.Info{}, err
	}
	path := b.path(key)
	f, err := open(path)
	if err != nil {
		return nil, storage.Info{}, wrap("get", key, err)
	}
	head, err := b.readHead(f, path, key, true)
	if err != nil {
		f.Close()
		if errors.Is(err, errTorn) {
			b.removeTorn(path, key)
		}
		return nil, storage.Info{}, err
	}
	off, n := int64(0), head.info.Size
	if o.Range != nil {
		if off, n, err = o.Range.Resolve(head.info.Size); err != nil {
			f.Close()
			b.putBuf(head.buf)
			return nil, storage.Info{}, fmt.Errorf("filesystem: get %s: %w", key, err)
		}
	}
	if head.hasApp {
		b.putBuf(head.buf)
		body := &appendedBody{f: f, start: int64(head.hlen), first: head.bodyEnd - int64(head.hlen), tail: head.app.tail}
		return &appendedReader{SectionReader: io.NewSectionReader(body, off, n), f: f}, head.info, nil
	}
	body := head.buf[head.hlen:head.n]
	if head.whole {
		f.Close()
		return &bufReader{b: b, buf: head.buf, rest: body[off : off+n]}, head.info, nil
	}
	r := &fileReader{b: b, f: f, buf: head.buf, remaining: n}
	if off < int64(len(body)) {
		r.pending = body[off:min(int64(len(body)), off+n)]
	} else if _, err := f.Seek(int64(head.hlen)+off, io.SeekStart); err != nil {
		r.Close()
		return nil, storage.Info{}, wrap("get", key, err)
	}
	return r, head.info, nil
}

// Stat reads the object's header.
func (b *Backend) Stat(ctx context.Context, key string) (storage.Info, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.Info{}, fmt.Errorf("filesystem: stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, err
	}
	return b.statClean(b.path(key), key)
}

// statClean is statFile outside the key's lock: a torn file it finds is
// removed.
func (b *Backend) statClean(path, key string) (storage.Info, error) {
	info, err := b.statFile(path, key)
	if errors.Is(err, errTorn) {
		b.removeTorn(path, key)
	}
	return info, err
}

func (b *Backend) statFile(path, key string) (storage.Info, error) {
	f, err := open(path)
	if err != nil {
		return storage.Info{}, wrap("stat", key, err)
	}
	head, err := b.readHead(f, path, key, false)
	f.Close()
	if err != nil {
		return storage.Info{}, err
	}
	b.putBuf(head.buf)
	return head.info, nil
}

// listFile is statFile for List: the header kept from an earlier listing
// when the file is the same (heads.go).
func (b *Backend) listFile(e fs.DirEntry, path, key string) (storage.Info, error) {
	fi, err := e.Info()
	if err != nil {
		return storage.Info{}, wrap("stat", key, err)
	}
	id, ok := identity(fi)
	if !ok {
		return b.statClean(path, key)
	}
	if info, ok := b.heads.get(path, id); ok {
		info.Key = key
		return info, nil
	}
	info, err := b.statClean(path, key)
	if err == nil {
		b.heads.put(path, id, info)
	}
	return info, err
}

// head is the start of an object file, read by readHead.
type head struct {
	info  storage.Info
	buf   []byte // from the pool; buf[hlen:n] is the start of the body
	hlen  int    // header length
	n     int    // bytes read into buf
	whole bool   // buf holds the whole file

	base    string   // the ETag of the header, before any record's
	sized   bool     // the header holds the first body's length (KLS2)
	bodyEnd int64    // where the first body ends in the file
	fileEnd int64    // the file's length
	app     appended // what records add (append.go)
	hasApp  bool     // the file holds whole records
	tkey    tailKey  // the file, for what is kept of its records
	tkeyOK  bool     // tkey is known (the file has records, on Linux)
}

// readHead reads the header of the object file f, and what its records
// (append.go) change; with body, also their data.
func (b *Backend) readHead(f *os.File, path, key string, body bool) (head, error) {
	buf := b.getBuf()
	n, err := io.ReadFull(f, buf)
	whole := errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	if err != nil && !whole {
		b.putBuf(buf)
		return head{}, wrap("read", key, err)
	}
	if torn(buf[:n], whole) {
		b.putBuf(buf)
		return head{}, fmt.Errorf("filesystem: read %s: %w", key, errTorn)
	}
	hlen, err := headerLen(buf[:n])
	if err == nil && hlen > n {
		if whole {
			b.putBuf(buf)
			return head{}, fmt.Errorf("filesystem: read %s: %w", key, errTorn)
		}
		// A header longer than the first read: only with large metadata.
		big := make([]byte, hlen)
		copy(big, buf[:n])
		var m int
		m, err = io.ReadFull(f, big[n:])
		b.putBuf(buf)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return head{}, fmt.Errorf("filesystem: read %s: %w", key, errTorn)
		}
		buf, n, whole = big, n+m, false
	}
	var h header
	if err == nil {
		err = h.decode(buf[:hlen])
	}
	if err != nil {
		b.putBuf(buf)
		return head{}, fmt.Errorf("filesystem: read %s: %w", key, errBadHeader)
	}
	size := int64(n - hlen)
	var fi fs.FileInfo // what fstat told, when asked
	if !whole {
		if fi, err = f.Stat(); err != nil {
			b.putBuf(buf)
			return head{}, wrap("read", key, err)
		}
		size = fi.Size() - int64(hlen)
	}
	hd := head{
		info: storage.Info{
			Key: key, Size: size, ETag: h.etag, ContentType: h.contentType,
			Modified: h.modified, Metadata: h.metadata,
		},
		buf: buf, hlen: hlen, n: n, whole: whole,
		base: h.etag, sized: h.sized, bodyEnd: int64(hlen) + size, fileEnd: int64(hlen) + size,
	}
	if !h.sized || size == h.size {
		return hd, nil
	}
	if size < h.size {
		b.putBuf(buf)
		return head{}, fmt.Errorf("filesystem: read %s: %w", key, errTorn)
	}
	// Records follow the first body (append.go).
	hd.bodyEnd = int64(hlen) + h.size
	hd.app, err = b.readAppended(f, fi, path, &hd, body)
	if err != nil {
		b.putBuf(buf)
		if errors.Is(err, errBadHeader) {
			return head{}, fmt.Errorf("filesystem: read %s: %w", key, errBadHeader)
		}
		return head{}, wrap("read", key, err)
	}
	hd.info.Size = h.size
	if hd.app.n > 0 {
		hd.hasApp = true
		last := hd.app.last
		hd.info.Size += hd.app.size
		hd.info.ETag, hd.info.Modified, hd.info.Metadata = last.etag, last.modified, last.metadata
	}
	return hd, nil
}

// torn tells whether start, the first bytes of a file (all of it when
// whole), is what a crash leaves of an object renamed into place before
// it was synced: nothing, less than a header's prefix, or blocks never
// written, which read as zeros. No object file starts so.
func torn(start []byte, whole bool) bool {
	if len(start) < prefixLen {
		return whole
	}
	return string(start[:4]) == "\x00\x00\x00\x00"
}

// removeTorn removes the file a crash left at path (errTorn), under the
// key's lock and only if it is still torn, so that the name is free again
// for every kind of request, Version included.
func (b *Backend) removeTorn(path, key string) {
	unlock, err := b.locks.lock(key)
	if err != nil {
		return
	}
	defer unlock()
	f, err := open(path)
	if err != nil {
		return
	}
	head, err := b.readHead(f, path, key, false)
	f.Close()
	if err == nil {
		b.putBuf(head.buf)
		return
	}
	if errors.Is(err, errTorn) && os.Remove(path) == nil {
		b.heads.drop(path)
	}
}

func (b *Backend) getBuf() []byte {
	if p, ok := b.bufs.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, readSize)
}

func (b *Backend) getCopyBuf() *[]byte {
	if p, ok := b.copyBufs.Get().(*[]byte); ok {
		return p
	}
	buf := make([]byte, copySize)
	return &buf
}

func (b *Backend) putBuf(buf []byte) {
	if cap(buf) == readSize {
		buf = buf[:readSize]
		b.bufs.Put(&buf)
	}
}

// bufReader serves a body that was read whole.
type bufReader struct {
	b    *Backend
	buf  []byte
	rest []byte
}

func (r *bufReader) Read(p []byte) (int, error) {
	if len(r.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

func (r *bufReader) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(r.rest)
	r.rest = r.rest[n:]
	return int64(n), err
}

func (r *bufReader) Close() error {
	if r.buf != nil {
		r.b.putBuf(r.buf)
		r.buf, r.rest = nil, nil
	}
	return nil
}

// fileReader serves a body from its open file, after what readHead already
// read.
type fileReader struct {
	b         *Backend
	f         *os.File
	buf       []byte
	pending   []byte
	remaining int64
}

func (r *fileReader) Read(p []byte) (int, error) {
	if r.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	var n int
	var err error
	if len(r.pending) > 0 {
		n = copy(p, r.pending)
		r.pending = r.pending[n:]
	} else {
		n, err = r.f.Read(p)
		if err == io.EOF && int64(n) < r.remaining {
			err = io.ErrUnexpectedEOF
		}
	}
	r.remaining -= int64(n)
	if r.remaining == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

// WriteTo lets io.Copy hand the file to the destination, so that a network
// connection can use sendfile(2).
func (r *fileReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if len(r.pending) > 0 {
		n, err := w.Write(r.pending)
		total += int64(n)
		r.pending = r.pending[n:]
		r.remaining -= int64(n)
		if err != nil {
			return total, err
		}
	}
	n, err := io.Copy(w, &io.LimitedReader{R: r.f, N: r.remaining})
	total += n
	r.remaining -= n
	if err == nil && r.remaining > 0 {
		err = io.ErrUnexpectedEOF
	}
	return total, err
}

func (r *fileReader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.b.putBuf(r.buf)
	r.f, r.buf, r.pending = nil, nil, nil
	return err
}

// Put writes the body to a temporary file, then renames it into place under
// the key's lock, if the conditions hold, then fsyncs the folder.
//
// A write that replaces an object fsyncs its file before the rename, so
// that a crash leaves the old object or the new one. A write that creates
// (If-None-Match: *) has no old object to lose: it renames first and
// fsyncs after (on Linux it links an unnamed file instead of renaming a
// named one: create_linux.go). A journalling file system then commits the file and its
// new name at once, and the folder's fsync finds little left to do: one
// journal commit where the other order waits for two (issue 18). A crash
// between the rename and the fsync can leave a short or empty file at the
// name, which the body's length in the header tells (errTorn); the write
// was not answered.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	if err := storage.CheckPut(key, o); err != nil {
		return storage.Info{}, fmt.Errorf("filesystem: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, err
	}
	h := header{etag: newETag(), contentType: o.ContentType, metadata: storage.CloneMetadata(o.Metadata)}
	if h.contentType == "" {
		h.contentType = "application/octet-stream"
	}
	h.modified = b.now().UTC()
	if o.IfNoneMatch && b.tmpfile {
		if info, done, err := b.create(ctx, key, h, r); done {
			return info, err
		}
	}
	hdr := h.encode(nil)

	f, err := createTemp(b.tmp, "put-")
	if err != nil {
		return storage.Info{}, wrap("put", key, err)
	}
	committed := false
	defer func() {
		f.Close()
		if !committed {
			os.Remove(f.Name())
		}
	}()
	buf := b.getCopyBuf()
	size, err := b.write(f, &h, hdr, ctxReader{ctx, r}, *buf)
	b.copyBufs.Put(buf)
	if err != nil {
		return storage.Info{}, wrap("put", key, err)
	}
	creates := o.IfNoneMatch
	if !creates {
		if err := f.Sync(); err != nil {
			return storage.Info{}, wrap("put", key, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, err
	}

	path := b.path(key)
	if err := b.commit(key, path, o, func() error { return rename(f.Name(), path) }); err != nil {
		return storage.Info{}, err
	}
	committed = true
	if creates {
		if err := b.syncCreated(key, path, f); err != nil {
			return storage.Info{}, err
		}
	} else {
		b.syncs.sync(filepath.Dir(path))
	}
	return h.info(key, size), nil
}

// unput removes the object a creating Put renamed into place and could not
// sync, unless another write has replaced it since.
func (b *Backend) unput(key, path string, f *os.File) {
	unlock, err := b.locks.lock(key)
	if err != nil {
		return
	}
	defer unlock()
	ours, err := f.Stat()
	if err != nil {
		return
	}
	if cur, err := os.Lstat(path); err == nil && os.SameFile(ours, cur) && os.Remove(path) == nil {
		b.heads.drop(path)
	}
}

// write writes the header h (encoded as hdr, the length it keeps) and the
// body r to f, with buf as the copy buffer, and sets h.modified to when
// the body was read and h.size to its length. A body that fits buf goes out with the header in one
// write; a longer one is written after room for the header, which is
// written last.
func (b *Backend) write(f *os.File, h *header, hdr []byte, r io.Reader, buf []byte) (int64, error) {
	n, err := io.ReadFull(r, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		h.modified, h.size = b.now().UTC(), int64(n)
		_, err := f.Write(append(h.encode(hdr[:0]), buf[:n]...))
		return int64(n), err
	}
	if err != nil {
		return 0, err
	}
	if _, err := f.Seek(int64(len(hdr)), io.SeekStart); err != nil {
		return 0, err
	}
	if _, err := f.Write(buf[:n]); err != nil {
		return 0, err
	}
	// The wrapper hides os.File's ReadFrom, so that buf is used instead of
	// a fresh buffer.
	rest, err := io.CopyBuffer(struct{ io.Writer }{f}, r, buf)
	if err != nil {
		return 0, err
	}
	h.modified, h.size = b.now().UTC(), int64(n)+rest
	_, err = f.WriteAt(h.encode(hdr[:0]), 0)
	return int64(n) + rest, err
}

// commit checks the conditions and, under the key's lock, gives the new
// object its name with place: a rename of its temporary file, or a link of
// its unnamed one (create_linux.go). What a crash left at the name
// (errTorn) is no object, and is removed first: a link does not replace a
// file.
func (b *Backend) commit(key, path string, o storage.PutOptions, place func() error) error {
	unlock, err := b.locks.lock(key)
	if err != nil {
		return err
	}
	defer unlock()
	if o.IfMatch != "" || o.IfNoneMatch {
		cur, err := b.statFile(path, key)
		exists := err == nil
		if errors.Is(err, errTorn) {
			if err := os.Remove(path); err != nil {
				return wrap("put", key, err)
			}
			b.heads.drop(path)
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if o.IfNoneMatch && exists || o.IfMatch != "" && (!exists || cur.ETag != o.IfMatch) {
			return fmt.Errorf("filesystem: put %s: %w", key, storage.ErrPreconditionFailed)
		}
	}
	// A Delete in another goroutine or process may prune the folders
	// between MkdirAll and place; then make them again.
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return b.writeErr("put", key, err)
		}
		err := place()
		if err == nil {
			b.heads.drop(path)
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) || attempt == 100 {
			return b.writeErr("put", key, err)
		}
	}
}

// syncCreated fsyncs f, the file of an object a creating Put has just
// named path, then the folder; an object it could not sync is removed.
func (b *Backend) syncCreated(key, path string, f *os.File) error {
	if err := f.Sync(); err != nil {
		b.unput(key, path, f)
		return wrap("put", key, err)
	}
	b.syncs.sync(filepath.Dir(path))
	return nil
}

func (b *Backend) writeErr(op, key string, err error) error {
	if isConflict(err) {
		return fmt.Errorf("filesystem: %s %s: %w: %v", op, key, storage.ErrConflict, err)
	}
	return fmt.Errorf("filesystem: %s %s: %w", op, key, err)
}

// Delete removes the object's file under the key's lock, then the folders
// that emptied.
func (b *Backend) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	if err := storage.ValidateKey(key); err != nil {
		return fmt.Errorf("filesystem: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	path := b.path(key)
	if err := b.remove(key, path, o); err != nil {
		return err
	}
	for dir := filepath.Dir(path); dir != b.objects && len(dir) > len(b.objects); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

func (b *Backend) remove(key, path string, o storage.DeleteOptions) error {
	unlock, err := b.locks.lock(key)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := b.statFile(path, key)
	if errors.Is(err, errTorn) && os.Remove(path) == nil {
		b.heads.drop(path)
	}
	if err != nil {
		return err
	}
	if o.IfMatch != "" && cur.ETag != o.IfMatch {
		return fmt.Errorf("filesystem: delete %s: %w", key, storage.ErrPreconditionFailed)
	}
	if err := os.Remove(path); err != nil {
		return wrap("delete", key, err)
	}
	b.heads.drop(path)
	return nil
}

// List reads the level's folder a page of entries at a time.
func (b *Backend) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		if err := storage.ValidatePrefix(prefix); err != nil {
			yield(storage.Info{}, fmt.Errorf("filesystem: list: %w", err))
			return
		}
		if err := ctx.Err(); err != nil {
			yield(storage.Info{}, err)
			return
		}
		dir := filepath.Join(b.objects, filepath.FromSlash(prefix))
		// An unchanged folder is answered from what was read of it
		// (dirs.go): one stat, not a read of every entry.
		var id fileID
		fi, err := os.Lstat(dir)
		if err == nil {
			var ok bool
			if id, ok = identity(fi); ok {
				if infos, ok := b.dirs.get(dir, id); ok {
					for _, info := range infos {
						info.Metadata = storage.CloneMetadata(info.Metadata)
						if !yield(info, nil) {
							return
						}
					}
					return
				}
			}
		}
		start := time.Now()
		f, err := open(dir)
		if err != nil {
			if !notFound(err) {
				yield(storage.Info{}, wrap("list", prefix, err))
			}
			return
		}
		defer f.Close()
		keep := id != (fileID{})
		var kept []storage.Info
		for {
			entries, err := f.ReadDir(1000)
			for _, e := range entries {
				if err := ctx.Err(); err != nil {
					yield(storage.Info{}, err)
					return
				}
				name := e.Name()
				var info storage.Info
				switch {
				case name == markerName:
					continue
				case e.IsDir():
					info = storage.Info{Key: prefix + name + "/", IsPrefix: true}
				case e.Type().IsRegular():
					var err error
					info, err = b.listFile(e, filepath.Join(dir, name), prefix+name)
					if errors.Is(err, storage.ErrNotFound) {
						keep = false
						continue // deleted while listing
					}
					if err != nil {
						keep = false
						if !yield(storage.Info{}, err) {
							return
						}
						continue
					}
				default:
					continue
				}
				if keep {
					k := info
					k.Metadata = storage.CloneMetadata(info.Metadata)
					kept = append(kept, k)
				}
				if !yield(info, nil) {
					return
				}
			}
			if err == io.EOF {
				if keep {
					// Kept only if nothing changed the folder while
					// it was read.
					if fi, err := f.Stat(); err == nil {
						if after, ok := identity(fi); ok && after == id {
							b.dirs.put(dir, id, start, kept)
						}
					}
				}
				return
			}
			if err != nil {
				if notFound(err) {
					return
				}
				yield(storage.Info{}, wrap("list", prefix, err))
				return
			}
		}
	}
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
