package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/weconomics/kluis/storage"
)

// S3-specific tests, beside the conformance suite.

func TestConfigValidate(t *testing.T) {
	good := Config{Endpoint: "127.0.0.1:9000", Bucket: "b", AccessKey: "a", SecretKey: "s"}
	if err := good.validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"no endpoint", func(c *Config) { c.Endpoint = "" }},
		{"scheme", func(c *Config) { c.Endpoint = "http://127.0.0.1:9000" }},
		{"path", func(c *Config) { c.Endpoint = "127.0.0.1:9000/x" }},
		{"no bucket", func(c *Config) { c.Bucket = "" }},
		{"prefix without slash", func(c *Config) { c.Prefix = "kluis" }},
		{"prefix with leading slash", func(c *Config) { c.Prefix = "/kluis/" }},
		{"prefix too long", func(c *Config) { c.Prefix = strings.Repeat("p", 30) + "/" }},
		{"part size too small", func(c *Config) { c.PartSize = 1 << 20 }},
		{"part size too large", func(c *Config) { c.PartSize = 6 << 30 }},
		{"secret without access key", func(c *Config) { c.AccessKey = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			if err := c.validate(); err == nil {
				t.Fatalf("config %v accepted", c)
			}
			if _, err := New(context.Background(), c); err == nil {
				t.Fatalf("New accepted config %v", c)
			}
		})
	}
}

func TestConfigHidesSecret(t *testing.T) {
	c := Config{Endpoint: "h:1", Bucket: "b", AccessKey: "visible", SecretKey: "s3cr3t-value"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprint(&c)} {
		if strings.Contains(s, "s3cr3t-value") {
			t.Fatalf("the secret key shows in %q", s)
		}
	}
}

// TestUnreachable needs no server: a refused port and one that never
// answers both give storage.ErrUnavailable, within the context's deadline.
func TestUnreachable(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var conns sync.WaitGroup
	conns.Add(1)
	go func() {
		defer conns.Done()
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accepted, never answered
		}
	}()
	defer conns.Wait()
	defer silent.Close()

	for name, addr := range map[string]string{"refused": refusedAddr, "silent": silent.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := New(ctx, Config{Endpoint: addr, Bucket: "kluis-test", PathStyle: true, AccessKey: "a", SecretKey: "secret-never-shown"})
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("New: got %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("New took %v with a 300ms context", d)
			}
			if strings.Contains(err.Error(), "secret-never-shown") {
				t.Errorf("the secret key shows in %q", err)
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{minio.ErrorResponse{Code: minio.NoSuchKey, StatusCode: 404}, storage.ErrNotFound},
		{minio.ErrorResponse{Code: "404 Not Found", StatusCode: 404}, storage.ErrNotFound},
		{minio.ErrorResponse{Code: minio.NoSuchBucket, StatusCode: 404}, storage.ErrUnavailable},
		{minio.ErrorResponse{Code: minio.PreconditionFailed, StatusCode: 412}, storage.ErrPreconditionFailed},
		{minio.ErrorResponse{Code: minio.InvalidRange, StatusCode: 416}, storage.ErrInvalidRange},
		{minio.ErrorResponse{Code: "XMinioParentIsObject", StatusCode: 400}, storage.ErrConflict},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, storage.ErrUnavailable},
		{minio.ErrorResponse{Code: minio.InternalError, StatusCode: 500}, storage.ErrUnavailable},
		{&url.Error{Op: "Get", URL: "http://x", Err: errors.New("connection refused")}, storage.ErrUnavailable},
		{io.ErrUnexpectedEOF, storage.ErrUnavailable},
		{context.DeadlineExceeded, storage.ErrUnavailable},
		{context.Canceled, context.Canceled},
		{minio.ErrorResponse{Code: minio.AccessDenied, StatusCode: 403}, nil},
	} {
		got := mapErr("get", "k", tc.err)
		if tc.want == nil {
			for _, s := range []error{storage.ErrNotFound, storage.ErrUnavailable, storage.ErrPreconditionFailed} {
				if errors.Is(got, s) {
					t.Errorf("mapErr(%v) = %v, which is %v", tc.err, got, s)
				}
			}
		} else if !errors.Is(got, tc.want) {
			t.Errorf("mapErr(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("mapErr(%v) = %v lost the original error", tc.err, got)
		}
	}
	if errors.Is(mapErr("get", "k", context.Canceled), storage.ErrUnavailable) {
		t.Error("a cancelled context is not an unavailable backend")
	}
}

