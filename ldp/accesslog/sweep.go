package accesslog

import (
	"context"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/expiry"
)

// The retention sweep reads only the logs that may have something to
// remove: an expiry index (storage/expiry) holds a marker for each pod
// whose log was written in an hour (the writer adds it, once per pod and
// hour), whose retention changed (Touch), or whose oldest kept hour comes
// of age then (the sweep adds it after trimming). A sweep with nothing
// due is one listing, whatever the number of pods.

// expiryPrefix is the index of the logs due for trimming.
const expiryPrefix = "sys/access-log-expiry/"

func (l *Log) due() expiry.Index { return expiry.Index{Backend: l.cfg.Backend, Prefix: expiryPrefix} }

// Touch asks the next sweep to trim pod's log (its retention changed).
func (l *Log) Touch(ctx context.Context, pod string) error {
	return l.due().Add(ctx, l.cfg.Now(), pod)
}

// Sweep trims the logs that are due to their retention (retention gives
// each pod's) and returns how many segments it removed.
func (l *Log) Sweep(ctx context.Context, now time.Time, retention func(ctx context.Context, pod string) (Retention, error)) (int, error) {
	removed := 0
	err := l.due().Sweep(ctx, now, func(ctx context.Context, pod string) (bool, error) {
		if storage.ValidateKey(Prefix+pod+"/x") != nil {
			return true, nil
		}
		r, err := retention(ctx, pod)
		if err != nil {
			return false, err
		}
		n, err := l.Trim(ctx, pod, r, now)
		removed += n
		if err != nil {
			return false, err
		}
		if r.MaxAge <= 0 {
			return true, nil
		}
		// Come back when the oldest hour kept is of age.
		hours, err := l.hours(ctx, pod)
		if err != nil || len(hours) == 0 {
			return err == nil, err
		}
		oldest := time.Unix((hours[len(hours)-1]+1)*3600, 0)
		return true, l.due().Add(ctx, oldest.Add(r.MaxAge), pod)
	})
	return removed, err
}

// indexWrite marks pod's log as written in the hour of t, once per hour.
func (l *Log) indexWrite(ctx context.Context, pod string, t time.Time) {
	h := hourOf(t)
	if l.indexed[pod] == h {
		return
	}
	if err := l.due().Add(ctx, t, pod); err != nil {
		l.cfg.Logger.Warn("access log: indexing for retention", "pod", pod, "error", err)
		return
	}
	l.indexed[pod] = h
}
