package ldp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// Kind is what sort of resource a path holds.
type Kind uint8

// The kinds of resource.
const (
	// Missing: nothing exists at the path.
	Missing Kind = iota
	// Container: an LDP Basic Container.
	Container
	// RDFSource: an RDF document, stored as Turtle.
	RDFSource
	// NonRDF: bytes with a content type.
	NonRDF
)

// rdfOffers are the RDF media types Kluis can write, the stored form first.
var rdfOffers = []string{rdfx.Turtle, rdfx.JSONLD, rdfx.NTriples, rdfx.RDFXML, rdfx.N3}

// variants are the ETag suffixes of the representations converted from the
// stored Turtle: each representation of one state has its own strong tag.
var variants = map[string]string{
	rdfx.JSONLD: "-jsonld", rdfx.NTriples: "-nt", rdfx.RDFXML: "-rdfxml", rdfx.N3: "-n3",
}

// baseTag strips a representation variant from an ETag.
func baseTag(etag string) string {
	for _, v := range variants {
		if b, ok := strings.CutSuffix(etag, v); ok {
			return b
		}
	}
	return etag
}

// GetRequest is a GET or HEAD.
type GetRequest struct {
	// Accept is the Accept header.
	Accept string
	// Range asks for part of a non-RDF resource; nil for all of it.
	Range *storage.Range
	// Suffix, when above zero, asks for the last Suffix bytes instead.
	Suffix int64
	// Conditions are the request's preconditions.
	Conditions Conditions
	// Head leaves the body out; every header stays as for GET.
	Head bool
	// ByOwner tells that the owner of the storage asks: its storage
	// description then tells how many bytes it holds and may hold
	// (UsedBytes, QuotaBytes; quota.go), which no one else is told.
	ByOwner bool
}

// Representation is what a GET answers with.
type Representation struct {
	Path        Path
	Kind        Kind
	ContentType string
	// ETag is the strong entity-tag of this representation, unquoted.
	ETag     string
	Modified time.Time
	// Size is the length of the body, or -1 when it is streamed as it is
	// made (containers).
	Size int64
	// Range is the part of the resource sent, when a range was asked and
	// applied; TotalSize is then the whole resource's size.
	Range     *storage.Range
	TotalSize int64
	// Body is the content, nil for HEAD. The caller must close it.
	Body io.ReadCloser
	// IsStorage marks a storage root (pim:Storage).
	IsStorage bool
}

// Close releases the body, if any.
func (r *Representation) Close() error {
	if r.Body != nil {
		return r.Body.Close()
	}
	return nil
}

// Get returns a representation of the resource at p, negotiated by
// Accept. RDF sources and containers are offered in Turtle (the stored form,
// streamed as stored), JSON-LD, N-Triples, RDF/XML and N3; non-RDF
// resources in their own type only.
func (s *Store) Get(ctx context.Context, p Path, req GetRequest) (*Representation, error) {
	if p.IsContainer() {
		return s.getContainer(ctx, p, req)
	}
	pl, err := s.locate(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("ldp: get %s: %w", p, err)
	}
	if p == pl.description() {
		return s.getStorageDescription(ctx, p, pl.root, req)
	}
	kind, subject := p.Aux()
	if req.Range != nil || req.Suffix > 0 {
		// Ranges apply to non-RDF resources only (RDF is answered whole).
		info, err := s.backend.Stat(ctx, p.Key())
		if err == nil && !isTurtle(info.ContentType) {
			return s.getNonRDF(ctx, p, info, nil, req)
		}
	}
	body, info, err := s.backend.Get(ctx, p.Key(), storage.GetOptions{})
	if errors.Is(err, storage.ErrNotFound) && kind == Meta {
		// A description resource exists, empty, while its subject does.
		var ok bool
		if info, ok, err = s.emptyMeta(ctx, subject); err != nil {
			return nil, fmt.Errorf("ldp: get %s: %w", p, err)
		}
		if !ok {
			return nil, fmt.Errorf("ldp: get %s: %w", p, storage.ErrNotFound)
		}
		body = io.NopCloser(strings.NewReader(""))
	} else if err != nil {
		return nil, fmt.Errorf("ldp: get %s: %w", p, err)
	}
	if !isTurtle(info.ContentType) {
		return s.getNonRDF(ctx, p, info, body, GetRequest{Accept: req.Accept, Conditions: req.Conditions, Head: req.Head})
	}
	rep, err := s.negotiateRDF(p, RDFSource, info, body, req)
	if err != nil {
		body.Close()
		return nil, err
	}
	return rep, nil
}

// emptyMeta returns the Info of the description resource of subject while
// it has no object of its own: it exists, empty, as long as its subject
// does (Solid Protocol §4.3.2), and changes its tag and time with the
// subject's. ok is false when the subject does not exist.
func (s *Store) emptyMeta(ctx context.Context, subject Path) (info storage.Info, ok bool, err error) {
	sub, err := s.backend.Stat(ctx, subject.Key())
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Info{}, false, nil
	}
	if err != nil {
		return storage.Info{}, false, err
	}
	return storage.Info{ContentType: rdfx.Turtle, ETag: emptyMetaPrefix + sub.ETag, Modified: sub.Modified}, true, nil
}

// emptyMetaPrefix starts the tag of a description resource that has no
// object.
const emptyMetaPrefix = "empty-"

func isTurtle(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), rdfx.Turtle)
}

