package ldp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Usage counters are changed in batches (group commit).
//
// Every write into a pod changes its counter (quota.go), and every
// counter change is a conditional read-modify-write of one object. Done
// one request at a time, 32 writers of one pod refused each other's
// conditional writes about five times per request (issue 18: 13,373
// storage writes, 9,534 of them refused, for 1,800 PUTs). Instead, the
// changes that requests of this process want of a pod's counter wait in
// a queue, and one goroutine per pod applies every change waiting, in the
// order they came, to one read of the counter, and stores the result with
// one conditional write. A change that refuses (a hold past the quota)
// leaves the counter as the changes before it left it and fails alone.
// Requests that arrive while a batch is being stored wait for the next
// one, so under load one conditional write carries many requests'
// changes, and the writers of a pod no longer queue behind each other's
// storage round trips. A batch of counts only waits until usageLinger
// after the last one was stored, to gather more.
//
// Exactness is the conditional write's, as before: a batch is stored with
// If-Match on the version it was computed from, and computed again from a
// fresh read when another process (or another Store) came first. The
// version last stored by this process is kept, so that a batch can be
// written without reading first; the conditional write proves it was
// still current (then nothing else changed the counter in between), and a
// refusal costs one read. A read of the counter (the quota check a write
// starts with, the usage in a storage description) joins the queue too:
// it is answered by the next batch, after the counter is known current,
// never from what was kept.
//
// Two kinds of caller do not wait for the batch. The count a write makes
// after it stored (without a quota, or settling a hold) is the write's
// own bookkeeping: the request answers once the change is queued, and the
// batch stores it a few milliseconds later (Drain waits for that at
// shutdown; a crash in between leaves the drift a crash between write and
// count always could, which a recount sets right). And the quota check a
// write starts with (meter) reads the counter as this process last proved
// it current, if that was under usageKeptFor ago: it learns whether the
// pod has a quota at all, and refuses early what obviously cannot fit.
// The hold a write under a quota takes still joins the queue and is
// decided against the stored counter, so enforcement stays exact; only a
// quota set through another process takes up to usageKeptFor to be seen.
// Under load a pod's batches run every few milliseconds, so a pod's
// writers without a quota wait for no storage round trip of the counter
// at all, where each waited for two batches before (issue 18: "usage
// accounting that does not serialise a pod's writers").
type usageBatches struct {
	mu   sync.Mutex
	pods map[string]*podUsage
	// active counts the pods whose batches are being stored; idle is
	// closed when it falls to zero (Drain).
	active int
	idle   chan struct{}
}

// usageKeptFor is how long the counter this process last read or stored
// answers a write's quota check without a new read.
const usageKeptFor = time.Second

// usageLinger is how long after a batch was stored the next one waits
// when it holds only counts nobody waits for (count): under load the
// counts of many writes share one conditional write of the counter. On
// the filesystem that write is as durable, and costs as much, as the
// write it counts; without the wait, 32 writers of one pod stored their
// counter about once every ten writes (issue 18). A change or read that
// a request waits for (a hold, the quota check of a write that cannot
// use the kept counter, a usage read) ends the wait at once. The counts
// waiting are what a crash loses of the counter, as before: a recount
// sets that right.
const usageLinger = 25 * time.Millisecond

// podUsage is the queue and the kept version of one pod's counter.
type podUsage struct {
	// pending are the changes waiting; running tells that a goroutine is
	// storing batches of this pod.
	pending []*usageOp
	running bool
	// rec and etag are the counter as this process last stored or read
	// it; etag is empty when unknown. Only the running goroutine uses
	// them.
	rec  usageRecord
	etag string
	info storage.Info
	// idle, when not nil, is closed when running ends (forgetUsage).
	idle chan struct{}
	// hurry wakes a running goroutine that lingers (usageLinger) when a
	// change or read that someone waits for is queued.
	hurry chan struct{}
	// stored is when the last batch was stored; only the running
	// goroutine uses it.
	stored time.Time
	// known is rec, and knownAt when it was last proven current (a
	// read, or a conditional write accepted, begun then); zero when not.
	// Guarded by usageBatches.mu: meter reads them.
	known   usageRecord
	knownAt time.Time
}

