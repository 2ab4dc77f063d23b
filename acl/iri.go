package acl

import (
	"fmt"
	"strings"
)

// The suffixes Kluis gives the auxiliary resources of a resource <x>: its
// ACL resource <x.acl> and its description resource <x.meta> (Solid Protocol
// 0.11 §4.3 "Auxiliary Resources"; the naming is Kluis's, as WAC 1.0 §3.1
// leaves it to the server). A container <c/> has <c/.acl> and <c/.meta>.
const (
	aclSuffix  = ".acl"
	metaSuffix = ".meta"
)

// auxKind says whether an IRI names an auxiliary resource.
type auxKind uint8

const (
	notAux  auxKind = iota
	aclAux          // an ACL resource, or anything auxiliary to one
	metaAux         // a description resource
)

// subjectOf maps an auxiliary resource to the resource it belongs to:
// <x.acl> and <x.meta> to <x>, <c/.acl> to <c/>. Chains are followed to the
// end (<x.meta.acl> and <x.acl.meta> both belong to <x>), and the kind is
// aclAux when any step is an ACL, since reading or writing anything about an
// ACL resource is a control operation. Containers (ending in "/") are never
// auxiliary.
func subjectOf(iri string) (string, auxKind) {
	kind := notAux
	for !strings.HasSuffix(iri, "/") {
		if s, ok := strings.CutSuffix(iri, aclSuffix); ok {
			iri, kind = s, aclAux
			continue
		}
		if s, ok := strings.CutSuffix(iri, metaSuffix); ok {
			iri = s
			if kind == notAux {
				kind = metaAux
			}
			continue
		}
		break
	}
	return iri, kind
}

// pathStart returns the index of the "/" that starts the path of an
// absolute hierarchical IRI ("https://host/path"), or an error wrapping
// ErrInvalidIRI. IRIs with a query or fragment are refused: they do not
// name a resource in a container hierarchy.
func pathStart(iri string) (int, error) {
	i := strings.Index(iri, "://")
	if i <= 0 || strings.ContainsAny(iri, "?#") {
		return 0, fmt.Errorf("acl: %q: %w", iri, ErrInvalidIRI)
	}
	j := strings.IndexByte(iri[i+3:], '/')
	if j < 0 {
		return 0, fmt.Errorf("acl: %q: %w", iri, ErrInvalidIRI)
	}
	return i + 3 + j, nil
}

// parent returns the container of iri (WAC 1.0 §5.1 "Effective ACL
// Resource": "repeat the steps using the container resource of resource"):
// the parent of https://h/a/b is https://h/a/, of https://h/a/ is
// https://h/. The root container https://h/ has none. start is the result
// of pathStart.
func parent(iri string, start int) (string, bool) {
	if len(iri) <= start+1 {
		return "", false
	}
	s := iri[:len(iri)-1] // drop the last byte: the slash of a container, or part of a name
	return s[:strings.LastIndexByte(s, '/')+1], true
}

// appendChain appends iri and then its containers, nearest first, ending
// with the root container. The strings share iri's memory.
func appendChain(dst []string, iri string) ([]string, error) {
	start, err := pathStart(iri)
	if err != nil {
		return dst, err
	}
	for ok := true; ok; iri, ok = parent(iri, start) {
		dst = append(dst, iri)
	}
	return dst, nil
}

// parentOf returns the container of iri, or "" for a root container or an
// IRI that is not absolute.
func parentOf(iri string) string {
	start, err := pathStart(iri)
	if err != nil {
		return ""
	}
	p, _ := parent(iri, start)
	return p
}

// sameOrigin compares two serialised origins (RFC 6454 §6.2), ignoring
// case and one trailing slash, which Turtle authors often add to
// acl:origin <https://app.example/>.
func sameOrigin(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}

// sameIssuer compares two issuer IRIs. An issuer with an empty path equals
// the same IRI with the path "/" (RFC 3986 §6.2.3); otherwise the IRIs must
// be identical, as Solid-OIDC compares iss by simple string comparison.
func sameIssuer(a, b string) bool {
	return a == b || rootForm(a) == rootForm(b)
}

// rootForm returns iri with "/" appended when it has a scheme and an
// authority but no path, and iri unchanged otherwise.
func rootForm(iri string) string {
	if i := strings.Index(iri, "://"); i > 0 && !strings.ContainsAny(iri[i+3:], "/?#") {
		return iri + "/"
	}
	return iri
}
