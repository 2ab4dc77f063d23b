package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// Migration from the Community Solid Server (CSS, versions 7.x) with its
// file backend (config/file.json), as CSS lays out its data folder:
//
//   - each pod is a folder at the top, /alice/ in alice/; containers are
//     folders, resources files;
//   - a resource's media type is that of its file name's extension
//     (photo.jpg is image/jpeg); when the name's own extension does not
//     give its type, CSS appends "$." and one that does (card$.ttl is the
//     text/turtle resource card, page.html$.md the text/markdown resource
//     page.html), or "$.unknown" for a type without an extension, whose
//     type is then the ma:format triple of the resource's .meta file;
//   - x.acl and a folder's .acl are ACL resources (Turtle); x.meta and a
//     folder's .meta hold the resource's metadata as Turtle: what a client
//     wrote to the description resource, and CSS's own (ma:format, the pod
//     root's pim:Storage type);
//   - file names hold the resource name as is, but for "%2F" and "%5C"
//     (an encoded slash or backslash) and their "%25"-escaped forms, which
//     stay encoded;
//   - .internal/ holds CSS's own data: setup/current-base-url$.json the
//     server's base URL, accounts/data/<id>$.json each account, with its
//     pods ("**pod**": baseUrl) and their owners ("**owner**": webId).

// CSS vocabulary the migration reads or drops.
const (
	maFormat     = "http://www.w3.org/ns/ma-ont#format"
	rdfType      = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
	pimStorage   = "http://www.w3.org/ns/pim/space#Storage"
	ldpNS        = "http://www.w3.org/ns/ldp#"
	aclNS        = "http://www.w3.org/ns/auth/acl#"
	cssUnknown   = "unknown"
	cssInternal  = ".internal"
	cssBaseFile  = ".internal/setup/current-base-url$.json"
	cssAccounts  = ".internal/accounts/data"
	maxCSSRecord = 1 << 20
)

// CSSOptions set up MigrateCSS.
type CSSOptions struct {
	// Options give the new server's BaseURL (required) and the limits;
	// their Rewrites are applied with the one from OldBaseURL to BaseURL.
	// Options.Owner is ignored: each pod keeps its owner.
	Options
	// OldBaseURL is the base URL the CSS server had; empty means the one
	// CSS recorded in .internal/setup/current-base-url$.json.
	OldBaseURL string
	// Pods names the pods to migrate; empty means every pod.
	Pods []string
}

// CSSReport tells what MigrateCSS did.
type CSSReport struct {
	// Pods are the pods made, in name order.
	Pods []MigratedPod
	// Skipped are the files and folders that were not migrated, and why.
	Skipped []Skipped
}

// MigratedPod is one pod MigrateCSS made.
type MigratedPod struct {
	Name      string
	Owner     string
	Resources int
}

// Skipped is a file of the CSS folder that was not migrated.
type Skipped struct {
	File   string
	Reason string
}

