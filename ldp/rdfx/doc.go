// Package rdfx is Kluis's one door to RDF: its own small term, triple and
// graph types, parsers and serialisers for the RDF media types a Solid server
// speaks, and the two PATCH languages of Solid (N3 Patch and SPARQL Update)
// with their application to a graph.
//
// What it owns:
//
//   - Term, Triple and Graph, so that callers never see a third-party type.
//   - Parse and ParseContext for text/turtle, application/n-triples,
//     application/rdf+xml, application/ld+json and text/n3 (the part of N3
//     that is plain Turtle), with relative IRIs resolved against a base
//     (RFC 3986 §5.2) and positioned syntax errors (*SyntaxError).
//     RDFa in text/html or application/xhtml+xml is not read: Supports
//     says false, so the server keeps such documents as non-RDF resources.
//   - Serialize for the same media types, in a deterministic (sorted) order,
//     and TurtleWriter, which streams Turtle one triple at a time for large
//     container listings.
//   - ParsePatch, ParseN3Patch (Solid Protocol 0.11 §5.3.1),
//     ParseSPARQLUpdate (INSERT DATA, DELETE DATA and DELETE/INSERT ...
//     WHERE over basic graph patterns), and Plan and Apply, which evaluate
//     a Patch against a graph atomically.
//
// rdfx is the only Kluis package that may import an RDF library
// (github.com/knakk/rdf) or a JSON-LD processor
// (github.com/piprate/json-gold). JSON-LD goes through json-gold with a
// document loader that never touches the network: remote contexts are
// served only from ParseOptions.Contexts, which the caller fills, and any
// other remote context fails with ErrRemoteContext.
//
// Turtle, N-Triples, N3 and RDF/XML are read by rdfx's own decoders, and
// every format is written by rdfx. knakk/rdf was meant to read them, but its
// Turtle decoder joins relative IRIs to the base by concatenation, can give
// an anonymous node the label of a document's own blank node, and leaves
// its lexer goroutine blocked when a parse stops early; its RDF/XML decoder
// merges rdf:nodeID="b0" with a node it names b0 itself, misreads
// mailto: and urn: IRIs, and cannot read a typed node element nested in a
// property element. It remains in rdfx's tests as an independent reference
// for the documents it reads correctly.
//
// Input is hostile: a server parses what anonymous clients send and what
// attackers host (WebID profiles, group documents). Every parser runs in
// time linear in its input, and the limits of ParseOptions (triples,
// nesting depth, bytes produced), with defaults where a field is zero,
// are checked while the document is read, as each triple or expansion is
// produced, never after; ParseContext and ParsePatch stop soon after their
// context is done. JSON-LD is the exception that proves the rule: json-gold
// cannot be interrupted, so the shape of a JSON-LD document is checked
// against the limits before json-gold expands it, and the one step of
// json-gold that is not linear (its node map) is rdfx's own.
//
// Errors are the Err sentinels, wrapped with context, or *SyntaxError; map
// them to HTTP statuses with errors.Is and errors.As. The package holds no
// mutable package-level state and imports nothing from Kluis.
package rdfx
