package server

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/storage"
)

// resources serves stored objects with plain GET, HEAD, PUT and DELETE:
// the request path, unescaped and without its leading "/", is the storage
// key, and "/" is the root. It stands in until LDP handlers replace it.
type resources struct {
	store   storage.Backend
	baseURL *url.URL
}

func (h *resources) register(e *echo.Echo) {
	e.GET("/*", h.get)
	e.HEAD("/*", h.head)
	e.PUT("/*", h.put)
	e.DELETE("/*", h.delete)
}

// readOnly is the Allow list of the root and of the reserved probe paths.
func readOnly() *methodNotAllowedError {
	return &methodNotAllowedError{allow: []string{http.MethodGet, http.MethodHead}}
}

// target returns the storage key that a request names, "" for the root.
// Keys that break storage.ValidateKey (dot segments, empty segments,
// control characters, backslashes, whether sent plainly or escaped) are
// refused here, before any backend sees them.
func target(r *http.Request) (key string, err error) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("server: request target %q: %w", p, storage.ErrInvalidKey)
	}
	key = p[1:]
	if key == "" {
		return "", nil
	}
	if err := storage.ValidateKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// reserved reports whether key lies under the probes' prefix, which no
// resource may use.
func reserved(key string) bool {
	return strings.HasPrefix(key, probePrefix[1:])
}

// get streams an object, or a single byte range of it, or lists the root.
func (h *resources) get(c echo.Context) error {
	req := c.Request()
	key, err := target(req)
	if err != nil {
		return err
	}
	if key == "" {
		return h.listRoot(c)
	}
	if reserved(key) {
		return fmt.Errorf("server: get %s: %w", key, storage.ErrNotFound)
	}
	body, info, rng, err := h.open(req, key)
	if err != nil {
		return err
	}
	defer body.Close()

	hdr := c.Response().Header()
	setInfoHeaders(hdr, info)
	status, length := http.StatusOK, info.Size
	if rng != nil {
		offset, n, err := rng.Resolve(info.Size)
		if err != nil {
			return &rangeNotSatisfiableError{size: info.Size, err: err}
		}
		hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, offset+n-1, info.Size))
		status, length = http.StatusPartialContent, n
	}
	hdr.Set("Content-Length", strconv.FormatInt(length, 10))
	c.Response().WriteHeader(status)

	n, err := io.Copy(c.Response(), body)
	if err == nil && n != length {
		err = fmt.Errorf("%d of %d bytes: %w", n, length, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return fmt.Errorf("server: streaming %s: %w", key, err)
	}
	return nil
}

// open opens the object for get, with the range the request asks for, if
// any, and returns the range actually applied: nil for the whole object.
func (h *resources) open(req *http.Request, key string) (io.ReadCloser, storage.Info, *storage.Range, error) {
	ctx := req.Context()
	var opts storage.GetOptions
	if br, ok := parseRange(req.Header.Get("Range")); ok {
		if !br.isSuffix {
			opts.Range = br.storageRange()
		} else {
			info, err := h.store.Stat(ctx, key)
			if err != nil {
				return nil, storage.Info{}, nil, err
			}
			rng, ok := br.suffixRange(info.Size)
			if !ok && info.Size > 0 {
				return nil, storage.Info{}, nil, &rangeNotSatisfiableError{size: info.Size, err: storage.ErrInvalidRange}
			}
			opts.Range = rng
		}
	}
	if opts.Range == nil {
		body, info, err := h.store.Get(ctx, key, opts)
		return body, info, nil, err
	}

	body, info, err := h.store.Get(ctx, key, opts)
	switch {
	case errors.Is(err, storage.ErrInvalidRange):
		st, serr := h.store.Stat(ctx, key)
		if serr != nil {
			return nil, storage.Info{}, nil, serr
		}
		if st.Size > 0 {
			return nil, storage.Info{}, nil, &rangeNotSatisfiableError{size: st.Size, err: err}
		}
		// Ranges are honoured for non-empty objects only.
	case err != nil:
		return nil, storage.Info{}, nil, err
	case info.Size == 0:
		return body, info, nil, nil
	case ifRangeHolds(req.Header, info):
		return body, info, opts.Range, nil
	default:
		// If-Range failed (RFC 9110, section 13.1.5): the representation
		// changed, so send all of it.
		body.Close()
	}
	body, info, err = h.store.Get(ctx, key, storage.GetOptions{})
	return body, info, nil, err
}

// ifRangeHolds evaluates If-Range (RFC 9110, section 13.1.5) with a strong
// comparison. A date, which cannot be compared strongly here, never holds.
func ifRangeHolds(h http.Header, info storage.Info) bool {
	v := strings.TrimSpace(h.Get("If-Range"))
	if v == "" {
		return true
	}
	return strings.HasPrefix(v, `"`) && v == quoteETag(info.ETag)
}

