package expiry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
)

// HourLayout names the hour levels of an Index: sortable, UTC.
const HourLayout = "2006-01-02T15"

// Index is an expiry-ordered index of records under Prefix (ending in
// "/") in Backend. Marker names are the caller's: any valid key segment.
type Index struct {
	Backend storage.Backend
	Prefix  string
}

// Key returns the key of the marker of name expiring at at.
func (x Index) Key(at time.Time, name string) string {
	return x.Prefix + at.UTC().Format(HourLayout) + "/" + name
}

// Add writes the marker of name expiring at at. One there already is no
// error, so Add may be repeated (a migration, a retried write).
func (x Index) Add(ctx context.Context, at time.Time, name string) error {
	_, err := x.Backend.Put(ctx, x.Key(at, name), strings.NewReader(""), storage.PutOptions{IfNoneMatch: true})
	if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
		return fmt.Errorf("expiry: indexing %s: %w", name, err)
	}
	return nil
}

// Visit is called by Sweep for each marker of an hour that has begun. It
// returns whether the marker is done with: the record expired and was
// dealt with, or is gone. A marker not done with stays while its hour
// lasts (the record may expire later in the hour) and is dropped once
// the hour is over (the record's expiry moved to a later hour). An error
// keeps the marker for the next sweep.
type Visit func(ctx context.Context, name string) (done bool, err error)

// Sweep visits the markers of every hour up to and including the one of
// now, oldest first, and deletes those done with. Its reads are one
// listing of the hours plus one listing of each hour begun and its
// markers: proportional to what expired. It goes on past a failing marker
// and returns the first error.
func (x Index) Sweep(ctx context.Context, now time.Time, visit Visit) error {
	current := now.UTC().Format(HourLayout)
	var hours []string
	for info, err := range x.Backend.List(ctx, x.Prefix) {
		if err != nil {
			return fmt.Errorf("expiry: listing hours: %w", err)
		}
		hour := strings.TrimSuffix(strings.TrimPrefix(info.Key, x.Prefix), "/")
		if info.IsPrefix && hour <= current {
			hours = append(hours, hour)
		}
	}
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, hour := range hours {
		over := hour < current
		level := x.Prefix + hour + "/"
		var names []string
		for info, err := range x.Backend.List(ctx, level) {
			if err != nil {
				keep(fmt.Errorf("expiry: listing %s: %w", level, err))
				break
			}
			if !info.IsPrefix {
				names = append(names, strings.TrimPrefix(info.Key, level))
			}
		}
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				keep(err)
				return first
			}
			done, err := visit(ctx, name)
			if err != nil {
				keep(err)
				continue
			}
			if !done && !over {
				continue
			}
			if err := x.Backend.Delete(ctx, level+name, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
				keep(fmt.Errorf("expiry: dropping a marker: %w", err))
			}
		}
	}
	return first
}
