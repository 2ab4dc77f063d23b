package rdfx

import "strings"

// iriParts are the five components of an IRI reference (RFC 3986 §3),
// split without any normalisation or decoding.
type iriParts struct {
	scheme, authority, path, query, fragment       string
	hasScheme, hasAuthority, hasQuery, hasFragment bool
}

// splitIRI splits ref into its components (RFC 3986 Appendix B).
func splitIRI(ref string) iriParts {
	var p iriParts
	if n := schemeLen(ref); n > 0 {
		p.scheme, p.hasScheme = ref[:n], true
		ref = ref[n+1:]
	}
	if i := strings.IndexByte(ref, '#'); i >= 0 {
		p.fragment, p.hasFragment = ref[i+1:], true
		ref = ref[:i]
	}
	if i := strings.IndexByte(ref, '?'); i >= 0 {
		p.query, p.hasQuery = ref[i+1:], true
		ref = ref[:i]
	}
	if strings.HasPrefix(ref, "//") {
		ref = ref[2:]
		i := strings.IndexByte(ref, '/')
		if i < 0 {
			i = len(ref)
		}
		p.authority, p.hasAuthority = ref[:i], true
		ref = ref[i:]
	}
	p.path = ref
	return p
}

// schemeLen returns the length of ref's scheme (ALPHA *( ALPHA / DIGIT / "+"
// / "-" / "." ) followed by ":"), or 0 when ref is a relative reference.
func schemeLen(ref string) int {
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i
		default:
			return 0
		}
	}
	return 0
}

// hasScheme reports whether ref is an absolute IRI rather than a relative
// reference.
func hasScheme(ref string) bool { return schemeLen(ref) > 0 }

func (p iriParts) String() string {
	var b strings.Builder
	b.Grow(len(p.scheme) + len(p.authority) + len(p.path) + len(p.query) + len(p.fragment) + 5)
	if p.hasScheme {
		b.WriteString(p.scheme)
		b.WriteByte(':')
	}
	if p.hasAuthority {
		b.WriteString("//")
		b.WriteString(p.authority)
	}
	b.WriteString(p.path)
	if p.hasQuery {
		b.WriteByte('?')
		b.WriteString(p.query)
	}
	if p.hasFragment {
		b.WriteByte('#')
		b.WriteString(p.fragment)
	}
	return b.String()
}

// resolveIRI resolves the reference ref against base with the algorithm of
// RFC 3986 §5.2.2 and nothing more (no case or percent normalisation), as
// Turtle §6.3 and JSON-LD require. An absolute ref is returned unchanged, and
// so is any ref when base is empty.
func resolveIRI(base, ref string) string {
	if base == "" || hasScheme(ref) {
		return ref
	}
	if ref == "" { // the document itself: the base without its fragment
		if i := strings.IndexByte(base, '#'); i >= 0 {
			return base[:i]
		}
		return base
	}
	if ref[0] == '#' {
		if i := strings.IndexByte(base, '#'); i >= 0 {
			base = base[:i]
		}
		return base + ref
	}
	b, r := splitIRI(base), splitIRI(ref)
	var t iriParts
	if r.hasAuthority {
		t.authority, t.hasAuthority = r.authority, true
		t.path = RemoveDotSegments(r.path)
		t.query, t.hasQuery = r.query, r.hasQuery
	} else {
		switch {
		case r.path == "":
			t.path = b.path
			if r.hasQuery {
				t.query, t.hasQuery = r.query, true
			} else {
				t.query, t.hasQuery = b.query, b.hasQuery
			}
		case r.path[0] == '/':
			t.path = RemoveDotSegments(r.path)
			t.query, t.hasQuery = r.query, r.hasQuery
		default:
			t.path = RemoveDotSegments(mergePaths(b, r.path))
			t.query, t.hasQuery = r.query, r.hasQuery
		}
		t.authority, t.hasAuthority = b.authority, b.hasAuthority
	}
	t.scheme, t.hasScheme = b.scheme, b.hasScheme
	t.fragment, t.hasFragment = r.fragment, r.hasFragment
	return t.String()
}

// mergePaths merges a relative path onto the base's path (RFC 3986 §5.2.3).
func mergePaths(base iriParts, path string) string {
	if base.hasAuthority && base.path == "" {
		return "/" + path
	}
	i := strings.LastIndexByte(base.path, '/')
	return base.path[:i+1] + path
}

// RemoveDotSegments removes "." and ".." segments from a URI path (RFC 3986
// §5.2.4). webid normalises DPoP htu values with it.
func RemoveDotSegments(path string) string {
	if !strings.Contains(path, ".") {
		return path
	}
	in := path
	out := make([]byte, 0, len(path))
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			out = out[:lastSegmentStart(out)]
		case in == "/..":
			in = "/"
			out = out[:lastSegmentStart(out)]
		case in == "." || in == "..":
			in = ""
		default:
			i := strings.IndexByte(in[1:], '/')
			if i < 0 {
				i = len(in)
			} else {
				i++
			}
			out = append(out, in[:i]...)
			in = in[i:]
		}
	}
	return string(out)
}

// lastSegmentStart returns where the last "/segment" of out begins.
func lastSegmentStart(out []byte) int {
	i := len(out) - 1
	for i >= 0 && out[i] != '/' {
		i--
	}
	if i < 0 {
		return 0
	}
	return i
}

// relativeIRI returns a short relative reference for iri against base, and
// whether it found one: "" for the base document, "#frag" for its
// fragments, and "name" or "./" for resources in the base's directory. The
// result always resolves back to iri.
func relativeIRI(base, iri string) (string, bool) {
	if base == "" || !hasScheme(iri) {
		return "", false
	}
	doc := base
	if i := strings.IndexByte(doc, '#'); i >= 0 {
		doc = doc[:i]
	}
	switch {
	case iri == doc: // resolves to the base without its fragment
		return "", true
	case strings.HasPrefix(iri, doc) && iri[len(doc)] == '#':
		return iri[len(doc):], true
	}
	if strings.IndexByte(doc, '?') >= 0 {
		return "", false
	}
	b := splitIRI(doc)
	slash := strings.LastIndexByte(b.path, '/')
	if !b.hasAuthority || slash < 0 {
		return "", false
	}
	dir := doc[:len(doc)-len(b.path)+slash+1]
	if !strings.HasPrefix(iri, dir) {
		return "", false
	}
	rel := iri[len(dir):]
	switch {
	case rel == "":
		rel = "./"
	case rel[0] == '/' || rel[0] == '?' || rel[0] == '#':
		return "", false
	}
	relPath := rel
	if i := strings.IndexAny(relPath, "?#"); i >= 0 {
		relPath = relPath[:i]
	}
	if seg, _, _ := strings.Cut(relPath, "/"); strings.IndexByte(seg, ':') >= 0 {
		return "", false // would read as a scheme
	}
	// Without dot segments, resolving rel merges it onto the directory and
	// gives iri back; with them, check the long way.
	if (rel != "./" && hasDotSegment(relPath)) || hasDotSegment(b.path[:slash+1]) {
		if resolveIRI(base, rel) != iri {
			return "", false
		}
	}
	return rel, true
}

// hasDotSegment reports whether path has a "." or ".." segment.
func hasDotSegment(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
