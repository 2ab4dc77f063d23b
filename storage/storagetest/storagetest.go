package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
)

// NewFunc makes a fresh, empty backend for one run of the suite. It may
// register cleanups with t.
type NewFunc func(t testing.TB) storage.Backend

// Option changes what the suite expects of a backend.
type Option func(*options)

type options struct {
	heldInMemory bool
}

// HeldInMemory tells the suite that the backend keeps objects in memory, so
// the heap may grow by an object's size while it is stored (but not while
// it is read).
func HeldInMemory() Option { return func(o *options) { o.heldInMemory = true } }

// Run runs the whole conformance suite against a backend made by newBackend.
// Every test works below its own prefix; when all have run, the suite fails
// if anything is left in the backend.
func Run(t *testing.T, newBackend NewFunc, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	b := newBackend(t)
	tests := []struct {
		name string
		fn   func(t *testing.T, b storage.Backend, p string, o options)
	}{
		{"InvalidKeys", testInvalidKeys},
		{"ValidKeys", testValidKeys},
		{"NotFound", testNotFound},
		{"BinaryRoundTrip", testBinaryRoundTrip},
		{"EmptyObject", testEmptyObject},
		{"OverwriteShorter", testOverwriteShorter},
		{"Metadata", testMetadata},
		{"Ranges", testRanges},
		{"PrefixSiblings", testPrefixSiblings},
		{"ListDirectChildren", testListDirectChildren},
		{"ListManyChildren", testListManyChildren},
		{"ListStopEarly", testListStopEarly},
		{"LevelsVanish", testLevelsVanish},
		{"Conditions", testConditions},
		{"IfNoneMatchRace", testIfNoneMatchRace},
		{"ReadModifyWriteRace", testReadModifyWriteRace},
		{"FailedPutKeepsOld", testFailedPutKeepsOld},
		{"ContextCancellation", testContextCancellation},
		{"StreamLarge", testStreamLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := "suite-" + strings.ToLower(tc.name) + "/"
			t.Cleanup(func() { removeAll(t, b, p) })
			tc.fn(t, b, p, o)
		})
	}
	if a, ok := b.(storage.Appender); ok {
		for _, tc := range appendTests {
			t.Run(tc.name, func(t *testing.T) {
				p := "suite-" + strings.ToLower(tc.name) + "/"
				t.Cleanup(func() { removeAll(t, b, p) })
				tc.fn(t, b, a, p)
			})
		}
	}
	t.Run("LeavesNothingBehind", func(t *testing.T) {
		if left := walk(t, b, ""); len(left) > 0 {
			t.Fatalf("the suite left %d objects behind, e.g. %q", len(left), left[0])
		}
	})
}