func TestContentRangeTotal(t *testing.T) {
	for cr, want := range map[string]int64{"bytes 0-9/10": 10, "bytes 5-5/1099511627776": 1 << 40, "bytes 0-0/*": -1, "": -1, "bytes 1-2/x": -1} {
		got, ok := contentRangeTotal(cr)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("contentRangeTotal(%q) = %d, want %d", cr, got, want)
		}
	}
}

func TestFill(t *testing.T) {
	for _, n := range []int{0, 1, firstBuffer, firstBuffer + 1, 5 * firstBuffer, 100 * firstBuffer} {
		data := bytes.Repeat([]byte("abc"), n/3+1)[:n]
		const limit = 64 * firstBuffer
		buf, more, err := fill(bytes.NewReader(data), make([]byte, 0, firstBuffer), limit)
		if err != nil {
			t.Fatal(err)
		}
		if wantMore := n >= limit; more != wantMore || !bytes.Equal(buf, data[:min(n, limit)]) || cap(buf) > limit {
			t.Errorf("fill of %d bytes: got %d bytes (cap %d), more %v", n, len(buf), cap(buf), more)
		}
	}
}

func TestPreconditionFailedKeepsS3Error(t *testing.T) {
	b := newTestBackend(t).(*Backend)
	ctx := context.Background()
	if _, err := b.Put(ctx, "k", strings.NewReader("1"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := b.Put(ctx, "k", strings.NewReader("2"), storage.PutOptions{IfMatch: "0123456789abcdef0123456789abcdef"})
	if !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Fatalf("got %v, want ErrPreconditionFailed", err)
	}
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) || resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("the 412 from the server is not in the chain: %v (%+v)", err, resp)
	}
}

func TestIfNoneMatchRace16(t *testing.T) {
	b := newTestBackend(t)
	const n = 16
	var wins, lost atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, err := b.Put(context.Background(), "race", strings.NewReader(fmt.Sprint(i)), storage.PutOptions{IfNoneMatch: true})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, storage.ErrPreconditionFailed):
				lost.Add(1)
			default:
				t.Errorf("racing put: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || lost.Load() != n-1 {
		t.Fatalf("%d won, %d lost: want exactly one winner", wins.Load(), lost.Load())
	}
}

// multipartBackend is a test backend with the smallest part size S3
// allows, so that multipart uploads stay small.
func multipartBackend(t *testing.T) *Backend {
	c := testConfig(t)
	c.PartSize = minPartSize
	return newBackendWith(t, c)
}