// usageOp is one request's change of a counter, and its outcome.
type usageOp struct {
	// change is nil for a read.
	change func(*usageRecord) error
	// fresh: see updateUsage.
	fresh bool
	// later tells that nobody waits for it (count): it may linger.
	later bool
	done  chan struct{}
	// rec and info are the counter after this change; err is the
	// change's refusal, or the failure of its batch.
	rec  usageRecord
	info storage.Info
	err  error
}

// batchUsage queues op for the counter of the pod called name, and waits
// for the batch that applies it. The batch runs on a context of its own,
// with ctx's values: it carries other requests' changes too, so one
// request going away must not stop it.
func (s *Store) batchUsage(ctx context.Context, name string, op *usageOp) (usageRecord, storage.Info, error) {
	s.queueUsage(ctx, name, op)
	<-op.done
	return op.rec, op.info, op.err
}

// queueUsage queues op for the counter of the pod called name; op.done
// is closed once a batch has applied it.
func (s *Store) queueUsage(ctx context.Context, name string, op *usageOp) {
	op.done = make(chan struct{})
	s.counters.mu.Lock()
	if s.counters.pods == nil {
		s.counters.pods = make(map[string]*podUsage)
	}
	pu := s.counters.pods[name]
	if pu == nil {
		pu = &podUsage{hurry: make(chan struct{}, 1)}
		s.counters.pods[name] = pu
	}
	pu.pending = append(pu.pending, op)
	if !op.later {
		select {
		case pu.hurry <- struct{}{}:
		default:
		}
	}
	if !pu.running {
		pu.running = true
		s.counters.active++
		go s.runUsage(context.WithoutCancel(ctx), name, pu)
	}
	s.counters.mu.Unlock()
}

// keptUsage is the counter of the pod called name as this process last
// proved it current, if that was under usageKeptFor ago.
func (s *Store) keptUsage(name string) (usageRecord, bool) {
	s.counters.mu.Lock()
	defer s.counters.mu.Unlock()
	pu := s.counters.pods[name]
	if pu == nil || pu.knownAt.IsZero() || time.Since(pu.knownAt) >= usageKeptFor {
		return usageRecord{}, false
	}
	return pu.known, true
}

// know records rec as the pod's counter, proven current at at (zero: no
// longer known).
func (s *Store) know(pu *podUsage, rec usageRecord, at time.Time) {
	s.counters.mu.Lock()
	pu.known, pu.knownAt = rec, at
	s.counters.mu.Unlock()
}

// forgetUsage waits until the changes of the pod called name queued in
// this Store are stored (or ctx ends), then forgets what the Store keeps of
// its counter: for DeletePod, which deletes the counter next, after the
// pod was marked so that no write into it is taken any more. A count
// stored after the deletion would make the counter again.
func (s *Store) forgetUsage(ctx context.Context, name string) error {
	for {
		s.counters.mu.Lock()
		pu := s.counters.pods[name]
		if pu == nil || !pu.running {
			delete(s.counters.pods, name)
			s.counters.mu.Unlock()
			return nil
		}
		if pu.idle == nil {
			pu.idle = make(chan struct{})
		}
		idle := pu.idle
		s.counters.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return fmt.Errorf("ldp: usage counts of pod %s still being stored: %w", name, ctx.Err())
		}
	}
}

// Drain waits until every change of a usage counter queued so far is
// stored (or has failed), or ctx ends. Call it at shutdown, after the
// requests have ended: a write's count is stored after its answer.
func (s *Store) Drain(ctx context.Context) error {
	s.counters.mu.Lock()
	if s.counters.active == 0 {
		s.counters.mu.Unlock()
		return nil
	}
	if s.counters.idle == nil {
		s.counters.idle = make(chan struct{})
	}
	idle := s.counters.idle
	s.counters.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ldp: usage counts still being stored: %w", ctx.Err())
	}
}

