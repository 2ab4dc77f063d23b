package ldp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// WriteRequest is the body and preconditions of a PUT or POST.
type WriteRequest struct {
	// Body is the content; nil or empty for none.
	Body io.Reader
	// ContentType is the Content-Type header; empty when there is no body.
	ContentType string
	// Conditions are the request's preconditions.
	Conditions Conditions
	// ContentLength, when above zero, is the announced length of Body, so
	// that a body that cannot fit the pod's quota is refused before it is
	// read (quota.go); zero or less means unknown.
	ContentLength int64
}

// WriteResult tells what a write did.
type WriteResult struct {
	Path    Path
	Created bool
	// ETag is the tag a GET of the written resource now sends, when the
	// answer to the write may carry it; "" otherwise: for a container,
	// whose tag covers its containment, and for a PUT whose content was
	// not stored as sent (RFC 9110 §9.3.4: no validator then).
	ETag     string
	Modified time.Time
}

// content is a request body made ready to store.
type content struct {
	contentType string
	data        []byte    // RDF, as Turtle
	stream      io.Reader // bytes of any other type
	// asSent tells that the body is stored byte for byte as it came.
	asSent bool
	// triples is how many triples data holds.
	triples int
}

// metadata is what the stored object carries: for RDF, the hints an
// insert-only PATCH appends by (appendix.go).
func (c content) metadata() map[string]string {
	if c.stream != nil {
		return nil
	}
	return rdfHints{triples: c.triples}.metadata()
}

// writtenTag is the ETag a WriteResult tells for the object now stored at
// p: none for a container (its tag covers its containment, not only its
// marker).
func writtenTag(p Path, info storage.Info) string {
	if p.IsContainer() {
		return ""
	}
	return info.ETag
}

func (c content) reader() io.Reader {
	if c.stream != nil {
		return c.stream
	}
	return bytes.NewReader(c.data)
}

// prepare turns a body into what is stored at p: RDF of any supported syntax
// becomes Turtle (kept byte for byte when it came as Turtle); other types
// stream through untouched. Containers and auxiliary resources take RDF
// only (Solid Protocol §4.3: auxiliary resources are RDF documents).
func (s *Store) prepare(ctx context.Context, p Path, req WriteRequest) (content, error) {
	ct := strings.TrimSpace(req.ContentType)
	aux, _ := p.Aux()
	rdfOnly := p.IsContainer() || aux != NotAux
	if ct == "" {
		if rdfOnly || req.Body == nil {
			// A container or an empty RDF document.
			return content{contentType: rdfx.Turtle, asSent: true}, nil
		}
		return content{contentType: "application/octet-stream", stream: req.Body, asSent: true}, nil
	}
	if !rdfx.Supports(ct) {
		if rdfOnly {
			return content{}, fmt.Errorf("ldp: %s takes RDF, not %s: %w", p, ct, ErrUnsupportedMediaType)
		}
		return content{contentType: ct, stream: req.Body, asSent: true}, nil
	}
	data, g, err := s.readRDF(ctx, p, req.Body, ct)
	if err != nil {
		return content{}, err
	}
	subject := s.IRI(p)
	if aux == Meta {
		_, sub := p.Aux()
		subject = s.IRI(sub)
	}
	if p.IsContainer() || aux == Meta {
		if t, bad := protected(g, subject); bad {
			return content{}, &ConflictError{Reason: "server-managed triple " + t.String() + " cannot be written"}
		}
	}
	c := content{contentType: rdfx.Turtle, data: data, asSent: true, triples: g.Len()}
	if !isTurtle(ct) {
		var buf bytes.Buffer
		if err := rdfx.Serialize(&buf, g, rdfx.Turtle, s.IRI(p), defaultPrefixes); err != nil {
			return content{}, fmt.Errorf("ldp: %s: %w", p, err)
		}
		if int64(buf.Len()) > s.maxRDF {
			// Stored as Turtle, it must be readable again within the
			// limit GET and PATCH read it with.
			return content{}, fmt.Errorf("ldp: %s: more than %d bytes as Turtle: %w", p, s.maxRDF, ErrTooLarge)
		}
		c = content{contentType: rdfx.Turtle, data: buf.Bytes(), triples: g.Len()}
	}
	if err := s.checkACL(p, c.data); err != nil {
		return content{}, err
	}
	return c, nil
}

// checkACL refuses an ACL document that access control could not use, so a
// write never leaves an ACL broken.
func (s *Store) checkACL(p Path, turtle []byte) error {
	if kind, _ := p.Aux(); kind != ACL || s.validateACL == nil {
		return nil
	}
	if err := s.validateACL(turtle, s.IRI(p)); err != nil {
		return &BadRequestError{Reason: "not a usable ACL document", Err: err}
	}
	return nil
}

