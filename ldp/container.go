package ldp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// child is one contained resource.
type child struct {
	name string // with a trailing "/" for a container
	info storage.Info
}

// listing is a container's marker and its children, sorted by name.
type listing struct {
	marker   storage.Info
	children []child
}

// list reads a container: its marker and every contained resource, less the
// auxiliary resources (Solid Protocol §4.3: they are not contained).
func (s *Store) list(ctx context.Context, p Path) (*listing, error) {
	marker, err := s.backend.Stat(ctx, p.Key())
	if err != nil {
		return nil, fmt.Errorf("ldp: container %s: %w", p, err)
	}
	l := &listing{marker: marker}
	prefix := p.Key()
	for info, err := range s.backend.List(ctx, prefix) {
		if err != nil {
			return nil, fmt.Errorf("ldp: listing %s: %w", p, err)
		}
		name := info.Key[len(prefix):]
		if !info.IsPrefix {
			if kind, _ := Path("/" + name).Aux(); kind != NotAux {
				continue
			}
		}
		l.children = append(l.children, child{name: name, info: info})
	}
	// Child containers carry the time of their marker.
	for i := range l.children {
		c := &l.children[i]
		if c.info.IsPrefix {
			if m, err := s.backend.Stat(ctx, c.info.Key); err == nil {
				c.info.Modified, c.info.ETag = m.Modified, m.ETag
			} else if !errors.Is(err, storage.ErrNotFound) {
				return nil, fmt.Errorf("ldp: listing %s: %w", p, err)
			}
		}
	}
	slices.SortFunc(l.children, func(a, b child) int { return strings.Compare(a.name, b.name) })
	return l, nil
}

