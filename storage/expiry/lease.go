package expiry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Lease is a claim on periodic work shared by the processes of a storage:
// the object at Key names its Holder and the time it is held until.
type Lease struct {
	Backend storage.Backend
	Key     string
	// Holder names this process (random, per process).
	Holder string
}

// leaseRecord is a lease as stored.
type leaseRecord struct {
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
}

// Acquire takes the lease until now+hold when no one holds it, or its
// holder's time has run out (at or before now): it reports whether this
// process has it. Of several processes asking at once, exactly one gets
// it: the write is conditional on the object being absent, or unchanged
// since it was read.
func (l Lease) Acquire(ctx context.Context, now time.Time, hold time.Duration) (bool, error) {
	rec := leaseRecord{Holder: l.Holder, Until: now.Add(hold).UTC()}
	data, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	opts := storage.PutOptions{ContentType: "application/json", IfNoneMatch: true}
	cur, etag, err := l.read(ctx)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return false, err
	case now.Before(cur.Until):
		return false, nil
	default:
		opts = storage.PutOptions{ContentType: "application/json", IfMatch: etag}
	}
	_, err = l.Backend.Put(ctx, l.Key, bytes.NewReader(data), opts)
	if errors.Is(err, storage.ErrPreconditionFailed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("expiry: taking the lease: %w", err)
	}
	return true, nil
}

// Held returns who holds the lease and until when, or
// storage.ErrNotFound when no one ever took it.
func (l Lease) Held(ctx context.Context) (string, time.Time, error) {
	rec, _, err := l.read(ctx)
	return rec.Holder, rec.Until, err
}

func (l Lease) read(ctx context.Context) (leaseRecord, string, error) {
	rc, info, err := l.Backend.Get(ctx, l.Key, storage.GetOptions{})
	if err != nil {
		return leaseRecord{}, "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 4096))
	if err != nil {
		return leaseRecord{}, "", err
	}
	var rec leaseRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		// A broken lease is one that has run out: the next write replaces it.
		return leaseRecord{}, info.ETag, nil
	}
	return rec, info.ETag, nil
}
