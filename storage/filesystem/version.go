package filesystem

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/weconomics/kluis/storage"
)

// Version returns the object file's inode, size and modification time: one
// stat(2), where Stat reads the header. Every Put renames a new file into
// place, so the triple changes with every write.
func (b *Backend) Version(ctx context.Context, key string) (string, error) {
	if err := storage.ValidateKey(key); err != nil {
		return "", fmt.Errorf("filesystem: version: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	fi, err := os.Stat(b.path(key))
	if err != nil {
		return "", wrap("version", key, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("filesystem: version %s: %w", key, storage.ErrNotFound)
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	buf := make([]byte, 0, 48)
	buf = strconv.AppendUint(buf, ino, 36)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, fi.Size(), 36)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, fi.ModTime().UnixNano(), 36)
	return string(buf), nil
}