func TestMultipartPut(t *testing.T) {
	b := multipartBackend(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789abcdef"), (2*minPartSize+12345)/16)
	meta := map[string]string{"kind": "large"}
	info, err := b.Put(ctx, "big", bytes.NewReader(data), storage.PutOptions{ContentType: "text/x-big", Metadata: meta, IfNoneMatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) || !strings.HasSuffix(info.ETag, "-3") || info.Modified.IsZero() {
		t.Fatalf("Put info %+v: want size %d and a 3-part ETag", info, len(data))
	}
	rc, gi, err := b.Get(ctx, "big", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (err %v), want the %d put", len(got), err, len(data))
	}
	if gi.ETag != info.ETag || gi.ContentType != "text/x-big" || gi.Metadata["kind"] != "large" || !gi.Modified.Equal(info.Modified) {
		t.Fatalf("Get info %+v differs from Put's %+v", gi, info)
	}
	// A failing If-None-Match is refused when the upload starts.
	_, err = b.Put(ctx, "big", bytes.NewReader(data), storage.PutOptions{IfNoneMatch: true})
	if !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Fatalf("If-None-Match on an existing object: %v", err)
	}
	// Exactly one part.
	one := data[:minPartSize]
	info, err = b.Put(ctx, "big", bytes.NewReader(one), storage.PutOptions{IfMatch: info.ETag})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != minPartSize {
		t.Fatalf("size %d, want %d", info.Size, minPartSize)
	}
	assertNoUploads(t, b)
}

// hookReader yields data and calls hook once, when half of it has been read.
type hookReader struct {
	data []byte
	off  int
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.off >= len(h.data) {
		return 0, io.EOF
	}
	if h.hook != nil && h.off >= len(h.data)/2 {
		h.hook()
		h.hook = nil
	}
	n := copy(p, h.data[h.off:])
	h.off += n
	return n, nil
}

// TestMultipartConditionAtCompletion changes the object while a conditional
// multipart upload is under way: the condition held when the upload started
// but not when it completes, and the upload must fail. minio-go's own
// multipart path does not send the condition at completion.
func TestMultipartConditionAtCompletion(t *testing.T) {
	b := multipartBackend(t)
	ctx := context.Background()
	first, err := b.Put(ctx, "obj", strings.NewReader("first"), storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{'m'}, 2*minPartSize+1)
	for _, tc := range []struct {
		name string
		o    storage.PutOptions
		key  string
	}{
		{"IfMatch", storage.PutOptions{IfMatch: first.ETag}, "obj"},
		{"IfNoneMatch", storage.PutOptions{IfNoneMatch: true}, "fresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hookErr error
			r := &hookReader{data: data, hook: func() {
				_, hookErr = b.Put(ctx, tc.key, strings.NewReader("meanwhile"), storage.PutOptions{})
			}}
			_, err := b.Put(ctx, tc.key, r, tc.o)
			if hookErr != nil {
				t.Fatal(hookErr)
			}
			if !errors.Is(err, storage.ErrPreconditionFailed) {
				t.Fatalf("got %v, want ErrPreconditionFailed", err)
			}
			rc, _, err := b.Get(ctx, tc.key, storage.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != "meanwhile" {
				t.Fatalf("the object is %d bytes, want the concurrent write", len(got))
			}
		})
	}
	assertNoUploads(t, b)
}

func TestMultipartRace(t *testing.T) {
	b := multipartBackend(t)
	const n = 4
	data := bytes.Repeat([]byte{'r'}, minPartSize+1)
	var wins, lost atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			_, err := b.Put(context.Background(), "race", bytes.NewReader(data), storage.PutOptions{IfNoneMatch: true})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, storage.ErrPreconditionFailed):
				lost.Add(1)
			default:
				t.Errorf("racing put: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || lost.Load() != n-1 {
		t.Fatalf("%d won, %d lost: want exactly one winner", wins.Load(), lost.Load())
	}
	assertNoUploads(t, b)
}

// assertNoUploads checks that failed multipart uploads were aborted.
func assertNoUploads(t *testing.T, b *Backend) {
	t.Helper()
	for up := range b.client.ListIncompleteUploads(context.Background(), b.bucket, b.prefix, true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		t.Errorf("upload of %s left behind", up.Key)
	}
}

func TestBucketCreated(t *testing.T) {
	c := testConfig(t)
	c.Bucket = "kluistest-" + randomHex(t, 8)
	b, err := New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.client.RemoveBucket(context.Background(), c.Bucket); err != nil {
			t.Errorf("removing bucket %s: %v", c.Bucket, err)
		}
	})
	ok, err := b.client.BucketExists(context.Background(), c.Bucket)
	if err != nil || !ok {
		t.Fatalf("bucket %s not created: %v", c.Bucket, err)
	}
	if err := b.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	// A second New finds it.
	if _, err := New(context.Background(), c); err != nil {
		t.Fatalf("New on an existing bucket: %v", err)
	}
}

