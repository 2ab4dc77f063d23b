package storagetest

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/weconomics/kluis/storage"
)

// Bench measures Put and Get of 1 KiB and 1 MiB objects through the
// backend, as sub-benchmarks Put1KiB, Get1KiB, Put1MiB and Get1MiB, each
// reporting bytes per second.
func Bench(b *testing.B, newBackend NewFunc) {
	be := newBackend(b)
	for _, size := range []struct {
		name string
		n    int
	}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}} {
		data := bytes.Repeat([]byte{'k'}, size.n)
		key := "bench/object-" + size.name
		b.Run("Put"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := be.Put(context.Background(), key, bytes.NewReader(data), storage.PutOptions{ContentType: "application/octet-stream"}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Get"+size.name, func(b *testing.B) {
			if _, err := be.Put(context.Background(), key, bytes.NewReader(data), storage.PutOptions{}); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				rc, _, err := be.Get(context.Background(), key, storage.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
		if err := be.Delete(context.Background(), key, storage.DeleteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
