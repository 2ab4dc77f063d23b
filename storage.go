package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/s3"
)

// openBackend opens the configured storage backend. The caller closes it
// when it is an io.Closer.
func openBackend(ctx context.Context, cfg Config) (storage.Backend, error) {
	switch cfg.Storage {
	case "s3":
		b, err := s3.New(ctx, s3.Config{
			Endpoint:  cfg.S3.Endpoint,
			Bucket:    cfg.S3.Bucket,
			Prefix:    cfg.S3.Prefix,
			Region:    cfg.S3.Region,
			PathStyle: cfg.S3.PathStyle,
			TLS:       cfg.S3.TLS,
			AccessKey: string(cfg.S3.AccessKey),
			SecretKey: string(cfg.S3.SecretKey),
		})
		if err != nil {
			return nil, fmt.Errorf("opening S3 bucket %q at %s: %w", cfg.S3.Bucket, cfg.S3.Endpoint, err)
		}
		return b, nil
	default:
		b, err := filesystem.New(cfg.Data)
		if err != nil {
			return nil, fmt.Errorf("opening data folder %s: %w", cfg.Data, err)
		}
		return b, nil
	}
}

// closeBackend closes store when it is an io.Closer.
func closeBackend(store storage.Backend, logger *slog.Logger) {
	if c, ok := store.(io.Closer); ok {
		if err := c.Close(); err != nil {
			logger.Error("closing the storage backend", "error", err)
		}
	}
}
