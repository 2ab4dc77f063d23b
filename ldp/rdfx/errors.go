package rdfx

import (
	"errors"
	"fmt"
)

// The errors rdfx returns, wrapped with context. Test for them with
// errors.Is.
var (
	// ErrSyntax means a document or patch is not well-formed in its media
	// type. It is wrapped by *SyntaxError, which carries the position.
	ErrSyntax = errors.New("rdfx: syntax error")
	// ErrTooManyTriples means a document holds more triples than
	// ParseOptions.MaxTriples allows; parsing stopped there.
	ErrTooManyTriples = errors.New("rdfx: too many triples")
	// ErrTooLarge means a document expands beyond ParseOptions.MaxBytes
	// (an RDF/XML entity referenced too often, terms repeated into more
	// text than allowed), or holds more JSON than a JSON-LD document of
	// ParseOptions.MaxTriples triples needs; parsing stopped there.
	ErrTooLarge = errors.New("rdfx: document too large once expanded")
	// ErrUnsupported means the input uses a media type or a language feature
	// rdfx does not implement, such as a SPARQL FILTER or a JSON-LD named
	// graph other than the document's own.
	ErrUnsupported = errors.New("rdfx: unsupported")
	// ErrRemoteContext means a JSON-LD document refers to a remote context
	// that is not in ParseOptions.Contexts. rdfx never fetches contexts.
	ErrRemoteContext = errors.New("rdfx: remote JSON-LD context not allowed")
	// ErrMalformedPatch means a patch document breaks the rules of its
	// language: a syntax error, or for N3 Patch a constraint of Solid Protocol
	// 0.11 §5.3.1 (which asks for 422), or for SPARQL Update a variable in
	// DATA or a blank node in a delete template.
	ErrMalformedPatch = errors.New("rdfx: malformed patch")
	// ErrPatchConflict means a well-formed patch cannot be applied to the
	// graph as it is: the N3 Patch where clause does not have exactly one
	// match, or a triple to delete is absent (Solid Protocol 0.11 §5.3.1
	// asks for 409).
	ErrPatchConflict = errors.New("rdfx: patch conflicts with the resource")
)

// SyntaxError reports where a parser found malformed input. Line and Col
// count from 1 (Col in characters, or in bytes for RDF/XML, as encoding/xml
// counts); zero means the position is unknown, as for JSON-LD processing
// errors. It unwraps to ErrSyntax.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

// Error formats the error as "rdfx: syntax error at line:col: msg".
func (e *SyntaxError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("rdfx: syntax error at %d:%d: %s", e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("rdfx: syntax error at line %d: %s", e.Line, e.Msg)
	default:
		return "rdfx: syntax error: " + e.Msg
	}
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }
