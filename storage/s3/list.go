package s3

import (
	"context"
	"fmt"
	"iter"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/weconomics/kluis/storage"
)

// List yields the direct children of prefix with ListObjectsV2 and the
// delimiter "/", paged by minio-go.
//
// minio-go yields each page's objects first and its common prefixes after
// them, while storage wants them merged in byte order. Pages themselves come
// in order, so List sorts one page at a time. To know where a page ends it
// counts, through an httptrace hook on its own context, the connections
// minio-go takes: a connection taken between two entries means that the
// second one belongs to a new page.
func (b *Backend) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		if err := storage.ValidatePrefix(prefix); err != nil {
			yield(storage.Info{}, fmt.Errorf("s3: list: %w", err))
			return
		}
		// Stopping early cancels whatever minio-go still has in flight.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var requests atomic.Uint64
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(httptrace.GotConnInfo) { requests.Add(1) },
		})

		full := b.prefix + prefix
		fetchOwner := false
		objects := b.client.ListObjectsIter(ctx, b.bucket, minio.ListObjectsOptions{
			Prefix:     full,
			Recursive:  false,
			FetchOwner: &fetchOwner,
			MaxKeys:    b.maxKeys,
			// MinIO then returns each object's content type with the
			// listing (its "metadata=true" extension); other S3 servers
			// ignore the parameter and listings carry no content type.
			WithMetadata: true,
		})

		var page []storage.Info
		flush := func() bool {
			slices.SortFunc(page, func(x, y storage.Info) int { return strings.Compare(x.Key, y.Key) })
			for _, info := range page {
				if !yield(info, nil) {
					return false
				}
			}
			page = page[:0]
			return true
		}
		seen := requests.Load()
		for obj := range objects {
			if obj.Err != nil {
				if flush() {
					yield(storage.Info{}, mapErr("list", prefix, obj.Err))
				}
				return
			}
			if n := requests.Load(); n != seen {
				seen = n
				if !flush() {
					return
				}
			}
			if obj.Key == full || !strings.HasPrefix(obj.Key, full) {
				continue // the marker object of prefix itself (or not below it)
			}
			key := strings.TrimPrefix(obj.Key, b.prefix)
			if strings.HasSuffix(obj.Key, "/") {
				// With the delimiter, an object's key has no "/" after the
				// prefix: this is a common prefix.
				page = append(page, storage.Info{Key: key, IsPrefix: true})
				continue
			}
			page = append(page, storage.Info{
				Key:         key,
				Size:        obj.Size,
				ETag:        obj.ETag,
				ContentType: listedContentType(obj),
				// Stat's Last-Modified has whole seconds only.
				Modified: obj.LastModified.UTC().Truncate(time.Second),
			})
		}
		if err := ctx.Err(); err != nil {
			if flush() {
				yield(storage.Info{}, mapErr("list", prefix, err))
			}
			return
		}
		flush()
	}
}

// listedContentType finds the content type of a listed object: MinIO's
// metadata extension returns it among the user metadata.
func listedContentType(obj minio.ObjectInfo) string {
	if obj.ContentType != "" {
		return obj.ContentType
	}
	for k, v := range obj.UserMetadata {
		if strings.EqualFold(k, "content-type") {
			return v
		}
	}
	return ""
}
