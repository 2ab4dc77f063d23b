package s3test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/weconomics/kluis/storage/s3"
)

// Raw is a bare minio-go client of the configured server, under a fresh
// key prefix: the ceiling the S3 backend's benchmarks compare against
// (what the bucket serves with nothing of Kluis in between).
type Raw struct {
	client *minio.Client
	bucket string
	prefix string
}

// NewRaw connects a bare client to the configured server; its keys live
// under a fresh prefix, like Open's.
func NewRaw(t testing.TB) *Raw {
	t.Helper()
	cfg := Config(t)
	// As many connections kept as Kluis's backend keeps, so that the
	// ceiling is not lowered by handshakes Kluis does not make.
	tr, err := minio.DefaultTransport(cfg.TLS)
	if err != nil {
		t.Fatal(err)
	}
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = s3.MaxIdleConns, s3.MaxIdleConns
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.TLS,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupPath,
		Transport:    tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Raw{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix}
}

// Put stores data under key with one PutObject.
func (r *Raw) Put(ctx context.Context, key string, data []byte) error {
	_, err := r.client.PutObject(ctx, r.bucket, r.prefix+key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "text/turtle"})
	return err
}

// Get reads the object under key whole, with one GetObject.
func (r *Raw) Get(ctx context.Context, key string) ([]byte, error) {
	obj, err := r.client.GetObject(ctx, r.bucket, r.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}
