package idp

import (
	"context"
	"errors"
	"time"

	"github.com/weconomics/kluis/storage"
)

// sweepMargin is how long a spent or expired record is kept past its
// expiry: a code presented again within it still revokes its tokens.
const sweepMargin = time.Hour

// Sweep deletes authorization codes and refresh-token families that
// expired more than an hour ago, and returns how many it deleted. It is
// safe to run in several processes at once (deletes are conditional on
// the ETag read); run it now and then, say hourly. Registered clients are
// kept.
func (p *Provider) Sweep(ctx context.Context) (int, error) {
	cutoff := p.cfg.Now().Add(-sweepMargin)
	n := 0
	for _, prefix := range []string{prefixCodes, prefixRefresh} {
		for info, err := range p.cfg.Store.List(ctx, prefix) {
			if err != nil {
				return n, err
			}
			if info.IsPrefix {
				continue
			}
			var rec struct {
				Expires time.Time `json:"expires"`
			}
			etag, err := getJSON(ctx, p.cfg.Store, info.Key, &rec)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			} else if err != nil {
				return n, err
			}
			if !rec.Expires.Before(cutoff) {
				continue
			}
			err = p.cfg.Store.Delete(ctx, info.Key, storage.DeleteOptions{IfMatch: etag})
			switch {
			case err == nil:
				n++
			case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrPreconditionFailed):
			default:
				return n, err
			}
		}
	}
	return n, nil
}
