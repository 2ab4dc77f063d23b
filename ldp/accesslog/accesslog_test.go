package accesslog_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp/accesslog"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// testKeys is one Ed25519 key, as credential.Service publishes them.
type testKeys struct{ priv ed25519.PrivateKey }

func newKeys() testKeys {
	return testKeys{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))}
}

func (k testKeys) SignDetached(_ context.Context, msg []byte) (string, []byte, error) {
	return "k1", ed25519.Sign(k.priv, msg), nil
}

func (k testKeys) VerifyDetached(_ context.Context, kid string, msg, sig []byte) error {
	if kid != "k1" || !ed25519.Verify(k.priv.Public().(ed25519.PublicKey), msg, sig) {
		return errors.New("bad signature")
	}
	return nil
}

// clock is a clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLog(b storage.Backend, c *clock) *accesslog.Log {
	return accesslog.New(accesslog.Config{Backend: b, Keys: newKeys(), Now: c.now, BatchSize: 1000, FlushEvery: time.Hour})
}

func entry(agent, res string, status int) accesslog.Entry {
	return accesslog.Entry{Agent: agent, Resource: res, Method: "GET", Mode: "Read", Status: status}
}

// TestTwoProcessesMergeNewestFirst: two Logs on one storage write
// segments of their own; a read merges them newest first, pages through
// all of them without loss or repetition, and filters.
func TestTwoProcessesMergeNewestFirst(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	c := &clock{t: time.Date(2026, 12, 7, 22, 59, 0, 0, time.UTC)}
	l1, l2 := newLog(b, c), newLog(b, c)
	const n = 300
	for i := range n {
		l := l1
		if i%3 == 0 {
			l = l2
		}
		l.Record("alice", entry(fmt.Sprintf("https://a.example/%d#me", i%5), fmt.Sprintf("https://pod.example/alice/d/%d", i), 200))
		if i%40 == 39 { // several segments each, across the hour
			if err := l1.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := l2.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			c.add(10 * time.Second)
		}
	}
	l1.Record("bob", entry("", "https://pod.example/bob/x", 401))
	if err := l1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r := newLog(b, c)
	defer r.Close(ctx)

	var all []accesslog.Stored
	cursor := ""
	for range 100 {
		page, next, err := r.Read(ctx, "alice", accesslog.Query{Limit: 7, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != n {
		t.Fatalf("read %d entries, want %d", len(all), n)
	}
	seen := map[string]bool{}
	for i, e := range all {
		if seen[e.ID] {
			t.Fatalf("entry %s twice", e.ID)
		}
		seen[e.ID] = true
		if i > 0 && e.Time.After(all[i-1].Time) {
			t.Fatalf("entry %d is newer than the one before", i)
		}
		if want := fmt.Sprintf("https://pod.example/alice/d/%d", n-1-i); e.Resource != want {
			t.Fatalf("entry %d is %s, want %s", i, e.Resource, want)
		}
	}
	// Filters.
	page, _, err := r.Read(ctx, "alice", accesslog.Query{Agent: "https://a.example/2#me", Limit: 500})
	if err != nil || len(page) != n/5 {
		t.Fatalf("by agent: %d entries, %v", len(page), err)
	}
	page, _, _ = r.Read(ctx, "alice", accesslog.Query{Resource: "https://pod.example/alice/d/7"})
	if len(page) != 1 {
		t.Fatalf("by resource: %d entries", len(page))
	}
	page, _, _ = r.Read(ctx, "alice", accesslog.Query{Resource: "https://pod.example/alice/d/", Limit: 500})
	if len(page) != n {
		t.Fatalf("by container: %d entries", len(page))
	}
	from, to := all[200].Time, all[100].Time
	page, _, _ = r.Read(ctx, "alice", accesslog.Query{From: from, To: to, Limit: 500})
	if len(page) != 100 || page[0].ID != all[101].ID {
		t.Fatalf("by time: %d entries", len(page))
	}
	if page, _, _ := r.Read(ctx, "bob", accesslog.Query{}); len(page) != 1 || page[0].Status != 401 || page[0].Agent != "" {
		t.Fatalf("bob's log: %+v", page)
	}
	if _, _, err := r.Read(ctx, "alice", accesslog.Query{Cursor: "%%"}); !errors.Is(err, accesslog.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	rep, err := r.Verify(ctx, "alice")
	if err != nil || !rep.OK() || rep.Entries != n || rep.Chains != 2 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// segmentKeys lists the stored segments of pod.
func segmentKeys(t *testing.T, b storage.Backend, pod string) []string {
	t.Helper()
	var keys []string
	var walk func(prefix string)
	walk = func(prefix string) {
		for info, err := range b.List(context.Background(), prefix) {
			if err != nil {
				t.Fatal(err)
			}
			if info.IsPrefix {
				walk(info.Key)
			} else {
				keys = append(keys, info.Key)
			}
		}
	}
	walk(accesslog.Prefix + pod + "/")
	return keys
}

func readJSON(t *testing.T, b storage.Backend, key string) map[string]any {
	t.Helper()
	rc, _, err := b.Get(context.Background(), key, storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	raw, _ := io.ReadAll(rc)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeJSON(t *testing.T, b storage.Backend, key string, m map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(m)
	if _, err := b.Put(context.Background(), key, bytes.NewReader(raw), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyFindsTampering: whoever can write the bucket cannot change,
// remove or reorder an entry, remove a segment inside a chain, move a
// segment, or change a signed head without verification saying so.
func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		tamper func(t *testing.T, b storage.Backend, keys []string)
		want   string
	}{
		{"nothing", func(*testing.T, storage.Backend, []string) {}, ""},
		{"change an entry", func(t *testing.T, b storage.Backend, keys []string) {
			m := readJSON(t, b, keys[1])
			es := m["entries"].([]any)
			es[1].(map[string]any)["status"] = 200
			writeJSON(t, b, keys[1], m)
		}, "does not follow"},
		{"change the last entry", func(t *testing.T, b storage.Backend, keys []string) {
			m := readJSON(t, b, keys[1])
			es := m["entries"].([]any)
			es[len(es)-1].(map[string]any)["agent"] = "https://innocent.example/#me"
			writeJSON(t, b, keys[1], m)
		}, "head is not the hash"},
		{"remove an entry", func(t *testing.T, b storage.Backend, keys []string) {
			m := readJSON(t, b, keys[1])
			es := m["entries"].([]any)
			m["entries"] = append(es[:1:1], es[2:]...)
			writeJSON(t, b, keys[1], m)
		}, "does not follow"},
		{"reorder entries", func(t *testing.T, b storage.Backend, keys []string) {
			m := readJSON(t, b, keys[1])
			es := m["entries"].([]any)
			es[1], es[2] = es[2], es[1]
			writeJSON(t, b, keys[1], m)
		}, "does not follow"},
		{"change a signed head", func(t *testing.T, b storage.Backend, keys []string) {
			m := readJSON(t, b, keys[1])
			m["head"] = strings.Repeat("0", 64)
			writeJSON(t, b, keys[1], m)
		}, "signature does not hold"},
		{"remove a segment", func(t *testing.T, b storage.Backend, keys []string) {
			if err := b.Delete(ctx, keys[1], storage.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "missing"},
		{"swap two segments", func(t *testing.T, b storage.Backend, keys []string) {
			m0, m2 := readJSON(t, b, keys[0]), readJSON(t, b, keys[2])
			writeJSON(t, b, keys[0], m2)
			writeJSON(t, b, keys[2], m0)
		}, "moved"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := memory.New()
			c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
			l := newLog(b, c)
			for s := range 3 {
				for i := range 4 {
					l.Record("alice", entry("https://org.example/#id", fmt.Sprintf("https://pod.example/alice/%d/%d", s, i), 403))
				}
				if err := l.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			defer l.Close(ctx)
			keys := segmentKeys(t, b, "alice")
			if len(keys) != 3 {
				t.Fatalf("%d segments", len(keys))
			}
			// Oldest first: the hour level is the same, names sort newest first.
			keys[0], keys[2] = keys[2], keys[0]
			tc.tamper(t, b, keys)
			rep, err := l.Verify(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !rep.OK() || rep.Entries != 12 || rep.Segments != 3 {
					t.Fatalf("untouched log: %+v", rep)
				}
				return
			}
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), tc.want) {
				t.Fatalf("after tampering, problems %q, want one saying %q", rep.Problems, tc.want)
			}
		})
	}
}

// TestRetentionAndClear: Trim removes by age and by size, oldest first;
// Clear removes all; verification still passes on what is left.
func TestRetentionAndClear(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	l := newLog(b, c)
	defer l.Close(ctx)
	for day := range 5 {
		for i := range 10 {
			l.Record("alice", entry("", fmt.Sprintf("https://pod.example/alice/%d/%d", day, i), 401))
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		c.add(24 * time.Hour)
	}
	n, err := l.Trim(ctx, "alice", accesslog.Retention{MaxAge: 60 * time.Hour}, c.now())
	if err != nil || n != 3 {
		t.Fatalf("trim by age removed %d, %v; want 3", n, err)
	}
	page, _, _ := l.Read(ctx, "alice", accesslog.Query{Limit: 500})
	if len(page) != 20 || !strings.HasPrefix(page[19].Resource, "https://pod.example/alice/3/") {
		t.Fatalf("after trim by age: %d entries", len(page))
	}
	keys := segmentKeys(t, b, "alice")
	info, _ := b.Stat(ctx, keys[0])
	if n, err := l.Trim(ctx, "alice", accesslog.Retention{MaxBytes: info.Size + 1}, c.now()); err != nil || n != 1 {
		t.Fatalf("trim by size removed %d, %v; want 1", n, err)
	}
	if rep, err := l.Verify(ctx, "alice"); err != nil || !rep.OK() || rep.Entries != 10 {
		t.Fatalf("verify after trimming: %+v %v", rep, err)
	}
	if n, err := l.Clear(ctx, "alice"); err != nil || n != 1 {
		t.Fatalf("clear: %d %v", n, err)
	}
	if page, _, _ := l.Read(ctx, "alice", accesslog.Query{}); len(page) != 0 {
		t.Fatalf("after clear: %d entries", len(page))
	}
}

// TestRecordNeverBlocks: a full queue drops and counts.
func TestRecordNeverBlocks(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	keys := blockingKeys{testKeys: newKeys(), release: make(chan struct{})}
	l := accesslog.New(accesslog.Config{Backend: b, Keys: keys, Now: c.now, BatchSize: 1, QueueSize: 4})
	kept := 0
	for range 100 {
		if l.Record("alice", entry("", "https://pod.example/alice/x", 401)) {
			kept++
		}
	}
	if kept == 100 || l.Dropped() != uint64(100-kept) {
		t.Fatalf("kept %d, dropped %d", kept, l.Dropped())
	}
	close(keys.release)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if page, _, _ := l.Read(ctx, "alice", accesslog.Query{}); len(page) != kept {
		t.Fatalf("%d entries kept, %d written", kept, len(page))
	}
}

// blockingKeys never finish signing, so the writer stays busy.
type blockingKeys struct {
	testKeys
	release chan struct{}
}

func (k blockingKeys) SignDetached(ctx context.Context, msg []byte) (string, []byte, error) {
	<-k.release
	return k.testKeys.SignDetached(ctx, msg)
}

// TestSweepReadsOnlyWhatIsDue: the sweep trims the logs written or
// touched, comes back when their oldest hour is of age, and does nothing
// when nothing is due.
func TestSweepReadsOnlyWhatIsDue(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	l := newLog(b, c)
	defer l.Close(ctx)
	keep := func(context.Context, string) (accesslog.Retention, error) {
		return accesslog.Retention{MaxAge: 60 * time.Hour}, nil
	}
	for day := range 3 {
		l.Record("alice", entry("", fmt.Sprintf("https://pod.example/alice/%d", day), 401))
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		c.add(24 * time.Hour)
	}
	// Day 3: day 0 is older than 60 hours.
	if n, err := l.Sweep(ctx, c.now(), keep); err != nil || n != 1 {
		t.Fatalf("first sweep removed %d, %v; want 1", n, err)
	}
	if n, err := l.Sweep(ctx, c.now(), keep); err != nil || n != 0 {
		t.Fatalf("a sweep with nothing due removed %d, %v", n, err)
	}
	// A day later the next oldest comes of age, with no write meanwhile.
	c.add(24*time.Hour + time.Hour)
	if n, err := l.Sweep(ctx, c.now(), keep); err != nil || n != 1 {
		t.Fatalf("the sweep a day later removed %d, %v; want 1", n, err)
	}
	if page, _, _ := l.Read(ctx, "alice", accesslog.Query{}); len(page) != 1 || page[0].Resource != "https://pod.example/alice/2" {
		t.Fatalf("kept: %+v", page)
	}
}