// walk returns every object key below prefix, depth first.
func walk(t testing.TB, b storage.Backend, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range b.List(context.Background(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		if info.IsPrefix {
			// The marker object of a level is not listed with it.
			if _, err := b.Stat(context.Background(), info.Key); err == nil {
				keys = append(keys, info.Key)
			}
			keys = append(keys, walk(t, b, info.Key)...)
			continue
		}
		keys = append(keys, info.Key)
	}
	return keys
}

func removeAll(t testing.TB, b storage.Backend, prefix string) {
	t.Helper()
	keys := walk(t, b, prefix)
	if _, err := b.Stat(context.Background(), prefix); err == nil {
		keys = append(keys, prefix)
	}
	// Remove deeper keys first, so levels empty from the bottom up.
	slices.SortFunc(keys, func(a, c string) int { return strings.Count(c, "/") - strings.Count(a, "/") })
	parallel(16, len(keys), func(i int) {
		if err := b.Delete(context.Background(), keys[i], storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("cleanup: Delete(%q): %v", keys[i], err)
		}
	})
}

// parallel runs fn(0..n-1) on at most workers goroutines.
func parallel(workers, n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func put(t testing.TB, b storage.Backend, key string, data []byte, o storage.PutOptions) storage.Info {
	t.Helper()
	info, err := b.Put(context.Background(), key, bytes.NewReader(data), o)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func get(t testing.TB, b storage.Backend, key string) ([]byte, storage.Info) {
	t.Helper()
	rc, info, err := b.Get(context.Background(), key, storage.GetOptions{})
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): reading: %v", key, err)
	}
	return data, info
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testInvalidKeys(t *testing.T, b storage.Backend, p string, _ options) {
	ctx := context.Background()
	bad := []string{
		"", "/", "/abs", p + "..", p + "../x", p + ".", p + "./x", p + "a/../b", p + "a//b", p + "a\x00b",
		p + "back\\slash", p + "tab\there", p + "bell\x07", p + "del\x7f", p + "a//", p + "\xff\xfe",
		p + strings.Repeat("x", storage.MaxSegmentLength+1),
		p + strings.Repeat("m", storage.MaxMarkerSegmentLength+1) + "/",
		p + strings.Repeat("abcdefgh/", storage.MaxKeyLength/9+1) + "x",
	}
	for _, key := range bad {
		t.Run(strconv.Quote(key)[:min(len(strconv.Quote(key)), 40)], func(t *testing.T) {
			_, err := b.Put(ctx, key, strings.NewReader("x"), storage.PutOptions{})
			wantErr(t, "Put", err, storage.ErrInvalidKey)
			_, _, err = b.Get(ctx, key, storage.GetOptions{})
			wantErr(t, "Get", err, storage.ErrInvalidKey)
			_, err = b.Stat(ctx, key)
			wantErr(t, "Stat", err, storage.ErrInvalidKey)
			err = b.Delete(ctx, key, storage.DeleteOptions{})
			wantErr(t, "Delete", err, storage.ErrInvalidKey)
		})
	}
	for _, prefix := range []string{"/", "noslash", p + "../", p + "a//"} {
		for _, err := range b.List(ctx, prefix) {
			wantErr(t, "List("+prefix+")", err, storage.ErrInvalidKey)
			break
		}
	}
}

func testValidKeys(t *testing.T, b storage.Backend, p string, _ options) {
	good := []string{
		"with space", "per%20cent", "plus+sign", "hash#frag", "unicode-ĳsselmeer-日本", "emoji-🙂",
		"..dots", "dot.", ".hidden", "a=b&c?d", "quote'\"", "semi;colon", "tilde~", "marker/", "deep/er/key",
		strings.Repeat("s", storage.MaxSegmentLength),
		strings.Repeat("m", storage.MaxMarkerSegmentLength) + "/",
		strings.Repeat("l", storage.MaxSegmentLength) + "/" + strings.Repeat("m", storage.MaxMarkerSegmentLength) + "/",
	}
	for _, k := range good {
		key := p + k
		body := []byte("content of " + key)
		put(t, b, key, body, storage.PutOptions{ContentType: "text/plain"})
		got, info := get(t, b, key)
		if !bytes.Equal(got, body) || info.Key != key {
			t.Errorf("key %q: got %q (key %q), want %q", key, got, info.Key, body)
		}
	}
	// Every valid key shows up in a listing, under its own key.
	listed := walk(t, b, p)
	for _, k := range good {
		if !slices.Contains(listed, p+k) {
			t.Errorf("key %q not listed; listed %q", p+k, listed)
		}
	}
}

func testNotFound(t *testing.T, b storage.Backend, p string, _ options) {
	ctx := context.Background()
	key := p + "missing"
	_, _, err := b.Get(ctx, key, storage.GetOptions{})
	wantErr(t, "Get", err, storage.ErrNotFound)
	_, _, err = b.Get(ctx, key, storage.GetOptions{Range: &storage.Range{Offset: 0, Length: 1}})
	wantErr(t, "Get with range", err, storage.ErrNotFound)
	_, err = b.Stat(ctx, key)
	wantErr(t, "Stat", err, storage.ErrNotFound)
	err = b.Delete(ctx, key, storage.DeleteOptions{})
	wantErr(t, "Delete", err, storage.ErrNotFound)
	_, err = b.Stat(ctx, p+"no/such/deep/key")
	wantErr(t, "Stat deep", err, storage.ErrNotFound)
	// A level is not an object.
	put(t, b, p+"level/child", []byte("x"), storage.PutOptions{})
	_, err = b.Stat(ctx, p+"level/")
	wantErr(t, "Stat of a level without marker", err, storage.ErrNotFound)
	_, err = b.Stat(ctx, p+"level")
	wantErr(t, "Stat of a level's name", err, storage.ErrNotFound)
	n := 0
	for _, err := range b.List(ctx, p+"nothing/here/") {
		if err != nil {
			t.Fatalf("List of an empty level: %v", err)
		}
		n++
	}
	if n != 0 {
		t.Fatalf("List of an empty level yielded %d entries", n)
	}
}

func testBinaryRoundTrip(t *testing.T, b storage.Backend, p string, _ options) {
	data := make([]byte, 0, 3*256)
	for i := range 3 * 256 {
		data = append(data, byte(i*7+i/256))
	}
	data = append(data, 0xff, 0xfe, 0xc3, 0x28, 0x00) // not UTF-8
	key := p + "binary.bin"
	pi := put(t, b, key, data, storage.PutOptions{ContentType: "application/x-test"})
	if pi.ETag == "" || strings.ContainsAny(pi.ETag, "\" ") {
		t.Errorf("Put ETag %q: want a non-empty, unquoted tag", pi.ETag)
	}
	if pi.Size != int64(len(data)) || pi.ContentType != "application/x-test" || pi.Key != key {
		t.Errorf("Put info %+v: wrong size, type or key", pi)
	}
	got, gi := get(t, b, key)
	if !bytes.Equal(got, data) {
		t.Fatalf("binary content changed in the round trip")
	}
	si, err := b.Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range []storage.Info{gi, si} {
		if info.ETag != pi.ETag || info.Size != pi.Size || info.ContentType != pi.ContentType {
			t.Errorf("info %+v differs from Put's %+v", info, pi)
		}
		if info.Modified.IsZero() || time.Since(info.Modified) > time.Hour || time.Until(info.Modified) > time.Minute {
			t.Errorf("Modified %v is not about now", info.Modified)
		}
	}
	// A 1 MiB body too.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	put(t, b, p+"mib", big, storage.PutOptions{})
	if got, _ := get(t, b, p+"mib"); !bytes.Equal(got, big) {
		t.Fatalf("1 MiB content changed in the round trip")
	}
}

func testEmptyObject(t *testing.T, b storage.Backend, p string, _ options) {
	info := put(t, b, p+"empty", nil, storage.PutOptions{ContentType: "text/plain"})
	if info.Size != 0 {
		t.Fatalf("size %d", info.Size)
	}
	got, gi := get(t, b, p+"empty")
	if len(got) != 0 || gi.Size != 0 || gi.ETag != info.ETag {
		t.Fatalf("empty object came back as %q, %+v", got, gi)
	}
}

func testOverwriteShorter(t *testing.T, b storage.Backend, p string, _ options) {
	key := p + "shrink"
	first := put(t, b, key, []byte("a much longer first version of the content"), storage.PutOptions{ContentType: "text/plain"})
	second := put(t, b, key, []byte("short"), storage.PutOptions{ContentType: "text/markdown"})
	if first.ETag == second.ETag {
		t.Errorf("the ETag did not change on overwrite")
	}
	got, info := get(t, b, key)
	if string(got) != "short" || info.Size != 5 || info.ContentType != "text/markdown" || info.ETag != second.ETag {
		t.Fatalf("after overwrite: %q %+v", got, info)
	}
}

func testMetadata(t *testing.T, b storage.Backend, p string, _ options) {
	ctx := context.Background()
	meta := map[string]string{"kind": "container", "x-y2": "Some Value/with:chars"}
	put(t, b, p+"m", []byte("x"), storage.PutOptions{Metadata: meta})
	for _, src := range []string{"get", "stat"} {
		var info storage.Info
		if src == "get" {
			_, info = get(t, b, p+"m")
		} else {
			var err error
			if info, err = b.Stat(ctx, p+"m"); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range meta {
			if info.Metadata[k] != v {
				t.Errorf("%s: metadata %q = %q, want %q (all: %v)", src, k, info.Metadata[k], v, info.Metadata)
			}
		}
	}
	// Overwriting replaces metadata wholesale.
	put(t, b, p+"m", []byte("y"), storage.PutOptions{Metadata: map[string]string{"other": "1"}})
	if info, _ := b.Stat(ctx, p+"m"); info.Metadata["kind"] != "" || info.Metadata["other"] != "1" {
		t.Errorf("metadata after overwrite: %v", info.Metadata)
	}
	for _, bad := range []map[string]string{
		{"Upper": "x"}, {"": "x"}, {"9lead": "x"}, {"sp ace": "x"}, {"k": "new\nline"}, {"k": "ünï"},
		{"big": strings.Repeat("v", storage.MaxMetadataSize)},
	} {
		_, err := b.Put(ctx, p+"bad", strings.NewReader("x"), storage.PutOptions{Metadata: bad})
		wantErr(t, fmt.Sprintf("Put with metadata %.30v", bad), err, storage.ErrInvalidMetadata)
	}
	if _, err := b.Stat(ctx, p+"bad"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused Put stored something: %v", err)
	}
}

func testRanges(t *testing.T, b storage.Backend, p string, _ options) {
	ctx := context.Background()
	data := []byte("0123456789")
	put(t, b, p+"r", data, storage.PutOptions{})
	cases := []struct {
		off, n int64
		want   string
	}{
		{0, -1, "0123456789"}, {0, 1, "0"}, {3, 4, "3456"}, {9, 1, "9"}, {9, -1, "9"}, {5, 100, "56789"}, {0, 0, ""},
	}
	for _, c := range cases {
		rc, info, err := b.Get(ctx, p+"r", storage.GetOptions{Range: &storage.Range{Offset: c.off, Length: c.n}})
		if err != nil {
			t.Fatalf("range %d+%d: %v", c.off, c.n, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != c.want || info.Size != int64(len(data)) {
			t.Errorf("range %d+%d: got %q (size %d, err %v), want %q (size 10)", c.off, c.n, got, info.Size, err, c.want)
		}
	}
	for _, off := range []int64{10, 11, 1 << 40} {
		_, _, err := b.Get(ctx, p+"r", storage.GetOptions{Range: &storage.Range{Offset: off, Length: -1}})
		wantErr(t, fmt.Sprintf("range from %d", off), err, storage.ErrInvalidRange)
	}
}

func testPrefixSiblings(t *testing.T, b storage.Backend, p string, _ options) {
	ctx := context.Background()
	put(t, b, p+"a", []byte("a"), storage.PutOptions{})
	put(t, b, p+"ab", []byte("ab"), storage.PutOptions{})
	put(t, b, p+"d/x", []byte("x"), storage.PutOptions{})
	put(t, b, p+"db/y", []byte("y"), storage.PutOptions{})
	if err := b.Delete(ctx, p+"a", storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := get(t, b, p+"ab"); string(got) != "ab" {
		t.Fatalf("deleting %q touched %q", p+"a", p+"ab")
	}
	if got := names(t, b, p+"d/"); !slices.Equal(got, []string{p + "d/x"}) {
		t.Fatalf("List(d/) = %q: a sibling level leaked in", got)
	}
}

// names lists prefix and returns the keys, sorted.
func names(t testing.TB, b storage.Backend, prefix string) []string {
	t.Helper()
	var out []string
	for info, err := range b.List(context.Background(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		if info.IsPrefix != strings.HasSuffix(info.Key, "/") {
			t.Errorf("List(%q): entry %q has IsPrefix=%v", prefix, info.Key, info.IsPrefix)
		}
		if !strings.HasPrefix(info.Key, prefix) {
			t.Errorf("List(%q): entry %q is not below it", prefix, info.Key)
		}
		out = append(out, info.Key)
	}
	slices.Sort(out)
	return out
}

func testListDirectChildren(t *testing.T, b storage.Backend, p string, _ options) {
	ctx := context.Background()
	for _, k := range []string{"c/one", "c/two.ttl", "c/sub/deep", "c/sub/deeper/x", "c/marked/", "c/marked/in", "c/", "other"} {
		put(t, b, p+k, []byte(k), storage.PutOptions{ContentType: "text/plain"})
	}
	want := []string{p + "c/marked/", p + "c/one", p + "c/sub/", p + "c/two.ttl"}
	if got := names(t, b, p+"c/"); !slices.Equal(got, want) {
		t.Fatalf("List(c/) = %q, want %q", got, want)
	}
	for info, err := range b.List(ctx, p+"c/") {
		if err != nil {
			t.Fatal(err)
		}
		if !info.IsPrefix && (info.Size != int64(len(strings.TrimPrefix(info.Key, p))) || info.ETag == "" || info.Modified.IsZero()) {
			t.Errorf("listed object %+v lacks size, ETag or time", info)
		}
	}
	if got := names(t, b, p+"c/marked/"); !slices.Equal(got, []string{p + "c/marked/in"}) {
		t.Fatalf("List(c/marked/) = %q: the marker must not list itself", got)
	}
	if got := names(t, b, p); !slices.Equal(got, []string{p + "c/", p + "other"}) {
		t.Fatalf("List(p) = %q", got)
	}
}

func testListManyChildren(t *testing.T, b storage.Backend, p string, _ options) {
	const n = 10000
	ctx := context.Background()
	var failed atomic.Int64
	parallel(32, n, func(i int) {
		if _, err := b.Put(ctx, fmt.Sprintf("%sbig/child-%05d", p, i), strings.NewReader("x"), storage.PutOptions{}); err != nil {
			failed.Add(1)
		}
	})
	if failed.Load() > 0 {
		t.Fatalf("%d puts failed", failed.Load())
	}
	seen := make(map[string]bool, n)
	for info, err := range b.List(ctx, p+"big/") {
		if err != nil {
			t.Fatal(err)
		}
		if seen[info.Key] {
			t.Fatalf("%q listed twice", info.Key)
		}
		seen[info.Key] = true
	}
	if len(seen) != n {
		t.Fatalf("listed %d children, want %d", len(seen), n)
	}
}

func testListStopEarly(t *testing.T, b storage.Backend, p string, _ options) {
	for i := range 5 {
		put(t, b, fmt.Sprintf("%sk%d", p, i), []byte("x"), storage.PutOptions{})
	}
	before := runtime.NumGoroutine()
	for range 20 {
		for _, err := range b.List(context.Background(), p) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	// A leaked goroutine per stopped listing would show as 20 more.
	if after := runtime.NumGoroutine(); after > before+10 {
		t.Fatalf("goroutines grew from %d to %d after stopping listings early", before, after)
	}
}

func testLevelsVanish(t *testing.T, b storage.Backend, p string, _ options) {
	ctx := context.Background()
	put(t, b, p+"g/h/i", []byte("x"), storage.PutOptions{})
	if err := b.Delete(ctx, p+"g/h/i", storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := names(t, b, p); len(got) != 0 {
		t.Fatalf("after deleting the only key below it, List(p) = %q", got)
	}
	// And the level can be written again.
	put(t, b, p+"g/h/j", []byte("y"), storage.PutOptions{})
	// A key and a level of the same name are not needed by Kluis, but the
	// marker of a level and its children live together.
	put(t, b, p+"g/", nil, storage.PutOptions{})
	if err := b.Delete(ctx, p+"g/", storage.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := get(t, b, p+"g/h/j"); string(got) != "y" {
		t.Fatalf("deleting a level's marker touched its children")
	}
}

func testConditions(t *testing.T, b storage.Backend, p string, _ options) {
	ctx := context.Background()
	key := p + "cond"
	_, err := b.Put(ctx, key, strings.NewReader("x"), storage.PutOptions{IfMatch: "nope"})
	wantErr(t, "If-Match on a missing object", err, storage.ErrPreconditionFailed)
	first, err := b.Put(ctx, key, strings.NewReader("1"), storage.PutOptions{IfNoneMatch: true})
	if err != nil {
		t.Fatalf("If-None-Match on a missing object: %v", err)
	}
	_, err = b.Put(ctx, key, strings.NewReader("2"), storage.PutOptions{IfNoneMatch: true})
	wantErr(t, "If-None-Match on an existing object", err, storage.ErrPreconditionFailed)
	_, err = b.Put(ctx, key, strings.NewReader("2"), storage.PutOptions{IfMatch: first.ETag + "x"})
	wantErr(t, "If-Match with a wrong tag", err, storage.ErrPreconditionFailed)
	second, err := b.Put(ctx, key, strings.NewReader("2"), storage.PutOptions{IfMatch: first.ETag})
	if err != nil {
		t.Fatalf("If-Match with the right tag: %v", err)
	}
	_, err = b.Put(ctx, key, strings.NewReader("3"), storage.PutOptions{IfMatch: first.ETag})
	wantErr(t, "If-Match with a stale tag", err, storage.ErrPreconditionFailed)
	err = b.Delete(ctx, key, storage.DeleteOptions{IfMatch: first.ETag})
	wantErr(t, "Delete with a stale tag", err, storage.ErrPreconditionFailed)
	if got, _ := get(t, b, key); string(got) != "2" {
		t.Fatalf("content %q after failed conditions, want 2", got)
	}
	if err := b.Delete(ctx, key, storage.DeleteOptions{IfMatch: second.ETag}); err != nil {
		t.Fatalf("Delete with the right tag: %v", err)
	}
	_, err = b.Stat(ctx, key)
	wantErr(t, "Stat after delete", err, storage.ErrNotFound)
}

func testIfNoneMatchRace(t *testing.T, b storage.Backend, p string, _ options) {
	const n = 32
	var wins, lost atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := b.Put(context.Background(), p+"race", strings.NewReader(strconv.Itoa(i)), storage.PutOptions{IfNoneMatch: true})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, storage.ErrPreconditionFailed):
				lost.Add(1)
			default:
				t.Errorf("racing put: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || lost.Load() != n-1 {
		t.Fatalf("%d writers won and %d lost; want exactly 1 winner", wins.Load(), lost.Load())
	}
}

func testReadModifyWriteRace(t *testing.T, b storage.Backend, p string, _ options) {
	const n = 32
	key := p + "counter"
	put(t, b, key, []byte("0"), storage.PutOptions{ContentType: "text/plain"})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for attempt := 0; ; attempt++ {
				if attempt > 10*n {
					t.Errorf("gave up after %d attempts", attempt)
					return
				}
				rc, info, err := b.Get(context.Background(), key, storage.GetOptions{})
				if err != nil {
					t.Errorf("get: %v", err)
					return
				}
				data, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				v, err := strconv.Atoi(string(data))
				if err != nil {
					t.Errorf("counter %q: %v", data, err)
					return
				}
				_, err = b.Put(context.Background(), key, strings.NewReader(strconv.Itoa(v+1)), storage.PutOptions{ContentType: "text/plain", IfMatch: info.ETag})
				if err == nil {
					return
				}
				if !errors.Is(err, storage.ErrPreconditionFailed) {
					t.Errorf("put: %v", err)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if got, _ := get(t, b, key); string(got) != strconv.Itoa(n) {
		t.Fatalf("counter is %s after %d increments: an update was lost", got, n)
	}
}

// failingReader yields n bytes, then fails.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	for i := range k {
		p[i] = 'z'
	}
	f.n -= k
	return k, nil
}

func testFailedPutKeepsOld(t *testing.T, b storage.Backend, p string, _ options) {
	ctx := context.Background()
	put(t, b, p+"keep", []byte("old"), storage.PutOptions{})
	_, err := b.Put(ctx, p+"keep", &failingReader{n: 100 << 10, err: errors.New("client went away")}, storage.PutOptions{})
	if err == nil {
		t.Fatal("a Put whose body failed succeeded")
	}
	if got, _ := get(t, b, p+"keep"); string(got) != "old" {
		t.Fatalf("a failed Put changed the object to %d bytes", len(got))
	}
	_, err = b.Put(ctx, p+"new", &failingReader{n: 10, err: errors.New("boom")}, storage.PutOptions{})
	if err == nil {
		t.Fatal("a Put whose body failed succeeded")
	}
	_, err = b.Stat(ctx, p+"new")
	wantErr(t, "Stat after a failed first Put", err, storage.ErrNotFound)
}

// cancelReader cancels its context after n bytes.
type cancelReader struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	k := min(len(p), max(c.n, 1))
	for i := range k {
		p[i] = 'c'
	}
	c.n -= k
	return k, nil
}

func testContextCancellation(t *testing.T, b storage.Backend, p string, _ options) {
	put(t, b, p+"obj", []byte("old"), storage.PutOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := b.Get(ctx, p+"obj", storage.GetOptions{}); err == nil {
		t.Error("Get with a cancelled context succeeded")
	}
	if _, err := b.Stat(ctx, p+"obj"); err == nil {
		t.Error("Stat with a cancelled context succeeded")
	}
	if err := b.Delete(ctx, p+"obj", storage.DeleteOptions{}); err == nil {
		t.Error("Delete with a cancelled context succeeded")
	}
	var listErr error
	for _, err := range b.List(ctx, p) {
		if err != nil {
			listErr = err
			break
		}
	}
	if listErr == nil {
		t.Error("List with a cancelled context yielded no error")
	}
	// Cancelled in the middle of the body: nothing changes.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	if _, err := b.Put(ctx, p+"obj", &cancelReader{n: 256 << 10, cancel: cancel}, storage.PutOptions{}); err == nil {
		t.Error("Put cancelled mid-body succeeded")
	}
	if got, _ := get(t, b, p+"obj"); string(got) != "old" {
		t.Fatalf("a cancelled Put changed the object to %d bytes", len(got))
	}
}

// patternReader yields n bytes of a repeating, position-dependent pattern
// without holding them.
type patternReader struct{ off, n int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n-r.off)
	for i := range k {
		o := r.off + i
		p[i] = byte(o ^ o>>8 ^ o>>16)
	}
	r.off += k
	return int(k), nil
}

// heapSampler records the peak of the live heap while it runs.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
}

func sampleHeap() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > s.peak.Load() {
			s.peak.Store(v)
		}
	}
	read()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				read()
				return
			case <-tick.C:
				read()
			}
		}
	}()
	return s
}

func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

func testStreamLarge(t *testing.T, b storage.Backend, p string, o options) {
	if testing.Short() {
		t.Skip("the 64 MiB stream is skipped with -short")
	}
	const size = 64 << 20
	const limit = size / 2
	ctx := context.Background()
	want := sha256.New()
	if _, err := io.Copy(want, &patternReader{n: size}); err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	base := sampleHeap()
	baseline := base.Stop()
	s := sampleHeap()
	info, err := b.Put(ctx, p+"large", &patternReader{n: size}, storage.PutOptions{ContentType: "application/octet-stream"})
	peak := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size {
		t.Fatalf("stored %d bytes, want %d", info.Size, size)
	}
	if grew := int64(peak) - int64(baseline); grew > limit && !o.heldInMemory {
		t.Errorf("Put of %d MiB grew the heap by %d MiB: it does not stream", size>>20, grew>>20)
	}

	runtime.GC()
	baseline = sampleHeap().Stop()
	s = sampleHeap()
	rc, _, err := b.Get(ctx, p+"large", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, rc)
	rc.Close()
	peak = s.Stop()
	if err != nil || n != size {
		t.Fatalf("read %d bytes, err %v", n, err)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("64 MiB content changed in the round trip")
	}
	if grew := int64(peak) - int64(baseline); grew > limit {
		t.Errorf("Get of %d MiB grew the heap by %d MiB: it does not stream", size>>20, grew>>20)
	}
}
