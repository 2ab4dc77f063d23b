package metrics

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/weconomics/kluis/storage"
)

// The operation label values of the storage metrics.
const (
	opGet    = "get"
	opStat   = "stat"
	opPut    = "put"
	opAppend = "append"
	opDelete = "delete"
	opList   = "list"
	opCheck  = "check"
)

// Storage wraps b so that every operation is timed and its errors
// counted, with backend as the backend label ("fs", "s3"). The wrapper is
// a storage.Checker exactly when b is one, so the readiness probe asks b
// the same question as before. It does not pass on io.Closer: the caller
// keeps b to close it.
//
// Get is timed until the reader is returned, not while the body is read.
//
// A backend that counts its connections (interface{ Connections() int },
// S3) is the source of kluis_storage_connections{backend}.
func (m *Metrics) Storage(b storage.Backend, backend string) storage.Backend {
	if c, ok := b.(interface{ Connections() int }); ok {
		_ = m.registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "kluis_storage_connections",
			Help:        "Connections to the storage open now, idle or in use.",
			ConstLabels: prometheus.Labels{"backend": backend},
		}, func() float64 { return float64(c.Connections()) }))
	}
	mb := &meteredBackend{next: b, backend: backend, m: m}
	if c, ok := b.(storage.Checker); ok {
		return &meteredChecker{meteredBackend: mb, checker: c}
	}
	return mb
}

// meteredBackend is the wrapper of Storage.
type meteredBackend struct {
	next    storage.Backend
	backend string
	m       *Metrics
}

// observe records an operation that began at start and ended with err.
func (b *meteredBackend) observe(op string, elapsed time.Duration, err error) {
	b.m.storageDuration.WithLabelValues(b.backend, op).Observe(elapsed.Seconds())
	if err != nil {
		b.m.storageErrors.WithLabelValues(b.backend, op, storage.ErrorKind(err)).Inc()
	}
}

func (b *meteredBackend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	start := time.Now()
	rc, info, err := b.next.Get(ctx, key, o)
	b.observe(opGet, time.Since(start), err)
	return rc, info, err
}

func (b *meteredBackend) Stat(ctx context.Context, key string) (storage.Info, error) {
	start := time.Now()
	info, err := b.next.Stat(ctx, key)
	b.observe(opStat, time.Since(start), err)
	return info, err
}

func (b *meteredBackend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	start := time.Now()
	info, err := b.next.Put(ctx, key, r, o)
	b.observe(opPut, time.Since(start), err)
	return info, err
}

func (b *meteredBackend) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	start := time.Now()
	err := b.next.Delete(ctx, key, o)
	b.observe(opDelete, time.Since(start), err)
	return err
}

// List times the backend only: the time the caller spends on each entry,
// between yields, is left out. A listing stopped early is still counted.
func (b *meteredBackend) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		var busy time.Duration
		var failed error
		mark := time.Now()
		for info, err := range b.next.List(ctx, prefix) {
			busy += time.Since(mark)
			if err != nil {
				failed = err
			}
			more := yield(info, err)
			mark = time.Now()
			if !more {
				break
			}
		}
		busy += time.Since(mark)
		b.observe(opList, busy, failed)
	}
}

// meteredChecker is the wrapper of a backend that is a storage.Checker.
type meteredChecker struct {
	*meteredBackend
	checker storage.Checker
}

func (b *meteredChecker) Check(ctx context.Context) error {
	start := time.Now()
	err := b.checker.Check(ctx)
	b.observe(opCheck, time.Since(start), err)
	return err
}

// Append passes storage.Appender through, timed as "append"; a backend
// that does not append is neither timed nor counted.
func (b *meteredBackend) Append(ctx context.Context, key string, data []byte, o storage.AppendOptions) (storage.Info, error) {
	start := time.Now()
	info, err := storage.Append(ctx, b.next, key, data, o)
	if !errors.Is(err, storage.ErrAppendUnsupported) {
		b.observe(opAppend, time.Since(start), err)
	}
	return info, err
}

// Version passes storage.Versioner through, timed as "version", so the
// cheap ACL version checks stay cheap with metrics on; a backend without
// it answers with its ETag from Stat.
func (b *meteredBackend) Version(ctx context.Context, key string) (string, error) {
	start := time.Now()
	v, err := storage.VersionOf(ctx, b.next, key)
	b.observe("version", time.Since(start), err)
	return v, err
}
