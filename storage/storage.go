package storage

import (
	"context"
	"io"
	"iter"
	"time"
)

// Backend is a byte store of objects addressed by keys (see ValidateKey).
//
// All methods are safe for concurrent use, also by several processes sharing
// the same underlying store: conditional writes (PutOptions.IfMatch,
// PutOptions.IfNoneMatch) are atomic with respect to every other write.
type Backend interface {
	// Get opens the object at key for streaming. The caller must close the
	// reader. With a Range, only those bytes are returned, and Info.Size is
	// still the size of the whole object. A missing object is ErrNotFound; a
	// range that starts beyond the end is ErrInvalidRange.
	Get(ctx context.Context, key string, o GetOptions) (io.ReadCloser, Info, error)

	// Stat returns the object's Info without its body, or ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// Put stores the whole of r under key, replacing any existing object only
	// once r has been read to its end: a reader never sees a partial object,
	// and a failed or cancelled Put leaves the previous object in place. It
	// returns the new object's Info, whose strong ETag differs from the
	// previous one whenever the content differs (S3 gives equal content an
	// equal ETag). A failed condition is ErrPreconditionFailed.
	//
	// A key and a level of the same name ("a" and "a/...") must not be
	// written both: the filesystem backend refuses it with ErrConflict, and
	// S3 listings hide the level while the key exists. The ldp package never
	// does it (Solid Protocol §3.1: /a and /a/ cannot both exist).
	Put(ctx context.Context, key string, r io.Reader, o PutOptions) (Info, error)

	// Delete removes the object at key, or returns ErrNotFound. With
	// DeleteOptions.IfMatch the object is removed only if its ETag matches.
	Delete(ctx context.Context, key string, o DeleteOptions) error

	// List yields the direct children of prefix, which must be "" or end in
	// "/": objects directly under it, and one entry with IsPrefix set for
	// each deeper level ("prefix/name/"), in no promised order. The marker
	// object of prefix itself (the key equal to prefix) is not listed; a
	// level exists while any key lies below it. Listing is paged internally, so a prefix with very many
	// children is never loaded at once by the backend. Stopping the
	// iteration early releases every resource.
	List(ctx context.Context, prefix string) iter.Seq2[Info, error]
}

// Checker is implemented by backends that can tell whether they are
// reachable, for a readiness probe.
type Checker interface {
	Check(ctx context.Context) error
}

// Info describes a stored object, or a deeper level of keys in a listing.
type Info struct {
	// Key is the object's full key; for a listed level, it ends in "/".
	Key string
	// IsPrefix marks a listed level of keys rather than an object. Only Key
	// is set then.
	IsPrefix bool
	// Size is the length of the whole object in bytes.
	Size int64
	// ETag is the strong entity tag, without quotes.
	ETag string
	// ContentType is the media type given when the object was stored.
	ContentType string
	// Modified is when the object was last written.
	Modified time.Time
	// Metadata is the small user metadata given at Put, with lower-case
	// names. Listings may leave it empty.
	Metadata map[string]string
}

// GetOptions changes what Get returns.
type GetOptions struct {
	// Range, when not nil, asks for part of the object.
	Range *Range
}

// Range is a byte range of an object: Length bytes from Offset, or to the
// end when Length is negative. A Length reaching past the end is cut at it.
type Range struct {
	Offset int64
	Length int64
}

// PutOptions are the content type, metadata and conditions of a Put.
type PutOptions struct {
	// ContentType is stored with the object and returned by Get and Stat.
	ContentType string
	// Metadata is small user metadata (see ValidateMetadata).
	Metadata map[string]string
	// IfMatch, when set, makes the Put succeed only if the current object's
	// ETag equals it.
	IfMatch string
	// IfNoneMatch makes the Put succeed only if no object exists at key
	// (If-None-Match: *).
	IfNoneMatch bool
}

// DeleteOptions are the conditions of a Delete.
type DeleteOptions struct {
	// IfMatch, when set, makes the Delete succeed only if the current
	// object's ETag equals it.
	IfMatch string
}

// Resolve fits the range to an object of size bytes and returns the offset
// and length to read. A range starting at or beyond the end of a non-empty
// object, or a negative offset, is ErrInvalidRange.
func (r Range) Resolve(size int64) (offset, length int64, err error) {
	if r.Offset < 0 || (r.Offset >= size && size > 0) || (size == 0 && r.Offset > 0) {
		return 0, 0, ErrInvalidRange
	}
	length = size - r.Offset
	if r.Length >= 0 && r.Length < length {
		length = r.Length
	}
	return r.Offset, length, nil
}

// Versioner is implemented by backends that can tell more cheaply than Stat
// whether an object changed. Version returns an opaque string that differs
// whenever the object at key is replaced, or an error wrapping ErrNotFound.
// It is not an ETag: compare it only with other results of Version.
type Versioner interface {
	Version(ctx context.Context, key string) (string, error)
}

// VersionOf returns the version of the object at key: the backend's own
// Version when it is a Versioner, else the ETag from Stat (which changes
// whenever the object is replaced, too). Wrappers of a backend use it to
// pass Versioner through.
func VersionOf(ctx context.Context, b Backend, key string) (string, error) {
	if vb, ok := b.(Versioner); ok {
		return vb.Version(ctx, key)
	}
	info, err := b.Stat(ctx, key)
	return info.ETag, err
}
