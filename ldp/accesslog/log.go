package accesslog

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Prefix is where the logs are stored, out of reach of LDP requests like
// every sys/ key.
const Prefix = "sys/access-log/"

// Entry is one request to a pod.
type Entry struct {
	// Time is when the entry was recorded, as the request was answered;
	// Log sets it.
	Time time.Time
	// Agent is the WebID, "" for an anonymous request; Client the
	// client_id and Issuer the issuer of its token.
	Agent, Client, Issuer string
	// Resource is the IRI requested.
	Resource string
	// Method is the HTTP method; Mode what it needed ("Read", "Append",
	// "Write", "Control").
	Method, Mode string
	// Status is the status of the answer.
	Status int
	// Authorization is the ACL authorization that allowed the request,
	// "" when none did.
	Authorization string
	// Grant is the access grant that allowed it, with its Purposes.
	Grant    string
	Purposes []string
}

// Keys sign segment heads with a key Kluis publishes, and check such
// signatures (credential.Service implements it).
type Keys interface {
	SignDetached(ctx context.Context, msg []byte) (kid string, sig []byte, err error)
	VerifyDetached(ctx context.Context, kid string, msg, sig []byte) error
}

// Defaults of Config.
const (
	DefaultBatchSize  = 1024
	DefaultFlushEvery = time.Second
	DefaultQueueSize  = 8192
)

// Config configures a Log.
type Config struct {
	Backend storage.Backend
	Keys    Keys
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// BatchSize, FlushEvery and QueueSize bound what waits in memory;
	// zero means the defaults.
	BatchSize  int
	FlushEvery time.Duration
	QueueSize  int
	// Written, when set, is told the pods whose entries were written, after
	// each batch (for live notifications).
	Written func(pod string)
	Logger  *slog.Logger
}

// Log records and reads the access logs of the pods of one storage. It
// is safe for concurrent use.
type Log struct {
	cfg     Config
	process string
	// pending are the entries recorded and not yet taken by the writer,
	// at most QueueSize; a request appends under mu and wakes the writer
	// only when a batch is full (full), so that recording costs a
	// request no goroutine switch.
	mu      sync.Mutex
	pending []item
	spare   []item // the writer's last batch, emptied, for pending
	full    chan struct{}
	flushes chan chan error
	done    chan struct{}
	closed  sync.Once
	dropped atomic.Uint64
	lost    atomic.Uint64
	// chains are this process's chain per pod; only the writer touches it.
	chains map[string]*chain
	last   time.Time
	// kept are the key ids whose public key is stored (move.go).
	kept map[string]bool
	// indexed is the last hour each pod was indexed for retention in
	// (sweep.go).
	indexed map[string]int64
}

type item struct {
	pod string
	e   Entry
}

type chain struct {
	seq  uint64
	head string
}

// New starts a Log; Close stops it.
func New(cfg Config) *Log {
	cfg.BatchSize = cmp.Or(cfg.BatchSize, DefaultBatchSize)
	cfg.FlushEvery = cmp.Or(cfg.FlushEvery, DefaultFlushEvery)
	cfg.QueueSize = cmp.Or(cfg.QueueSize, DefaultQueueSize)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	l := &Log{cfg: cfg, process: hex.EncodeToString(id), full: make(chan struct{}, 1),
		flushes: make(chan chan error), done: make(chan struct{}), chains: map[string]*chain{}, kept: map[string]bool{}, indexed: map[string]int64{}}
	go l.run()
	return l
}

// Record queues e for pod's log without waiting; it reports false when
// the queue is full and the entry was dropped (counted by Dropped).
func (l *Log) Record(pod string, e Entry) bool {
	e.Time = l.cfg.Now()
	select {
	case <-l.done:
		l.dropped.Add(1)
		return false
	default:
	}
	l.mu.Lock()
	if len(l.pending) >= l.cfg.QueueSize {
		l.mu.Unlock()
		l.dropped.Add(1)
		return false
	}
	l.pending = append(l.pending, item{pod, e})
	n := len(l.pending)
	l.mu.Unlock()
	if n == l.cfg.BatchSize {
		select {
		case l.full <- struct{}{}:
		default:
		}
	}
	return true
}

