package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/minio/minio-go/v7"

	"github.com/weconomics/kluis/storage"
)

// S3 and MinIO error codes that minio-go has no constant for. The first two
// are MinIO's for a key that cannot be written because of the keys around it.
const (
	codeParentIsObject          = "XMinioParentIsObject"
	codeObjectExistsAsDirectory = "XMinioObjectExistsAsDirectory"
	codeSlowDown                = "SlowDown"
	codeServerNotInitialized    = "XMinioServerNotInitialized"
)

// mapErr turns an error of minio-go into one wrapping the storage sentinel
// it stands for, keeping the original in the chain for the logs:
//
//	NoSuchKey, 404                      storage.ErrNotFound
//	PreconditionFailed, 412             storage.ErrPreconditionFailed
//	InvalidRange, 416                   storage.ErrInvalidRange
//	XMinioParentIsObject & co.          storage.ErrConflict
//	NoSuchBucket, 5xx, network errors   storage.ErrUnavailable
//	context deadline exceeded           storage.ErrUnavailable and the context error
//	context canceled                    the context error only
//
// Other errors (access denied, a bad signature) are wrapped as they are:
// they are configuration faults, not conditions callers handle.
func mapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if sentinel := sentinelOf(err); sentinel != nil {
		return fmt.Errorf("s3: %s %s: %w: %w", op, key, sentinel, err)
	}
	return fmt.Errorf("s3: %s %s: %w", op, key, err)
}

func sentinelOf(err error) error {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchBucket:
			return storage.ErrUnavailable
		case resp.Code == minio.NoSuchKey || resp.Code == minio.NoSuchVersion || resp.StatusCode == http.StatusNotFound:
			return storage.ErrNotFound
		case resp.Code == minio.PreconditionFailed || resp.StatusCode == http.StatusPreconditionFailed:
			return storage.ErrPreconditionFailed
		case resp.Code == minio.InvalidRange || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			return storage.ErrInvalidRange
		case resp.Code == codeParentIsObject || resp.Code == codeObjectExistsAsDirectory:
			return storage.ErrConflict
		case resp.Code == codeSlowDown || resp.Code == codeServerNotInitialized || resp.StatusCode >= 500:
			return storage.ErrUnavailable
		}
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return storage.ErrUnavailable
	}
	var (
		urlErr *url.Error
		netErr net.Error
	)
	if errors.As(err, &urlErr) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return storage.ErrUnavailable
	}
	return nil
}

// errorCode is the S3 error code of err, or "".
func errorCode(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}