// MigrateCSS imports the pods of a CSS data folder, fsys (such as
// os.Root.FS of the folder given to CSS with -f), into b: each pod
// folder becomes a Kluis pod of the same name owned by the WebID CSS
// recorded as its owner (or else the first agent with acl:Control in the
// pod's root ACL), with every resource, its media type, its ACL and its
// description (.meta) triples. Absolute IRIs under the old base URL are
// rewritten to the new one in every RDF document (see the package
// comment). Accounts, passwords, client credentials and CSS's other
// internal data are not migrated.
//
// A pod that exists in b is an error wrapping ldp.ErrPodExists, before
// anything is written. Files that cannot be migrated (symbolic links,
// names no Kluis path can hold) are reported in CSSReport.Skipped; a
// storage error stops the migration and removes the pod it was writing.
func MigrateCSS(ctx context.Context, b storage.Backend, fsys fs.FS, opts CSSOptions) (CSSReport, error) {
	var report CSSReport
	if !strings.HasSuffix(opts.BaseURL, "/") {
		return report, errors.New("archive: the new base URL is needed, ending in /")
	}
	old := opts.OldBaseURL
	if old == "" {
		var err error
		if old, err = cssBaseURL(fsys); err != nil {
			return report, err
		}
	}
	if !strings.HasSuffix(old, "/") {
		return report, fmt.Errorf("archive: the CSS base URL %q does not end in /", old)
	}
	opts.Options.Rewrites = append([]Rewrite{{From: old, To: opts.BaseURL}}, opts.Options.Rewrites...)
	o, err := opts.Options.withDefaults()
	if err != nil {
		return report, err
	}
	m := &cssMigration{fsys: fsys, backend: b, opts: o, old: old, rw: newRewriter(o.Rewrites), report: &report}
	owners := m.accountOwners()

	pods, err := m.findPods(owners)
	if err != nil {
		return report, err
	}
	if len(opts.Pods) > 0 {
		for _, want := range opts.Pods {
			if !slices.Contains(pods, want) {
				return report, fmt.Errorf("archive: %q is not a pod of the CSS folder", want)
			}
		}
		pods = slices.DeleteFunc(pods, func(p string) bool { return !slices.Contains(opts.Pods, p) })
	}
	// Every name is checked before anything is written.
	for _, name := range pods {
		if err := ldp.CheckPodName(name); err != nil {
			return report, err
		}
		if _, err := ldp.ReadPod(ctx, b, name); err == nil {
			return report, fmt.Errorf("archive: pod %s: %w", name, ldp.ErrPodExists)
		} else if !errors.Is(err, ldp.ErrNoPod) {
			return report, err
		}
	}
	for _, name := range pods {
		mp, err := m.pod(ctx, name, owners[old+name+"/"])
		if err != nil {
			return report, err
		}
		report.Pods = append(report.Pods, mp)
	}
	return report, nil
}

// cssMigration is one run of MigrateCSS.
type cssMigration struct {
	fsys    fs.FS
	backend storage.Backend
	opts    Options
	old     string
	rw      rewriter
	report  *CSSReport
}

func (m *cssMigration) skip(file, reason string) {
	m.report.Skipped = append(m.report.Skipped, Skipped{File: file, Reason: reason})
}

// cssRecord is a record of CSS's key-value store in .internal/.
type cssRecord struct {
	Key     string          `json:"key"`
	Payload json.RawMessage `json:"payload"`
}

func readCSSRecord(fsys fs.FS, name string) (cssRecord, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return cssRecord{}, err
	}
	defer f.Close()
	var rec cssRecord
	err = json.NewDecoder(io.LimitReader(f, maxCSSRecord)).Decode(&rec)
	return rec, err
}

// cssBaseURL reads the base URL CSS recorded.
func cssBaseURL(fsys fs.FS) (string, error) {
	rec, err := readCSSRecord(fsys, cssBaseFile)
	if err != nil {
		return "", fmt.Errorf("archive: the CSS base URL (%s; give it instead): %w", cssBaseFile, err)
	}
	var base string
	if err := json.Unmarshal(rec.Payload, &base); err != nil || base == "" {
		return "", fmt.Errorf("archive: %s holds no base URL", cssBaseFile)
	}
	return base, nil
}

// accountOwners maps each pod's base URL to its owners' WebIDs, sorted,
// from the account records of CSS 7. Records that do not parse are
// reported and left out.
func (m *cssMigration) accountOwners() map[string][]string {
	owners := map[string][]string{}
	entries, err := fs.ReadDir(m.fsys, cssAccounts)
	if err != nil {
		return owners
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		file := path.Join(cssAccounts, e.Name())
		rec, err := readCSSRecord(m.fsys, file)
		var acc struct {
			Pods map[string]struct {
				BaseURL string `json:"baseUrl"`
				Owners  map[string]struct {
					WebID string `json:"webId"`
				} `json:"**owner**"`
			} `json:"**pod**"`
		}
		if err == nil {
			err = json.Unmarshal(rec.Payload, &acc)
		}
		if err != nil {
			m.skip(file, fmt.Sprintf("account record does not parse: %v", err))
			continue
		}
		for _, p := range acc.Pods {
			for _, o := range p.Owners {
				if o.WebID != "" && !slices.Contains(owners[p.BaseURL], o.WebID) {
					owners[p.BaseURL] = append(owners[p.BaseURL], o.WebID)
				}
			}
			slices.Sort(owners[p.BaseURL])
		}
	}
	return owners
}