// runUsage stores batches of the pod's counter until none is waiting.
func (s *Store) runUsage(ctx context.Context, name string, pu *podUsage) {
	for {
		s.counters.mu.Lock()
		batch := pu.pending
		if len(batch) == 0 {
			pu.running = false
			if pu.idle != nil {
				close(pu.idle)
				pu.idle = nil
			}
			if s.counters.active--; s.counters.active == 0 && s.counters.idle != nil {
				close(s.counters.idle)
				s.counters.idle = nil
			}
			s.counters.mu.Unlock()
			return
		}
		if wait := usageLinger - time.Since(pu.stored); wait > 0 && !slices.ContainsFunc(batch, func(op *usageOp) bool { return !op.later }) {
			s.counters.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-pu.hurry:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		pu.pending = nil
		s.counters.mu.Unlock()
		s.storeBatch(ctx, name, pu, batch)
		pu.stored = time.Now()
		for _, op := range batch {
			close(op.done)
		}
	}
}

// storeBatch applies every op of batch to the counter and stores the
// result with one conditional write, from a fresh read whenever the kept
// version was not current.
func (s *Store) storeBatch(ctx context.Context, name string, pu *podUsage, batch []*usageOp) {
	writes := false
	for _, op := range batch {
		writes = writes || op.change != nil
	}
	fail := func(err error) {
		pu.etag = ""
		s.know(pu, usageRecord{}, time.Time{})
		for _, op := range batch {
			op.err = err
		}
	}
	for attempt := 0; attempt < usageAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				fail(err)
				return
			}
		}
		rec, etag, info := pu.rec, pu.etag, pu.info
		// A batch of reads only must read; so must a batch whose kept
		// version was refused.
		read, counted := etag == "" || !writes, false
		began := time.Now()
		if read {
			r, i, err := readUsage(ctx, s.backend, name)
			if errors.Is(err, storage.ErrNotFound) {
				r, i, err = s.loadUsage(ctx, name)
				counted = true
			}
			if err != nil {
				fail(err)
				return
			}
			rec, etag, info = r, i.ETag, i
			pu.rec, pu.etag, pu.info = rec, etag, info
			s.know(pu, rec, began)
		}
		changed := false
		for _, op := range batch {
			op.err = nil
			if op.change != nil && (op.fresh || !counted) {
				next := rec
				if rec.Quota != nil {
					q := *rec.Quota
					next.Quota = &q
				}
				if err := op.change(&next); err != nil {
					op.err = err
				} else {
					next.Bytes = max(next.Bytes, 0)
					rec, changed = next, true
				}
			}
			op.rec, op.info = rec, info
		}
		if !changed {
			if read {
				// Reads, or changes all refused, answered from a
				// fresh read: nothing to store.
				return
			}
			// Every change refused against a kept version that may
			// be stale: decide again from a fresh read.
			pu.etag = ""
			continue
		}
		began = time.Now()
		out, err := writeUsage(ctx, s.backend, name, rec, etag)
		if errors.Is(err, storage.ErrPreconditionFailed) {
			pu.etag = ""
			s.know(pu, usageRecord{}, time.Time{})
			continue
		}
		if err != nil {
			fail(fmt.Errorf("ldp: usage of pod %s: %w", name, err))
			return
		}
		pu.rec, pu.etag, pu.info = rec, out.ETag, out
		// The write was conditional on the version rec was computed
		// from, so rec was current when it began.
		s.know(pu, rec, began)
		for _, op := range batch {
			op.info = out
		}
		return
	}
	fail(&ConflictError{Reason: "too many concurrent changes of the usage of pod " + name + "; try again"})
}

// coalescer runs a job per key for many callers: a caller waits for the
// next run that begins after it asked, and calls that arrive during a run
// share the run after it.
type coalescer struct {
	mu   sync.Mutex
	jobs map[Path]*coalesced
}

type coalesced struct {
	waiting []chan struct{}
}

// do runs job for key, or waits for a run of another caller's job for
// key that begins after this call; the jobs of one key must do the same.
func (c *coalescer) do(key Path, job func()) {
	done := make(chan struct{})
	c.mu.Lock()
	if c.jobs == nil {
		c.jobs = make(map[Path]*coalesced)
	}
	j, running := c.jobs[key]
	if !running {
		j = &coalesced{}
		c.jobs[key] = j
	}
	j.waiting = append(j.waiting, done)
	c.mu.Unlock()
	if !running {
		go c.run(key, j, job)
	}
	<-done
}

// run runs job until no caller waits.
func (c *coalescer) run(key Path, j *coalesced, job func()) {
	for {
		c.mu.Lock()
		batch := j.waiting
		j.waiting = nil
		if len(batch) == 0 {
			delete(c.jobs, key)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		job()
		for _, done := range batch {
			close(done)
		}
	}
}