// readRDF reads and parses an RDF body within the limits; parsing stops
// soon after ctx is done (a client that went away).
func (s *Store) readRDF(ctx context.Context, p Path, body io.Reader, ct string) ([]byte, *rdfx.Graph, error) {
	if body == nil {
		body = strings.NewReader("")
	}
	data, err := io.ReadAll(io.LimitReader(body, s.maxRDF+1))
	if err != nil {
		return nil, nil, fmt.Errorf("ldp: reading %s: %w", p, err)
	}
	if int64(len(data)) > s.maxRDF {
		return nil, nil, fmt.Errorf("ldp: %s: more than %d bytes of RDF: %w", p, s.maxRDF, ErrTooLarge)
	}
	g, err := rdfx.ParseContext(ctx, bytes.NewReader(data), ct, s.IRI(p), rdfx.ParseOptions{MaxTriples: s.maxTriples})
	switch {
	case err == nil:
	case errors.Is(err, rdfx.ErrTooManyTriples):
		return nil, nil, fmt.Errorf("ldp: %s: more than %d triples: %w", p, s.maxTriples, ErrTooLarge)
	case errors.Is(err, rdfx.ErrTooLarge):
		return nil, nil, fmt.Errorf("ldp: %s: %w: %w", p, ErrTooLarge, err)
	case ctx.Err() != nil:
		return nil, nil, ctx.Err()
	case errors.Is(err, rdfx.ErrUnsupported):
		return nil, nil, &BadRequestError{Reason: "body has what Kluis cannot store as " + ct, Err: err}
	default:
		return nil, nil, &BadRequestError{Reason: "body is not valid " + ct, Err: err}
	}
	return data, g, nil
}

// checkWritable refuses paths no client may write.
func (s *Store) checkWritable(ctx context.Context, p Path, method string) error {
	pl, err := s.locate(ctx, p)
	if err != nil {
		return err
	}
	if pl.deleting {
		return &ConflictError{Reason: "the pod " + string(pl.root) + " is being deleted"}
	}
	sd := pl.description()
	if pl.ok && p == sd {
		return &MethodNotAllowedError{Method: method, Allow: []string{"GET", "HEAD", "OPTIONS"}}
	}
	if log := pl.root + AccessLogName; pl.ok && (p == log || strings.HasPrefix(string(p), string(log)+"/")) {
		// The access log is the server's; nobody writes it.
		return &MethodNotAllowedError{Method: method, Allow: []string{"GET", "HEAD", "OPTIONS", "DELETE"}}
	}
	if pl.ok && strings.HasPrefix(string(p), string(sd)+"/") {
		// §3.1: the storage description is a document, though it has no
		// object, so /.well-known/solid/ cannot exist beside it.
		return &ConflictError{Reason: string(sd) + " is the storage description, not a container"}
	}
	if p.IsContainer() {
		if kind, _ := p.Sibling().Aux(); kind != NotAux {
			return &BadRequestError{Reason: "a container cannot be named like an auxiliary resource"}
		}
	}
	return nil
}

// current returns the state write conditions are checked against.
func (s *Store) current(ctx context.Context, p Path) (state, storage.Info, error) {
	if p.IsContainer() {
		st, l, err := s.containerState(ctx, p)
		if l != nil {
			return st, l.marker, err
		}
		return st, storage.Info{}, err
	}
	info, err := s.backend.Stat(ctx, p.Key())
	if errors.Is(err, storage.ErrNotFound) {
		return s.virtualState(ctx, p)
	}
	if err != nil {
		return state{}, storage.Info{}, err
	}
	return state{exists: true, etag: info.ETag, modified: info.Modified}, info, nil
}

// virtualState is the state of a path without an object: missing, or the
// empty description resource of an existing subject.
func (s *Store) virtualState(ctx context.Context, p Path) (state, storage.Info, error) {
	kind, subject := p.Aux()
	if kind != Meta {
		return state{}, storage.Info{}, nil
	}
	info, ok, err := s.emptyMeta(ctx, subject)
	if err != nil || !ok {
		return state{}, storage.Info{}, err
	}
	return state{exists: true, virtual: true, etag: info.ETag, modified: info.Modified}, info, nil
}

