package idp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/expiry"
)

// sweepMargin is how long a spent or expired record is kept past its
// expiry: a code presented again within it still revokes its tokens.
const sweepMargin = time.Hour

// Sweep deletes authorization codes and refresh-token families that
// expired more than an hour ago, and registered clients whose time is up
// (ClientLimits: unused, or not used for a login for a long time), and
// returns how many it deleted. It is safe to run in several processes at
// once (deletes are conditional on the ETag read); run it now and then,
// say hourly. Everything is found through an expiry index, so a sweep
// reads only what expired, never all the codes, tokens or clients.
func (p *Provider) Sweep(ctx context.Context) (int, error) {
	if err := p.migrateExpiring(ctx); err != nil {
		return 0, err
	}
	now := p.cfg.Now()
	cutoff := now.Add(-sweepMargin)
	n := 0
	err := p.expiryIndex().Sweep(ctx, now, func(ctx context.Context, name string) (bool, error) {
		var key string
		switch {
		case strings.HasPrefix(name, markerCode):
			key = prefixCodes + strings.TrimPrefix(name, markerCode)
		case strings.HasPrefix(name, markerRefresh):
			key = prefixRefresh + strings.TrimPrefix(name, markerRefresh)
		default:
			return true, nil
		}
		var rec struct {
			Expires time.Time `json:"expires"`
		}
		etag, err := getJSON(ctx, p.cfg.Store, key, &rec)
		if errors.Is(err, storage.ErrNotFound) {
			return true, nil
		} else if err != nil {
			return false, err
		}
		if !rec.Expires.Before(cutoff) {
			return false, nil
		}
		err = p.cfg.Store.Delete(ctx, key, storage.DeleteOptions{IfMatch: etag})
		switch {
		case err == nil:
			n++
			return true, nil
		case errors.Is(err, storage.ErrNotFound):
			return true, nil
		case errors.Is(err, storage.ErrPreconditionFailed):
			return false, nil
		}
		return false, err
	})
	if err != nil {
		return n, err
	}
	if err := p.migrateClients(ctx); err != nil {
		return n, err
	}
	m, err := p.sweepClients(ctx)
	return n + m, err
}

// The expiry index of authorization codes and refresh-token families
// (storage/expiry): a marker "code.<sha256(code)>" or "refresh.<family>"
// in the hour their record may be swept (an hour after it expires),
// written before the record.
const (
	prefixExpiry  = "sys/idp/expiry/"
	markerCode    = "code."
	markerRefresh = "refresh."
	// keyExpiringIndexed marks that the codes and families stored before
	// their index existed have been given markers.
	keyExpiringIndexed = "sys/idp/expiry-migrated"
)

func (p *Provider) expiryIndex() expiry.Index {
	return expiry.Index{Backend: p.cfg.Store, Prefix: prefixExpiry}
}

// indexExpiring writes the expiry marker of a record expiring at expires.
func (p *Provider) indexExpiring(ctx context.Context, name string, expires time.Time) error {
	if err := p.expiryIndex().Add(ctx, expires.Add(sweepMargin), name); err != nil {
		return fmt.Errorf("idp: %w", err)
	}
	return nil
}

// migrateExpiring gives the codes and families stored before their index
// existed a marker, once per storage (the last step marks it done; after
// it, one Stat per process). Several processes may do it at once: the
// markers are written with If-None-Match.
func (p *Provider) migrateExpiring(ctx context.Context) error {
	if p.indexed.Load() {
		return nil
	}
	if _, err := p.cfg.Store.Stat(ctx, keyExpiringIndexed); err == nil {
		p.indexed.Store(true)
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	for _, m := range [][2]string{{prefixCodes, markerCode}, {prefixRefresh, markerRefresh}} {
		var keys []string
		for info, err := range p.cfg.Store.List(ctx, m[0]) {
			if err != nil {
				return err
			}
			if !info.IsPrefix {
				keys = append(keys, info.Key)
			}
		}
		for _, key := range keys {
			var rec struct {
				Expires time.Time `json:"expires"`
			}
			if _, err := getJSON(ctx, p.cfg.Store, key, &rec); errors.Is(err, storage.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if err := p.indexExpiring(ctx, m[1]+strings.TrimPrefix(key, m[0]), rec.Expires); err != nil {
				return err
			}
		}
	}
	if _, err := putJSON(ctx, p.cfg.Store, keyExpiringIndexed, struct {
		Done time.Time `json:"done"`
	}{p.cfg.Now().UTC()}, storage.PutOptions{}); err != nil {
		return err
	}
	p.indexed.Store(true)
	return nil
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
