package ldp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// Insert-only patches are appended (issue 18).
//
// A PATCH that only inserts (an N3 Patch without where or deletes, SPARQL
// INSERT DATA) needs nothing of the document's graph: the result is the
// graph plus the inserted triples (Solid Protocol §5.3.1). Rather than
// parse the stored Turtle, apply the patch and serialise it all again
// (most of a PATCH's CPU for a document of a few hundred triples, and
// growing with it), the triples are written as N-Triples lines after the
// stored bytes (rdfx.Patch.Appendable), which parse, with the document, to
// the graph a full PATCH would store.
//
// Two limits keep what is stored readable: a GET or the next PATCH parses
// at most maxTriples triples of at most maxRDF bytes. The bytes are known;
// the triples, without parsing, from hints each RDF document carries in its
// metadata: how many triples it held when last written whole (PUT, POST,
// or a PATCH that parsed it), plus every line appended since (a repeated
// triple counted again: an upper bound), and how many bytes were appended
// since. A document without hints (stored before them, or imported), one
// whose bound would pass maxTriples, or one whose appended bytes would
// pass what it held when written whole (or appendSlack, whichever is
// more) takes the full path, which parses, drops repeated triples and
// writes it whole with exact hints. So a document holds at most about
// twice what its graph needs, and appending costs, amortised, a constant
// share of a full rewrite.
//
// Containers and description resources (whose server-managed triples are
// checked on the graph) and ACL documents (validated whole) always take
// the full path.

const (
	// hintTriples and hintAppended are the metadata names of the hints.
	hintTriples  = "rdf-triples"
	hintAppended = "rdf-appended"
	// appendSlack is the bytes any document may have appended before it
	// is written whole again.
	appendSlack = 64 << 10
)

// rdfHints are what a stored RDF document's metadata tells of it.
type rdfHints struct {
	triples  int   // at most this many triples
	appended int64 // bytes appended since it was written whole
}

func (h rdfHints) metadata() map[string]string {
	m := map[string]string{hintTriples: strconv.Itoa(h.triples)}
	if h.appended > 0 {
		m[hintAppended] = strconv.FormatInt(h.appended, 10)
	}
	return m
}

// hintsOf reads the hints of a document's metadata; false when it has
// none, or they are not numbers.
func hintsOf(md map[string]string) (rdfHints, bool) {
	t, err := strconv.Atoi(md[hintTriples])
	if err != nil || t < 0 {
		return rdfHints{}, false
	}
	h := rdfHints{triples: t}
	if v, ok := md[hintAppended]; ok {
		if h.appended, err = strconv.ParseInt(v, 10, 64); err != nil || h.appended < 0 {
			return rdfHints{}, false
		}
	}
	return h, true
}

// appendix is an insert-only patch written as lines to append.
type appendix struct {
	text []byte
	n    int // lines
	// full: the backend said it has no room to append to the document
	// (storage.ErrAppendFull); this PATCH writes it whole.
	full bool
}

// appendable is patch as lines to append to the document at p, or nil
// when it must be applied to the parsed graph.
func (s *Store) appendable(p Path, patch *rdfx.Patch) *appendix {
	if aux, _ := p.Aux(); p.IsContainer() || aux != NotAux || !patch.OnlyInserts() {
		return nil
	}
	// Blank node labels nobody can have written into the document.
	var salt [12]byte
	_, _ = rand.Read(salt[:])
	text, n, err := patch.Appendable("k" + hex.EncodeToString(salt[:]))
	if err != nil || n == 0 {
		return nil // the full path says what is wrong, or writes nothing new
	}
	return &appendix{text: text, n: n}
}

// mayAppend tells whether the document info, with hints h, may take a
// (extra bytes) appended: it stays within the triple and byte limits, and
// its appended part within what it held when written whole, or
// appendSlack.
func (s *Store) mayAppend(info storage.Info, h rdfHints, a *appendix, extra int64) bool {
	return h.triples+a.n <= s.maxTriples && info.Size+extra <= s.maxRDF &&
		h.appended+extra <= max(appendSlack, info.Size-h.appended)
}

