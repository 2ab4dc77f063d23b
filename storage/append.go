package storage

import (
	"context"
	"errors"
	"fmt"
)

// Appender is implemented by backends that can add bytes to the end of an
// object in place, without writing it whole: the filesystem, where a
// durable append is one small write and one journal commit, where
// replacing a file takes a new file, a rename and two commits (issue 18).
//
// Append adds data to the end of the body of the object at key, if its
// ETag is o.IfMatch (else ErrPreconditionFailed, also when it is missing),
// and gives it a new ETag and modification time and o.Metadata for its
// metadata; its content type stays. It is atomic as Put is: a reader sees
// the object before or after, and a crash leaves one of the two. When the
// backend holds no more appended bytes for that object, or cannot append
// to it (an object stored in an older format), it returns ErrAppendFull
// and changes nothing: write the object whole with Put, after which it can
// be appended to again.
type Appender interface {
	Append(ctx context.Context, key string, data []byte, o AppendOptions) (Info, error)
}

// AppendOptions are the condition and the new metadata of an Append.
type AppendOptions struct {
	// IfMatch is the ETag the object must have. It is required: an append
	// is meant for the object it was computed from.
	IfMatch string
	// Metadata replaces the object's metadata (see ValidateMetadata).
	Metadata map[string]string
}

// MaxAppended is the most bytes an Appender holds appended to an object
// since it was last written whole; an Append that would pass it is
// ErrAppendFull. It bounds what reading an appended object costs.
const MaxAppended = 1 << 20

var (
	// ErrAppendFull means the object cannot take an Append: write it
	// whole.
	ErrAppendFull = errors.New("storage: no room to append; write the object whole")
	// ErrAppendUnsupported means the backend is not an Appender.
	ErrAppendUnsupported = errors.New("storage: the backend does not append")
)

// Append is b's Append when b is an Appender, else ErrAppendUnsupported.
// Wrappers of a backend use it to pass Appender through.
func Append(ctx context.Context, b Backend, key string, data []byte, o AppendOptions) (Info, error) {
	if a, ok := b.(Appender); ok {
		return a.Append(ctx, key, data, o)
	}
	return Info{}, ErrAppendUnsupported
}

// CheckAppend validates the key, the condition and the metadata of an
// Append.
func CheckAppend(key string, o AppendOptions) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if o.IfMatch == "" {
		return fmt.Errorf("%w: an append needs If-Match", ErrPreconditionFailed)
	}
	return ValidateMetadata(o.Metadata)
}
