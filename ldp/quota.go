package ldp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// Quotas (Config.PodQuota): every pod has a byte count and may have a
// limit.
//
// # The counter
//
// The bytes a pod holds (the sizes of every object under "r/<name>/":
// resources, container markers, .acl and .meta) are counted in the object
// "sys/usage/<name>", outside "r/" so that no request can name it. It
// holds JSON, {"bytes": N} and, when the pod has a quota of its own,
// "quota": Q (0: no limit), which overrides Config.PodQuota.
//
// Every write is conditional on the object it replaces (If-Match on its
// ETag, If-None-Match when there was none; retried from a new read when
// another writer came first), so its size delta (new size − old size; a
// deletion frees the old size) is exact, in one process or several on one
// backend. The counter is changed by a Put with If-Match, retried
// likewise, and never goes below zero; the changes that a process's
// requests want of one counter at the same time are applied together, by
// one conditional write (usage.go), so a pod's writers do not queue behind
// one another's round trips to the backend. Counting after the write
// uses a context that outlives the request, so a client going away does
// not lose it.
//
// A pod without a counter (made before quotas, or imported by writing its
// objects directly) is counted on its first write or look at its usage:
// every key of the pod is listed and summed (Recount), and the counter is
// created with If-None-Match.
//
// # Enforcement
//
// A write that grows the pod must fit: usage − old size + new size ≤
// quota. Before it stores a byte, the write takes that room in the counter
// (a hold), refused when the counter (which holds every other write's
// room too) has not enough left; so writes in parallel, in one process or
// several, cannot together pass the quota, each having seen the same
// usage. After the write, the hold is settled to the exact delta against
// the object replaced; a failed write gives it back. An RDF body's size
// is known before it is written; a body of announced length
// (WriteRequest.ContentLength) that cannot fit is refused before a byte
// of it is read; any other body takes room as it streams to the backend
// (minHoldStep, growing to maxHoldStep at a time), and the Put fails as
// soon as one byte more than the room the pod has left has been read, so
// an upload of unknown length (chunked) overshoots by at most one byte
// read, never by a buffer. A failed Put leaves nothing behind
// (storage.Backend's contract). A write that does not grow the pod, and
// every deletion, is always allowed, so a pod over its quota (the quota
// was lowered) can be cleaned up.
//
// # Limits
//
// A streamed body of unknown length holds up to one step more room than
// it has used while it uploads, which a parallel writer near the quota
// may be refused for. The counter can drift when a process dies between
// taking room and settling it (it then counts too much, never too
// little), or between a write and its counting: Recount (kluis pod usage
// -recount) sets it right. Intermediate containers made by a refused PUT
// stay; their markers are empty. Quotas apply to pods only (Config.Pods):
// a server whose root is the one storage counts nothing.

// usageKeyPrefix is where the counters live in the backend.
const usageKeyPrefix = "sys/usage/"

// NSKluis is Kluis's own vocabulary, for what no standard vocabulary
// says: the usage and quota of a storage. Its IRIs are names only; nothing
// is served there.
const NSKluis = "https://github.com/weconomics/kluis/ns#"

// The terms of the storage description that tell its owner how much the
// storage holds and may hold, in bytes (xsd:integer).
const (
	UsedBytes  = NSKluis + "usedBytes"
	QuotaBytes = NSKluis + "quotaBytes"
)

// ErrQuotaExceeded means a write would take a pod past its byte quota
// (507 Insufficient Storage).
var ErrQuotaExceeded = errors.New("ldp: pod quota exceeded")

// QuotaError is a write refused because the pod would hold more than its
// quota. It unwraps to ErrQuotaExceeded.
type QuotaError struct {
	// Pod is the pod's name.
	Pod string
	// Quota is the pod's limit in bytes.
	Quota int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("pod %s is over its quota of %d bytes", e.Pod, e.Quota)
}

// Unwrap returns ErrQuotaExceeded.
func (e *QuotaError) Unwrap() error { return ErrQuotaExceeded }

// Usage is how much a pod holds and may hold.
type Usage struct {
	// Pod is the pod's name.
	Pod string
	// Bytes is what the pod holds, as counted.
	Bytes int64
	// Quota is the most bytes the pod may hold; 0 means no limit.
	Quota int64
	// Own tells that Quota is the pod's own, not Config.PodQuota.
	Own bool
	// Modified is when the count last changed.
	Modified time.Time
}