// Put creates or replaces the resource at p (Solid Protocol §5.3), creating
// missing intermediate containers.
//
// The write is always conditional on the state read before it (If-Match
// on its ETag, or If-None-Match when nothing was there), and is tried
// again from that read when another writer came first. So the answer
// (201 Created or not) is decided by the write that won, and the quota
// counts the size delta against the object really replaced, in one
// process or several on one backend. A body that is neither RDF nor at
// most putBuffer bytes streams once and cannot be written again: losing
// that race is a ConflictError.
func (s *Store) Put(ctx context.Context, p Path, req WriteRequest) (WriteResult, error) {
	if err := s.checkWritable(ctx, p, "PUT"); err != nil {
		return WriteResult{}, err
	}
	if err := CheckName(p); err != nil {
		return WriteResult{}, err
	}
	c, err := s.prepare(ctx, p, req)
	if err != nil {
		return WriteResult{}, err
	}
	if err := s.checkSubject(ctx, p); err != nil {
		return WriteResult{}, err
	}
	// Quotas (quota.go): a replaced resource counts by the difference.
	m, err := s.meter(ctx, p)
	if err != nil {
		return WriteResult{}, err
	}
	size := int64(len(c.data))
	if c.stream != nil {
		size = req.ContentLength
	}
	body := func() io.Reader { return c.reader() }
	buffered := c.stream == nil
	for attempt := 0; attempt < patchAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return WriteResult{}, err
			}
		}
		st, cur, err := s.current(ctx, p)
		if err != nil {
			return WriteResult{}, err
		}
		if err := req.Conditions.checkWrite(p, st); err != nil {
			return WriteResult{}, err
		}
		var old int64
		if st.exists && !st.virtual {
			old = cur.Size
		}
		if err := m.check(old, size); err != nil {
			return WriteResult{}, err
		}
		h, err := s.hold(ctx, m, old, size)
		if err != nil {
			return WriteResult{}, err
		}
		var r io.Reader
		if buffered {
			r = h.reader(body())
		} else {
			// The first try of a streamed body: its first putBuffer
			// bytes are read (counted against the hold) and kept, so
			// that a body that small can be written again.
			r = h.reader(c.stream)
			var head []byte
			if body, head, err = keep(r); err != nil {
				h.release()
				return WriteResult{}, fmt.Errorf("ldp: reading %s: %w", p, quotaFailure(r, err))
			}
			if buffered = head != nil; buffered {
				size = int64(len(head))
				r = body()
			} else {
				r = &cutReader{Reader: body(), cut: r}
			}
		}
		if !st.exists {
			if err := s.prepareParents(ctx, p); err != nil {
				h.release()
				return WriteResult{}, err
			}
		}
		opts := storage.PutOptions{ContentType: c.contentType, Metadata: c.metadata()}
		if st.exists && !st.virtual {
			opts.IfMatch = cur.ETag
		} else {
			opts.IfNoneMatch = true
		}
		info, err := s.backend.Put(ctx, p.Key(), r, opts)
		if err != nil {
			h.release()
			err = quotaFailure(r, err)
		}
		if errors.Is(err, storage.ErrPreconditionFailed) {
			if buffered {
				continue // another writer came first: read again
			}
			return WriteResult{}, &ConflictError{Reason: string(p) + " was changed at the same moment; try again"}
		}
		if err != nil {
			return WriteResult{}, fmt.Errorf("ldp: put %s: %w", p, err)
		}
		h.settle(info.Size)
		s.changed(p, createdOr(!st.exists), info.ETag)
		res := WriteResult{Path: p, Created: !st.exists, ETag: writtenTag(p, info), Modified: info.Modified}
		if !c.asSent {
			res.ETag = ""
		}
		return res, nil
	}
	return WriteResult{}, &ConflictError{Reason: "too many concurrent changes of " + string(p) + "; try again"}
}

// putBuffer is the largest non-RDF body a PUT keeps in memory, so that it
// can be written again when another writer changed the resource between
// the read and the write. It is smaller than postBuffer: a race on one
// resource is rarer than on a name, and every PUT keeps it.
const putBuffer = 64 << 10

// keep reads up to putBuffer bytes of a streamed body. When that is all
// of it, body gives those bytes, as often as asked, and head holds them;
// otherwise body gives the bytes read and then the rest of r, once, and
// head is nil.
func keep(r io.Reader) (body func() io.Reader, head []byte, err error) {
	read, err := io.ReadAll(io.LimitReader(r, putBuffer+1))
	if err != nil {
		return nil, nil, err
	}
	if len(read) <= putBuffer {
		if read == nil {
			read = []byte{}
		}
		return func() io.Reader { return bytes.NewReader(read) }, read, nil
	}
	return func() io.Reader { return io.MultiReader(bytes.NewReader(read), r) }, nil, nil
}

// cutReader is a reader made of a quotaReader (cut), so that quotaFailure
// finds why it failed.
type cutReader struct {
	io.Reader
	cut io.Reader
}

// checkSubject makes sure the subject of an auxiliary resource exists.
func (s *Store) checkSubject(ctx context.Context, p Path) error {
	kind, subject := p.Aux()
	if kind == NotAux {
		return nil
	}
	if _, err := s.backend.Stat(ctx, subject.Key()); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return &ConflictError{Reason: "the resource " + string(subject) + " does not exist"}
		}
		return err
	}
	return nil
}

// prepareParents enforces slash semantics for a new resource at p (Solid
// Protocol §3.1: /a and /a/ never both exist) and creates the missing
// containers above it (§5.3: "Servers MUST create intermediate containers").
func (s *Store) prepareParents(ctx context.Context, p Path) error {
	if err := s.checkSibling(ctx, p); err != nil {
		return err
	}
	var missing []Path
	for _, a := range p.Ancestors() {
		if a.IsRoot() {
			break
		}
		ok, err := s.ContainerExists(ctx, a)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		missing = append(missing, a)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		a := missing[i]
		if err := s.checkSibling(ctx, a); err != nil {
			return err
		}
		_, err := s.backend.Put(ctx, a.Key(), strings.NewReader(""), storage.PutOptions{ContentType: rdfx.Turtle, IfNoneMatch: true})
		if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
			return fmt.Errorf("ldp: creating container %s: %w", a, err)
		}
		if err == nil {
			s.changed(a, Create, "")
		}
	}
	return nil
}

