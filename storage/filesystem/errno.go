package filesystem

import (
	"errors"
	"syscall"
)

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

func isDir(err error) bool { return errors.Is(err, syscall.EISDIR) }

// isConflict tells whether a write failed because a file stands where a
// folder must be, or a folder where a file must be.
func isConflict(err error) bool {
	return errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY)
}
