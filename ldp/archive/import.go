package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/accesslog"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// Names and records of the archive format (see the package comment).
const (
	manifestName = "kluis-pod.json"
	// credentialsName is the optional last entry: the access credentials
	// about the pod, which the archive package carries and never reads
	// (Options.Credentials, ExportOptions.Credentials).
	credentialsName = "kluis-credentials.json"
	podDir          = "pod/"
	// logDir holds the pod's access log (ldp/accesslog.Export).
	logDir         = "access-log/"
	paxContentType = "SCHILY.xattr.user.mime_type"
	paxBody        = "KLUIS.body"
	formatName     = "kluis-pod"
	formatVersion  = 1
	// maxManifest bounds the registry record entry.
	maxManifest = 64 << 10
	// maxContainerBody bounds a container's own triples in KLUIS.body:
	// archive/tar reads at most 1 MiB of PAX records per entry.
	maxContainerBody = 512 << 10
)

// manifest is the first entry of an archive.
type manifest struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Name    string    `json:"name"`
	Owner   string    `json:"owner"`
	Created time.Time `json:"created"`
}

// Default limits of an import.
const (
	DefaultMaxEntryBytes = 1 << 30
	DefaultMaxEntries    = 1 << 20
)

// Options change what Import accepts and how it rewrites.
type Options struct {
	// BaseURL is the public URL of the importing server's root, ending in
	// "/": the new IRIs of the pod's documents. It is needed with
	// Rewrites.
	BaseURL string
	// OldBaseURL, when set, is the base URL of the server the archive
	// comes from: Import rewrites the IRIs of the pod's old root to its
	// new root, and other IRIs under OldBaseURL to BaseURL. When it is
	// empty and the pod is imported under a new name, BaseURL is taken
	// for it (the same server).
	OldBaseURL string
	// Rewrites move more absolute IRIs (see Rewrite); with none, and no
	// OldBaseURL, every document is kept byte for byte.
	Rewrites []Rewrite
	// Owner, when set, replaces the owner WebID the archive names.
	Owner string
	// MaxEntryBytes bounds each resource; 0 means DefaultMaxEntryBytes.
	MaxEntryBytes int64
	// MaxEntries bounds the number of resources; 0 means
	// DefaultMaxEntries.
	MaxEntries int
	// MaxRDFBytes and MaxTriples bound each RDF document that is
	// rewritten; 0 means ldp.DefaultMaxRDFBytes and ldp.DefaultMaxTriples.
	MaxRDFBytes int64
	MaxTriples  int
	// Credentials, when set, is given the archive's kluis-credentials.json
	// entry (at most MaxEntryBytes), the IRI of the pod's new root, and
	// the rewriting of IRIs that the import applies; without it, the
	// entry is skipped.
	Credentials func(r io.Reader, root string, rebase func(iri string) string) error
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxEntryBytes <= 0 {
		o.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxRDFBytes <= 0 {
		o.MaxRDFBytes = ldp.DefaultMaxRDFBytes
	}
	if o.MaxTriples <= 0 {
		o.MaxTriples = ldp.DefaultMaxTriples
	}
	if len(newRewriter(o.Rewrites)) > 0 && !strings.HasSuffix(o.BaseURL, "/") {
		return o, errors.New("archive: rewriting IRIs needs the base URL, ending in /")
	}
	return o, nil
}

func (o Options) limits() rdfLimits {
	return rdfLimits{maxTriples: o.MaxTriples}
}

// Import reads a pod archive (see the package comment) from r into a new
// pod called pod, or the name the archive gives when pod is empty. It
// refuses a pod that exists (ldp.ErrPodExists), registers the pod with
// the archive's owner (or Options.Owner), and writes every resource with
// If-None-Match. On any error, what was written is removed again, and
// the error wraps ErrUnsafeEntry, ErrTooLarge, ErrFormat, an ldp error or
// a storage error.
func Import(ctx context.Context, b storage.Backend, pod string, r io.Reader, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	tr := tar.NewReader(r)
	m, err := readManifest(tr)
	if err != nil {
		return err
	}
	if pod == "" {
		pod = m.Name
	}
	old := opts.OldBaseURL
	if old == "" && pod != m.Name {
		old = opts.BaseURL
	}
	if old != "" {
		if !strings.HasSuffix(old, "/") || !strings.HasSuffix(opts.BaseURL, "/") {
			return errors.New("archive: the old and the new base URL must end in /")
		}
		opts.Rewrites = append(opts.Rewrites, Rewrite{From: old + m.Name + "/", To: opts.BaseURL + pod + "/"}, Rewrite{From: old, To: opts.BaseURL})
	}
	rw := newRewriter(opts.Rewrites)
	owner := m.Owner
	if opts.Owner != "" {
		owner = opts.Owner
	} else {
		owner, _ = rw.iri(owner)
	}
	p := ldp.Pod{Name: pod, Root: ldp.Path("/" + pod + "/"), Owner: owner, Created: m.Created}
	if err := ldp.RegisterPod(ctx, b, p); err != nil {
		return err
	}
	w := newPodWriter(b, p, opts.BaseURL, rw, opts.limits(), opts.MaxEntries)
	if err := importEntries(ctx, w, tr, opts); err != nil {
		w.undo(ctx)
		return err
	}
	if err := w.finish(ctx); err != nil {
		w.undo(ctx)
		return err
	}
	return nil
}

func readManifest(tr *tar.Reader) (manifest, error) {
	hdr, err := tr.Next()
	if err != nil {
		return manifest{}, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if hdr.Name != manifestName || hdr.Typeflag != tar.TypeReg {
		return manifest{}, fmt.Errorf("%w: the first entry is not %s", ErrFormat, manifestName)
	}
	if hdr.Size > maxManifest {
		return manifest{}, fmt.Errorf("%w: %s is too large", ErrFormat, manifestName)
	}
	var m manifest
	if err := json.NewDecoder(io.LimitReader(tr, maxManifest)).Decode(&m); err != nil {
		return manifest{}, fmt.Errorf("%w: %s: %v", ErrFormat, manifestName, err)
	}
	if m.Format != formatName || m.Version != formatVersion {
		return manifest{}, fmt.Errorf("%w: format %q version %d, want %q version %d", ErrFormat, m.Format, m.Version, formatName, formatVersion)
	}
	return m, nil
}

func importEntries(ctx context.Context, w *podWriter, tr *tar.Reader, opts Options) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if err := importEntry(ctx, w, tr, hdr, opts); err != nil {
			return err
		}
	}
}