// checkSibling refuses p when its other slash form exists.
func (s *Store) checkSibling(ctx context.Context, p Path) error {
	if p.IsRoot() || storage.ValidateKey(p.Sibling().Key()) != nil {
		return nil // no other form, or one that cannot be stored
	}
	_, err := s.backend.Stat(ctx, p.Sibling().Key())
	switch {
	case err == nil:
		return &ConflictError{Reason: string(p.Sibling()) + " exists; " + string(p) + " cannot exist beside it"}
	case errors.Is(err, storage.ErrNotFound):
		return nil
	default:
		return err
	}
}

// PostRequest is a POST to a container (Solid Protocol §5.3, LDP §5.2.3).
type PostRequest struct {
	WriteRequest
	// Slug is the client's wish for the new name, from the Slug header.
	Slug string
	// Container asks for a new container (Link rel="type"
	// ldp:BasicContainer or ldp:Container).
	Container bool
}

// postBuffer is the largest non-RDF body a POST keeps in memory, so that it
// can be stored under another name when its first is taken concurrently.
const postBuffer = 1 << 20

// Post creates a resource in the container at parent, named after the Slug
// when it is free and safe, and answers with its path.
func (s *Store) Post(ctx context.Context, parent Path, req PostRequest) (WriteResult, error) {
	if !parent.IsContainer() {
		// §5.3: "When a POST method request targets a resource without an
		// existing representation, the server MUST respond with the 404";
		// an existing one that is no container does not support POST (405).
		if !s.exists(ctx, parent) {
			return WriteResult{}, fmt.Errorf("ldp: post to %s: %w", parent, storage.ErrNotFound)
		}
		allow, err := s.Allow(ctx, parent, true)
		if err != nil {
			return WriteResult{}, err
		}
		return WriteResult{}, &MethodNotAllowedError{Method: "POST", Allow: allow}
	}
	if err := s.checkWritable(ctx, parent, "POST"); err != nil {
		return WriteResult{}, err
	}
	// A container exists when its marker does. Only a conditional POST
	// needs the container's tag, which takes a listing of every child:
	// without conditions a POST into a large container costs one Stat,
	// not a listing that grows with each POST.
	var st state
	if req.Conditions.none() {
		if _, err := s.backend.Stat(ctx, parent.Key()); err == nil {
			st.exists = true
		} else if !errors.Is(err, storage.ErrNotFound) {
			return WriteResult{}, err
		}
	} else {
		var err error
		if st, _, err = s.current(ctx, parent); err != nil {
			return WriteResult{}, err
		}
	}
	if !st.exists {
		// §5.3: "When a POST method request targets a resource without an
		// existing representation, the server MUST respond with the 404".
		return WriteResult{}, fmt.Errorf("ldp: post to %s: %w", parent, storage.ErrNotFound)
	}
	if err := req.Conditions.checkWrite(parent, st); err != nil {
		return WriteResult{}, err
	}
	// Quotas (quota.go): the body is counted as it is read, whatever its
	// type.
	m, err := s.meter(ctx, parent)
	if err != nil {
		return WriteResult{}, err
	}
	if err := m.check(0, req.ContentLength); err != nil {
		return WriteResult{}, err
	}
	// The body's room is taken ahead (quota.go), as it is announced or as
	// it is read, and kept from one candidate name to the next: every
	// candidate is new, so the write replaces nothing.
	h, err := s.hold(ctx, m, 0, req.ContentLength)
	if err != nil {
		return WriteResult{}, err
	}
	stored := false
	defer func() {
		if !stored {
			h.release()
		}
	}()
	req.Body = h.reader(req.Body)
	// An RDF body is parsed for each candidate name (relative IRIs are
	// taken against it, and server-managed triples are checked about it),
	// so it is read once and parsed from memory; other bodies stream.
	body := func() io.Reader { return req.Body }
	retryable := true // the body can be read again for another name
	if ct := strings.TrimSpace(req.ContentType); req.Body != nil && ct != "" && rdfx.Supports(ct) {
		data, err := io.ReadAll(io.LimitReader(req.Body, s.maxRDF+1))
		if err != nil {
			return WriteResult{}, fmt.Errorf("ldp: reading the body posted to %s: %w", parent, err)
		}
		if int64(len(data)) > s.maxRDF {
			return WriteResult{}, fmt.Errorf("ldp: post to %s: more than %d bytes of RDF: %w", parent, s.maxRDF, ErrTooLarge)
		}
		body = func() io.Reader { return bytes.NewReader(data) }
	} else if req.Body != nil {
		// A small body is kept, so that a name taken by a concurrent POST
		// between the check and the write can be replaced by another; a
		// larger one streams, and such a collision is a 409.
		head, err := io.ReadAll(io.LimitReader(req.Body, postBuffer+1))
		if err != nil {
			return WriteResult{}, fmt.Errorf("ldp: reading the body posted to %s: %w", parent, err)
		}
		if len(head) <= postBuffer {
			body = func() io.Reader { return bytes.NewReader(head) }
		} else {
			rest := req.Body
			body = func() io.Reader { return io.MultiReader(bytes.NewReader(head), rest) }
			retryable = false
		}
	}
	name := SlugName(req.Slug)
	for attempt := 0; attempt < 8; attempt++ {
		cand, random := name, name == ""
		if random {
			cand = randomName(16)
		} else if attempt > 0 {
			cand = name + "-" + randomName(4)
		}
		p := parent + Path(cand)
		if req.Container {
			p += "/"
		}
		if _, err := ParsePath(string(p)); err != nil || CheckName(p) != nil {
			name = ""
			continue
		}
		if s.taken(ctx, p, random) {
			continue
		}
		w := req.WriteRequest
		w.Body = body()
		c, err := s.prepare(ctx, p, w)
		if err != nil {
			return WriteResult{}, err
		}
		if c.stream == nil {
			// RDF is stored as Turtle, which may be longer than it came.
			if err := h.cover(int64(len(c.data))); err != nil {
				return WriteResult{}, err
			}
		}
		info, err := s.backend.Put(ctx, p.Key(), c.reader(), storage.PutOptions{ContentType: c.contentType, Metadata: c.metadata(), IfNoneMatch: true})
		if err != nil {
			err = quotaFailure(req.Body, err)
		}
		if errors.Is(err, storage.ErrPreconditionFailed) {
			if c.stream == nil || retryable {
				continue // taken at the same moment: try another name
			}
			// A streamed body is gone and cannot be stored again.
			return WriteResult{}, &ConflictError{Reason: "the name " + string(p) + " was taken at the same moment; try again"}
		}
		if err != nil {
			return WriteResult{}, fmt.Errorf("ldp: post %s: %w", p, err)
		}
		h.settle(info.Size)
		stored = true
		s.changed(p, Create, info.ETag)
		return WriteResult{Path: p, Created: true, ETag: writtenTag(p, info), Modified: info.Modified}, nil
	}
	return WriteResult{}, &ConflictError{Reason: "could not find a free name in " + string(parent)}
}