// usageRecord is the counter object, as JSON.
type usageRecord struct {
	Bytes int64  `json:"bytes"`
	Quota *int64 `json:"quota,omitempty"`
}

// maxUsageRecord bounds what is read of a counter object.
const maxUsageRecord = 4 << 10

// usageAttempts bounds the retries of a counter update that keeps losing
// to other writers.
const usageAttempts = 100

// usageKey is the key of the counter of the pod called name.
func usageKey(name string) string { return usageKeyPrefix + name }

// readUsage reads the counter of a pod; a missing one is an error wrapping
// storage.ErrNotFound.
func readUsage(ctx context.Context, b storage.Backend, name string) (usageRecord, storage.Info, error) {
	body, info, err := b.Get(ctx, usageKey(name), storage.GetOptions{})
	if err != nil {
		return usageRecord{}, storage.Info{}, fmt.Errorf("ldp: usage of pod %s: %w", name, err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxUsageRecord))
	if err != nil {
		return usageRecord{}, storage.Info{}, fmt.Errorf("ldp: usage of pod %s: %w", name, err)
	}
	var rec usageRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return usageRecord{}, storage.Info{}, fmt.Errorf("ldp: usage of pod %s: counter does not parse: %w", name, err)
	}
	return rec, info, nil
}

// writeUsage writes a counter: with If-Match when etag is set, else with
// If-None-Match.
func writeUsage(ctx context.Context, b storage.Backend, name string, rec usageRecord, etag string) (storage.Info, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return storage.Info{}, err
	}
	return b.Put(ctx, usageKey(name), bytes.NewReader(data),
		storage.PutOptions{ContentType: "application/json", IfMatch: etag, IfNoneMatch: etag == ""})
}

// resetUsage sets the counter of a new pod, whatever was there, and
// drops any quota of its own.
func resetUsage(ctx context.Context, b storage.Backend, name string, n int64) error {
	data, err := json.Marshal(usageRecord{Bytes: n})
	if err != nil {
		return err
	}
	_, err = b.Put(ctx, usageKey(name), bytes.NewReader(data), storage.PutOptions{ContentType: "application/json"})
	return err
}

// podBytes sums the sizes of every object of the pod called name: its
// root's marker and everything below it.
func podBytes(ctx context.Context, b storage.Backend, name string) (int64, error) {
	root := Path("/" + name + "/").Key()
	var total int64
	marker := func(key string) error {
		info, err := b.Stat(ctx, key)
		if err == nil {
			total += info.Size
			return nil
		}
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	}
	var walk func(prefix string) error
	walk = func(prefix string) error {
		for info, err := range b.List(ctx, prefix) {
			if err != nil {
				return err
			}
			if !info.IsPrefix {
				total += info.Size
				continue
			}
			if err := marker(info.Key); err != nil {
				return err
			}
			if err := walk(info.Key); err != nil {
				return err
			}
		}
		return nil
	}
	if err := marker(root); err != nil {
		return 0, fmt.Errorf("ldp: counting pod %s: %w", name, err)
	}
	if err := walk(root); err != nil {
		return 0, fmt.Errorf("ldp: counting pod %s: %w", name, err)
	}
	return total, nil
}

// loadUsage returns the counter of a pod, counting the pod and creating
// the counter when there is none.
func (s *Store) loadUsage(ctx context.Context, name string) (usageRecord, storage.Info, error) {
	for attempt := 0; attempt < usageAttempts; attempt++ {
		rec, info, err := readUsage(ctx, s.backend, name)
		if !errors.Is(err, storage.ErrNotFound) {
			return rec, info, err
		}
		n, err := podBytes(ctx, s.backend, name)
		if err != nil {
			return usageRecord{}, storage.Info{}, err
		}
		rec = usageRecord{Bytes: n}
		info, err = writeUsage(ctx, s.backend, name, rec, "")
		if errors.Is(err, storage.ErrPreconditionFailed) {
			continue // counted at the same moment elsewhere: read that
		}
		if err != nil {
			return usageRecord{}, storage.Info{}, fmt.Errorf("ldp: usage of pod %s: %w", name, err)
		}
		return rec, info, nil
	}
	return usageRecord{}, storage.Info{}, &ConflictError{Reason: "too many concurrent changes of the usage of pod " + name + "; try again"}
}