// etag is the container's strong tag: a digest of its marker and of every
// child's name, tag, size and time, so it changes with the containment
// triples and with the contained-resource metadata that the representation
// carries.
func (l *listing) etag() string {
	h := sha256.New()
	io.WriteString(h, l.marker.ETag)
	var b []byte
	for _, c := range l.children {
		b = b[:0]
		b = append(b, 0)
		b = append(b, c.name...)
		b = append(b, 0)
		b = append(b, c.info.ETag...)
		b = strconv.AppendInt(append(b, 0), c.info.Size, 10)
		b = strconv.AppendInt(append(b, 0), c.info.Modified.UnixNano(), 10)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// modified is when the containment last changed, as far as it can be told:
// the newest of the marker and the children (Solid Protocol §4.2).
func (l *listing) modified() time.Time {
	m := l.marker.Modified
	for _, c := range l.children {
		if c.info.Modified.After(m) {
			m = c.info.Modified
		}
	}
	return m
}

// state returns what write conditions on the container are checked against.
func (s *Store) containerState(ctx context.Context, p Path) (state, *listing, error) {
	l, err := s.list(ctx, p)
	if errors.Is(err, storage.ErrNotFound) {
		return state{}, nil, nil
	}
	if err != nil {
		return state{}, nil, err
	}
	return state{exists: true, etag: l.etag(), modified: l.modified()}, l, nil
}

// getContainer answers a container with its own triples, its containment
// triples and the metadata of each contained resource (Solid Protocol §4.2
// "Resource Containment" and "Contained Resource Metadata").
func (s *Store) getContainer(ctx context.Context, p Path, req GetRequest) (*Representation, error) {
	mt, err := Negotiate(req.Accept, rdfOffers)
	if err != nil {
		return nil, fmt.Errorf("ldp: get %s: %w", p, err)
	}
	l, err := s.cachedList(ctx, p)
	if err != nil {
		return nil, err
	}
	pl, err := s.locate(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("ldp: get %s: %w", p, err)
	}
	rep := &Representation{
		Path: p, Kind: Container, ContentType: mt, ETag: l.etag() + variants[mt],
		Modified: l.modified(), IsStorage: pl.isRoot(p),
	}
	if mt == rdfx.Turtle {
		rep.ContentType = turtleType
	}
	if err := req.Conditions.checkRead(p, state{exists: true, etag: rep.ETag, modified: rep.Modified}); err != nil {
		return nil, notModified(err, rep)
	}
	if body, ok := s.bodies.get(p, rep.ETag); ok {
		rep.Size, rep.TotalSize = int64(len(body)), int64(len(body))
		if !req.Head {
			rep.Body = io.NopCloser(bytes.NewReader(body))
		}
		return rep, nil
	}
	own, err := s.containerTriples(ctx, p, l)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	base := s.IRI(p)
	if mt == rdfx.Turtle {
		tw := rdfx.NewTurtleWriter(&buf, base, defaultPrefixes)
		for t := range s.containmentTriples(p, l, rep.IsStorage) {
			if err := tw.Write(t); err != nil {
				return nil, err
			}
		}
		for t := range own.All() {
			if err := tw.Write(t); err != nil {
				return nil, err
			}
		}
		if err := tw.Close(); err != nil {
			return nil, err
		}
	} else {
		for t := range s.containmentTriples(p, l, rep.IsStorage) {
			own.Add(t)
		}
		if err := rdfx.Serialize(&buf, own, mt, base, defaultPrefixes); err != nil {
			return nil, fmt.Errorf("ldp: get %s as %s: %w", p, mt, err)
		}
	}
	rep.Size, rep.TotalSize = int64(buf.Len()), int64(buf.Len())
	if len(l.children) >= minKeptChildren {
		s.bodies.put(p, rep.ETag, buf.Bytes())
		if !req.Head {
			rep.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
		}
		return rep, nil
	}
	if !req.Head {
		rep.Body = io.NopCloser(&buf)
	}
	return rep, nil
}

// containerTriples reads the triples a client stored with the container.
func (s *Store) containerTriples(ctx context.Context, p Path, l *listing) (*rdfx.Graph, error) {
	if l.marker.Size == 0 {
		return rdfx.NewGraph(0), nil
	}
	body, _, err := s.backend.Get(ctx, p.Key(), storage.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("ldp: container %s: %w", p, err)
	}
	defer body.Close()
	return s.parseStored(p, body)
}

var (
	rdfType    = rdfx.IRI(nsRDF + "type")
	ldpContain = rdfx.IRI(nsLDP + "contains")
	dcModified = rdfx.IRI(nsDCTerms + "modified")
	statMtime  = rdfx.IRI(nsStat + "mtime")
	statSize   = rdfx.IRI(nsStat + "size")
)

// containmentTriples yields the server-managed triples of a container.
func (s *Store) containmentTriples(p Path, l *listing, isStorage bool) func(func(rdfx.Triple) bool) {
	return func(yield func(rdfx.Triple) bool) {
		self := rdfx.IRI(s.IRI(p))
		types := []string{TypeContainer, TypeBasicContainer, TypeResource}
		if isStorage {
			types = append(types, TypeStorage)
		}
		for _, t := range types {
			if !yield(rdfx.Triple{S: self, P: rdfType, O: rdfx.IRI(t)}) {
				return
			}
		}
		if !timeTriples(yield, self, l.modified()) {
			return
		}
		for _, c := range l.children {
			if !yield(rdfx.Triple{S: self, P: ldpContain, O: rdfx.IRI(s.IRI(p + Path(c.name)))}) {
				return
			}
		}
		for _, c := range l.children {
			o := rdfx.IRI(s.IRI(p + Path(c.name)))
			var types []string
			if c.info.IsPrefix {
				types = []string{TypeContainer, TypeBasicContainer, TypeResource}
			} else {
				mt, _, _ := strings.Cut(c.info.ContentType, ";")
				types = []string{TypeResource}
				if mt = strings.TrimSpace(mt); mt != "" {
					types = append(types, nsMedia+mt+"#Resource")
				}
			}
			for _, t := range types {
				if !yield(rdfx.Triple{S: o, P: rdfType, O: rdfx.IRI(t)}) {
					return
				}
			}
			if !c.info.Modified.IsZero() && !timeTriples(yield, o, c.info.Modified) {
				return
			}
			if !c.info.IsPrefix && !yield(rdfx.Triple{S: o, P: statSize, O: rdfx.Literal(strconv.FormatInt(c.info.Size, 10), nsXSD+"integer")}) {
				return
			}
		}
	}
}

func timeTriples(yield func(rdfx.Triple) bool, s rdfx.Term, t time.Time) bool {
	t = t.UTC().Truncate(time.Second)
	return yield(rdfx.Triple{S: s, P: dcModified, O: rdfx.Literal(t.Format(time.RFC3339), nsXSD+"dateTime")}) &&
		yield(rdfx.Triple{S: s, P: statMtime, O: rdfx.Literal(strconv.FormatInt(t.Unix(), 10), nsXSD+"integer")})
}

// protected reports the first server-managed triple in g about subject:
// containment, contained-resource metadata, and the types the server gives
// (LDP, media type and storage types) (Solid Protocol §5.3: a PUT or PATCH
// that updates them gets 409).
func protected(g *rdfx.Graph, subject string) (rdfx.Triple, bool) {
	for t := range g.All() {
		switch {
		case t.P == ldpContain:
			return t, true
		case t.S.Kind() == rdfx.KindIRI && t.S.Value() == subject:
			if t.P == dcModified || t.P == statMtime || t.P == statSize {
				return t, true
			}
			if t.P == rdfType && t.O.Kind() == rdfx.KindIRI && (strings.HasPrefix(t.O.Value(), nsLDP) ||
				strings.HasPrefix(t.O.Value(), nsMedia) || t.O.Value() == TypeStorage) {
				return t, true
			}
		}
	}
	return rdfx.Triple{}, false
}
