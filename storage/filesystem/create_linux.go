package filesystem

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/weconomics/kluis/storage"
)

// Creating an object (Put with If-None-Match) writes an unnamed file in
// the object's folder (open(2) with O_TMPFILE) and links it to its name
// under the key's lock (linkat(2) through /proc/self/fd, which needs no
// privilege), where a replacing Put names a temporary file and renames it.
// No temporary name is made in tmp/ and none is removed from it: on this
// machine, 32 writers creating files this way ran at 1.3 to 4.7 times
// the rate of a temporary file renamed into place, both synced (issue 18:
// creating and renaming the temporary file was most of a PUT's CPU). A
// link never replaces a file, so it is a create-only write by itself; the
// lock keeps the If-None-Match check and the link one step for every
// process. An unnamed file a crash leaves is freed by the file system.
//
// The order is that of every creating Put: link, then fsync, then the
// folder's fsync; a power loss before the first fsync may leave a short
// file at the name, which reads as no object (errTorn).

// probeTmpfile tells whether unnamed files can be made in dir and linked
// to a name: the file system has O_TMPFILE (ext4, XFS, btrfs, tmpfs...)
// and /proc is mounted. Asked once, when the Backend opens.
func probeTmpfile(dir string) bool {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	name := filepath.Join(dir, "probe-"+newETag())
	if err := linkFD(fd, name); err != nil {
		return false
	}
	_ = os.Remove(name)
	return true
}

// linkFD gives the unnamed file fd the name path.
func linkFD(fd int, path string) error {
	old := "/proc/self/fd/" + strconv.Itoa(fd)
	for {
		err := unix.Linkat(unix.AT_FDCWD, old, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
		default:
			return &os.LinkError{Op: "link", Old: old, New: path, Err: err}
		}
	}
}

// create is Put for a new object (o.IfNoneMatch), with h its header.
// false: the folder cannot hold unnamed files; r is unread, and the
// caller writes the object the other way.
func (b *Backend) create(ctx context.Context, key string, h header, r io.Reader) (storage.Info, bool, error) {
	path := b.path(key)
	dir := filepath.Dir(path)
	var fd int
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return storage.Info{}, true, b.writeErr("put", key, err)
		}
		var err error
		fd, err = unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
		if err == nil {
			break
		}
		switch {
		case err == unix.EINTR:
		case err == unix.ENOENT && attempt < 100:
			// A Delete pruned the folder since MkdirAll: make it again.
		case err == unix.EOPNOTSUPP || err == unix.EISDIR || err == unix.EINVAL:
			return storage.Info{}, false, nil
		default:
			return storage.Info{}, true, b.writeErr("put", key, &os.PathError{Op: "open", Path: dir, Err: err})
		}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	buf := b.getCopyBuf()
	size, err := b.write(f, &h, h.encode(nil), ctxReader{ctx, r}, *buf)
	b.copyBufs.Put(buf)
	if err != nil {
		return storage.Info{}, true, wrap("put", key, err)
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, true, err
	}
	// A link never replaces a file: with the lock, the If-None-Match
	// check and the naming are one step for every process.
	if err := b.commit(key, path, storage.PutOptions{IfNoneMatch: true}, func() error { return linkFD(fd, path) }); err != nil {
		return storage.Info{}, true, err
	}
	if err := b.syncCreated(key, path, f); err != nil {
		return storage.Info{}, true, err
	}
	return h.info(key, size), true, nil
}

// datasync flushes f's data and what is needed to read it back (its
// length), not its times: fdatasync(2).
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