// updateUsage changes the counter of a pod: the change joins the next
// batch of the pod's changes, stored with one conditional write, retried
// from a new read when another writer came first (usage.go). A change
// that returns an error leaves the counter as it is. A missing counter is
// made by counting the pod; change is applied to it only when fresh is
// set (a change made before the write it is for), since a count made
// after a write already includes it. The count never goes below zero.
func (s *Store) updateUsage(ctx context.Context, name string, fresh bool, change func(*usageRecord) error) (usageRecord, storage.Info, error) {
	return s.batchUsage(ctx, name, &usageOp{change: change, fresh: fresh})
}

// currentUsage returns the counter of a pod as it is now (read after the
// call began), counting the pod and creating the counter when there is
// none; concurrent callers share one read (usage.go).
func (s *Store) currentUsage(ctx context.Context, name string) (usageRecord, storage.Info, error) {
	return s.batchUsage(ctx, name, &usageOp{})
}

// meter is the quota state of one write into a pod, read before it.
type meter struct {
	pod   string
	used  int64
	limit int64 // 0: none
	// fresh reads the counter anew, when used and limit came from what
	// this process last stored (usage.go); nil when they are fresh.
	fresh func() (used, limit int64, err error)
}

// meter reads the counter of the pod holding p; nil when p is in no pod.
func (s *Store) meter(ctx context.Context, p Path) (*meter, error) {
	if s.pods == nil {
		return nil, nil
	}
	pl, err := s.locate(ctx, p)
	if err != nil || !pl.ok {
		return nil, err
	}
	name := string(pl.root[1 : len(pl.root)-1])
	current := func() (int64, int64, error) {
		rec, _, err := s.currentUsage(ctx, name)
		return rec.Bytes, s.quotaOf(rec), err
	}
	// The counter as last proven current will do (usage.go): the meter
	// tells whether a hold is needed and lets through what fits; the hold
	// decides against the stored counter, and a refusal reads it anew.
	if rec, ok := s.keptUsage(name); ok {
		return &meter{pod: name, used: rec.Bytes, limit: s.quotaOf(rec), fresh: current}, nil
	}
	used, limit, err := current()
	if err != nil {
		return nil, err
	}
	return &meter{pod: name, used: used, limit: limit}, nil
}

// quotaOf is the limit a counter gives its pod: its own, or the default.
func (s *Store) quotaOf(rec usageRecord) int64 {
	if rec.Quota != nil {
		return *rec.Quota
	}
	return s.podQuota
}

// check refuses early, against the usage read when the write began, a
// write that replaces old bytes with size bytes and would grow the pod
// past its quota. It only saves work: the hold taken before the write
// decides. A usage kept from earlier (m.fresh) refuses only once read
// anew: the writes counted since may have freed room.
func (m *meter) check(old, size int64) error {
	for {
		if m == nil || m.limit <= 0 || size <= old || m.used-old+size <= m.limit {
			return nil
		}
		if m.fresh == nil {
			return &QuotaError{Pod: m.pod, Quota: m.limit}
		}
		used, limit, err := m.fresh()
		if err != nil {
			return err
		}
		m.used, m.limit, m.fresh = used, limit, nil
	}
}

// count adds the size delta of a successful write to the pod's counter.
// The write has happened, so a failure here is not the request's: the
// counter then drifts until a recount. It does not wait for the change to
// be stored (usage.go); later reads of the counter in this process see it.
func (s *Store) count(ctx context.Context, m *meter, delta int64) {
	if m == nil || delta == 0 {
		return
	}
	s.queueUsage(context.WithoutCancel(ctx), m.pod, &usageOp{later: true, change: func(r *usageRecord) error {
		r.Bytes += delta
		return nil
	}})
}

// A streamed body of unknown length takes room as it comes: first
// minHoldStep bytes, then as much again as it has, up to maxHoldStep at a
// time, so that a small upload holds little room that parallel writers
// could need, and a long one updates the counter once per maxHoldStep.
// What is taken and not used is given back when the write settles.
const (
	minHoldStep = 64 << 10
	maxHoldStep = 8 << 20
)