// findPods returns the top-level folders that are pods: those an account
// has, or whose .meta makes them a pim:Storage. The rest of the top level
// (the server root's own resources) is reported as skipped.
func (m *cssMigration) findPods(owners map[string][]string) ([]string, error) {
	entries, err := fs.ReadDir(m.fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("archive: reading the CSS folder: %w", err)
	}
	var pods []string
	for _, e := range entries {
		name := e.Name()
		if name == cssInternal {
			continue
		}
		if e.IsDir() {
			iri := m.old + name + "/"
			if _, ok := owners[iri]; ok || m.isStorage(name, iri) {
				pods = append(pods, name)
				continue
			}
		}
		m.skip(name, "not a pod (the CSS server root's own resources are not migrated)")
	}
	return pods, nil
}

// isStorage reports whether the .meta of folder dir types it a storage.
func (m *cssMigration) isStorage(dir, iri string) bool {
	g, err := m.readTurtle(path.Join(dir, ".meta"), iri)
	return err == nil && g.Has(rdfx.Triple{S: rdfx.IRI(iri), P: rdfx.IRI(rdfType), O: rdfx.IRI(pimStorage)})
}

// readTurtle parses a small Turtle file of the CSS folder.
func (m *cssMigration) readTurtle(file, base string) (*rdfx.Graph, error) {
	data, err := m.readSmall(file)
	if err != nil {
		return nil, err
	}
	return rdfx.Parse(bytes.NewReader(data), rdfx.Turtle, base, rdfx.ParseOptions{MaxTriples: m.opts.MaxTriples})
}

func (m *cssMigration) readSmall(file string) ([]byte, error) {
	f, err := m.fsys.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, m.opts.MaxRDFBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > m.opts.MaxRDFBytes {
		return nil, fmt.Errorf("%w: %s is more than %d bytes", ErrTooLarge, file, m.opts.MaxRDFBytes)
	}
	return data, nil
}

// rootOwner finds the first agent (sorted) given acl:Control in the pod's
// root ACL.
func (m *cssMigration) rootOwner(name string) string {
	g, err := m.readTurtle(path.Join(name, ".acl"), m.old+name+"/.acl")
	if err != nil {
		return ""
	}
	var agents []string
	for t := range g.Match(rdfx.Term{}, rdfx.IRI(aclNS+"mode"), rdfx.IRI(aclNS+"Control")) {
		for a := range g.Match(t.S, rdfx.IRI(aclNS+"agent"), rdfx.Term{}) {
			if a.O.IsIRI() {
				agents = append(agents, a.O.Value())
			}
		}
	}
	if len(agents) == 0 {
		return ""
	}
	slices.Sort(agents)
	return agents[0]
}

// pod migrates the pod folder name.
func (m *cssMigration) pod(ctx context.Context, name string, owners []string) (MigratedPod, error) {
	owner := ""
	if len(owners) > 0 {
		owner = owners[0]
	} else if owner = m.rootOwner(name); owner == "" {
		return MigratedPod{}, fmt.Errorf("archive: pod %s: no owner in the CSS accounts nor in its root ACL", name)
	}
	owner, _ = m.rw.iri(owner)
	p := ldp.Pod{Name: name, Root: ldp.Path("/" + name + "/"), Owner: owner}
	if err := ldp.RegisterPod(ctx, m.backend, p); err != nil {
		return MigratedPod{}, err
	}
	w := newPodWriter(m.backend, p, m.opts.BaseURL, m.rw, m.opts.limits(), m.opts.MaxEntries)
	err := m.folder(ctx, w, name, "")
	if err == nil {
		err = w.finish(ctx)
	}
	if err != nil {
		w.undo(ctx)
		return MigratedPod{}, fmt.Errorf("archive: pod %s: %w", name, err)
	}
	return MigratedPod{Name: name, Owner: owner, Resources: len(w.written)}, nil
}

