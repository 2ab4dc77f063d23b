package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// The errors of an import, wrapped with context.
var (
	// ErrUnsafeEntry means an archive entry or a migrated file names no
	// resource of the pod: a path outside it, an absolute or ".." path, a
	// link or device, a duplicate, or a resource and a container of one
	// name.
	ErrUnsafeEntry = errors.New("archive: unsafe entry")
	// ErrTooLarge means an entry, or the number of entries, is beyond the
	// limits of Options.
	ErrTooLarge = errors.New("archive: too large")
	// ErrFormat means the input is not a pod archive Import can read.
	ErrFormat = errors.New("archive: not a pod archive")
)

// podWriter writes the objects of one new pod: it checks each path once,
// writes with If-None-Match, and remembers the keys it wrote so that a
// failed import can be undone.
type podWriter struct {
	backend    storage.Backend
	pod        ldp.Pod
	base       string // the new server's base URL, ending in "/"
	rw         rewriter
	lim        rdfLimits
	maxEntries int
	// seen holds every path written (true) and every container above
	// one (false, until written).
	seen    map[ldp.Path]bool
	written []string
}

func newPodWriter(b storage.Backend, pod ldp.Pod, base string, rw rewriter, lim rdfLimits, maxEntries int) *podWriter {
	return &podWriter{backend: b, pod: pod, base: base, rw: rw, lim: lim, maxEntries: maxEntries, seen: map[ldp.Path]bool{}}
}

// path turns rel, a path inside the pod without a leading "/" ("" for the
// root, "notes/" for a container), into a checked resource path.
func (w *podWriter) path(rel string) (ldp.Path, error) {
	p, err := ldp.ParsePath(string(w.pod.Root) + rel)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrUnsafeEntry, truncate(rel), err)
	}
	if !strings.HasPrefix(string(p), string(w.pod.Root)) {
		return "", fmt.Errorf("%w: %q is outside the pod", ErrUnsafeEntry, truncate(rel))
	}
	// What a PUT could not create: a name too long for its auxiliary
	// resources, an auxiliary resource of one (x.acl.acl).
	if err := ldp.CheckName(p); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrUnsafeEntry, truncate(rel), err)
	}
	return p, nil
}

// claim checks that p may be written: not written before, and no
// resource and container of one name (Solid Protocol §3.1: /a and /a/
// cannot both exist), also with the containers above p.
func (w *podWriter) claim(p ldp.Path) error {
	if w.seen[p] {
		return fmt.Errorf("%w: %s appears twice", ErrUnsafeEntry, p)
	}
	if len(w.written) >= w.maxEntries {
		return fmt.Errorf("%w: more than %d entries", ErrTooLarge, w.maxEntries)
	}
	if _, ok := w.seen[p.Sibling()]; ok {
		return fmt.Errorf("%w: %s and %s both exist", ErrUnsafeEntry, p, p.Sibling())
	}
	var above []ldp.Path
	for _, a := range p.Ancestors() {
		if !strings.HasPrefix(string(a), string(w.pod.Root)) {
			break
		}
		if w.seen[a.Sibling()] {
			return fmt.Errorf("%w: %s is inside the resource %s", ErrUnsafeEntry, p, a.Sibling())
		}
		above = append(above, a)
	}
	w.seen[p] = true
	for _, a := range above {
		if _, ok := w.seen[a]; !ok {
			w.seen[a] = false
		}
	}
	return nil
}

// put writes the object at p, new, streaming r.
func (w *podWriter) put(ctx context.Context, p ldp.Path, contentType string, r io.Reader) error {
	if err := checkContentType(p, contentType); err != nil {
		return err
	}
	if err := w.claim(p); err != nil {
		return err
	}
	key := p.Key()
	_, err := w.backend.Put(ctx, key, r, storage.PutOptions{ContentType: contentType, IfNoneMatch: true})
	if err != nil {
		return fmt.Errorf("archive: writing %s: %w", p, err)
	}
	w.written = append(w.written, key)
	return nil
}

// putRDF writes an RDF document at p as Turtle, its IRIs rewritten.
func (w *podWriter) putRDF(ctx context.Context, p ldp.Path, contentType string, data []byte, drop func(rdfx.Triple) bool) error {
	out, keep, err := toTurtle(data, contentType, w.iri(p), w.rw, w.lim, drop)
	if err != nil {
		return err
	}
	if !keep && len(out) == 0 && drop != nil {
		// Nothing left to describe (a .meta of server-managed triples).
		return nil
	}
	return w.put(ctx, p, rdfx.Turtle, bytes.NewReader(out))
}

// iri returns the IRI of p on the new server, against which relative
// IRIs are resolved and written.
func (w *podWriter) iri(p ldp.Path) string {
	return w.base + strings.TrimPrefix(string(p), "/")
}

// finish writes the markers of containers that had no entry of their own
// (an archive may leave directory entries out), the pod's root included.
func (w *podWriter) finish(ctx context.Context) error {
	if _, ok := w.seen[w.pod.Root]; !ok {
		w.seen[w.pod.Root] = false
	}
	var missing []ldp.Path
	for p, written := range w.seen {
		if !written && p.IsContainer() {
			missing = append(missing, p)
		}
	}
	slices.Sort(missing)
	for _, p := range missing {
		if err := w.put(ctx, p, rdfx.Turtle, bytes.NewReader(nil)); err != nil {
			return err
		}
	}
	return nil
}

// undo removes what was written and the registry record, best effort,
// even when ctx is done.
func (w *podWriter) undo(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for _, key := range slices.Backward(w.written) {
		_ = w.backend.Delete(ctx, key, storage.DeleteOptions{})
	}
	_ = w.backend.Delete(ctx, ldp.PodRegistryKey(w.pod.Name), storage.DeleteOptions{})
}

// checkContentType refuses a media type that cannot be stored, and any
// but Turtle for containers and auxiliary resources (Solid Protocol §4.3:
// auxiliary resources are RDF documents; ldp stores them as Turtle).
func checkContentType(p ldp.Path, ct string) error {
	if ct == "" || len(ct) > 255 {
		return fmt.Errorf("%w: %s: bad content type", ErrFormat, p)
	}
	for i := 0; i < len(ct); i++ {
		if ct[i] < 0x20 || ct[i] > 0x7e {
			return fmt.Errorf("%w: %s: bad content type", ErrFormat, p)
		}
	}
	if aux, _ := p.Aux(); (aux != ldp.NotAux || p.IsContainer()) && !strings.EqualFold(ct, rdfx.Turtle) {
		return fmt.Errorf("%w: %s must be %s, not %q", ErrFormat, p, rdfx.Turtle, ct)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
