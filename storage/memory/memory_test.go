package memory_test

import (
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/storage/storagetest"
)

func newBackend(testing.TB) storage.Backend { return memory.New() }

func TestConformance(t *testing.T) { storagetest.Run(t, newBackend, storagetest.HeldInMemory()) }

func BenchmarkBackend(b *testing.B) { storagetest.Bench(b, newBackend) }
