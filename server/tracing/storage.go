package tracing

import (
	"context"
	"io"
	"iter"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/weconomics/kluis/storage"
)

// The attributes of storage spans. None holds a key: keys under "r/" are
// request paths, which name pods and people.
const (
	// AttrStorageBackend is the backend's name ("fs", "s3").
	AttrStorageBackend = attribute.Key("kluis.storage.backend")
	// AttrStorageOperation is get, stat, put, delete, list, check or
	// version.
	AttrStorageOperation = attribute.Key("kluis.storage.operation")
	// AttrStorageArea is the kind of key: "r" (resources), "sys/<part>"
	// (pod registry, accounts, identity provider, usage), or "other".
	AttrStorageArea = attribute.Key("kluis.storage.area")
)

// Storage wraps b so that every operation of a traced request is a span,
// "storage <op>", a child of the request's span. An operation whose
// context holds no recorded span (housekeeping, a request sampled out or
// not traced, such as a health probe) makes none. An error is recorded
// as its kind (error.type, storage.ErrorKind); only those that are not
// part of normal work (not found, a lost condition, a bad range) mark the
// span as failed. The wrapper is a storage.Checker exactly when b is one,
// and passes storage.Versioner on (falling back to Stat), as the metrics
// wrapper does.
//
// Get's span ends when the reader is returned, not when the body is read.
func (t *Tracing) Storage(b storage.Backend, backend string) storage.Backend {
	tb := &tracedBackend{next: b, tracer: t.tracer, backend: backend}
	if c, ok := b.(storage.Checker); ok {
		return &tracedChecker{tracedBackend: tb, checker: c}
	}
	return tb
}

// tracedBackend is the wrapper of Storage.
type tracedBackend struct {
	next    storage.Backend
	tracer  trace.Tracer
	backend string
}

// start begins the span of op on key, or returns a span that does
// nothing when ctx holds no recorded span.
func (b *tracedBackend) start(ctx context.Context, op, key string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noop.Span{}
	}
	return b.tracer.Start(ctx, "storage "+op,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			AttrStorageBackend.String(b.backend),
			AttrStorageOperation.String(op),
			AttrStorageArea.String(area(key)),
		))
}

// end ends span with err.
func end(span trace.Span, err error) {
	if err != nil {
		kind := storage.ErrorKind(err)
		span.SetAttributes(semconv.ErrorTypeKey.String(kind))
		switch kind {
		case "not_found", "precondition_failed", "invalid_range":
		default:
			span.SetStatus(codes.Error, "")
		}
	}
	span.End()
}

// area is the kind of a key, from a fixed few: "r", "sys/<second
// segment>", or "other".
func area(key string) string {
	first, rest, _ := strings.Cut(key, "/")
	switch first {
	case "r":
		return "r"
	case "sys":
		if second, _, ok := strings.Cut(rest, "/"); ok && second != "" {
			return "sys/" + second
		}
		return "sys"
	case "":
		return ""
	}
	return "other"
}

func (b *tracedBackend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	ctx, span := b.start(ctx, "get", key)
	rc, info, err := b.next.Get(ctx, key, o)
	end(span, err)
	return rc, info, err
}

func (b *tracedBackend) Stat(ctx context.Context, key string) (storage.Info, error) {
	ctx, span := b.start(ctx, "stat", key)
	info, err := b.next.Stat(ctx, key)
	end(span, err)
	return info, err
}

func (b *tracedBackend) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.Info, error) {
	ctx, span := b.start(ctx, "put", key)
	info, err := b.next.Put(ctx, key, r, o)
	end(span, err)
	return info, err
}

func (b *tracedBackend) Delete(ctx context.Context, key string, o storage.DeleteOptions) error {
	ctx, span := b.start(ctx, "delete", key)
	err := b.next.Delete(ctx, key, o)
	end(span, err)
	return err
}

// List's span lasts from the first step of the iteration to its end,
// early stops included, and so holds the caller's time between entries.
func (b *tracedBackend) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		ctx, span := b.start(ctx, "list", prefix)
		var failed error
		for info, err := range b.next.List(ctx, prefix) {
			if err != nil {
				failed = err
			}
			if !yield(info, err) {
				break
			}
		}
		end(span, failed)
	}
}

// Append passes storage.Appender through; a backend that does not append
// makes no span.
func (b *tracedBackend) Append(ctx context.Context, key string, data []byte, o storage.AppendOptions) (storage.Info, error) {
	if _, ok := b.next.(storage.Appender); !ok {
		return storage.Info{}, storage.ErrAppendUnsupported
	}
	ctx, span := b.start(ctx, "append", key)
	info, err := storage.Append(ctx, b.next, key, data, o)
	end(span, err)
	return info, err
}

// Version passes storage.Versioner through; a backend without it answers
// with the ETag of Stat.
func (b *tracedBackend) Version(ctx context.Context, key string) (string, error) {
	ctx, span := b.start(ctx, "version", key)
	v, err := storage.VersionOf(ctx, b.next, key)
	end(span, err)
	return v, err
}

// tracedChecker is the wrapper of a backend that is a storage.Checker.
type tracedChecker struct {
	*tracedBackend
	checker storage.Checker
}

func (b *tracedChecker) Check(ctx context.Context) error {
	ctx, span := b.start(ctx, "check", "")
	err := b.checker.Check(ctx)
	end(span, err)
	return err
}
