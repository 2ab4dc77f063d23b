package filesystem

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestDirSyncsShareOneFsync: every caller returns only after an fsync of
// its folder that began after it called has ended, and callers that come
// while one runs share the next: 32 writers renamed into a folder while
// its fsync runs wait for one more fsync, not 32.
func TestDirSyncsShareOneFsync(t *testing.T) {
	var d dirSyncs
	var begun, ended atomic.Int64
	release := make(chan struct{})
	d.fsync = func(string) {
		if begun.Add(1) == 1 {
			<-release // the first fsync runs until every writer waits
		}
		ended.Add(1)
	}
	const writers = 32
	var wg sync.WaitGroup
	var late atomic.Int64
	call := func() {
		defer wg.Done()
		b0 := begun.Load() // the "rename" happened before this
		d.sync("dir")
		if ended.Load() <= b0 {
			late.Add(1)
		}
	}
	wg.Add(1)
	go call()
	for begun.Load() == 0 {
		runtime.Gosched() // wait for the first fsync to begin
	}
	wg.Add(writers)
	for range writers {
		go call()
	}
	for {
		d.mu.Lock()
		n := d.m["dir"].waiters
		d.mu.Unlock()
		if n == writers+1 {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if late.Load() != 0 {
		t.Fatalf("%d callers returned before an fsync that began after their call ended", late.Load())
	}
	if got := begun.Load(); got != 2 {
		t.Fatalf("%d fsyncs for one writer and %d waiting on it, want 2", got, writers)
	}
	if len(d.m) != 0 {
		t.Fatalf("%d folders kept after every writer returned", len(d.m))
	}
	// A writer alone gets an fsync of its own.
	d.sync("other")
	if begun.Load() != 3 {
		t.Fatal("a writer alone did not get its own fsync")
	}
}