// hold is the room one write has taken in its pod's counter before it
// stores anything: the bytes it will add, counted ahead, so that writes in
// parallel (in this process or another) cannot together pass the quota,
// each having checked the same old usage. After the write, settle turns
// the hold into the exact delta against the object the conditional write
// replaced; after a failed write, release gives it back.
type hold struct {
	s   *Store
	ctx context.Context
	m   *meter // nil: nothing is counted
	old int64  // size of the object the write replaces
	// taken is what was added to the counter ahead of the write.
	taken int64
}

// hold takes room for a write replacing old bytes with size bytes (size
// ≤ 0: unknown, taken as the body streams). Only a pod with a quota needs
// room taken ahead; without one the delta is counted after the write.
func (s *Store) hold(ctx context.Context, m *meter, old, size int64) (*hold, error) {
	h := &hold{s: s, ctx: ctx, m: m, old: old}
	if m == nil || m.limit <= 0 || size <= old {
		return h, nil
	}
	if _, err := h.take(size-old, false); err != nil {
		return nil, err
	}
	return h, nil
}

// take adds n bytes to the hold, refusing with a QuotaError when the pod
// would pass its quota; with partial, it takes what room is left, up to
// n, and fails only when there is none.
func (h *hold) take(n int64, partial bool) (int64, error) {
	var got int64
	_, _, err := h.s.updateUsage(h.ctx, h.m.pod, true, func(r *usageRecord) error {
		got = n
		if limit := h.s.quotaOf(*r); limit > 0 && r.Bytes+n > limit {
			got = limit - r.Bytes
			if !partial || got <= 0 {
				return &QuotaError{Pod: h.m.pod, Quota: limit}
			}
		}
		r.Bytes += got
		return nil
	})
	if err != nil {
		return 0, err
	}
	h.taken += got
	return got, nil
}

// cover makes sure the hold has room for size bytes in all, taking what
// it lacks; a pod without a quota needs none.
func (h *hold) cover(size int64) error {
	if h.m == nil || h.m.limit <= 0 {
		return nil
	}
	if more := size - h.old - h.taken; more > 0 {
		_, err := h.take(more, false)
		return err
	}
	return nil
}

// settle counts a stored write of size bytes: its delta against what it
// replaced, less what the hold already counted.
func (h *hold) settle(size int64) {
	h.s.count(h.ctx, h.m, size-h.old-h.taken)
	h.taken = size - h.old
}

// release gives back the room of a write that stored nothing.
func (h *hold) release() {
	h.s.count(h.ctx, h.m, -h.taken)
	h.taken = 0
}

// reader counts a streamed body as the backend reads it, taking more room
// when it passes what the hold has, and failing with a QuotaError when
// the pod has none left; r itself when the pod has no quota.
func (h *hold) reader(r io.Reader) io.Reader {
	if h.m == nil || h.m.limit <= 0 || r == nil {
		return r
	}
	return &quotaReader{r: r, h: h, left: h.old + h.taken}
}

// quotaReader passes the bytes of r that its hold has room for, and takes
// more room when they run out. At the end of the room it reads one byte
// more to tell a body that fits exactly from one that does not, so an
// upload that cannot fit is cut one byte after its room, never a buffer.
type quotaReader struct {
	r    io.Reader
	h    *hold
	left int64
	err  error // the QuotaError (or counter failure) that cut the body
}

