package idp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
)

// sweepMargin is how long a spent or expired record is kept past its
// expiry: a code presented again within it still revokes its tokens.
const sweepMargin = time.Hour

// Sweep deletes authorization codes and refresh-token families that
// expired more than an hour ago, and registered clients whose time is up
// (ClientLimits: unused, or not used for a login for a long time), and
// returns how many it deleted. It is safe to run in several processes at
// once (deletes are conditional on the ETag read); run it now and then,
// say hourly. Clients are found through their expiry index, so a sweep
// reads only the clients that expired, never all of them.
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
	if err := p.migrateClients(ctx); err != nil {
		return n, err
	}
	m, err := p.sweepClients(ctx)
	return n + m, err
}

// The expiry index of registered clients: an empty object
// prefixClientExpiry + "<day>/<client_id>" for each expiry a client was
// given, the day (UTC, 2006-01-02) being its expiry's. A client moved to a
// later expiry has a marker on each day; the earlier ones are dropped when
// their day is swept. The marker is written before the client, so no
// stored client lacks one.
const (
	prefixClientExpiry = "sys/idp/client-expiry/"
	// keyClientsIndexed marks that every client stored before expiry
	// existed has been given one.
	keyClientsIndexed = "sys/idp/client-expiry-migrated"
	dayLayout         = "2006-01-02"
)

// indexExpiry writes the marker of client id's expiry.
func (p *Provider) indexExpiry(ctx context.Context, id string, expires time.Time) error {
	key := prefixClientExpiry + expires.UTC().Format(dayLayout) + "/" + id
	_, err := putJSON(ctx, p.cfg.Store, key, struct{}{}, storage.PutOptions{IfNoneMatch: true})
	if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
		return fmt.Errorf("idp: indexing a client's expiry: %w", err)
	}
	return nil
}

// sweepClients deletes the clients of the days before today in the expiry
// index that have expired, and the markers of those days. Its work is
// proportional to the markers of past days, that is to what expired, plus
// one listing of the days.
func (p *Provider) sweepClients(ctx context.Context) (int, error) {
	now := p.cfg.Now()
	today := now.UTC().Format(dayLayout)
	var days []string
	for info, err := range p.cfg.Store.List(ctx, prefixClientExpiry) {
		if err != nil {
			return 0, err
		}
		day := strings.TrimSuffix(strings.TrimPrefix(info.Key, prefixClientExpiry), "/")
		// Every marker of an earlier day is for an expiry before today.
		if info.IsPrefix && day < today {
			days = append(days, info.Key)
		}
	}
	n := 0
	for _, day := range days {
		var markers []string
		for info, err := range p.cfg.Store.List(ctx, day) {
			if err != nil {
				return n, err
			}
			if !info.IsPrefix {
				markers = append(markers, info.Key)
			}
		}
		for _, marker := range markers {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			deleted, err := p.expireClient(ctx, strings.TrimPrefix(marker, day), now)
			if err != nil {
				return n, err
			}
			if deleted {
				n++
			}
			if err := p.cfg.Store.Delete(ctx, marker, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return n, err
			}
		}
	}
	return n, nil
}

// expireClient deletes client id when it has expired at now, on the
// condition that it has not changed since it was read (a login moving its
// expiry wins).
func (p *Provider) expireClient(ctx context.Context, id string, now time.Time) (bool, error) {
	key := prefixClients + id
	var c client
	etag, err := getJSON(ctx, p.cfg.Store, key, &c)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if c.Expires.IsZero() || now.Before(c.Expires) {
		return false, nil
	}
	p.pending.Release(id)
	err = p.cfg.Store.Delete(ctx, key, storage.DeleteOptions{IfMatch: etag})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, storage.ErrPreconditionFailed):
		return false, nil
	}
	return false, err
}

// migrateClients gives every client stored before clients expired an
// expiry, once per storage: UsedLifetime from now, which no refresh token
// issued before now outlives. Several processes may do it at once; each
// change is conditional, and the last step marks it done.
func (p *Provider) migrateClients(ctx context.Context) error {
	if _, err := p.cfg.Store.Stat(ctx, keyClientsIndexed); err == nil {
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	expires := p.cfg.Now().Add(p.clients.UsedLifetime).UTC()
	var keys []string
	for info, err := range p.cfg.Store.List(ctx, prefixClients) {
		if err != nil {
			return err
		}
		if !info.IsPrefix {
			keys = append(keys, info.Key)
		}
	}
	for _, key := range keys {
		var c client
		etag, err := getJSON(ctx, p.cfg.Store, key, &c)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if !c.Expires.IsZero() {
			continue
		}
		c.Expires = expires
		if err := p.indexExpiry(ctx, c.ID, c.Expires); err != nil {
			return err
		}
		if _, err := putJSON(ctx, p.cfg.Store, key, c, storage.PutOptions{IfMatch: etag}); err != nil &&
			!errors.Is(err, storage.ErrPreconditionFailed) {
			return fmt.Errorf("idp: giving a client an expiry: %w", err)
		}
	}
	_, err := putJSON(ctx, p.cfg.Store, keyClientsIndexed, struct {
		Done time.Time `json:"done"`
	}{p.cfg.Now().UTC()}, storage.PutOptions{})
	return err
}