func importEntry(ctx context.Context, w *podWriter, tr *tar.Reader, hdr *tar.Header, opts Options) error {
	if name, ok := strings.CutPrefix(hdr.Name, logDir); ok {
		return importLog(ctx, w, tr, hdr, name, opts)
	}
	if hdr.Name == credentialsName && hdr.Typeflag == tar.TypeReg {
		if hdr.Size > opts.MaxEntryBytes {
			return fmt.Errorf("%w: %s", ErrTooLarge, credentialsName)
		}
		if opts.Credentials == nil {
			return nil
		}
		return opts.Credentials(io.LimitReader(tr, opts.MaxEntryBytes), w.base+w.pod.Name+"/", func(iri string) string {
			out, _ := w.rw.iri(iri)
			return out
		})
	}
	rel, ok := strings.CutPrefix(hdr.Name, podDir)
	if !ok {
		return fmt.Errorf("%w: %q is outside %s", ErrUnsafeEntry, truncate(hdr.Name), podDir)
	}
	ct := hdr.PAXRecords[paxContentType]
	switch hdr.Typeflag {
	case tar.TypeDir:
		if rel != "" && !strings.HasSuffix(rel, "/") {
			rel += "/"
		}
		p, err := w.path(rel)
		if err != nil {
			return err
		}
		if ct == "" {
			ct = rdfx.Turtle
		}
		body := []byte(hdr.PAXRecords[paxBody])
		if len(body) > 0 {
			return w.putRDF(ctx, p, ct, body, nil)
		}
		return w.put(ctx, p, ct, bytes.NewReader(nil))
	case tar.TypeReg:
		if rel == "" || strings.HasSuffix(rel, "/") {
			return fmt.Errorf("%w: file entry %q names a container", ErrUnsafeEntry, truncate(hdr.Name))
		}
		p, err := w.path(rel)
		if err != nil {
			return err
		}
		if hdr.Size < 0 || hdr.Size > opts.MaxEntryBytes {
			return fmt.Errorf("%w: %s is %d bytes, more than %d", ErrTooLarge, p, hdr.Size, opts.MaxEntryBytes)
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		if len(w.rw) > 0 && isRDF(ct) {
			if hdr.Size > opts.MaxRDFBytes {
				return fmt.Errorf("%w: RDF document %s is %d bytes, more than %d", ErrTooLarge, p, hdr.Size, opts.MaxRDFBytes)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrFormat, p, err)
			}
			return w.putRDF(ctx, p, ct, data, nil)
		}
		return w.put(ctx, p, ct, &exactReader{r: tr, left: hdr.Size, name: string(p)})
	default:
		return fmt.Errorf("%w: %q is of tar type %q (only files and directories are imported)", ErrUnsafeEntry, truncate(hdr.Name), hdr.Typeflag)
	}
}

// importLog stores a file of the pod's access log, unchanged: its hash
// chains and signatures say whether it is the log that was exported.
func importLog(ctx context.Context, w *podWriter, tr *tar.Reader, hdr *tar.Header, name string, opts Options) error {
	if hdr.Typeflag != tar.TypeReg {
		return fmt.Errorf("%w: %q is not a file", ErrUnsafeEntry, truncate(hdr.Name))
	}
	if hdr.Size < 0 || hdr.Size > opts.MaxEntryBytes {
		return fmt.Errorf("%w: %s is %d bytes, more than %d", ErrTooLarge, truncate(hdr.Name), hdr.Size, opts.MaxEntryBytes)
	}
	if len(w.written) >= w.maxEntries {
		return fmt.Errorf("%w: more than %d entries", ErrTooLarge, w.maxEntries)
	}
	data, err := io.ReadAll(&exactReader{r: tr, left: hdr.Size, name: hdr.Name})
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFormat, truncate(hdr.Name), err)
	}
	key, err := accesslog.Import(ctx, w.backend, w.pod.Name, name, data)
	if key != "" && err == nil {
		w.written = append(w.written, key)
	}
	if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
		return fmt.Errorf("%w: %v", ErrUnsafeEntry, err)
	}
	if err != nil {
		return fmt.Errorf("%w: %s twice", ErrUnsafeEntry, truncate(hdr.Name))
	}
	return nil
}

// exactReader passes on a tar entry's data and fails when it ends short,
// so that a truncated archive never stores a truncated resource.
type exactReader struct {
	r    io.Reader
	left int64
	name string
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) && e.left > 0 {
		return n, fmt.Errorf("%w: %s ends early", ErrFormat, e.name)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("%w: %s: %v", ErrFormat, e.name, err)
	}
	return n, err
}
