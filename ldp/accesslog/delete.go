package accesslog

import (
	"context"
	"errors"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Clear deletes pod's whole log. Entries still queued are written after
// it, as a new start.
func (l *Log) Clear(ctx context.Context, pod string) (int, error) {
	hours, err := l.hours(ctx, pod)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range hours {
		segs, err := l.segments(ctx, pod, h)
		if err != nil {
			return n, err
		}
		for _, s := range segs {
			if err := l.cfg.Backend.Delete(ctx, s.key, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Retention is how long and how much of a pod's log is kept; zero fields
// keep everything.
type Retention struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// Trim deletes the segments of pod's log older than r.MaxAge, and the
// oldest beyond r.MaxBytes of segments. It lists the pod's hours, and the
// segments of the hours that reach past MaxAge (or of every hour when a
// size bound is set); it reads no segment, so an age bound costs what it
// removes and one hour more. It returns how many segments it removed.
func (l *Log) Trim(ctx context.Context, pod string, r Retention, now time.Time) (int, error) {
	hours, err := l.hours(ctx, pod)
	if err != nil {
		return 0, err
	}
	removed := 0
	var kept int64
	for _, h := range hours {
		if r.MaxBytes <= 0 && (r.MaxAge <= 0 || !time.Unix(h*3600, 0).Before(now.Add(-r.MaxAge))) {
			continue // nothing in this hour is old enough: not even listed
		}
		segs, err := l.segments(ctx, pod, h)
		if err != nil {
			return removed, err
		}
		for _, s := range segs {
			old := r.MaxAge > 0 && now.Sub(time.Unix(0, s.newest)) > r.MaxAge
			kept += s.size
			if old || r.MaxBytes > 0 && kept > r.MaxBytes {
				if err := l.cfg.Backend.Delete(ctx, s.key, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
					return removed, err
				}
				removed++
			}
		}
	}
	return removed, nil
}

// RetentionKey is where the owner's retention of pod's log is kept (the
// server reads and writes it).
func RetentionKey(pod string) string { return "sys/access-log-settings/" + pod }

// Delete removes everything of pod's log, for the deletion of the pod:
// its segments, its retention and what an import carried.
func Delete(ctx context.Context, b storage.Backend, pod string) error {
	if err := storage.DeleteTree(ctx, b, Prefix+pod+"/"); err != nil {
		return err
	}
	for _, key := range []string{RetentionKey(pod), importedPrefix + pod} {
		if err := b.Delete(ctx, key, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}
