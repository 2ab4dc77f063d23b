package filesystem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/weconomics/kluis/storage"
)

// markerName is the file that holds the marker object of a level (a key
// ending in "/"). Keys cannot contain a backslash, so no key maps to it.
const markerName = `\marker`

// Backend stores objects as files below a root folder. Create it with New.
type Backend struct {
	objects  string // root of the object files
	tmp      string // temporary files being written
	locks    *lockTable
	now      func() time.Time
	bufs     sync.Pool // *[]byte of readSize, for headers and small bodies
	copyBufs sync.Pool // *[]byte of copySize, for Put
	// heads are the headers List read, kept by file identity (heads.go).
	heads heads
	// dirs are the listings of unchanged folders (dirs.go).
	dirs dirs
	// tails are how far the records of files were read (append.go).
	tails tails
	// tmpfile: new objects are written as unnamed files and linked to
	// their names (create_linux.go).
	tmpfile bool
	// syncs shares the fsyncs of a folder between writes (dirsync.go).
	syncs dirSyncs
}

// New opens (creating if needed) a filesystem backend rooted at dir. Several
// processes may open the same dir at once.
func New(dir string) (*Backend, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	b := &Backend{
		objects: filepath.Join(abs, "objects"),
		tmp:     filepath.Join(abs, "tmp"),
		now:     time.Now,
	}
	for _, d := range []string{b.objects, b.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("filesystem: %w", err)
		}
	}
	if b.locks, err = openLocks(filepath.Join(abs, "locks")); err != nil {
		return nil, err
	}
	b.sweepTmp(time.Hour)
	b.tmpfile = probeTmpfile(b.tmp)
	return b, nil
}

// Close releases the lock files.
func (b *Backend) Close() error { return b.locks.close() }

// Check reports whether the root folder is still there and usable.
func (b *Backend) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(b.objects); err != nil {
		return fmt.Errorf("filesystem: %w: %v", storage.ErrUnavailable, err)
	}
	return nil
}

// sweepTmp removes temporary files left by a crash, if older than age. Other
// processes may be writing younger ones.
func (b *Backend) sweepTmp(age time.Duration) {
	entries, err := os.ReadDir(b.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && b.now().Sub(info.ModTime()) > age {
			_ = os.Remove(filepath.Join(b.tmp, e.Name()))
		}
	}
}

// path maps a valid key to its file.
func (b *Backend) path(key string) string {
	if strings.HasSuffix(key, "/") {
		return filepath.Join(b.objects, filepath.FromSlash(key), markerName)
	}
	return filepath.Join(b.objects, filepath.FromSlash(key))
}

func newETag() string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

// notFound tells whether a file-system error means the object is absent: no
// such file, a path through a file, or a folder where a file was expected.
func notFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || isNotDir(err) || isDir(err)
}

func wrap(op, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("filesystem: %s %s: %w", op, key, err)
	case notFound(err):
		return fmt.Errorf("filesystem: %s %s: %w", op, key, storage.ErrNotFound)
	}
	return fmt.Errorf("filesystem: %s %s: %w", op, key, err)
}
