package consent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// The bounds of the walk that finds a pod's ACL documents for the access
// page: a pod may hold any number of resources, and the page must answer
// in bounded time. When a bound is reached the page says so.
const (
	// MaxWalkContainers is how many containers are listed.
	MaxWalkContainers = 500
	// MaxWalkKeys is how many listed entries are looked at in all.
	MaxWalkKeys = 20000
	// MaxWalkACLs is how many ACL documents are read.
	MaxWalkACLs = 200
	// maxACLBytes is the largest ACL document read (the evaluator's own
	// bound: a larger one grants nothing anyway).
	maxACLBytes = acl.DefaultMaxACLBytes
)

// aclDoc is one ACL document of the pod as the page shows it.
type aclDoc struct {
	Path     ldp.Path // the ACL resource
	Subject  ldp.Path // the resource it belongs to
	ETag     string
	Auths    []acl.Authorization
	Unusable bool // not Turtle the page could read
}

// walk is the result of a bounded walk.
type walk struct {
	Docs []aclDoc
	// Cut is set when a bound stopped the walk: what was not looked at.
	Cut string
}

// walkACLs finds the ACL documents of the storage at root, breadth first
// (the pod's own ACL, then the folders nearest the root), within the
// bounds above.
func walkACLs(ctx context.Context, space *ldp.Store, root ldp.Path, limits walkLimits) (walk, error) {
	var w walk
	queue := []ldp.Path{root}
	listed, keys := 0, 0
	b := space.Backend()
	for len(queue) > 0 {
		if listed >= limits.containers {
			w.Cut = fmt.Sprintf("Only the first %d folders were searched for access rules; this pod has more.", limits.containers)
			break
		}
		c := queue[0]
		queue = queue[1:]
		listed++
		prefix := c.Key()
		for info, err := range b.List(ctx, prefix) {
			if err != nil {
				return w, err
			}
			if keys++; keys > limits.keys {
				w.Cut = fmt.Sprintf("Only the first %d items were searched for access rules; this pod has more.", limits.keys)
				return w, nil
			}
			name := info.Key[len(prefix):]
			if info.IsPrefix {
				queue = append(queue, c+ldp.Path(name))
				continue
			}
			p := c + ldp.Path(name)
			kind, subject := p.Aux()
			if kind != ldp.ACL {
				continue
			}
			if len(w.Docs) >= limits.acls {
				w.Cut = fmt.Sprintf("Only the first %d access rule documents are shown; this pod has more.", limits.acls)
				return w, nil
			}
			d, err := readACL(ctx, space, p)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return w, err
			}
			d.Subject = subject
			w.Docs = append(w.Docs, d)
		}
	}
	return w, nil
}

// walkLimits are the walk's bounds (the constants above; tests lower
// them).
type walkLimits struct{ containers, keys, acls int }

var defaultWalkLimits = walkLimits{MaxWalkContainers, MaxWalkKeys, MaxWalkACLs}

// readACL reads and describes one ACL document, with the ETag of the
// bytes read.
func readACL(ctx context.Context, space *ldp.Store, p ldp.Path) (aclDoc, error) {
	d := aclDoc{Path: p}
	g, etag, err := readACLGraph(ctx, space, p)
	d.ETag = etag
	if errors.Is(err, errUnusableACL) {
		d.Unusable = true
		return d, nil
	}
	if err != nil {
		return d, err
	}
	d.Auths = acl.Authorizations(g)
	return d, nil
}

var errUnusableACL = errors.New("consent: an ACL document that cannot be read")

func readACLGraph(ctx context.Context, space *ldp.Store, p ldp.Path) (*rdfx.Graph, string, error) {
	rc, info, err := space.Backend().Get(ctx, p.Key(), storage.GetOptions{})
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxACLBytes+1))
	if err != nil {
		return nil, "", err
	}
	if len(raw) > maxACLBytes || !strings.HasPrefix(info.ContentType, rdfx.Turtle) {
		return nil, info.ETag, errUnusableACL
	}
	g, err := rdfx.Parse(bytes.NewReader(raw), rdfx.Turtle, space.IRI(p), rdfx.ParseOptions{MaxTriples: 10000})
	if err != nil {
		return nil, info.ETag, errUnusableACL
	}
	return g, info.ETag, nil
}

// errOwnControl refuses the removal of an authorization through which
// the owner may hold acl:Control.
var errOwnControl = errors.New("consent: that rule gives you control of your pod")

// errGone is a removal of an authorization no longer there.
var errGone = errors.New("consent: the rule is no longer there")

// removeAuthorization rewrites the ACL document p without the
// authorization id, conditionally on the ETag of what it read, so that a
// concurrent edit is never lost (it reads again and retries when another
// write came first). It never removes an authorization that may give the
// owner acl:Control.
func removeAuthorization(ctx context.Context, space *ldp.Store, p ldp.Path, id, owner string) error {
	for range 3 {
		g, etag, err := readACLGraph(ctx, space, p)
		if errors.Is(err, storage.ErrNotFound) {
			return errGone
		}
		if err != nil {
			return err
		}
		for _, a := range acl.Authorizations(g) {
			if a.ID == id && ownControl(a, owner) {
				return errOwnControl
			}
		}
		out, ok := acl.Without(g, id)
		if !ok {
			return errGone
		}
		var buf bytes.Buffer
		if err := rdfx.Serialize(&buf, out, rdfx.Turtle, space.IRI(p), map[string]string{
			"acl": nsACL, "foaf": "http://xmlns.com/foaf/0.1/",
		}); err != nil {
			return err
		}
		_, err = space.Put(ctx, p, ldp.WriteRequest{Body: &buf, ContentType: rdfx.Turtle,
			Conditions: ldp.Conditions{IfMatch: &ldp.TagList{Tags: []ldp.Tag{{Opaque: etag}}}}})
		if errors.Is(err, storage.ErrPreconditionFailed) {
			continue
		}
		return err
	}
	return fmt.Errorf("consent: the access rules of %s keep changing: %w", p, storage.ErrPreconditionFailed)
}

// ownControl reports whether a may give the owner acl:Control: it grants
// Control to them by name, or to a class or group they may belong to.
func ownControl(a acl.Authorization, owner string) bool {
	if !a.Modes.Has(acl.Control) {
		return false
	}
	if a.Public || a.Authenticated || len(a.Groups) > 0 {
		return true
	}
	for _, x := range a.Agents {
		if x == owner {
			return true
		}
	}
	return false
}
