package ldp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
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

// appendTo writes into buf the stored document (body, described by info)
// with a appended, and returns the hints of the result and where in buf
// the appended bytes start: what a backend that appends (storage.Appender)
// writes, where another writes buf whole. With false, the document must
// take the full path, and body is left unread and open.
func (s *Store) appendTo(p Path, body io.ReadCloser, info storage.Info, a *appendix, buf *bytes.Buffer) (rdfHints, int, bool, error) {
	h, ok := hintsOf(info.Metadata)
	extra := int64(len(a.text)) + 1
	if !ok || h.triples+a.n > s.maxTriples || info.Size+extra > s.maxRDF ||
		h.appended+extra > max(appendSlack, info.Size-h.appended) {
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