// taken tells whether a POST cannot create p: p or its Sibling exists.
// Both are asked at once when slow (on S3, two HEADs in one round trip;
// asker). A random name (random) is not looked up: no one can have taken
// it but by chance, which the write's If-None-Match refuses; its sibling
// is, which nothing else would refuse.
func (s *Store) taken(ctx context.Context, p Path, random bool) bool {
	if random {
		return s.isDescription(ctx, p) || s.exists(ctx, p.Sibling())
	}
	var own, sibling bool
	a := newAsker(&s.pace)
	a.ask(func() { own = s.exists(ctx, p) })
	a.ask(func() { sibling = s.exists(ctx, p.Sibling()) })
	a.wait()
	return own || sibling
}

// isDescription tells whether p is a storage description, which exists
// without an object.
func (s *Store) isDescription(ctx context.Context, p Path) bool {
	if pl, err := s.locate(ctx, p); err == nil && pl.ok {
		if sd := pl.description(); p == sd || p == sd+"/" {
			return true
		}
	}
	return false
}

// exists reports whether a resource is at p, or p is taken by the storage
// description, which has no object.
func (s *Store) exists(ctx context.Context, p Path) bool {
	if s.isDescription(ctx, p) {
		return true
	}
	_, err := s.backend.Stat(ctx, p.Key())
	return err == nil
}

// SlugName makes a safe resource name of a Slug header: decoded, without
// trailing slashes, with other path separators, control characters and
// other troublesome characters replaced by "-", no dot-only names, no
// auxiliary suffix, at most 100 bytes. It
// returns "" when nothing usable is left.
func SlugName(slug string) string {
	if dec, err := url.PathUnescape(slug); err == nil {
		slug = dec
	}
	// "photos/" asks for the name "photos" (a container is asked for with
	// a Link header; the trailing slash is then added back).
	slug = strings.TrimRight(slug, "/")
	var b strings.Builder
	for _, r := range slug {
		switch {
		case r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == '?' || r == '#' || r == '%' || r == 0xfffd:
			b.WriteByte('-')
		default:
			b.WriteRune(r)
		}
		if b.Len() >= 100 {
			break
		}
	}
	name := strings.Trim(b.String(), " .")
	for _, suffix := range []string{ACLSuffix, MetaSuffix} {
		if strings.HasSuffix(name, suffix) {
			name = strings.TrimSuffix(name, suffix) + "-" + suffix[1:]
		}
	}
	if strings.Trim(name, ".-") == "" {
		return ""
	}
	return name
}