func TestPrefixIsolation(t *testing.T) {
	one, two := newTestBackend(t), newTestBackend(t)
	ctx := context.Background()
	for _, b := range []storage.Backend{one, two} {
		if _, err := b.Put(ctx, "same/key", strings.NewReader(b.(*Backend).prefix), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := one.Put(ctx, "only-one", strings.NewReader("x"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []storage.Backend{one, two} {
		rc, _, err := b.Get(ctx, "same/key", storage.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != b.(*Backend).prefix {
			t.Errorf("backend %s read %q", b.(*Backend).prefix, got)
		}
	}
	if _, err := two.Stat(ctx, "only-one"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the other prefix's object is visible: %v", err)
	}
	var keys []string
	for info, err := range two.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	if strings.Join(keys, ",") != "same/" {
		t.Errorf("List(\"\") of the second backend = %q, want only same/", keys)
	}
}

// TestListOrderAcrossPages lists objects and levels that interleave, with
// pages of 7 entries: minio-go yields a page's objects before its levels,
// and List must still give byte order. (No object shares a level's name:
// MinIO hides "a/..." from listings while an object "a" exists.)
func TestListOrderAcrossPages(t *testing.T) {
	b := newTestBackend(t).(*Backend)
	b.maxKeys = 7
	ctx := context.Background()
	var want []string
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		obj, level := fmt.Sprintf("d/k%02da", i), fmt.Sprintf("d/k%02db/", i)
		want = append(want, obj, level)
		wg.Go(func() {
			keys := []string{obj, level + "child"}
			if i%2 == 0 {
				keys = append(keys, level) // a marker, which is not listed with its level
			}
			for _, k := range keys {
				if _, err := b.Put(ctx, k, strings.NewReader("x"), storage.PutOptions{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var got []string
	for info, err := range b.List(ctx, "d/") {
		if err != nil {
			t.Fatal(err)
		}
		if info.IsPrefix != strings.HasSuffix(info.Key, "/") {
			t.Errorf("%q: IsPrefix %v", info.Key, info.IsPrefix)
		}
		got = append(got, info.Key)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("List(d/) =\n%q\nwant\n%q", got, want)
	}
	// Stopping inside a page.
	var first []string
	for info, err := range b.List(ctx, "d/") {
		if err != nil {
			t.Fatal(err)
		}
		if first = append(first, info.Key); len(first) == 10 {
			break
		}
	}
	if strings.Join(first, " ") != strings.Join(want[:10], " ") {
		t.Fatalf("first 10 = %q", first)
	}
}

func TestMetadataNamesOfHeaders(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	meta := map[string]string{"content-type": "not/the-type", "x-amz-acl": "public-read", "cache-control": "no", "expires": "never", "x-minio-x": "1", "x-amz-meta-nested": "2"}
	if _, err := b.Put(ctx, "m", strings.NewReader("x"), storage.PutOptions{ContentType: "text/plain", Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	info, err := b.Stat(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if info.ContentType != "text/plain" {
		t.Errorf("content type %q, want text/plain", info.ContentType)
	}
	if fmt.Sprint(info.Metadata) != fmt.Sprint(meta) {
		t.Errorf("metadata %v, want %v", info.Metadata, meta)
	}
}

func TestGetRangesOfEmptyObject(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	if _, err := b.Put(ctx, "empty", bytes.NewReader(nil), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []storage.Range{{Offset: 0, Length: -1}, {Offset: 0, Length: 0}, {Offset: 0, Length: 5}} {
		rc, info, err := b.Get(ctx, "empty", storage.GetOptions{Range: &r})
		if err != nil {
			t.Fatalf("range %+v: %v", r, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || len(got) != 0 || info.Size != 0 || info.ETag == "" {
			t.Fatalf("range %+v: %q %+v %v", r, got, info, err)
		}
	}
	for _, r := range []storage.Range{{Offset: 1, Length: -1}, {Offset: 1, Length: 0}, {Offset: -1, Length: 1}} {
		if _, _, err := b.Get(ctx, "empty", storage.GetOptions{Range: &r}); !errors.Is(err, storage.ErrInvalidRange) {
			t.Errorf("range %+v: got %v, want ErrInvalidRange", r, err)
		}
	}
	if _, _, err := b.Get(ctx, "missing", storage.GetOptions{Range: &storage.Range{Length: 0}}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("empty range of a missing object: %v", err)
	}
}

// TestGetIsOneRequest guards the cost of Get: one GET, no HEAD, when no
// range or a plain range is asked.
func TestGetIsOneRequest(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	if _, err := b.Put(ctx, "one", strings.NewReader("0123456789"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*storage.Range{nil, {Offset: 2, Length: 3}, {Offset: 4, Length: -1}} {
		var requests atomic.Int64
		tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { requests.Add(1) }})
		rc, info, err := b.Get(tctx, "one", storage.GetOptions{Range: r})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, rc)
		rc.Close()
		if requests.Load() != 1 || info.Size != 10 {
			t.Errorf("range %v: %d requests, size %d; want 1 request, size 10", r, requests.Load(), info.Size)
		}
	}
}

// TestGetBodyError cuts the body of an answer in the middle, through a
// proxy: the read error is storage.ErrUnavailable.
func TestGetBodyError(t *testing.T) {
	c := testConfig(t)
	if c.TLS {
		t.Skip("the cutting proxy speaks plain HTTP")
	}
	b := newBackendWith(t, c)
	ctx := context.Background()
	data := bytes.Repeat([]byte{'b'}, 256<<10)
	if _, err := b.Put(ctx, "cut", bytes.NewReader(data), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse("http://" + c.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodGet && strings.HasSuffix(resp.Request.URL.Path, "/cut") {
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(io.LimitReader(resp.Body, 1000), errReader{}), resp.Body}
		}
		return nil
	}
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	proxy.FlushInterval = -1 // the headers and the first bytes reach the client before the cut
	// The proxy keeps the Host header, which the signature covers.
	srv := httptest.NewServer(proxy)
	defer srv.Close()

	c.Endpoint = strings.TrimPrefix(srv.URL, "http://")
	viaProxy, err := New(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	rc, _, err := viaProxy.Get(ctx, "cut", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("reading a cut body: got %v, want ErrUnavailable", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("cut") }

func TestPutSizedReader(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	r := strings.NewReader("skip-keep")
	if _, err := r.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	info, err := b.Put(ctx, "sized", r, storage.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 4 || r.Len() != 0 {
		t.Fatalf("size %d, %d bytes left unread; want 4 and 0", info.Size, r.Len())
	}
	rc, _, err := b.Get(ctx, "sized", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "keep" {
		t.Fatalf("stored %q, want the unread part %q", got, "keep")
	}
}

// TestCleanup checks the test helper itself: objects below "a/", which
// MinIO does not list while "a" exists, are removed too.
func TestCleanup(t *testing.T) {
	b := newTestBackend(t).(*Backend)
	ctx := context.Background()
	for _, k := range []string{"a", "a/", "a/b", "a/b/c"} {
		if _, err := b.Put(ctx, k, strings.NewReader("x"), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	removePrefix(t, b)
	for _, k := range []string{"a", "a/", "a/b", "a/b/c"} {
		if _, err := b.Stat(ctx, k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat(%q) after cleanup: %v", k, err)
		}
	}
}

// countingProxy forwards TCP connections to target and counts them.
type countingProxy struct {
	ln    net.Listener
	conns atomic.Int64
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	var (
		mu   sync.Mutex
		open []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range open {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			open = append(open, c, up)
			mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

// TestConnectionsKept checks that the backend keeps its connections to
// the bucket for the next requests when many are asked at once: five
// rounds of 64 concurrent requests open at most 64 connections in all,
// and Connections counts them. minio-go's default transport keeps 16 idle
// connections per host; at 32 clients each asking up to three HEADs at
// once, Kluis opened and closed about one connection for every few
// requests (issue 18's benchmark: 800 sockets in TIME_WAIT in 12 s), a
// TCP (and on a real bucket a TLS) handshake each, and ephemeral ports
// used up at higher rates.
func TestConnectionsKept(t *testing.T) {
	cfg := testConfig(t)
	if cfg.TLS {
		t.Skip("the counting proxy forwards plain TCP; this S3 is reached over TLS")
	}
	proxy := newCountingProxy(t, cfg.Endpoint)
	cfg.Endpoint = proxy.ln.Addr().String()
	ctx := context.Background()
	b, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const rounds, n = 5, 64
	for range rounds {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := b.Stat(ctx, fmt.Sprintf("kept/missing-%d", i))
				if !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("Stat of a missing object: %v", err)
				}
			})
		}
		wg.Wait()
	}
	// At most n requests were under way at once (and one more when the
	// backend checked its bucket): a pool that keeps every connection
	// never needs more.
	if opened := proxy.conns.Load(); opened > n+1 {
		t.Errorf("%d rounds of %d concurrent requests opened %d connections, want at most %d", rounds, n, opened, n+1)
	}
	if got, opened := b.Connections(), int(proxy.conns.Load()); got != opened {
		t.Errorf("Connections() = %d, with %d open (none closed)", got, opened)
	}
}
