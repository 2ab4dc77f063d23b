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
// Every successful write or deletion adds its size delta to the counter
// (new size − old size; a deletion frees the old size): a read of the
// counter, then a Put with If-Match, retried when another writer came
// first, so several processes on one backend keep one exact count. The
// delta is added after the write, with a context that outlives the
// request, so a client going away does not lose it.
//
// A pod without a counter (made before quotas, or imported by writing its
// objects directly) is counted on its first write or look at its usage:
// every key of the pod is listed and summed (Recount), and the counter is
// created with If-None-Match.
//
// # Enforcement
//
// Before a write, the counter is read. A write that grows the pod must
// fit: usage − old size + new size ≤ quota. An RDF body is read (it is
// bounded by Config.MaxRDFBytes anyway) and its size checked; a body of
// announced length (WriteRequest.ContentLength) that cannot fit is
// refused before a byte of it is read; any other body is counted while
// it streams to the backend, and the Put fails as soon as one byte more
// than the room left has been read, so an upload of unknown length
// (chunked) overshoots by at most one byte read, never by a buffer. A
// failed Put leaves nothing behind (storage.Backend's contract). A write
// that does not grow the pod, and every deletion, is always allowed, so
// a pod over its quota (the quota was lowered) can be cleaned up.
//
// # Limits
//
// Concurrent uploads to one pod are each checked against the usage at
// their start, so together they may pass the quota by at most the room
// each was given; the next write sees the sum. The counter can drift
// when a process dies between a write and its counting, or when two
// unconditional PUTs replace the same resource at the same moment (both
// subtract the size they replaced): Recount (kluis pod usage -recount)
// sets it right. Intermediate containers made by a refused PUT stay;
// their markers are empty. Quotas apply to pods only (Config.Pods): a
// server whose root is the one storage counts nothing.

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

// updateUsage changes the counter of a pod by a read, change and
// conditional write, retried when another writer came first. A missing
// counter is made by counting the pod, which includes what the caller
// wrote, so change is not applied to it.
func (s *Store) updateUsage(ctx context.Context, name string, change func(*usageRecord)) (usageRecord, storage.Info, error) {
	for attempt := 0; attempt < usageAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return usageRecord{}, storage.Info{}, err
			}
		}
		rec, info, err := readUsage(ctx, s.backend, name)
		if errors.Is(err, storage.ErrNotFound) {
			return s.loadUsage(ctx, name)
		}
		if err != nil {
			return usageRecord{}, storage.Info{}, err
		}
		change(&rec)
		out, err := writeUsage(ctx, s.backend, name, rec, info.ETag)
		if errors.Is(err, storage.ErrPreconditionFailed) {
			continue
		}
		if err != nil {
			return usageRecord{}, storage.Info{}, fmt.Errorf("ldp: usage of pod %s: %w", name, err)
		}
		return rec, out, nil
	}
	return usageRecord{}, storage.Info{}, &ConflictError{Reason: "too many concurrent changes of the usage of pod " + name + "; try again"}
}

// meter is the quota state of one write into a pod, read before it.
type meter struct {
	pod   string
	used  int64
	limit int64 // 0: none
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
	rec, _, err := s.loadUsage(ctx, name)
	if err != nil {
		return nil, err
	}
	return &meter{pod: name, used: rec.Bytes, limit: s.quotaOf(rec)}, nil
}

// quotaOf is the limit a counter gives its pod: its own, or the default.
func (s *Store) quotaOf(rec usageRecord) int64 {
	if rec.Quota != nil {
		return *rec.Quota
	}
	return s.podQuota
}

// check refuses a write that replaces old bytes with size bytes when it
// grows the pod past its quota.
func (m *meter) check(old, size int64) error {
	if m == nil || m.limit <= 0 || size <= old || m.used-old+size <= m.limit {
		return nil
	}
	return &QuotaError{Pod: m.pod, Quota: m.limit}
}

// reader counts a streamed body that replaces old bytes, failing once it
// would take the pod past its quota; r itself when there is no limit.
func (m *meter) reader(r io.Reader, old int64) io.Reader {
	if m == nil || m.limit <= 0 || r == nil {
		return r
	}
	room := old + max(0, m.limit-m.used)
	return &quotaReader{r: r, left: room, err: &QuotaError{Pod: m.pod, Quota: m.limit}}
}

// count adds the size delta of a successful write to the pod's counter.
// The write has happened, so a failure here is not the request's: the
// counter then drifts until a recount.
func (s *Store) count(ctx context.Context, m *meter, delta int64) {
	if m == nil || delta == 0 {
		return
	}
	_, _, _ = s.updateUsage(context.WithoutCancel(ctx), m.pod, func(r *usageRecord) { r.Bytes += delta })
}

// quotaReader passes at most left bytes of r, then fails with err: it
// reads one byte more than allowed from r to tell a body that fits
// exactly from one that does not.
type quotaReader struct {
	r        io.Reader
	left     int64
	err      *QuotaError
	exceeded bool
}

func (q *quotaReader) Read(p []byte) (int, error) {
	if q.exceeded {
		return 0, q.err
	}
	if int64(len(p)) > q.left+1 {
		p = p[:q.left+1]
	}
	n, err := q.r.Read(p)
	if int64(n) > q.left {
		n, q.left, q.exceeded = int(q.left), 0, true
		return n, q.err
	}
	q.left -= int64(n)
	return n, err
}

// quotaFailure is the quota error of a failed Put whose body was r, if r
// was cut for the quota: backends may wrap or replace the reader's error.
func quotaFailure(r io.Reader, err error) error {
	if q, ok := r.(*quotaReader); ok && q.exceeded {
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
	rec, info, err := s.loadUsage(ctx, name)
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
	rec, info, err := s.setUsage(ctx, name, func(r *usageRecord) { r.Bytes = n })
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
	rec, info, err := s.setUsage(ctx, name, func(r *usageRecord) { r.Quota = quota })
	if err != nil {
		return Usage{}, err
	}
	return s.usage(name, rec, info), nil
}

// setUsage changes the counter of a pod, making it first when missing.
func (s *Store) setUsage(ctx context.Context, name string, change func(*usageRecord)) (usageRecord, storage.Info, error) {
	if _, _, err := s.loadUsage(ctx, name); err != nil {
		return usageRecord{}, storage.Info{}, err
	}
	return s.updateUsage(ctx, name, change)
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
	rec, info, err := s.loadUsage(ctx, name)
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