func randomName(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// patchAttempts bounds the retries of a read-modify-write that keeps losing
// to other writers.
const patchAttempts = 100

// Patch applies a parsed N3 Patch or SPARQL Update to the RDF document at
// p, creating it when missing (Solid Protocol §5.3.1). The read, the change
// and the conditional write are retried as a whole when another writer
// changes the document in between, so no update is ever lost.
func (s *Store) Patch(ctx context.Context, p Path, patch *rdfx.Patch, cond Conditions) (WriteResult, error) {
	if err := s.checkWritable(ctx, p, "PATCH"); err != nil {
		return WriteResult{}, err
	}
	if err := CheckName(p); err != nil {
		return WriteResult{}, err
	}
	if err := s.checkSubject(ctx, p); err != nil {
		return WriteResult{}, err
	}
	m, err := s.meter(ctx, p) // quota.go
	if err != nil {
		return WriteResult{}, err
	}
	appends := s.appendable(p, patch) // appendix.go
	if appends != nil {
		if res, done, err := s.appendInPlace(ctx, p, appends, cond, m); done {
			return res, err
		}
	}
	for attempt := 0; attempt < patchAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return WriteResult{}, err
			}
		}
		body, info, err := s.backend.Get(ctx, p.Key(), storage.GetOptions{})
		exists := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return WriteResult{}, fmt.Errorf("ldp: patch %s: %w", p, err)
		}
		st := state{exists: exists, etag: info.ETag, modified: info.Modified}
		if !exists {
			if st, _, err = s.virtualState(ctx, p); err != nil {
				return WriteResult{}, err
			}
		}
		if p.IsContainer() && exists && cond != (Conditions{}) {
			cs, _, err := s.containerState(ctx, p)
			if err != nil {
				body.Close()
				return WriteResult{}, err
			}
			st.etag, st.modified = cs.etag, cs.modified
		}
		if exists && !isTurtle(info.ContentType) {
			body.Close()
			return WriteResult{}, fmt.Errorf("ldp: %s is not an RDF document: %w", p, ErrUnsupportedMediaType)
		}
		var (
			buf   bytes.Buffer
			hints rdfHints
			ok    bool
			from  int
		)
		if exists && appends != nil {
			// An insert-only patch of a plain document: its triples are
			// appended to the stored Turtle, unparsed (appendix.go).
			hints, from, ok, err = s.appendTo(p, body, info, appends, &buf)
			if err != nil {
				return WriteResult{}, err
			}
		}
		if ok {
			err = cond.checkWrite(p, st)
		} else {
			hints, err = s.patchWhole(p, body, exists, patch, func() error { return cond.checkWrite(p, st) }, &buf)
		}
		if err != nil {
			return WriteResult{}, err
		}
		if err := m.check(info.Size, int64(buf.Len())); err != nil {
			return WriteResult{}, err
		}
		opts := storage.PutOptions{ContentType: rdfx.Turtle, IfMatch: info.ETag, IfNoneMatch: !exists, Metadata: hints.metadata()}
		if !exists {
			if err := s.prepareParents(ctx, p); err != nil {
				return WriteResult{}, err
			}
		}
		h, err := s.hold(ctx, m, info.Size, int64(buf.Len()))
		if err != nil {
			return WriteResult{}, err
		}
		var out storage.Info
		err = storage.ErrAppendUnsupported
		if ok && !appends.full && !s.noAppend.Load() {
			// Only the new lines, where the backend appends in place.
			out, err = storage.Append(ctx, s.backend, p.Key(), buf.Bytes()[from:], storage.AppendOptions{IfMatch: info.ETag, Metadata: opts.Metadata})
			if errors.Is(err, storage.ErrAppendUnsupported) {
				s.noAppend.Store(true)
			}
		}
		if errors.Is(err, storage.ErrAppendUnsupported) || errors.Is(err, storage.ErrAppendFull) {
			out, err = s.backend.Put(ctx, p.Key(), &buf, opts)
		}
		if err != nil {
			h.release()
		}
		if errors.Is(err, storage.ErrPreconditionFailed) {
			continue // another writer came first: read again
		}
		if err != nil {
			return WriteResult{}, fmt.Errorf("ldp: patch %s: %w", p, err)
		}
		h.settle(out.Size)
		s.changed(p, createdOr(!st.exists), out.ETag)
		return WriteResult{Path: p, Created: !st.exists, ETag: writtenTag(p, out), Modified: out.Modified}, nil
	}
	return WriteResult{}, &ConflictError{Reason: "too many concurrent changes; try again"}
}

