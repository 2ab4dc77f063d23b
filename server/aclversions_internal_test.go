package server

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/storage"
)

// fakeFeed is a notify.Feed whose hearing the test sets.
type fakeFeed struct {
	epoch   atomic.Uint64
	hearing atomic.Bool
}

func (f *fakeFeed) Watch(func(notify.Event)) {}
func (f *fakeFeed) Hearing() (uint64, bool)  { return f.epoch.Load(), f.hearing.Load() }

// TestACLVersionsKeep checks when a kept ACL version answers instead of
// the backend: only while the feed hears, in the epoch it was read in,
// for less than the bound, and until a change of the ACL or a deletion of
// its resource is heard; and a version read while a change was heard is
// not kept.
func TestACLVersionsKeep(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	feed := &fakeFeed{}
	feed.hearing.Store(true)
	v := newACLVersions(feed, func() time.Time { return now })
	doc := ldp.Path("/a/doc")
	key := doc.ACL().Key()
	var reads int
	version := "v1"
	read := func(context.Context, string) (string, error) {
		reads++
		if version == "" {
			return "", storage.ErrNotFound
		}
		return version, nil
	}
	ask := func(step string, wantReads int, want string) {
		t.Helper()
		got, err := v.version(ctx, key, read)
		if want == "" {
			if !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("%s: %q, %v; want not found", step, got, err)
			}
		} else if err != nil || got != want {
			t.Fatalf("%s: %q, %v; want %q", step, got, err, want)
		}
		if reads != wantReads {
			t.Fatalf("%s: %d reads of the backend, want %d", step, reads, wantReads)
		}
	}
	ask("first", 1, "v1")
	ask("kept", 1, "v1")

	version = "v2"
	ask("changed without an event: kept within the bound", 1, "v1")
	now = now.Add(aclVersionMaxAge)
	ask("at the bound", 2, "v2")

	version = "v3"
	v.changed(doc.ACL(), ldp.Update)
	ask("after this process changed the ACL", 3, "v3")

	version = ""
	v.heard(nil, notify.Event{}) // an event of no resource drops nothing
	v.changed(doc, ldp.Delete)
	ask("after the resource was deleted", 4, "")
	ask("a missing ACL is kept too", 4, "")

	version = "v4"
	feed.epoch.Add(1)
	ask("after the feed lost its connection", 5, "v4")
	feed.hearing.Store(false)
	ask("while the feed does not hear", 6, "v4")
	ask("nothing is kept then", 7, "v4")
	feed.hearing.Store(true)
	feed.epoch.Add(1) // a regained connection is a new epoch
	ask("hearing again", 8, "v4")
	ask("kept again", 8, "v4")

	// A change heard while a version is read: that version may be older
	// than the change, and is not kept.
	v.changed(doc.ACL(), ldp.Update)
	version = "v5"
	racing := func(ctx context.Context, key string) (string, error) {
		got, err := read(ctx, key)
		v.changed(doc.ACL(), ldp.Update)
		return got, err
	}
	if got, err := v.version(ctx, key, racing); err != nil || got != "v5" {
		t.Fatalf("racing read: %q, %v", got, err)
	}
	ask("after a read that raced a change", 10, "v5")
}

// TestACLVersionsKeepContainers checks that the versions of container
// markers, which tell the Store whether a container exists
// (ldp.Config.KeepVersion), are kept by the same rules and dropped by any
// change of the container, its creation and deletion most of all.
func TestACLVersionsKeepContainers(t *testing.T) {
	ctx := context.Background()
	feed := &fakeFeed{}
	feed.hearing.Store(true)
	v := newACLVersions(feed, nil)
	c := ldp.Path("/a/c/")
	reads := 0
	exists := false
	read := func(context.Context, string) (string, error) {
		reads++
		if !exists {
			return "", storage.ErrNotFound
		}
		return "v", nil
	}
	for i, step := range []struct {
		change    func()
		exists    bool
		wantReads int
	}{
		{nil, false, 1},
		{nil, false, 1}, // kept
		{func() { exists = true; v.changed(c, ldp.Create) }, true, 2},
		{nil, true, 2},
		{func() { exists = false; v.changed(c, ldp.Delete) }, false, 3},
		{func() { exists = true; v.changed(c, ldp.Update) }, true, 4},
	} {
		if step.change != nil {
			step.change()
		}
		_, err := v.version(ctx, c.Key(), read)
		if got := err == nil; got != step.exists || reads != step.wantReads {
			t.Fatalf("step %d: exists %v after %d reads, want %v after %d", i, got, reads, step.exists, step.wantReads)
		}
	}
}