// take moves the pending entries into batch, in time order.
func (l *Log) take(batch []item) []item {
	l.mu.Lock()
	taken := l.pending
	l.pending, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	for _, it := range taken {
		batch = l.add(batch, it)
	}
	clear(taken) // no strings kept alive by the spare buffer
	l.mu.Lock()
	if l.spare == nil && cap(taken) <= l.cfg.QueueSize {
		l.spare = taken[:0]
	}
	l.mu.Unlock()
	return batch
}

// Dropped is how many entries were dropped because the queue was full;
// Lost how many were dropped because their segment could not be written.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Lost counts entries whose segment could not be stored.
func (l *Log) Lost() uint64 { return l.lost.Load() }

// Flush writes every entry queued before it, and returns the first error.
func (l *Log) Flush(ctx context.Context) error {
	ch := make(chan error, 1)
	select {
	case l.flushes <- ch:
	case <-l.done:
		return errors.New("accesslog: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the Log; later Records are
// dropped. Call it on graceful shutdown, after the HTTP server stopped;
// calling it again does nothing.
func (l *Log) Close(ctx context.Context) error {
	select {
	case <-l.done:
		return nil
	default:
	}
	err := l.Flush(ctx)
	l.closed.Do(func() { close(l.done) })
	return err
}

// run is the writer: it takes entries from the queue and writes them in
// batches.
func (l *Log) run() {
	tick := time.NewTicker(l.cfg.FlushEvery)
	defer tick.Stop()
	var batch []item
	for {
		select {
		case <-l.full:
			batch = l.take(batch)
			l.write(context.Background(), batch)
			batch = batch[:0]
		case <-tick.C:
			if batch = l.take(batch); len(batch) > 0 {
				l.write(context.Background(), batch)
				batch = batch[:0]
			}
		case ch := <-l.flushes:
			// Take what was recorded before the flush was asked for.
			batch = l.take(batch)
			ch <- l.write(context.Background(), batch)
			batch = batch[:0]
		case <-l.done:
			return
		}
	}
}

// add keeps a chain's entries in time order: an entry queued a moment
// after one stamped later takes that one's time.
func (l *Log) add(batch []item, it item) []item {
	t := it.e.Time.UTC()
	if t.Before(l.last) {
		t = l.last
	}
	l.last = t
	it.e.Time = t
	return append(batch, it)
}

// record is an entry as stored; its JSON is hashed as written.
type record struct {
	T             int64    `json:"t"`
	Agent         string   `json:"agent,omitempty"`
	Client        string   `json:"client,omitempty"`
	Issuer        string   `json:"issuer,omitempty"`
	Resource      string   `json:"resource"`
	Method        string   `json:"method"`
	Mode          string   `json:"mode,omitempty"`
	Status        int      `json:"status"`
	Authorization string   `json:"authorization,omitempty"`
	Grant         string   `json:"grant,omitempty"`
	Purposes      []string `json:"purposes,omitempty"`
	// Prev is the hash of the entry before, "" for the first of a chain.
	Prev string `json:"prev"`
}

func (r *record) entry() Entry {
	return Entry{Time: time.Unix(0, r.T).UTC(), Agent: r.Agent, Client: r.Client, Issuer: r.Issuer, Resource: r.Resource,
		Method: r.Method, Mode: r.Mode, Status: r.Status, Authorization: r.Authorization, Grant: r.Grant, Purposes: r.Purposes}
}

// segment is a stored segment.
type segment struct {
	V       int               `json:"v"`
	Pod     string            `json:"pod"`
	Process string            `json:"process"`
	Seq     uint64            `json:"seq"`
	Entries []json.RawMessage `json:"entries"`
	Head    string            `json:"head"`
	KeyID   string            `json:"kid"`
	Sig     string            `json:"sig"`
}

// encode is json.Marshal(s) without checking again the entries, which
// json.Marshal wrote: a quarter of the log's work did nothing else.
func (s *segment) encode() ([]byte, error) {
	n := 160
	for _, e := range s.Entries {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(s.V), 10)
	for _, f := range [][2]string{{"pod", s.Pod}, {"process", s.Process}} {
		q, err := json.Marshal(f[1])
		if err != nil {
			return nil, err
		}
		b = append(append(append(append(b, `,"`...), f[0]...), `":`...), q...)
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, s.Seq, 10)
	b = append(b, `,"entries":[`...)
	for i, e := range s.Entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	b = append(b, ']')
	for _, f := range [][2]string{{"head", s.Head}, {"kid", s.KeyID}, {"sig", s.Sig}} {
		q, err := json.Marshal(f[1])
		if err != nil {
			return nil, err
		}
		b = append(append(append(append(b, `,"`...), f[0]...), `":`...), q...)
	}
	return append(b, '}'), nil
}

// signed is what a segment's signature covers.
func signed(pod, process string, seq uint64, count int, head string) []byte {
	return fmt.Appendf(nil, "kluis access log segment v1\n%s\n%s\n%d\n%d\n%s\n", pod, process, seq, count, head)
}

func hashOf(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

const (
	maxHour = 99999999
	maxNano = int64(1<<63 - 1)
)

func hourOf(t time.Time) int64 { return t.Unix() / 3600 }

func hourLevel(pod string, hour int64) string {
	return fmt.Sprintf("%s%s/%08d/", Prefix, pod, maxHour-hour)
}

func segmentName(newest, oldest time.Time, process string, seq uint64) string {
	return fmt.Sprintf("%019d-%019d-%s-%010d", maxNano-newest.UnixNano(), oldest.UnixNano(), process, seq)
}

// write stores batch as one segment per pod and hour, and returns the
// first error.
func (l *Log) write(ctx context.Context, batch []item) error {
	if len(batch) == 0 {
		return nil
	}
	var first error
	byPod := map[string][]Entry{}
	var order []string
	for _, it := range batch {
		if _, ok := byPod[it.pod]; !ok {
			order = append(order, it.pod)
		}
		byPod[it.pod] = append(byPod[it.pod], it.e)
	}
	for _, pod := range order {
		es := byPod[pod]
		for len(es) > 0 {
			n := 1
			for n < len(es) && hourOf(es[n].Time) == hourOf(es[0].Time) {
				n++
			}
			if err := l.writeSegment(ctx, pod, es[:n]); err != nil {
				l.lost.Add(uint64(n))
				l.cfg.Logger.Warn("access log: a segment could not be written; its entries are lost", "pod", pod, "entries", n, "error", err)
				first = cmp.Or(first, err)
			}
			es = es[n:]
		}
		if l.cfg.Written != nil {
			l.cfg.Written(pod)
		}
	}
	return first
}

func (l *Log) writeSegment(ctx context.Context, pod string, es []Entry) error {
	if err := storage.ValidateKey(Prefix + pod + "/x"); err != nil {
		return err
	}
	ch := l.chains[pod]
	if ch == nil {
		ch = &chain{}
	}
	seq := ch.seq + 1
	prev := ch.head
	seg := segment{V: 1, Pod: pod, Process: l.process, Seq: seq}
	for _, e := range es {
		raw, err := json.Marshal(record{T: e.Time.UnixNano(), Agent: e.Agent, Client: e.Client, Issuer: e.Issuer,
			Resource: e.Resource, Method: e.Method, Mode: e.Mode, Status: e.Status, Authorization: e.Authorization,
			Grant: e.Grant, Purposes: e.Purposes, Prev: prev})
		if err != nil {
			return err
		}
		seg.Entries = append(seg.Entries, raw)
		prev = hashOf(raw)
	}
	seg.Head = prev
	kid, sig, err := l.cfg.Keys.SignDetached(ctx, signed(pod, l.process, seq, len(es), seg.Head))
	if err != nil {
		return fmt.Errorf("accesslog: signing: %w", err)
	}
	seg.KeyID, seg.Sig = kid, base64.RawURLEncoding.EncodeToString(sig)
	l.keepKey(ctx, kid)
	data, err := seg.encode()
	if err != nil {
		return err
	}
	key := hourLevel(pod, hourOf(es[0].Time)) + segmentName(es[len(es)-1].Time, es[0].Time, l.process, seq)
	if _, err := l.cfg.Backend.Put(ctx, key, bytes.NewReader(data), storage.PutOptions{ContentType: "application/json", IfNoneMatch: true}); err != nil {
		return fmt.Errorf("accesslog: %s: %w", key, err)
	}
	ch.seq, ch.head = seq, seg.Head
	l.chains[pod] = ch
	l.indexWrite(ctx, pod, es[len(es)-1].Time)
	return nil
}

// segKey is what a segment's name tells.
type segKey struct {
	key            string
	newest, oldest int64 // Unix nanoseconds
	process        string
	seq            uint64
	size           int64
}

func parseSegKey(key string) (segKey, bool) {
	i := len(key) - 1
	for i >= 0 && key[i] != '/' {
		i--
	}
	name := key[i+1:]
	// newest(19)-oldest(19)-process-seq(10)
	if len(name) < 19+1+19+1+1+1+10 || name[19] != '-' || name[39] != '-' {
		return segKey{}, false
	}
	inv, err1 := strconv.ParseInt(name[:19], 10, 64)
	old, err2 := strconv.ParseInt(name[20:39], 10, 64)
	rest := name[40:]
	j := len(rest) - 11
	if err1 != nil || err2 != nil || j < 1 || rest[j] != '-' {
		return segKey{}, false
	}
	seq, err := strconv.ParseUint(rest[j+1:], 10, 64)
	if err != nil {
		return segKey{}, false
	}
	return segKey{key: key, newest: maxNano - inv, oldest: old, process: rest[:j], seq: seq}, true
}

// hours lists the hour levels of pod's log, newest first.
func (l *Log) hours(ctx context.Context, pod string) ([]int64, error) {
	var hs []int64
	prefix := Prefix + pod + "/"
	for info, err := range l.cfg.Backend.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		if !info.IsPrefix {
			continue
		}
		s := info.Key[len(prefix) : len(info.Key)-1]
		inv, err := strconv.ParseInt(s, 10, 64)
		if err != nil || len(s) != 8 {
			continue
		}
		hs = append(hs, maxHour-inv)
	}
	slices.SortFunc(hs, func(a, b int64) int { return cmp.Compare(b, a) })
	return hs, nil
}

// segments lists the segments of one hour, newest first.
func (l *Log) segments(ctx context.Context, pod string, hour int64) ([]segKey, error) {
	var ks []segKey
	for info, err := range l.cfg.Backend.List(ctx, hourLevel(pod, hour)) {
		if err != nil {
			return nil, err
		}
		if info.IsPrefix {
			continue
		}
		k, ok := parseSegKey(info.Key)
		if !ok {
			continue
		}
		k.size = info.Size
		ks = append(ks, k)
	}
	// Newest first; then by name, for a stable order.
	slices.SortFunc(ks, func(a, b segKey) int {
		return cmp.Or(cmp.Compare(b.newest, a.newest), cmp.Compare(a.key, b.key))
	})
	return ks, nil
}

// maxSegmentBytes bounds what a segment read may take.
const maxSegmentBytes = 16 << 20

func (l *Log) readSegment(ctx context.Context, key string) (*segment, error) {
	rc, _, err := l.cfg.Backend.Get(ctx, key, storage.GetOptions{})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var seg segment
	dec := json.NewDecoder(io.LimitReader(rc, maxSegmentBytes))
	if err := dec.Decode(&seg); err != nil {
		return nil, fmt.Errorf("accesslog: %s: %w", key, err)
	}
	return &seg, nil
}
