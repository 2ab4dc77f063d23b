package ldp

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/weconomics/kluis/storage"
)

// Path is the decoded path of a resource, starting with "/". A path ending
// in "/" is a container (Solid Protocol §3.1 "URI Slash Semantics").
type Path string

// keyPrefix is where resources live in the backend.
const keyPrefix = "r/"

// Suffixes of the auxiliary resources (Solid Protocol §4.3 "Auxiliary
// Resources"): the ACL resource and the description resource.
const (
	ACLSuffix  = ".acl"
	MetaSuffix = ".meta"
)

// ParsePath checks a decoded request path: absolute, no empty, "." or ".."
// segments, no control characters or backslashes, within the key limits.
// Such a path can never name a key outside the resource space.
func ParsePath(p string) (Path, error) {
	if p == "/" {
		return "/", nil
	}
	if !strings.HasPrefix(p, "/") {
		return "", &BadRequestError{Reason: "path must start with /"}
	}
	if err := storage.ValidateKey(keyPrefix + p[1:]); err != nil {
		return "", &BadRequestError{Reason: "invalid resource path", Err: err}
	}
	return Path(p), nil
}

// IsContainer reports whether the path names a container.
func (p Path) IsContainer() bool { return strings.HasSuffix(string(p), "/") }

// IsRoot reports whether the path is the server's root container.
func (p Path) IsRoot() bool { return p == "/" }

// Key returns the backend key of the resource.
func (p Path) Key() string { return keyPrefix + string(p[1:]) }

// Parent returns the container holding the resource; the root is its own
// parent.
func (p Path) Parent() Path {
	if p.IsRoot() {
		return p
	}
	s := strings.TrimSuffix(string(p), "/")
	return Path(s[:strings.LastIndexByte(s, '/')+1])
}

// Name returns the last segment, with its trailing "/" for a container.
func (p Path) Name() string {
	return string(p[len(p.Parent()):])
}

// Ancestors returns the containers above the resource, nearest first,
// ending with the root.
func (p Path) Ancestors() []Path {
	var out []Path
	for q := p; !q.IsRoot(); {
		q = q.Parent()
		out = append(out, q)
	}
	return out
}

// AuxKind tells which auxiliary resource a path is, if any.
type AuxKind uint8

// The kinds of path.
const (
	NotAux AuxKind = iota
	ACL
	Meta
)

// Aux reports whether the path is an auxiliary resource, and of which
// resource: "/a/b.acl" is the ACL of "/a/b", "/a/.acl" that of "/a/".
func (p Path) Aux() (AuxKind, Path) {
	if p.IsContainer() {
		return NotAux, ""
	}
	for _, s := range []struct {
		suffix string
		kind   AuxKind
	}{{ACLSuffix, ACL}, {MetaSuffix, Meta}} {
		if subject, ok := strings.CutSuffix(string(p), s.suffix); ok {
			return s.kind, Path(subject)
		}
	}
	return NotAux, ""
}

// ACL returns the path of the resource's ACL resource.
func (p Path) ACL() Path { return p + ACLSuffix }

// Meta returns the path of the resource's description resource.
func (p Path) Meta() Path { return p + MetaSuffix }

// Sibling returns the path with the other slash form: "/a" for "/a/" and
// "/a/" for "/a". The root has none and returns itself.
func (p Path) Sibling() Path {
	if p.IsRoot() {
		return p
	}
	if p.IsContainer() {
		return p[:len(p)-1]
	}
	return p + "/"
}

// escaped returns the path percent-encoded for use in an IRI.
func (p Path) escaped() string {
	segs := strings.Split(string(p), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// pathOfKey is the inverse of Key.
func pathOfKey(key string) (Path, error) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return "", fmt.Errorf("ldp: key %q is not a resource", key)
	}
	return Path("/" + rest), nil
}

// CheckName refuses, before anything is written, a path the server could
// not serve whole later:
//
//   - an auxiliary resource of an auxiliary resource ("/x.acl.acl",
//     "/x.acl.meta", "/x.meta.acl"): Solid Protocol §4.3 gives auxiliary
//     resources to resources, and such an object would be in no listing
//     and outlive the deletion of x;
//   - a path below a container named like an auxiliary resource
//     ("/x.acl/y"), which would take the name of x's ACL;
//   - a path below a container whose name is too long for its marker
//     object (storage.MaxMarkerSegmentLength);
//   - a resource whose auxiliary resources could not be stored, because
//     their keys pass the key limits (storage.MaxSegmentLength,
//     storage.MaxKeyLength): its ACL could never be set, nor its
//     description deleted with it.
func CheckName(p Path) error {
	kind, subject := p.Aux()
	if kind != NotAux {
		if k, _ := subject.Aux(); k != NotAux {
			return &BadRequestError{Reason: "an auxiliary resource (" + ACLSuffix + ", " + MetaSuffix + ") has no auxiliary resources of its own"}
		}
	}
	for _, a := range p.Ancestors() {
		if a.IsRoot() {
			break
		}
		if k, _ := a.Sibling().Aux(); k != NotAux {
			return &BadRequestError{Reason: "a container cannot be named like an auxiliary resource"}
		}
		if err := storage.ValidateKey(a.Key()); err != nil {
			return &BadRequestError{Reason: fmt.Sprintf("container name too long: at most %d bytes", storage.MaxMarkerSegmentLength), Err: err}
		}
	}
	if kind != NotAux {
		return nil
	}
	for _, aux := range []Path{p.ACL(), p.Meta()} {
		if err := storage.ValidateKey(aux.Key()); err != nil {
			return &BadRequestError{Reason: fmt.Sprintf("name too long: the keys of its auxiliary resources (%s, %s) would pass %d bytes a segment or %d in all",
				ACLSuffix, MetaSuffix, storage.MaxSegmentLength, storage.MaxKeyLength), Err: err}
		}
	}
	return nil
}