// appendTo writes into buf the stored document (body, described by info)
// with a appended, and returns the hints of the result and where in buf
// the appended bytes start: what a backend that appends (storage.Appender)
// writes, where another writes buf whole. With false, the document must
// take the full path, and body is left unread and open.
func (s *Store) appendTo(p Path, body io.ReadCloser, info storage.Info, a *appendix, buf *bytes.Buffer) (rdfHints, int, bool, error) {
	h, ok := hintsOf(info.Metadata)
	extra := int64(len(a.text)) + 1
	if !ok || !s.mayAppend(info, h, a, extra) {
		return rdfHints{}, 0, false, nil
	}
	buf.Grow(int(info.Size + extra))
	_, err := buf.ReadFrom(io.LimitReader(body, s.maxRDF+1))
	body.Close()
	if err != nil {
		return rdfHints{}, 0, false, fmt.Errorf("ldp: patch %s: reading it: %w", p, err)
	}
	stored := int64(buf.Len())
	// A last line without its end (a comment) must not swallow the first
	// appended one.
	if stored > 0 && buf.Bytes()[stored-1] != '\n' {
		buf.WriteByte('\n')
	}
	buf.Write(a.text)
	if int64(buf.Len()) > s.maxRDF {
		return rdfHints{}, 0, false, fmt.Errorf("ldp: patch %s: the result has more than %d bytes: %w", p, s.maxRDF, ErrTooLarge)
	}
	return rdfHints{triples: h.triples + a.n, appended: h.appended + int64(buf.Len()) - stored}, int(stored), true, nil
}

// appendInPlace applies an insert-only patch to the plain document at p
// by handing its lines to a backend that appends in place
// (storage.Appender), without reading the document: its hints say whether
// it may take them, and one that was appended to before ends with a
// line's end. On a file system that is one Stat, which reads the header,
// and one append; a PATCH that reads the document first reads all of it,
// up to twice what its graph needs (issue 18).
//
// false means the patch must take the path that reads the document: it is
// missing, not RDF, written whole since its last append (it may end in
// the middle of a line), past a limit, or the backend does not append
// (which the Store then remembers) or is full.
func (s *Store) appendInPlace(ctx context.Context, p Path, a *appendix, cond Conditions, m *meter) (WriteResult, bool, error) {
	if s.noAppend.Load() {
		return WriteResult{}, false, nil
	}
	for attempt := 0; attempt < patchAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return WriteResult{}, true, err
			}
		}
		info, err := s.backend.Stat(ctx, p.Key())
		if err != nil {
			return WriteResult{}, false, nil // the full path tells what is wrong
		}
		h, ok := hintsOf(info.Metadata)
		extra := int64(len(a.text))
		if !isTurtle(info.ContentType) || !ok || h.appended == 0 || !s.mayAppend(info, h, a, extra) {
			return WriteResult{}, false, nil
		}
		if err := cond.checkWrite(p, state{exists: true, etag: info.ETag, modified: info.Modified}); err != nil {
			return WriteResult{}, true, err
		}
		if err := m.check(info.Size, info.Size+extra); err != nil {
			return WriteResult{}, true, err
		}
		held, err := s.hold(ctx, m, info.Size, info.Size+extra)
		if err != nil {
			return WriteResult{}, true, err
		}
		hints := rdfHints{triples: h.triples + a.n, appended: h.appended + extra}
		out, err := storage.Append(ctx, s.backend, p.Key(), a.text, storage.AppendOptions{IfMatch: info.ETag, Metadata: hints.metadata()})
		if err != nil {
			held.release()
		}
		switch {
		case errors.Is(err, storage.ErrAppendUnsupported):
			s.noAppend.Store(true)
			return WriteResult{}, false, nil
		case errors.Is(err, storage.ErrAppendFull):
			a.full = true
			return WriteResult{}, false, nil
		case errors.Is(err, storage.ErrPreconditionFailed):
			continue // another writer came first: look again
		case err != nil:
			return WriteResult{}, true, fmt.Errorf("ldp: patch %s: %w", p, err)
		}
		held.settle(out.Size)
		s.changed(p, createdOr(false), out.ETag)
		return WriteResult{Path: p, ETag: writtenTag(p, out), Modified: out.Modified}, true, nil
	}
	return WriteResult{}, false, nil
}