// patchWhole applies patch to the graph of the stored document (body, when
// exists) and writes the result whole into buf, with its hints: the full
// path of a PATCH (appendix.go tells when it is not needed). check is the
// request's preconditions, asked once the document is read.
func (s *Store) patchWhole(p Path, body io.ReadCloser, exists bool, patch *rdfx.Patch, check func() error, buf *bytes.Buffer) (rdfHints, error) {
	aux, subject := p.Aux()
	g := rdfx.NewGraph(0)
	if exists {
		var err error
		g, err = s.parseStored(p, body)
		body.Close()
		if err != nil {
			return rdfHints{}, err
		}
	}
	if err := check(); err != nil {
		return rdfHints{}, err
	}
	if err := rdfx.Apply(g, patch); err != nil {
		if errors.Is(err, rdfx.ErrTooManyTriples) || errors.Is(err, rdfx.ErrTooLarge) {
			return rdfHints{}, fmt.Errorf("ldp: patch %s: %w: %w", p, ErrTooLarge, err)
		}
		return rdfHints{}, fmt.Errorf("ldp: patch %s: %w", p, err)
	}
	if g.Len() > s.maxTriples {
		return rdfHints{}, fmt.Errorf("ldp: patch %s: more than %d triples: %w", p, s.maxTriples, ErrTooLarge)
	}
	if p.IsContainer() || aux == Meta {
		iri := s.IRI(p)
		if aux == Meta {
			iri = s.IRI(subject)
		}
		if t, bad := protected(g, iri); bad {
			return rdfHints{}, &ConflictError{Reason: "server-managed triple " + t.String() + " cannot be written"}
		}
	}
	buf.Reset()
	if err := rdfx.Serialize(buf, g, rdfx.Turtle, s.IRI(p), defaultPrefixes); err != nil {
		return rdfHints{}, fmt.Errorf("ldp: patch %s: %w", p, err)
	}
	if int64(buf.Len()) > s.maxRDF {
		// What is stored must be readable again: GET and the next
		// PATCH read at most maxRDF bytes of it.
		return rdfHints{}, fmt.Errorf("ldp: patch %s: the result has more than %d bytes: %w", p, s.maxRDF, ErrTooLarge)
	}
	if err := s.checkACL(p, buf.Bytes()); err != nil {
		return rdfHints{}, err
	}
	return rdfHints{triples: g.Len()}, nil
}

// backoff waits a little, more with each attempt, with jitter so that
// writers who collided spread out.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(mrand.Int64N(int64(min(attempt, 20)) * int64(time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ParsePatch parses a PATCH body: text/n3 (Solid N3 Patch) or
// application/sparql-update. A malformed N3 Patch is ErrInvalidPatch (422, as
// Solid Protocol §5.3.1 says); a SPARQL syntax error is a BadRequestError.
func (s *Store) ParsePatch(ctx context.Context, p Path, body io.Reader, contentType string) (*rdfx.Patch, error) {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt != rdfx.N3 && mt != rdfx.SPARQLUpdate {
		return nil, fmt.Errorf("ldp: PATCH with %q: %w", contentType, ErrUnsupportedMediaType)
	}
	data, err := io.ReadAll(io.LimitReader(body, s.maxRDF+1))
	if err != nil {
		return nil, fmt.Errorf("ldp: reading the patch of %s: %w", p, err)
	}
	if int64(len(data)) > s.maxRDF {
		return nil, fmt.Errorf("ldp: patch of %s: more than %d bytes: %w", p, s.maxRDF, ErrTooLarge)
	}
	// The store's triple limit, the request's context: a client that goes
	// away stops the parse.
	patch, err := rdfx.ParsePatch(ctx, bytes.NewReader(data), mt, s.IRI(p), rdfx.ParseOptions{MaxTriples: s.maxTriples})
	var syn *rdfx.SyntaxError
	switch {
	case err == nil:
		return patch, nil
	case errors.Is(err, rdfx.ErrTooManyTriples):
		return nil, fmt.Errorf("ldp: patch of %s: more than %d triples: %w", p, s.maxTriples, ErrTooLarge)
	case errors.Is(err, rdfx.ErrTooLarge):
		return nil, fmt.Errorf("ldp: patch of %s: %w: %w", p, ErrTooLarge, err)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case mt == rdfx.N3 && !errors.As(err, &syn) && errors.Is(err, rdfx.ErrMalformedPatch):
		return nil, fmt.Errorf("ldp: %w: %v", ErrInvalidPatch, err)
	}
	return nil, &BadRequestError{Reason: "malformed " + mt + " patch", Err: err}
}

