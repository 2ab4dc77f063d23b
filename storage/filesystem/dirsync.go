package filesystem

import (
	"sync"
)

// dirSyncs shares the fsync of a folder between the writes renamed into it
// at the same time (a group commit): each write needs an fsync of its
// folder that began after its rename, so that the new name is on disk
// when Put returns; one fsync serves every rename made before it began.
// Thirty-two writers in one container then wait for one or two fsyncs of
// the folder in a row rather than queueing thirty-two (issue 18: "fsync
// where durability needs it and nowhere else").
type dirSyncs struct {
	mu sync.Mutex
	m  map[string]*dirSync
	// fsync syncs a folder; nil is syncDir.
	fsync func(dir string)
}

type dirSync struct {
	// started counts the fsyncs begun, done the last one finished; a
	// rename needs started+1 (as it was when it asked) to be done.
	started, done uint64
	running       bool
	waiters       int
	cond          *sync.Cond
}

// sync returns once an fsync of dir that began after the call has ended.
// Errors are ignored, as syncDir ignores them: the rename has happened,
// and some file systems cannot sync folders.
func (d *dirSyncs) sync(dir string) {
	d.mu.Lock()
	if d.m == nil {
		d.m = make(map[string]*dirSync)
	}
	s := d.m[dir]
	if s == nil {
		s = &dirSync{cond: sync.NewCond(&d.mu)}
		d.m[dir] = s
	}
	s.waiters++
	need := s.started + 1
	for s.done < need {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.running = true
		s.started++
		gen := s.started
		d.mu.Unlock()
		if d.fsync != nil {
			d.fsync(dir)
		} else {
			syncDir(dir)
		}
		d.mu.Lock()
		s.done, s.running = gen, false
		s.cond.Broadcast()
	}
	s.waiters--
	if s.waiters == 0 && !s.running {
		delete(d.m, dir)
	}
	d.mu.Unlock()
}

// syncDir makes a rename in dir durable. Errors are ignored: the rename has
// happened, and some file systems cannot sync folders.
func syncDir(dir string) {
	if d, err := open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