func (q *quotaReader) Read(p []byte) (int, error) {
	if q.err != nil {
		return 0, q.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if q.left == 0 {
		var one [1]byte
		n, err := q.r.Read(one[:])
		if n == 0 {
			return 0, err
		}
		got, terr := q.h.take(min(max(minHoldStep, q.h.taken), maxHoldStep), true)
		if terr != nil {
			q.err = terr
			return 0, terr
		}
		p[0] = one[0]
		q.left = got - 1
		return 1, err
	}
	if int64(len(p)) > q.left {
		p = p[:q.left]
	}
	n, err := q.r.Read(p)
	q.left -= int64(n)
	return n, err
}

// quotaFailure is the error that cut r, if r is a quotaReader that cut
// its body: backends may wrap or replace the reader's error.
func quotaFailure(r io.Reader, err error) error {
	if c, ok := r.(*cutReader); ok {
		r = c.cut
	}
	if q, ok := r.(*quotaReader); ok && q.err != nil {
		return q.err
	}
	return err
}

// PodUsage returns how much the pod called name holds and may hold,
// counting it first when it has no counter yet. Unknown pods are
// ErrNoPod.
func (s *Store) PodUsage(ctx context.Context, name string) (Usage, error) {
	if err := s.knownPod(ctx, name); err != nil {
		return Usage{}, err
	}
	rec, info, err := s.currentUsage(ctx, name)
	if err != nil {
		return Usage{}, err
	}
	return s.usage(name, rec, info), nil
}

// RecountPodUsage counts the bytes of the pod called name again, by
// listing every key, and stores the count, keeping the pod's own quota.
// Writes made while it counts may be missed or counted twice; run it
// when the pod is quiet, to set right a counter that drifted.
func (s *Store) RecountPodUsage(ctx context.Context, name string) (Usage, error) {
	if err := s.knownPod(ctx, name); err != nil {
		return Usage{}, err
	}
	n, err := podBytes(ctx, s.backend, name)
	if err != nil {
		return Usage{}, err
	}
	rec, info, err := s.setUsage(ctx, name, func(r *usageRecord) error {
		r.Bytes = n
		return nil
	})
	if err != nil {
		return Usage{}, err
	}
	return s.usage(name, rec, info), nil
}

// SetPodQuota gives the pod called name a quota of its own, in bytes (0:
// no limit), or with nil makes it follow Config.PodQuota again.
func (s *Store) SetPodQuota(ctx context.Context, name string, quota *int64) (Usage, error) {
	if quota != nil && *quota < 0 {
		return Usage{}, &BadRequestError{Reason: "a quota cannot be negative"}
	}
	if err := s.knownPod(ctx, name); err != nil {
		return Usage{}, err
	}
	rec, info, err := s.setUsage(ctx, name, func(r *usageRecord) error {
		r.Quota = quota
		return nil
	})
	if err != nil {
		return Usage{}, err
	}
	return s.usage(name, rec, info), nil
}

// setUsage changes the counter of a pod, making it first when missing.
func (s *Store) setUsage(ctx context.Context, name string, change func(*usageRecord) error) (usageRecord, storage.Info, error) {
	return s.updateUsage(ctx, name, true, change)
}

// knownPod returns an error wrapping ErrNoPod unless name is a registered
// pod.
func (s *Store) knownPod(ctx context.Context, name string) error {
	if err := CheckPodName(name); err != nil {
		return err
	}
	if _, err := s.readPodRecord(ctx, name); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("ldp: pod %s: %w", name, ErrNoPod)
		}
		return err
	}
	return nil
}

func (s *Store) usage(name string, rec usageRecord, info storage.Info) Usage {
	return Usage{Pod: name, Bytes: rec.Bytes, Quota: s.quotaOf(rec), Own: rec.Quota != nil, Modified: info.Modified}
}

// describeUsage returns the triples that tell a storage's owner its usage
// and quota, and when they last changed; none outside pods.
func (s *Store) describeUsage(ctx context.Context, root Path) ([]rdfx.Triple, time.Time, error) {
	name, ok := podSegment(root)
	if s.pods == nil || !ok || root != Path("/"+name+"/") {
		return nil, time.Time{}, nil
	}
	rec, info, err := s.currentUsage(ctx, name)
	if err != nil {
		return nil, time.Time{}, err
	}
	u := s.usage(name, rec, info)
	subject := rdfx.IRI(s.IRI(root))
	ts := []rdfx.Triple{{S: subject, P: rdfx.IRI(UsedBytes), O: rdfx.Literal(strconv.FormatInt(u.Bytes, 10), nsXSD+"integer")}}
	if u.Quota > 0 {
		ts = append(ts, rdfx.Triple{S: subject, P: rdfx.IRI(QuotaBytes), O: rdfx.Literal(strconv.FormatInt(u.Quota, 10), nsXSD+"integer")})
	}
	return ts, u.Modified, nil
}
