//go:build !linux

package filesystem

import (
	"context"
	"io"
	"os"

	"github.com/weconomics/kluis/storage"
)

// probeTmpfile: unnamed files (create_linux.go) are made on Linux only.
func probeTmpfile(string) bool { return false }

func (b *Backend) create(context.Context, string, header, io.Reader) (storage.Info, bool, error) {
	return storage.Info{}, false, nil
}

// datasync is f.Sync where fdatasync(2) is not at hand.
func datasync(f *os.File) error { return f.Sync() }
