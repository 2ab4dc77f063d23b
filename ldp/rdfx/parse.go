package rdfx

import (
	"bufio"
	"context"
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

// The default limits of ParseOptions, used where a field is zero. They
// bound what one document may cost while it is parsed, whatever its
// syntax: a document at a limit still parses in time linear in its size.
const (
	// DefaultMaxTriples is the default of ParseOptions.MaxTriples.
	DefaultMaxTriples = 200_000
	// DefaultMaxDepth is the default of ParseOptions.MaxDepth.
	DefaultMaxDepth = 128
	// DefaultMaxBytes is the default of ParseOptions.MaxBytes: four times
	// the 16 MiB that Kluis accepts as an RDF body, room for the IRIs that
	// prefixes and contexts abbreviate.
	DefaultMaxBytes = 64 << 20
)

// ParseOptions tune Parse and ParsePatch. The limits are checked while
// the document is read, as each triple or expansion is produced, so that a
// document over a limit is refused before it has cost more than the limit.
type ParseOptions struct {
	// MaxTriples is the most distinct triples the graph may hold (for a
	// patch, the most triples and patterns it may hold); 0 means
	// DefaultMaxTriples and a negative value no limit. More gives
	// ErrTooManyTriples.
	//
	// A JSON-LD document is also held to MaxTriples/2 + 1,024 JSON values
	// (objects, arrays, strings, numbers, booleans, nulls), checked before
	// json-gold expands it, which keeps some 700 bytes per value; more
	// gives ErrTooLarge. With the default, about 100,000 values, some 70
	// MB.
	MaxTriples int

	// MaxDepth is how deeply the terms of a document may nest: [ ], ( )
	// and { } in Turtle, N3 and SPARQL, node and property elements in
	// RDF/XML (twice MaxDepth elements, as each level is two), and objects
	// and arrays in JSON-LD (four times, as expanded JSON-LD spends up to
	// four per level); 0 means DefaultMaxDepth. Deeper is a *SyntaxError.
	MaxDepth int

	// MaxBytes bounds the bytes a parse produces: the text of the terms
	// of every triple the document states, duplicates included (subject,
	// predicate and object, as N-Triples would spell them without the
	// punctuation), plus for RDF/XML
	// the replacement text of every entity reference as the XML decoder
	// expands it, of which at most a quarter of MaxBytes; for JSON-LD, an
	// upper bound of the text its IRIs can expand to is checked before
	// expansion. It bounds the memory of a parse and the size of any
	// serialisation of its result, which a document can otherwise make far
	// larger than itself (an entity referenced many times, a long subject
	// repeated by "," or ";", a long prefix used many times). 0 means
	// DefaultMaxBytes, negative no limit. More gives ErrTooLarge.
	MaxBytes int64

	// Contexts maps the URLs of remote JSON-LD contexts to their documents.
	// It is the allow-list of remote contexts: rdfx never fetches one, and a
	// document that refers to a context not listed here fails with
	// ErrRemoteContext. rdfx embeds no contexts of its own.
	Contexts map[string][]byte
}

// limits are ParseOptions with the defaults applied: 0 means no limit.
type limits struct {
	triples int
	depth   int
	bytes   int64
}

func (o ParseOptions) limits() limits {
	l := limits{triples: o.MaxTriples, depth: o.MaxDepth, bytes: o.MaxBytes}
	switch {
	case l.triples == 0:
		l.triples = DefaultMaxTriples
	case l.triples < 0:
		l.triples = 0
	}
	if l.depth <= 0 {
		l.depth = DefaultMaxDepth
	}
	switch {
	case l.bytes == 0:
		l.bytes = DefaultMaxBytes
	case l.bytes < 0:
		l.bytes = 0
	}
	return l
}

// budget counts what a parse has produced against its limits, and checks
// now and then whether the caller has gone away.
type budget struct {
	ctx   context.Context
	lim   limits
	bytes int64
	ticks uint
}

func newBudget(ctx context.Context, o ParseOptions) *budget {
	if ctx == nil {
		ctx = context.Background()
	}
	return &budget{ctx: ctx, lim: o.limits()}
}

// spend adds n produced bytes, failing past MaxBytes.
func (b *budget) spend(n int) {
	b.bytes += int64(n)
	if b.lim.bytes > 0 && b.bytes > b.lim.bytes {
		fail(fmt.Errorf("rdfx: the document expands to more than %d bytes: %w", b.lim.bytes, ErrTooLarge))
	}
}

// add adds t to g, counting its bytes first, duplicates included: adding
// hashes every term, so a long IRI repeated by "," costs its length each
// time even when the triple is already there.
func (b *budget) add(g *Graph, t Triple) {
	b.spend(termBytes(t.S) + termBytes(t.P) + termBytes(t.O))
	if g.Add(t) {
		b.count(g.Len())
	}
}

// count fails when n triples (or patterns) are more than MaxTriples.
func (b *budget) count(n int) {
	if b.lim.triples > 0 && n > b.lim.triples {
		fail(fmt.Errorf("rdfx: more than %d triples: %w", b.lim.triples, ErrTooManyTriples))
	}
}

func termBytes(t Term) int { return len(t.value) + len(t.datatype) + len(t.lang) }

// tick is called once per unit of work (a token, a JSON value); every
// 1024 ticks it fails with the context's error if the context is done.
func (b *budget) tick() {
	b.ticks++
	if b.ticks&1023 == 0 {
		b.checkContext()
	}
}

func (b *budget) checkContext() {
	if err := b.ctx.Err(); err != nil {
		fail(fmt.Errorf("rdfx: parsing stopped: %w", context.Cause(b.ctx)))
	}
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
// position when the format's parser knows it; a document over a limit of
// opts gives ErrTooManyTriples, ErrTooLarge or a *SyntaxError (nesting);
// errors from r are returned wrapped.
func Parse(r io.Reader, mediaType, baseIRI string, opts ParseOptions) (*Graph, error) {
	return ParseContext(context.Background(), r, mediaType, baseIRI, opts)
}

// ParseContext is Parse that stops, with an error wrapping the cause of
// ctx, soon after ctx is done: a server passes the request's context, so
// that the work ends when the client goes away. Every parser runs in time
// linear in its input, within the limits of opts.
func ParseContext(ctx context.Context, r io.Reader, mediaType, baseIRI string, opts ParseOptions) (*Graph, error) {
	mt, err := canonicalType(mediaType)
	if err != nil {
		return nil, err
	}
	b := newBudget(ctx, opts)
	if err := b.ctx.Err(); err != nil {
		return nil, fmt.Errorf("rdfx: parsing stopped: %w", context.Cause(b.ctx))
	}
	r = skipBOM(r)
	switch mt {
	case Turtle, NTriples:
		return parseTurtle(r, baseIRI, dialectTurtle, b)
	case N3:
		return parseTurtle(r, baseIRI, dialectN3, b)
	case RDFXML:
		return parseRDFXML(r, baseIRI, b)
	default: // JSONLD
		return parseJSONLD(r, baseIRI, opts, b)
	}
}

// parseTurtle reads Turtle (or the Turtle subset of N3) into a new graph.
func parseTurtle(r io.Reader, base string, d dialect, b *budget) (*Graph, error) {
	g := NewGraph(0)
	if err := parseTurtleInto(g, r, base, d, b); err != nil {
		return nil, err
	}
	return g, nil
}

func parseTurtleInto(g *Graph, r io.Reader, base string, d dialect, b *budget) (err error) {
	defer catch(&err)
	p := newParser(r, base, d, b)
	p.g = g
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