// getNonRDF serves stored bytes as they are, with ranges. body is the
// whole object when the caller has opened it already.
func (s *Store) getNonRDF(ctx context.Context, p Path, info storage.Info, body io.ReadCloser, req GetRequest) (*Representation, error) {
	rep := &Representation{
		Path: p, Kind: NonRDF, ContentType: info.ContentType, ETag: info.ETag,
		Modified: info.Modified, Size: info.Size, TotalSize: info.Size,
	}
	st := state{exists: true, etag: info.ETag, modified: info.Modified}
	if err := req.Conditions.checkRead(p, st); err != nil {
		if body != nil {
			body.Close()
		}
		return nil, notModified(err, rep)
	}
	if req.Suffix > 0 && info.Size > 0 {
		n := min(req.Suffix, info.Size)
		req.Range = &storage.Range{Offset: info.Size - n, Length: n}
	}
	if req.Range != nil && info.Size > 0 {
		off, n, err := req.Range.Resolve(info.Size)
		if err != nil {
			return nil, fmt.Errorf("ldp: get %s: %w", p, storage.ErrInvalidRange)
		}
		rep.Range, rep.Size = &storage.Range{Offset: off, Length: n}, n
	}
	if req.Head {
		if body != nil {
			body.Close()
		}
		return rep, nil
	}
	if body != nil {
		rep.Body = body
		return rep, nil
	}
	body, cur, err := s.backend.Get(ctx, p.Key(), storage.GetOptions{Range: rep.Range})
	if err != nil {
		return nil, fmt.Errorf("ldp: get %s: %w", p, err)
	}
	if cur.ETag != info.ETag {
		// Replaced between Stat and Get: serve the new one whole.
		body.Close()
		if body, cur, err = s.backend.Get(ctx, p.Key(), storage.GetOptions{}); err != nil {
			return nil, fmt.Errorf("ldp: get %s: %w", p, err)
		}
		return s.getNonRDF(ctx, p, cur, body, GetRequest{})
	}
	rep.Body = body
	return rep, nil
}

// negotiateRDF answers with the stored Turtle, or converts it.
func (s *Store) negotiateRDF(p Path, kind Kind, info storage.Info, body io.ReadCloser, req GetRequest) (*Representation, error) {
	mt, err := Negotiate(req.Accept, rdfOffers)
	if err != nil {
		return nil, fmt.Errorf("ldp: get %s: %w", p, err)
	}
	rep := &Representation{
		Path: p, Kind: kind, ContentType: mt, ETag: info.ETag + variants[mt],
		Modified: info.Modified, Size: info.Size, TotalSize: info.Size,
	}
	if mt == rdfx.Turtle {
		rep.ContentType = turtleType
	}
	if err := req.Conditions.checkRead(p, state{exists: true, etag: rep.ETag, modified: info.Modified}); err != nil {
		return nil, notModified(err, rep)
	}
	if mt == rdfx.Turtle {
		if req.Head {
			body.Close()
		} else {
			rep.Body = body
		}
		return rep, nil
	}
	defer body.Close()
	g, err := s.parseStored(p, body)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := rdfx.Serialize(&buf, g, mt, s.IRI(p), defaultPrefixes); err != nil {
		return nil, fmt.Errorf("ldp: get %s as %s: %w", p, mt, err)
	}
	rep.Size, rep.TotalSize = int64(buf.Len()), int64(buf.Len())
	if !req.Head {
		rep.Body = io.NopCloser(&buf)
	}
	return rep, nil
}

// parseStored parses stored Turtle.
func (s *Store) parseStored(p Path, r io.Reader) (*rdfx.Graph, error) {
	g, err := rdfx.Parse(io.LimitReader(r, s.maxRDF+1), rdfx.Turtle, s.IRI(p), rdfx.ParseOptions{MaxTriples: s.maxTriples})
	if err != nil {
		return nil, fmt.Errorf("ldp: stored %s does not parse: %w", p, err)
	}
	return g, nil
}

// turtleType is the Content-Type of Turtle representations.
const turtleType = "text/turtle; charset=utf-8"

// getStorageDescription describes the storage (Solid Protocol §4.1). Its
// tag is a digest of its content; its time is when the Store was made, the
// last time its content could have changed, or for its owner (ByOwner) the
// last change of the usage counter when that is later.
func (s *Store) getStorageDescription(ctx context.Context, p, root Path, req GetRequest) (*Representation, error) {
	g := rdfx.NewGraph(1)
	g.Add(rdfx.Triple{S: rdfx.IRI(s.IRI(root)), P: rdfx.IRI(nsRDF + "type"), O: rdfx.IRI(TypeStorage)})
	modified := s.started
	if req.ByOwner {
		// The usage changes with every write: its time is the counter's.
		ts, changed, err := s.describeUsage(ctx, root)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			g.Add(t)
		}
		if changed = changed.UTC().Truncate(time.Second); changed.After(modified) {
			modified = changed
		}
	}
	prefixes := defaultPrefixes
	if s.describe != nil {
		for _, t := range s.describe(s.IRI(p), s.IRI(root)) {
			g.Add(t)
		}
		prefixes = map[string]string{"notify": nsNotify}
		for k, v := range defaultPrefixes {
			prefixes[k] = v
		}
	}
	if req.ByOwner {
		withKluis := map[string]string{"kluis": NSKluis}
		for k, v := range prefixes {
			withKluis[k] = v
		}
		prefixes = withKluis
	}
	var buf bytes.Buffer
	// The storage first: @inrupt/solid-client-notifications reads the
	// notification gateway from the first subject (rdfx.SerializeFirst).
	if err := rdfx.SerializeFirst(&buf, g, rdfx.Turtle, s.IRI(p), prefixes, s.IRI(root)); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	info := storage.Info{Size: int64(buf.Len()), ETag: hex.EncodeToString(sum[:16]), Modified: modified}
	return s.negotiateRDF(p, RDFSource, info, io.NopCloser(&buf), req)
}
