package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/weconomics/kluis/storage"
)

const (
	defaultContentType = "application/octet-stream"

	// firstBuffer is where the body buffer starts; it grows fourfold up to
	// the part size, so a small object costs little and a large one leaves
	// about a part and a third of garbage behind.
	firstBuffer = 32 << 10

	// abortTimeout bounds the clean-up of a failed multipart upload, which
	// runs even when the caller's context is done.
	abortTimeout = 30 * time.Second
)

// Put stores r under key: with one PUT when r ends within a part, otherwise
// as a multipart upload sent one part at a time (see the package
// documentation). A bytes.Reader or strings.Reader shorter than a part is
// sent as it is, without a copy. Conditions are checked by the server
// atomically with the write; an If-Match on a missing object fails too.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	if err := storage.CheckPut(key, o); err != nil {
		return storage.Info{}, fmt.Errorf("s3: put: %w", err)
	}
	if o.IfMatch != "" && !validETag(o.IfMatch) {
		// No object has such an ETag, and it cannot be sent in a header.
		return storage.Info{}, fmt.Errorf("s3: put %s: %w", key, storage.ErrPreconditionFailed)
	}
	ct := o.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	opts := minio.PutObjectOptions{ContentType: ct, UserMetadata: toUserMetadata(o.Metadata)}
	setConditions(&opts, o)

	var (
		up   minio.UploadInfo
		size int64
		err  error
	)
	if sr, ok := r.(sizedReader); ok && sr.Len() < b.partSize {
		// Known length and re-readable: no copy is needed. minio-go seeks
		// its body to 0 for a retry, so send the unread part as a section
		// of its own, and move sr to its end once stored.
		size = int64(sr.Len())
		off, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return storage.Info{}, fmt.Errorf("s3: put %s: reading the body: %w", key, err)
		}
		if up, err = b.putOnce(ctx, key, io.NewSectionReader(sr, off, size), size, opts, o); err != nil {
			return storage.Info{}, err
		}
		_, _ = sr.Seek(0, io.SeekEnd)
	} else {
		r = ctxReader{ctx, r}
		var (
			buf  []byte
			more bool
		)
		buf, more, err = fill(r, make([]byte, 0, min(firstBuffer, b.partSize)), b.partSize)
		if err != nil {
			return storage.Info{}, fmt.Errorf("s3: put %s: reading the body: %w", key, err)
		}
		if more {
			up, size, err = b.putMultipart(ctx, key, r, buf, opts, o)
		} else {
			size = int64(len(buf))
			up, err = b.putOnce(ctx, key, bytes.NewReader(buf), size, opts, o)
		}
		if err != nil {
			return storage.Info{}, err
		}
	}

	info := storage.Info{
		Key:         key,
		Size:        size,
		ETag:        up.ETag,
		ContentType: ct,
		Metadata:    storage.CloneMetadata(o.Metadata),
	}
	// A PUT's answer has no Last-Modified: ask for it, unless the object
	// has already been replaced, when the local clock must do.
	if oi, err := b.client.StatObject(ctx, b.bucket, b.prefix+key, minio.StatObjectOptions{}); err == nil && oi.ETag == up.ETag {
		info.Modified = oi.LastModified.UTC()
	} else {
		info.Modified = b.now().UTC().Truncate(time.Second)
	}
	return info, nil
}

// putOnce stores a body of known size with one PUT.
func (b *Backend) putOnce(ctx context.Context, key string, r io.Reader, size int64, opts minio.PutObjectOptions, o storage.PutOptions) (minio.UploadInfo, error) {
	up, err := b.core.PutObject(ctx, b.bucket, b.prefix+key, r, size, "", "", opts)
	if err != nil {
		return up, mapPutErr(key, o, err)
	}
	return up, nil
}

// sizedReader is a body that knows its remaining length and can be read
// again from the start for a retry, such as bytes.Reader or strings.Reader.
type sizedReader interface {
	io.ReadSeeker
	io.ReaderAt
	Len() int
}

// putMultipart uploads first, which fills a part, and the rest of r, one
// part at a time through the one buffer. The conditions are sent when the
// upload starts, so that a doomed upload fails before sending its parts,
// and again when it completes, which is when they must hold.
func (b *Backend) putMultipart(ctx context.Context, key string, r io.Reader, first []byte, opts minio.PutObjectOptions, o storage.PutOptions) (up minio.UploadInfo, size int64, err error) {
	name := b.prefix + key
	id, err := b.core.NewMultipartUpload(ctx, b.bucket, name, opts)
	if err != nil {
		return up, 0, mapPutErr(key, o, err)
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			// An upload left behind is invisible and costs only space.
			_ = b.core.AbortMultipartUpload(actx, b.bucket, name, id)
		}
	}()

	var parts []minio.CompletePart
	buf, more := first, true
	for n := 1; len(buf) > 0; n++ {
		if n > maxParts {
			return up, 0, fmt.Errorf("s3: put %s: larger than %d parts of %d bytes", key, maxParts, b.partSize)
		}
		p, err := b.core.PutObjectPart(ctx, b.bucket, name, id, n, bytes.NewReader(buf), int64(len(buf)), minio.PutObjectPartOptions{})
		if err != nil {
			return up, 0, mapErr("put", key, err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: n, ETag: p.ETag})
		size += int64(len(buf))
		if !more {
			break
		}
		if buf, more, err = fill(r, buf[:0], b.partSize); err != nil {
			return up, 0, fmt.Errorf("s3: put %s: reading the body: %w", key, err)
		}
	}

	var complete minio.PutObjectOptions
	setConditions(&complete, o)
	up, err = b.core.CompleteMultipartUpload(ctx, b.bucket, name, id, parts, complete)
	if err != nil {
		return up, 0, mapPutErr(key, o, err)
	}
	return up, size, nil
}

func setConditions(opts *minio.PutObjectOptions, o storage.PutOptions) {
	if o.IfMatch != "" {
		opts.SetMatchETag(o.IfMatch)
	}
	if o.IfNoneMatch {
		opts.SetMatchETagExcept("*")
	}
}

// mapPutErr is mapErr, except that MinIO answers an If-Match on a missing
// object with 404, where storage wants a failed precondition.
func mapPutErr(key string, o storage.PutOptions, err error) error {
	err = mapErr("put", key, err)
	if o.IfMatch != "" && errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrUnavailable) {
		return fmt.Errorf("s3: put %s: %w (no object to match)", key, storage.ErrPreconditionFailed)
	}
	return err
}

// validETag reports whether an ETag can be sent quoted in an If-Match
// header (RFC 9110, section 8.8.3: etagc).
func validETag(etag string) bool {
	for i := 0; i < len(etag); i++ {
		c := etag[i]
		if c <= 0x20 || c == '"' || c == 0x7f {
			return false
		}
	}
	return true
}

// fill reads r into buf until buf holds limit bytes or r ends, growing buf
// as needed. more reports that buf is full, so r may hold more; the end of r
// is not an error.
func fill(r io.Reader, buf []byte, limit int) (_ []byte, more bool, err error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(max(4*cap(buf), firstBuffer), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, true, nil
}

// ctxReader stops reading once its context is done, so that a Put whose
// caller has gone stops reading the body.
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
