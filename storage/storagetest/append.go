package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/weconomics/kluis/storage"
)

// appendTests are run for a backend that is a storage.Appender.
var appendTests = []struct {
	name string
	fn   func(t *testing.T, b storage.Backend, a storage.Appender, p string)
}{
	{"AppendReads", testAppendReads},
	{"AppendConditions", testAppendConditions},
	{"AppendRanges", testAppendRanges},
	{"AppendFull", testAppendFull},
	{"AppendRace", testAppendRace},
	{"AppendThenPut", testAppendThenPut},
}

func appendOK(t testing.TB, a storage.Appender, key string, data []byte, o storage.AppendOptions) storage.Info {
	t.Helper()
	info, err := a.Append(context.Background(), key, data, o)
	if err != nil {
		t.Fatalf("Append(%q): %v", key, err)
	}
	return info
}

// testAppendReads: every way of reading an object sees what was appended,
// with the record's ETag and metadata and the first content type; a large
// first body (read in pieces) and an empty one alike.
func testAppendReads(t *testing.T, b storage.Backend, a storage.Appender, p string) {
	for _, first := range [][]byte{nil, []byte("first\n"), bytes.Repeat([]byte("0123456789abcdef"), 10_000)} {
		key := fmt.Sprintf("%sdoc-%d", p, len(first))
		info := put(t, b, key, first, storage.PutOptions{ContentType: "text/turtle", Metadata: map[string]string{"rdf-triples": "1"}})
		want := append([]byte(nil), first...)
		for i := range 30 {
			line := []byte(fmt.Sprintf("<#s%d> <#p> <#o> .\n", i))
			next := appendOK(t, a, key, line, storage.AppendOptions{IfMatch: info.ETag, Metadata: map[string]string{"rdf-triples": fmt.Sprint(i + 2)}})
			want = append(want, line...)
			if next.ETag == "" || next.ETag == info.ETag || next.Size != int64(len(want)) ||
				next.ContentType != "text/turtle" || next.Metadata["rdf-triples"] != fmt.Sprint(i+2) {
				t.Fatalf("Append %d returned %+v (ETag before %q, size %d)", i, next, info.ETag, len(want))
			}
			info = next
		}
		got, gi := get(t, b, key)
		if !bytes.Equal(got, want) {
			t.Fatalf("Get: %d bytes, want %d", len(got), len(want))
		}
		st, err := b.Stat(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		for _, seen := range []storage.Info{gi, st} {
			if seen.ETag != info.ETag || seen.Size != info.Size || seen.ContentType != "text/turtle" ||
				seen.Metadata["rdf-triples"] != "31" || !seen.Modified.Equal(info.Modified) {
				t.Fatalf("read %+v, want %+v", seen, info)
			}
		}
		var listed bool
		for li, err := range b.List(context.Background(), p) {
			if err != nil {
				t.Fatal(err)
			}
			if li.Key == key {
				listed = true
				if li.ETag != info.ETag || li.Size != info.Size {
					t.Fatalf("listed %+v, want ETag %q size %d", li, info.ETag, info.Size)
				}
			}
		}
		if !listed {
			t.Fatalf("%s not listed", key)
		}
	}
}

func testAppendConditions(t *testing.T, b storage.Backend, a storage.Appender, p string) {
	ctx := context.Background()
	key := p + "doc"
	_, err := a.Append(ctx, key, []byte("x"), storage.AppendOptions{IfMatch: "nope"})
	wantErr(t, "Append to a missing object", err, storage.ErrPreconditionFailed)
	info := put(t, b, key, []byte("a"), storage.PutOptions{})
	_, err = a.Append(ctx, key, []byte("x"), storage.AppendOptions{IfMatch: info.ETag + "x"})
	wantErr(t, "Append with another ETag", err, storage.ErrPreconditionFailed)
	_, err = a.Append(ctx, key, []byte("x"), storage.AppendOptions{})
	wantErr(t, "Append without If-Match", err, storage.ErrPreconditionFailed)
	_, err = a.Append(ctx, key, []byte("x"), storage.AppendOptions{IfMatch: info.ETag, Metadata: map[string]string{"Bad Name": "v"}})
	wantErr(t, "Append with bad metadata", err, storage.ErrInvalidMetadata)
	_, err = a.Append(ctx, "../x", []byte("x"), storage.AppendOptions{IfMatch: info.ETag})
	wantErr(t, "Append to a bad key", err, storage.ErrInvalidKey)
	next := appendOK(t, a, key, []byte("b"), storage.AppendOptions{IfMatch: info.ETag})
	_, err = a.Append(ctx, key, []byte("c"), storage.AppendOptions{IfMatch: info.ETag})
	wantErr(t, "Append with the ETag before the last append", err, storage.ErrPreconditionFailed)
	if _, err := b.Put(ctx, key, strings.NewReader("z"), storage.PutOptions{IfMatch: info.ETag}); !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Fatalf("Put with the ETag before an append: %v", err)
	}
	if err := b.Delete(ctx, key, storage.DeleteOptions{IfMatch: next.ETag}); err != nil {
		t.Fatalf("Delete with the appended ETag: %v", err)
	}
}

