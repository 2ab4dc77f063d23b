package filesystem

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// openFile opens a file as os.OpenFile does, less what os.OpenFile does on
// Linux for a descriptor it then finds the poller cannot take (a regular
// file or a folder): four fcntl calls and an epoll_ctl, five system calls
// per open on top of the openat. The files here are read and written
// blocking, as os.OpenFile leaves them anyway (issue 18: a write on the
// filesystem opened three files; system calls cost microseconds each here).
func openFile(name string, flag int, perm uint32) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, flag|syscall.O_CLOEXEC, perm)
		if err == nil {
			return os.NewFile(uintptr(fd), name), nil
		}
		if err != syscall.EINTR {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
}

// open opens a file or folder for reading.
func open(name string) (*os.File, error) { return openFile(name, syscall.O_RDONLY, 0) }

// createTemp makes a new file in dir, its name prefix and a random suffix,
// as os.CreateTemp does.
func createTemp(dir, prefix string) (*os.File, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := openFile(name, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) && try < 100 {
			continue
		}
		return f, err
	}
}

// rename renames a file over another, or into a new name: rename(2)
// without the Lstat os.Rename adds to refuse a folder as the new name,
// which rename(2) refuses for a file anyway (EISDIR).
func rename(from, to string) error {
	for {
		err := syscall.Rename(from, to)
		if err == nil {
			return nil
		}
		if err != syscall.EINTR {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
		}
	}
}
