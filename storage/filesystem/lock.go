package filesystem

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

const stripes = 256

// lockTable serialises writes per stripe of keys, within the process (a
// mutex) and between processes (flock on the stripe's lock file). Lock
// files are opened on first use and kept open.
type lockTable struct {
	dir     string
	stripes [stripes]stripe
}

type stripe struct {
	mu sync.Mutex
	f  *os.File // guarded by mu
}

func openLocks(dir string) (*lockTable, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	return &lockTable{dir: dir}, nil
}

// lock takes the key's stripe and returns the function that releases it.
// The stripe is chosen by FNV-1a, a hash with no per-process seed, so every
// process picks the same stripe for the same key.
func (t *lockTable) lock(key string) (unlock func(), err error) {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	i := h % stripes
	s := &t.stripes[i]
	s.mu.Lock()
	if s.f == nil {
		f, err := os.OpenFile(filepath.Join(t.dir, fmt.Sprintf("%02x", i)), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("filesystem: lock file: %w", err)
		}
		s.f = f
	}
	for {
		err = syscall.Flock(int(s.f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("filesystem: lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(s.f.Fd()), syscall.LOCK_UN)
		s.mu.Unlock()
	}, nil
}

func (t *lockTable) close() error {
	var first error
	for i := range t.stripes {
		s := &t.stripes[i]
		s.mu.Lock()
		if s.f != nil {
			if err := s.f.Close(); err != nil && first == nil {
				first = err
			}
			s.f = nil
		}
		s.mu.Unlock()
	}
	return first
}