// Delete removes the resource at p and its auxiliary resources (Solid
// Protocol §5.4). A container must be empty; the root and its ACL cannot be
// deleted.
func (s *Store) Delete(ctx context.Context, p Path, cond Conditions) error {
	if err := s.checkWritable(ctx, p, "DELETE"); err != nil {
		return err
	}
	fixed, err := s.undeletable(ctx, p)
	if err != nil {
		return err
	}
	if fixed {
		allow, err := s.Allow(ctx, p, true)
		if err != nil {
			return err
		}
		return &MethodNotAllowedError{Method: "DELETE", Allow: allow}
	}
	st, cur, err := s.current(ctx, p)
	if err != nil {
		return err
	}
	if !st.exists {
		return fmt.Errorf("ldp: delete %s: %w", p, storage.ErrNotFound)
	}
	if err := cond.checkWrite(p, st); err != nil {
		return err
	}
	if st.virtual {
		return nil // an empty description resource: nothing stored to delete
	}
	if p.IsContainer() {
		l, err := s.list(ctx, p)
		if err != nil {
			return err
		}
		if len(l.children) > 0 {
			return &ConflictError{Reason: "container is not empty"}
		}
	}
	m, err := s.meter(ctx, p) // quota.go: deleting frees
	if err != nil {
		return err
	}
	if err := s.backend.Delete(ctx, p.Key(), storage.DeleteOptions{IfMatch: cur.ETag}); err != nil {
		return fmt.Errorf("ldp: delete %s: %w", p, err)
	}
	// The resource is gone: whatever happens to its auxiliary resources,
	// its container, the counter and the listeners hear of it.
	freed := cur.Size
	var auxErr error
	if kind, _ := p.Aux(); kind == NotAux {
		for _, aux := range []Path{p.ACL(), p.Meta()} {
			if storage.ValidateKey(aux.Key()) != nil {
				// A name made before CheckName refused it: its
				// auxiliary resource cannot have been stored.
				continue
			}
			n, err := s.deleteCounted(ctx, aux)
			freed += n
			if err != nil && auxErr == nil {
				auxErr = fmt.Errorf("ldp: delete %s: %w", aux, err)
			}
		}
		s.touch(ctx, p.Parent())
	}
	s.count(ctx, m, -freed)
	s.changed(p, Delete, "")
	return auxErr
}

// deleteCounted deletes the object at p, if any, and returns its size:
// Stat, then Delete with If-Match, again when another writer came between.
func (s *Store) deleteCounted(ctx context.Context, p Path) (int64, error) {
	for attempt := 0; attempt < patchAttempts; attempt++ {
		info, err := s.backend.Stat(ctx, p.Key())
		if errors.Is(err, storage.ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		err = s.backend.Delete(ctx, p.Key(), storage.DeleteOptions{IfMatch: info.ETag})
		switch {
		case err == nil:
			return info.Size, nil
		case errors.Is(err, storage.ErrNotFound):
			return 0, nil
		case !errors.Is(err, storage.ErrPreconditionFailed):
			return 0, err
		}
	}
	return 0, &ConflictError{Reason: "too many concurrent changes of " + string(p) + "; try again"}
}

// touch rewrites a container's marker as it is, so that the container's
// time moves on when a deletion changes its containment (Solid Protocol
// §4.2: Last-Modified follows changes to containment triples). Without it,
// a container's time, the newest of its marker and its children, could go
// back when its newest child goes, and a client's If-Modified-Since would
// wrongly answer 304. It is best effort: the deletion has happened, and a
// concurrent writer of the marker has moved its time on anyway.
//
// Deletions in one container at the same time share touches: a deletion
// waits for the next rewrite of the marker that begins after it (usage.go
// batches the same way), so 32 deletions in parallel rewrite the marker a
// few times, not 32 times against each other's conditional writes.
func (s *Store) touch(ctx context.Context, c Path) {
	s.touches.do(c, func() { s.touchNow(context.WithoutCancel(ctx), c) })
}

// touchNow rewrites the marker once.
func (s *Store) touchNow(ctx context.Context, c Path) {
	body, info, err := s.backend.Get(ctx, c.Key(), storage.GetOptions{})
	if err != nil {
		return
	}
	data, err := io.ReadAll(io.LimitReader(body, s.maxRDF+1))
	body.Close()
	if err != nil || int64(len(data)) > s.maxRDF {
		return
	}
	_, _ = s.backend.Put(ctx, c.Key(), bytes.NewReader(data), storage.PutOptions{ContentType: info.ContentType, IfMatch: info.ETag})
}

// Allow lists the methods the resource at p supports (Solid Protocol §5.1,
// §5.4: never DELETE for a storage's root or its ACL, nor for the server
// root or its ACL).
func (s *Store) Allow(ctx context.Context, p Path, exists bool) ([]string, error) {
	pl, err := s.locate(ctx, p)
	if err != nil {
		return nil, err
	}
	if pl.ok && p == pl.description() {
		return []string{"GET", "HEAD", "OPTIONS"}, nil
	}
	m := []string{"GET", "HEAD", "OPTIONS"}
	if p.IsContainer() {
		m = append(m, "POST")
	}
	m = append(m, "PUT", "PATCH")
	if exists {
		fixed, err := s.undeletable(ctx, p)
		if err != nil {
			return nil, err
		}
		if !fixed {
			m = append(m, "DELETE")
		}
	}
	return m, nil
}

// undeletable reports whether p is the server root, a storage's root, or
// the ACL of one of them (Solid Protocol §5.4: "When a DELETE request
// targets storage's root container or its associated ACL resource, the
// server MUST respond with the 405 status code").
func (s *Store) undeletable(ctx context.Context, p Path) (bool, error) {
	if p.IsRoot() || p == Path("/").ACL() {
		return true, nil
	}
	subject := p
	if kind, sub := p.Aux(); kind == ACL {
		subject = sub
	}
	if !subject.IsContainer() {
		return false, nil
	}
	pl, err := s.locate(ctx, subject)
	return pl.isRoot(subject), err
}
