// Package s3test opens the S3 backend of a test run from the environment
// that bash .ci/test exports (KLUIS_S3_ENDPOINT, _BUCKET, _REGION, _TLS,
// _ACCESS_KEY, _SECRET_KEY), one fresh key prefix per backend, for the tests
// of every package that runs on S3 as well. It is the one place that reads
// those variables in tests.
//
// Without an endpoint the S3 tests skip, except when CI=true, where they
// fail: CI must run them for real.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage/s3"
)

// Configured reports whether the environment names an S3 server.
func Configured() bool { return os.Getenv("KLUIS_S3_ENDPOINT") != "" }

// Require skips t when no S3 server is configured, or fails it when
// CI=true.
func Require(t testing.TB) {
	t.Helper()
	if Configured() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but KLUIS_S3_ENDPOINT is not set: the S3 tests must run in CI")
	}
	t.Skip("KLUIS_S3_ENDPOINT is not set; run bash .ci/test for the S3 tests")
}

// Config is the configured server's settings with a fresh key prefix,
// "kluistest-<random>/", so tests never see each other's objects.
func Config(t testing.TB) s3.Config {
	t.Helper()
	Require(t)
	tls := false
	if v := os.Getenv("KLUIS_S3_TLS"); v != "" {
		var err error
		if tls, err = strconv.ParseBool(v); err != nil {
			t.Fatalf("KLUIS_S3_TLS=%q: want true or false", v)
		}
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	return s3.Config{
		Endpoint:  os.Getenv("KLUIS_S3_ENDPOINT"),
		Bucket:    os.Getenv("KLUIS_S3_BUCKET"),
		Prefix:    "kluistest-" + hex.EncodeToString(r[:]) + "/",
		Region:    os.Getenv("KLUIS_S3_REGION"),
		PathStyle: true,
		TLS:       tls,
		AccessKey: os.Getenv("KLUIS_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("KLUIS_S3_SECRET_KEY"),
	}
}

// Open connects to the configured server under a fresh prefix. What a test
// leaves there goes with the test server's throw-away folder, unless the
// caller removes it.
func Open(t testing.TB) *s3.Backend {
	t.Helper()
	cfg := Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