// folder migrates the CSS folder dir, the container rel ("" for the pod's
// root, else ending in "/"): its ACL and the ACLs of its resources first,
// then its marker, its resources, the .meta files, and its folders.
func (m *cssMigration) folder(ctx context.Context, w *podWriter, dir, rel string) error {
	entries, err := fs.ReadDir(m.fsys, dir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	var acls, metas, files, folders []fs.DirEntry
	for _, e := range entries {
		switch name := e.Name(); {
		case e.IsDir():
			folders = append(folders, e)
		case !e.Type().IsRegular():
			m.skip(path.Join(dir, name), "not a regular file (links and devices are not followed)")
		case strings.HasSuffix(name, ldp.ACLSuffix):
			acls = append(acls, e)
		case strings.HasSuffix(name, ldp.MetaSuffix):
			metas = append(metas, e)
		default:
			files = append(files, e)
		}
	}
	for _, e := range acls {
		if err := m.auxiliary(ctx, w, dir, rel, e.Name(), nil); err != nil {
			return err
		}
	}
	container, ok := m.relPath(w, dir, rel)
	if !ok {
		return nil
	}
	if err := w.put(ctx, container, rdfx.Turtle, bytes.NewReader(nil)); err != nil {
		return err
	}
	for _, e := range files {
		if err := m.resource(ctx, w, dir, rel, e.Name()); err != nil {
			return err
		}
	}
	for _, e := range metas {
		if err := m.auxiliary(ctx, w, dir, rel, e.Name(), m.cssManaged(w)); err != nil {
			return err
		}
	}
	for _, e := range folders {
		name, ok := resourceName(e.Name())
		if !ok {
			m.skip(path.Join(dir, e.Name()), "the name holds an encoded slash or backslash, which no Kluis path can")
			continue
		}
		if err := m.folder(ctx, w, path.Join(dir, e.Name()), rel+name+"/"); err != nil {
			return err
		}
	}
	return nil
}

// relPath checks the path of a resource of the pod, reporting the file
// when no Kluis path can hold it.
func (m *cssMigration) relPath(w *podWriter, file, rel string) (ldp.Path, bool) {
	p, err := w.path(rel)
	if err != nil {
		m.skip(file, err.Error())
		return "", false
	}
	return p, true
}

// auxiliary migrates an ACL or .meta file, dropping the triples drop
// selects.
func (m *cssMigration) auxiliary(ctx context.Context, w *podWriter, dir, rel, file string, drop func(rdfx.Triple) bool) error {
	name, ok := resourceName(file)
	if !ok {
		m.skip(path.Join(dir, file), "the name holds an encoded slash or backslash, which no Kluis path can")
		return nil
	}
	p, ok := m.relPath(w, path.Join(dir, file), rel+name)
	if !ok {
		return nil
	}
	data, err := m.readSmall(path.Join(dir, file))
	if err != nil {
		return fmt.Errorf("reading %s: %w", path.Join(dir, file), err)
	}
	err = w.putRDF(ctx, p, rdfx.Turtle, data, drop)
	if errors.Is(err, rdfx.ErrSyntax) || errors.Is(err, rdfx.ErrTooManyTriples) {
		m.skip(path.Join(dir, file), err.Error())
		return nil
	}
	return err
}

// cssManaged selects the triples of a CSS .meta file that CSS kept for
// itself: a resource's media type, and the types Kluis gives containers
// and storages on its own.
func (m *cssMigration) cssManaged(w *podWriter) func(rdfx.Triple) bool {
	return func(t rdfx.Triple) bool {
		if t.P.Value() == maFormat {
			return true
		}
		if t.P.Value() == rdfType && t.O.IsIRI() {
			o := t.O.Value()
			return o == pimStorage || strings.HasPrefix(o, ldpNS)
		}
		return false
	}
}

// resource migrates the file of a resource.
func (m *cssMigration) resource(ctx context.Context, w *podWriter, dir, rel, file string) error {
	stored, ext := splitCSSName(file)
	name, ok := resourceName(stored)
	if !ok {
		m.skip(path.Join(dir, file), "the name holds an encoded slash or backslash, which no Kluis path can")
		return nil
	}
	p, ok := m.relPath(w, path.Join(dir, file), rel+name)
	if !ok {
		return nil
	}
	ct := ""
	if ext == cssUnknown {
		ct = m.metaFormat(path.Join(dir, stored+ldp.MetaSuffix), m.old+strings.TrimPrefix(string(p), "/"))
	} else {
		ct = typeByExtension(ext)
	}
	full := path.Join(dir, file)
	info, err := fs.Stat(m.fsys, full)
	if err != nil {
		return fmt.Errorf("reading %s: %w", full, err)
	}
	if info.Size() > m.opts.MaxEntryBytes {
		return fmt.Errorf("%w: %s is %d bytes, more than %d", ErrTooLarge, full, info.Size(), m.opts.MaxEntryBytes)
	}
	if isRDF(ct) {
		data, err := m.readSmall(full)
		if err != nil {
			return fmt.Errorf("reading %s: %w", full, err)
		}
		err = w.putRDF(ctx, p, ct, data, nil)
		if !errors.Is(err, rdfx.ErrSyntax) && !errors.Is(err, rdfx.ErrUnsupported) && !errors.Is(err, rdfx.ErrTooManyTriples) {
			return err
		}
		// RDF that does not parse is kept as it is, under its own type.
		m.skip(full, fmt.Sprintf("not converted to Turtle, stored as it was: %v", err))
		return w.put(ctx, p, ct, bytes.NewReader(data))
	}
	f, err := m.fsys.Open(full)
	if err != nil {
		return fmt.Errorf("reading %s: %w", full, err)
	}
	defer f.Close()
	return w.put(ctx, p, ct, f)
}

// metaFormat reads the media type CSS recorded in a .meta file for a
// resource stored with the extension "$.unknown".
func (m *cssMigration) metaFormat(file, iri string) string {
	g, err := m.readTurtle(file, iri)
	if err == nil {
		if o, ok := g.Object(rdfx.IRI(iri), rdfx.IRI(maFormat)); ok && o.IsLiteral() && o.Value() != "" {
			return o.Value()
		}
	}
	return "application/octet-stream"
}

// splitCSSName splits a file name into the name CSS stored the resource
// under and the extension that gives its type: "card$.ttl" is "card" and
// "ttl", "photo.jpg" is "photo.jpg" and "jpg".
func splitCSSName(file string) (name, ext string) {
	if i := strings.LastIndex(file, "$."); i >= 0 && !strings.ContainsAny(file[i+2:], ".$") && file[i+2:] != "" {
		return file[:i], strings.ToLower(file[i+2:])
	}
	if i := strings.LastIndexByte(file, '.'); i >= 0 {
		return file, strings.ToLower(file[i+1:])
	}
	return file, ""
}

// resourceName returns the decoded path segment of a CSS file name: the
// name itself, except that CSS keeps an encoded slash or backslash
// ("%2F", "%5C", also as "%252F"...) encoded in file names and adds one
// level of "%25" to it in the resource's URL. A name holding a plain
// encoded slash or backslash names a segment with a "/" or "\" in it,
// which no Kluis path can hold: ok is false then.
func resourceName(file string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(file); {
		if file[i] != '%' {
			b.WriteByte(file[i])
			i++
			continue
		}
		j := i + 1
		levels := 0
		for j+1 < len(file) && file[j] == '2' && file[j+1] == '5' {
			j += 2
			levels++
		}
		if j+1 < len(file) && (strings.EqualFold(file[j:j+2], "2f") || strings.EqualFold(file[j:j+2], "5c")) {
			if levels == 0 {
				return "", false
			}
			// One level of %25 goes: %252F is the segment text %2F.
			b.WriteString("%" + strings.Repeat("25", levels-1) + strings.ToUpper(file[j:j+2]))
			i = j + 2
			continue
		}
		b.WriteByte('%')
		i++
	}
	return b.String(), true
}
