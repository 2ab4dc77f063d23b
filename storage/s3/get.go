package s3

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/weconomics/kluis/storage"
)

// Get opens the object with one GET request, so that a missing object or a
// bad range is reported by Get itself. minio.Core.GetObject is used rather
// than the lazy minio.Client.GetObject, whose Stat would cost a HEAD before
// the GET. Errors while reading the body are converted as well.
func (b *Backend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, storage.Info{}, fmt.Errorf("s3: get: %w", err)
	}
	var opts minio.GetObjectOptions
	rng := o.Range
	if rng != nil {
		switch {
		case rng.Offset < 0:
			return nil, storage.Info{}, fmt.Errorf("s3: get %s: offset %d: %w", key, rng.Offset, storage.ErrInvalidRange)
		case rng.Length == 0:
			// HTTP cannot ask for no bytes; the answer depends on the size only.
			return b.getNothing(ctx, key, *rng, nil)
		case rng.Offset == 0 && (rng.Length < 0 || rng.Length == math.MaxInt64):
			rng = nil // the whole object: no Range header at all
		case rng.Length < 0 || rng.Length > math.MaxInt64-rng.Offset:
			_ = opts.SetRange(rng.Offset, 0) // bytes=N-
		default:
			_ = opts.SetRange(rng.Offset, rng.Offset+rng.Length-1) // bytes=N-M
		}
	}
	body, oi, h, err := b.core.GetObject(ctx, b.bucket, b.prefix+key, opts)
	if err != nil {
		// S3 answers 416 to every Range on an empty object, where
		// storage.Range.Resolve accepts a range from offset 0.
		if rng != nil && rng.Offset == 0 && errorCode(err) == minio.InvalidRange {
			return b.getNothing(ctx, key, *rng, err)
		}
		return nil, storage.Info{}, mapErr("get", key, err)
	}
	size := oi.Size
	var r io.Reader = body
	if rng != nil {
		cr := h.Get("Content-Range")
		if cr == "" {
			// The server ignored the Range and sent the whole object.
			off, n, err := rng.Resolve(size)
			if err != nil {
				body.Close()
				return nil, storage.Info{}, fmt.Errorf("s3: get %s: %w", key, err)
			}
			if _, err := io.CopyN(io.Discard, body, off); err != nil {
				body.Close()
				return nil, storage.Info{}, mapErr("get", key, err)
			}
			r = io.LimitReader(body, n)
		} else {
			total, ok := contentRangeTotal(cr)
			if !ok {
				body.Close()
				return nil, storage.Info{}, fmt.Errorf("s3: get %s: unexpected Content-Range %q", key, cr)
			}
			size = total
		}
	}
	return &objectReader{body: body, r: r, key: key}, toInfo(key, oi, size), nil
}

// getNothing answers a range that S3 cannot express (no bytes) or refuses
// although storage.Range.Resolve accepts it (any range on an empty object),
// with one HEAD. refused is the 416 that led here, if any: should the object
// have been written in between, that answer stands.
func (b *Backend) getNothing(ctx context.Context, key string, rng storage.Range, refused error) (io.ReadCloser, storage.Info, error) {
	oi, err := b.client.StatObject(ctx, b.bucket, b.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return nil, storage.Info{}, mapErr("get", key, err)
	}
	_, n, err := rng.Resolve(oi.Size)
	if err != nil {
		return nil, storage.Info{}, fmt.Errorf("s3: get %s: %w", key, err)
	}
	if n != 0 {
		if refused == nil {
			refused = storage.ErrInvalidRange
		}
		return nil, storage.Info{}, mapErr("get", key, refused)
	}
	return http.NoBody, toInfo(key, oi, oi.Size), nil
}

// contentRangeTotal returns the complete length from a Content-Range such as
// "bytes 0-9/100" (RFC 9110, section 14.4).
func contentRangeTotal(cr string) (int64, bool) {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(cr[i+1:], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// objectReader is the body of a Get, whose read errors are converted like
// those of the request.
type objectReader struct {
	body io.ReadCloser
	r    io.Reader // body, or a part of it
	key  string
}

func (o *objectReader) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if err != nil && err != io.EOF {
		err = mapErr("get", o.key, err)
	}
	return n, err
}

func (o *objectReader) Close() error { return o.body.Close() }