// head answers like get, without the body and without ranges.
func (h *resources) head(c echo.Context) error {
	req := c.Request()
	key, err := target(req)
	if err != nil {
		return err
	}
	if key == "" {
		return h.listRoot(c)
	}
	if reserved(key) {
		return fmt.Errorf("server: head %s: %w", key, storage.ErrNotFound)
	}
	info, err := h.store.Stat(req.Context(), key)
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	setInfoHeaders(hdr, info)
	hdr.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	return c.NoContent(http.StatusOK)
}

// setInfoHeaders sets the representation headers of an object.
func setInfoHeaders(h http.Header, info storage.Info) {
	ct := info.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", quoteETag(info.ETag))
	if !info.Modified.IsZero() {
		h.Set("Last-Modified", info.Modified.UTC().Format(http.TimeFormat))
	}
	h.Set("Accept-Ranges", "bytes")
	// Pods hold what their users upload: never let a browser guess.
	h.Set("X-Content-Type-Options", "nosniff")
}

// listRoot answers GET and HEAD on "/" with the top level of keys, one a
// line. The first entry is fetched before the status is sent, so a
// backend that fails at once gets a proper status; a failure later cuts
// the response off.
func (h *resources) listRoot(c echo.Context) error {
	next, stop := iter.Pull2(h.store.List(c.Request().Context(), ""))
	defer stop()
	info, err, ok := next()
	if ok && err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set("Content-Type", "text/plain; charset=utf-8")
	res.Header().Set("X-Content-Type-Options", "nosniff")
	res.WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	for ; ok; info, err, ok = next() {
		if err != nil {
			return fmt.Errorf("server: listing the root: %w", err)
		}
		if _, err := io.WriteString(res, info.Key+"\n"); err != nil {
			return fmt.Errorf("server: listing the root: %w", err)
		}
	}
	return nil
}

// put stores the request body under the key: 201 when it creates the
// object, 204 when it replaces one, with the new ETag either way.
func (h *resources) put(c echo.Context) error {
	req := c.Request()
	key, err := target(req)
	if err != nil {
		return err
	}
	if key == "" || reserved(key) {
		return readOnly()
	}
	if req.Header.Get("Content-Range") != "" {
		// RFC 9110, section 14.5: partial PUT is not supported.
		return &badRequestError{reason: "Content-Range is not allowed in PUT"}
	}
	ct := strings.TrimSpace(req.Header.Get("Content-Type"))
	if ct == "" {
		if req.ContentLength != 0 {
			return &badRequestError{reason: "a body needs a Content-Type"}
		}
		ct = "application/octet-stream"
	} else if _, _, err := mime.ParseMediaType(ct); err != nil {
		return &badRequestError{reason: "malformed Content-Type"}
	}

	ctx := req.Context()
	cond, err := resolveWriteConditions(ctx, h.store, key, req.Header)
	if err != nil {
		return err
	}
	existed := cond.existed
	if !cond.known {
		// Only to choose between 201 and 204; the write itself is
		// unconditional, as the client asked.
		_, err := h.store.Stat(ctx, key)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		existed = err == nil
	}

	body := &bodyReader{r: req.Body}
	info, err := h.store.Put(ctx, key, body, storage.PutOptions{
		ContentType: ct,
		IfMatch:     cond.ifMatch,
		IfNoneMatch: cond.ifNoneMatch,
	})
	if err != nil {
		if body.err != nil {
			return &bodyReadError{err: body.err}
		}
		return err
	}
	res := c.Response()
	res.Header().Set("ETag", quoteETag(info.ETag))
	if existed {
		return c.NoContent(http.StatusNoContent)
	}
	res.Header().Set("Location", h.location(req))
	return c.NoContent(http.StatusCreated)
}

// location is the URL of the resource a request names.
func (h *resources) location(req *http.Request) string {
	if h.baseURL == nil {
		return req.URL.EscapedPath()
	}
	return h.baseURL.ResolveReference(&url.URL{Path: strings.TrimPrefix(req.URL.Path, "/")}).String()
}

// delete removes the object: 204, or 404 when there is none.
func (h *resources) delete(c echo.Context) error {
	req := c.Request()
	key, err := target(req)
	if err != nil {
		return err
	}
	if key == "" || reserved(key) {
		return readOnly()
	}
	ctx := req.Context()
	cond, err := resolveWriteConditions(ctx, h.store, key, req.Header)
	if err != nil {
		return err
	}
	if cond.ifNoneMatch {
		// The conditions held because nothing is there.
		return fmt.Errorf("server: delete %s: %w", key, storage.ErrNotFound)
	}
	if err := h.store.Delete(ctx, key, storage.DeleteOptions{IfMatch: cond.ifMatch}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// bodyReader remembers the first error reading the request body, so that a
// broken or oversized upload is told from a backend failure whatever the
// backend makes of the error.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}