// testAppendRanges reads every range across the first body and the
// appended parts.
func testAppendRanges(t *testing.T, b storage.Backend, a storage.Appender, p string) {
	key := p + "doc"
	want := []byte("0123456789")
	info := put(t, b, key, want, storage.PutOptions{})
	for _, part := range []string{"abc", "", "defgh", "ijklmnopq"} {
		info = appendOK(t, a, key, []byte(part), storage.AppendOptions{IfMatch: info.ETag})
		want = append(want, part...)
	}
	for off := int64(0); off < int64(len(want)); off++ {
		for _, n := range []int64{-1, 0, 1, 4, 11, 100} {
			rc, _, err := b.Get(context.Background(), key, storage.GetOptions{Range: &storage.Range{Offset: off, Length: n}})
			if err != nil {
				t.Fatalf("range %d+%d: %v", off, n, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			end := int64(len(want))
			if n >= 0 && off+n < end {
				end = off + n
			}
			if !bytes.Equal(got, want[off:end]) {
				t.Fatalf("range %d+%d: %q, want %q", off, n, got, want[off:end])
			}
		}
	}
}

// testAppendFull: past storage.MaxAppended an Append is ErrAppendFull and
// changes nothing; a Put makes room again.
func testAppendFull(t *testing.T, b storage.Backend, a storage.Appender, p string) {
	key := p + "doc"
	info := put(t, b, key, []byte("start"), storage.PutOptions{})
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	var appended int64
	for {
		next, err := a.Append(context.Background(), key, chunk, storage.AppendOptions{IfMatch: info.ETag})
		if errors.Is(err, storage.ErrAppendFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		info, appended = next, appended+int64(len(chunk))
		if appended > storage.MaxAppended {
			t.Fatalf("appended %d bytes, more than MaxAppended", appended)
		}
	}
	if appended < storage.MaxAppended/2 {
		t.Fatalf("full after %d bytes", appended)
	}
	st, err := b.Stat(context.Background(), key)
	if err != nil || st.ETag != info.ETag || st.Size != 5+appended {
		t.Fatalf("after a refused Append: %+v, %v; want ETag %q size %d", st, err, info.ETag, 5+appended)
	}
	data, _ := get(t, b, key)
	info = put(t, b, key, data, storage.PutOptions{IfMatch: info.ETag})
	appendOK(t, a, key, []byte("!"), storage.AppendOptions{IfMatch: info.ETag})
	if got, _ := get(t, b, key); !bytes.Equal(got, append(data, '!')) {
		t.Fatal("the append after a Put whole is not read back")
	}
}

// testAppendRace: writers that each read, then append with If-Match,
// retrying when another came first, lose nothing and repeat nothing.
func testAppendRace(t *testing.T, b storage.Backend, a storage.Appender, p string) {
	const n = 32
	key := p + "log"
	put(t, b, key, nil, storage.PutOptions{})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for attempt := 0; attempt < 20*n; attempt++ {
				info, err := b.Stat(context.Background(), key)
				if err != nil {
					t.Errorf("stat: %v", err)
					return
				}
				_, err = a.Append(context.Background(), key, []byte(fmt.Sprintf("%d\n", i)), storage.AppendOptions{IfMatch: info.ETag})
				if err == nil {
					return
				}
				if !errors.Is(err, storage.ErrPreconditionFailed) {
					t.Errorf("append: %v", err)
					return
				}
			}
			t.Errorf("writer %d gave up", i)
		}()
	}
	close(start)
	wg.Wait()
	got, _ := get(t, b, key)
	seen := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(string(got), "\n"), "\n") {
		seen[l]++
	}
	for i := range n {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("line %d appears %d times in %q", i, seen[fmt.Sprint(i)], got)
		}
	}
}

// testAppendThenPut: a Put replaces an appended object whole.
func testAppendThenPut(t *testing.T, b storage.Backend, a storage.Appender, p string) {
	key := p + "doc"
	info := put(t, b, key, []byte("one"), storage.PutOptions{})
	info = appendOK(t, a, key, []byte(" two"), storage.AppendOptions{IfMatch: info.ETag})
	put(t, b, key, []byte("three"), storage.PutOptions{IfMatch: info.ETag})
	if got, info := get(t, b, key); string(got) != "three" || info.Size != 5 {
		t.Fatalf("after Put: %q, %+v", got, info)
	}
}
