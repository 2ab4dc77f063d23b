package server

import (
	"context"
	"errors"
	"sync"
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
	v := newACLVersions(feed, nil, func() time.Time { return now })
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
	v := newACLVersions(feed, nil, nil)
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
		_, err := v.markerVersion(ctx, c.Key(), read)
		if got := err == nil; got != step.exists || reads != step.wantReads {
			t.Fatalf("step %d: exists %v after %d reads, want %v after %d", i, got, reads, step.exists, step.wantReads)
		}
	}
}

// TestACLVersionsKeepUnderGeneration checks the versions kept without a
// Feed: they answer while the ACL generation is the one they were read
// under, for less than the bound; a moved generation, or one that cannot
// be read, sends every question to the backend; and under withGeneration
// one request asks the generation once, however many versions it asks.
func TestACLVersionsKeepUnderGeneration(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	gen, genErr, genReads := "g1", error(nil), 0
	v := newACLVersions(nil, func(context.Context) (string, error) { genReads++; return gen, genErr }, func() time.Time { return now })
	reads := 0
	read := func(context.Context, string) (string, error) { reads++; return "v", nil }
	keys := []string{ldp.Path("/a/doc").ACL().Key(), ldp.Path("/a/").ACL().Key(), ldp.Path("/").ACL().Key()}
	request := func(step string, wantReads, wantGenReads int) {
		t.Helper()
		ctx := withGeneration(context.Background())
		for _, k := range keys {
			if _, err := v.version(ctx, k, read); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
		}
		if reads != wantReads || genReads != wantGenReads {
			t.Fatalf("%s: %d reads of versions and %d of the generation, want %d and %d", step, reads, genReads, wantReads, wantGenReads)
		}
	}
	request("first", 3, 1)
	request("kept", 3, 2)
	gen = "g2"
	request("the generation moved", 6, 3)
	request("kept again", 6, 4)
	now = now.Add(aclVersionMaxAge)
	request("past the bound", 9, 5)
	genErr = errors.New("unreadable")
	request("the generation cannot be read", 12, 6)
	request("still not", 15, 7)
	genErr = nil
	// Those read past the bound, under g2, were kept and hold again.
	request("readable again", 15, 8)
	gen = "g3"
	request("moved again", 18, 9)
}

// TestACLVersionsFeedDown checks that while the Feed does not hear, ACL
// versions are kept under the ACL generation, and container markers',
// which it does not follow, are not kept at all.
func TestACLVersionsFeedDown(t *testing.T) {
	feed := &fakeFeed{} // not hearing
	v := newACLVersions(feed, func(context.Context) (string, error) { return "g", nil }, nil)
	reads := 0
	read := func(context.Context, string) (string, error) { reads++; return "v", nil }
	for range 3 {
		if _, err := v.version(withGeneration(context.Background()), ldp.Path("/a/").ACL().Key(), read); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 1 {
		t.Errorf("an ACL version asked 3 times with the Feed down: %d reads, want 1", reads)
	}
	reads = 0
	for range 3 {
		if _, err := v.markerVersion(withGeneration(context.Background()), ldp.Path("/a/c/").Key(), read); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 3 {
		t.Errorf("a container marker asked 3 times with the Feed down: %d reads, want 3", reads)
	}
}

// TestACLVersionsShareReads checks that requests missing one version at
// the same time share one read of it, and that a change heard while that
// read is under way sends them to read by themselves, so that none takes
// a version read before the change.
func TestACLVersionsShareReads(t *testing.T) {
	for _, dropped := range []bool{false, true} {
		feed := &fakeFeed{}
		feed.hearing.Store(true)
		v := newACLVersions(feed, nil, nil)
		key := ldp.Path("/a/").ACL().Key()
		var reads atomic.Int64
		release := make(chan struct{})
		first := make(chan struct{})
		read := func(context.Context, string) (string, error) {
			if reads.Add(1) == 1 {
				close(first)
				<-release
				return "old", nil
			}
			return "new", nil
		}
		const n = 32
		got := make(chan string, n)
		go func() { ver, _ := v.version(context.Background(), key, read); got <- ver }()
		<-first
		var joined sync.WaitGroup
		for range n - 1 {
			joined.Go(func() { ver, _ := v.version(context.Background(), key, read); got <- ver })
		}
		// Let the others reach the flight before it ends. One that comes
		// late finds the version kept (or, after the drop, reads by
		// itself): the answers below hold either way, and without
		// flights those that came in time would each have read.
		time.Sleep(20 * time.Millisecond)
		if dropped {
			v.drop(key)
		}
		close(release)
		joined.Wait()
		counts := map[string]int{}
		for range n {
			counts[<-got]++
		}
		switch {
		case !dropped && (reads.Load() != 1 || counts["old"] != n):
			t.Errorf("%d requests missing one version at once: %d reads, answers %v; want 1 read", n, reads.Load(), counts)
		case dropped && counts["old"] != 1:
			t.Errorf("a change heard during the shared read: answers %v; want only its own reader to take the old version", counts)
		}
	}
}
