package rdfx

import (
	"bufio"
	"fmt"
	"io"
	"mime"
	"strings"
)

// The RDF media types rdfx reads and writes.
const (
	Turtle   = "text/turtle"
	NTriples = "application/n-triples"
	RDFXML   = "application/rdf+xml"
	JSONLD   = "application/ld+json"
	N3       = "text/n3"
)

// SPARQLUpdate is the media type of SPARQL Update requests, which
// ParseSPARQLUpdate reads. It is a patch language, not an RDF syntax: Parse
// and Serialize do not support it. N3 Patch documents use N3.
const SPARQLUpdate = "application/sparql-update"

// MediaTypes returns the media types Parse and Serialize support, in the
// order a server would prefer them (Turtle first), in a new slice.
func MediaTypes() []string { return []string{Turtle, JSONLD, NTriples, RDFXML, N3} }

// Supports reports whether Parse and Serialize support mediaType, which may
// carry parameters ("text/turtle; charset=utf-8").
func Supports(mediaType string) bool {
	_, err := canonicalType(mediaType)
	return err == nil
}

// canonicalType strips parameters from mediaType, lowercases it, and
// returns ErrUnsupported for types rdfx does not know.
func canonicalType(mediaType string) (string, error) {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return "", fmt.Errorf("rdfx: media type %q: %w", mediaType, ErrUnsupported)
	}
	switch mt = strings.ToLower(mt); mt {
	case Turtle, NTriples, RDFXML, JSONLD, N3:
		return mt, nil
	}
	return "", fmt.Errorf("rdfx: media type %q: %w", mt, ErrUnsupported)
}

// ParseOptions tune Parse.
type ParseOptions struct {
	// MaxTriples is the most distinct triples the graph may hold; 0 means no
	// limit. Parse stops reading and returns ErrTooManyTriples as soon as
	// the limit is passed, except for JSON-LD, which is read whole first.
	MaxTriples int

	// Contexts maps the URLs of remote JSON-LD contexts to their documents.
	// It is the allow-list of remote contexts: rdfx never fetches one, and a
	// document that refers to a context not listed here fails with
	// ErrRemoteContext. rdfx embeds no contexts of its own.
	Contexts map[string][]byte
}

// Parse reads an RDF document of the given media type (parameters such as
// charset are ignored; the input must be UTF-8) into a new graph. Relative
// IRIs are resolved against baseIRI (RFC 3986 §5.2), which should be the
// document's own URL.
//
// Supported are text/turtle, application/n-triples (read as Turtle, of
// which it is a subset), application/rdf+xml, application/ld+json (JSON-LD
// 1.1; of its named graphs only one named after baseIRI is kept, merged into
// the graph, and any other is ErrUnsupported) and text/n3 (its Turtle subset:
// formulae, variables and N3 keywords are ErrUnsupported). Other media
// types are ErrUnsupported.
//
// Malformed input gives a *SyntaxError (wrapping ErrSyntax) with the
// position when the format's parser knows it; more than opts.MaxTriples
// triples gives ErrTooManyTriples; errors from r are returned wrapped.
func Parse(r io.Reader, mediaType, baseIRI string, opts ParseOptions) (*Graph, error) {
	mt, err := canonicalType(mediaType)
	if err != nil {
		return nil, err
	}
	r = skipBOM(r)
	switch mt {
	case Turtle, NTriples:
		return parseTurtle(r, baseIRI, dialectTurtle, opts.MaxTriples)
	case N3:
		return parseTurtle(r, baseIRI, dialectN3, opts.MaxTriples)
	case RDFXML:
		return parseRDFXML(r, baseIRI, opts.MaxTriples)
	default: // JSONLD
		return parseJSONLD(r, baseIRI, opts)
	}
}

// parseTurtle reads Turtle (or the Turtle subset of N3) into a new graph.
func parseTurtle(r io.Reader, base string, d dialect, max int) (*Graph, error) {
	g := NewGraph(0)
	if err := parseTurtleInto(g, r, base, d, max); err != nil {
		return nil, err
	}
	return g, nil
}

func parseTurtleInto(g *Graph, r io.Reader, base string, d dialect, max int) (err error) {
	defer catch(&err)
	p := newParser(r, base, d)
	p.g, p.max = g, max
	p.parseDocument()
	return nil
}

// skipBOM drops a UTF-8 byte order mark, which some editors put at the
// start of a file and which no RDF syntax allows.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 16<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	return br
}
