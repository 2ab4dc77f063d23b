package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/storagetest"
)

// The S3 tests run against the server named by these variables, e.g. MinIO:
//
//	KLUIS_S3_ENDPOINT=127.0.0.1:9000 KLUIS_S3_BUCKET=kluis-test \
//	KLUIS_S3_ACCESS_KEY=... KLUIS_S3_SECRET_KEY=... go test ./storage/s3/
//
// KLUIS_S3_REGION is optional and KLUIS_S3_TLS is "true" or "false". Every
// backend gets a fresh random prefix, so runs sharing a bucket never collide.

func TestConformance(t *testing.T) { storagetest.Run(t, newTestBackend) }

// BenchmarkBackend measures Put and Get through the Backend; compare with
// BenchmarkRaw, which does the same with minio-go alone.
func BenchmarkBackend(b *testing.B) { storagetest.Bench(b, newTestBackend) }

// BenchmarkRaw does what storagetest.Bench does with minio-go alone, under
// the same sub-benchmark names, so that the cost of the Backend shows:
// PutObject with a known size, and GetObject copied to io.Discard.
func BenchmarkRaw(b *testing.B) {
	be := newTestBackend(b).(*Backend)
	ctx := context.Background()
	for _, size := range []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}} {
		data := bytes.Repeat([]byte{'k'}, size.n)
		name := be.prefix + "bench/raw-" + size.name
		b.Run("Put"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				_, err := be.client.PutObject(ctx, be.bucket, name, bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ContentType: "application/octet-stream"})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Get"+size.name, func(b *testing.B) {
			_, err := be.client.PutObject(ctx, be.bucket, name, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				obj, err := be.client.GetObject(ctx, be.bucket, name, minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, obj, buf); err != nil {
					b.Fatal(err)
				}
				obj.Close()
			}
		})
	}
}

// testConfig reads the configuration of the test server from the
// environment, with a fresh random prefix. Without an endpoint it skips the
// test, except in CI, where the S3 tests must run.
func testConfig(t testing.TB) Config {
	t.Helper()
	endpoint := os.Getenv("KLUIS_S3_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but KLUIS_S3_ENDPOINT is not set: the S3 suite must run in CI")
		}
		t.Skip("KLUIS_S3_ENDPOINT is not set; set it, KLUIS_S3_BUCKET, KLUIS_S3_ACCESS_KEY and KLUIS_S3_SECRET_KEY to run the S3 tests")
	}
	bucket := os.Getenv("KLUIS_S3_BUCKET")
	if bucket == "" {
		t.Fatal("KLUIS_S3_ENDPOINT is set but KLUIS_S3_BUCKET is not")
	}
	secure := false
	if v := os.Getenv("KLUIS_S3_TLS"); v != "" {
		var err error
		if secure, err = strconv.ParseBool(v); err != nil {
			t.Fatalf("KLUIS_S3_TLS=%q: want true or false", v)
		}
	}
	return Config{
		Endpoint:  endpoint,
		Bucket:    bucket,
		Prefix:    "kluistest-" + randomHex(t, 6) + "/",
		Region:    os.Getenv("KLUIS_S3_REGION"),
		PathStyle: true,
		TLS:       secure,
		AccessKey: os.Getenv("KLUIS_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("KLUIS_S3_SECRET_KEY"),
	}
}

// newTestBackend connects to the test server below a fresh prefix, and
// removes whatever is left below it when the test ends. An endpoint that is
// set but unreachable fails the test.
func newTestBackend(t testing.TB) storage.Backend {
	t.Helper()
	return newBackendWith(t, testConfig(t))
}

func newBackendWith(t testing.TB, c Config) *Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := New(ctx, c)
	if err != nil {
		t.Fatalf("New(%v): %v", c, err)
	}
	t.Cleanup(func() { removePrefix(t, b) })
	return b
}

// removePrefix deletes every object and unfinished upload below the
// backend's prefix. MinIO does not list the objects below "a/" while an
// object "a" exists, so it repeats until a listing finds nothing.
func removePrefix(t testing.TB, b *Backend) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for round := 0; ; round++ {
		if round == 10 {
			t.Errorf("cleanup: objects still listed below %s after %d rounds", b.prefix, round)
			break
		}
		var listed atomic.Int64
		objects := make(chan minio.ObjectInfo)
		go func() {
			defer close(objects)
			for obj := range b.client.ListObjectsIter(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, Recursive: true}) {
				if obj.Err != nil {
					t.Errorf("cleanup: listing %s: %v", b.prefix, obj.Err)
					return
				}
				listed.Add(1)
				select {
				case objects <- obj:
				case <-ctx.Done():
					return
				}
			}
		}()
		for e := range b.client.RemoveObjects(ctx, b.bucket, objects, minio.RemoveObjectsOptions{}) {
			t.Errorf("cleanup: removing %s: %v", e.ObjectName, e.Err)
		}
		if listed.Load() == 0 || ctx.Err() != nil {
			break
		}
	}
	for up := range b.client.ListIncompleteUploads(ctx, b.bucket, b.prefix, true) {
		if up.Err != nil {
			t.Errorf("cleanup: listing uploads below %s: %v", b.prefix, up.Err)
			break
		}
		if err := b.client.RemoveIncompleteUpload(ctx, b.bucket, up.Key); err != nil {
			t.Errorf("cleanup: aborting upload of %s: %v", up.Key, err)
		}
	}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	p := make([]byte, n)
	if _, err := rand.Read(p); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(p)
}
