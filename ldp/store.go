package ldp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// Namespaces used in the representations Kluis makes.
const (
	nsLDP     = "http://www.w3.org/ns/ldp#"
	nsPIM     = "http://www.w3.org/ns/pim/space#"
	nsSolid   = "http://www.w3.org/ns/solid/terms#"
	nsDCTerms = "http://purl.org/dc/terms/"
	nsStat    = "http://www.w3.org/ns/posix/stat#"
	nsRDF     = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsXSD     = "http://www.w3.org/2001/XMLSchema#"
	nsACL     = "http://www.w3.org/ns/auth/acl#"
	nsMedia   = "http://www.w3.org/ns/iana/media-types/"
	nsNotify  = "http://www.w3.org/ns/solid/notifications#"
)

// The resource types that Link rel="type" headers and container bodies use.
const (
	TypeResource       = nsLDP + "Resource"
	TypeRDFSource      = nsLDP + "RDFSource"
	TypeNonRDFSource   = nsLDP + "NonRDFSource"
	TypeContainer      = nsLDP + "Container"
	TypeBasicContainer = nsLDP + "BasicContainer"
	TypeStorage        = nsPIM + "Storage"
)

// StorageDescriptionRel is the Link relation of the storage description
// resource (Solid Protocol §4.1 "Storage Resource").
const StorageDescriptionRel = nsSolid + "storageDescription"

// OwnerRel is the Link relation of a storage's owner (Solid Protocol
// §4.1).
const OwnerRel = nsSolid + "owner"

// storageDescriptionName is the storage description resource, relative to
// the storage root.
const storageDescriptionName = ".well-known/solid"

// AccessLogName is the access log of a storage, relative to its root
// (<storage>.access-log): the server serves it, and no client may write
// a resource there.
const AccessLogName = ".access-log"

// prefixes are those Kluis writes Turtle with.
var defaultPrefixes = map[string]string{
	"ldp": nsLDP, "pim": nsPIM, "solid": nsSolid, "dcterms": nsDCTerms,
	"posix": nsStat, "xsd": nsXSD, "acl": nsACL,
}

// Config sets up a Store.
type Config struct {
	// BaseURL is the public URL of the server root, such as
	// "https://pods.example/". Its path must be "/".
	BaseURL string
	// MaxRDFBytes is the largest RDF body that is parsed (PUT, POST and
	// PATCH of RDF, and stored RDF read for conversion or patching).
	MaxRDFBytes int64
	// MaxTriples is the most triples an RDF document may hold.
	MaxTriples int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ValidateACL, when set, checks every ACL document before it is
	// written (PUT or PATCH of a .acl resource); an error refuses the write
	// with 400 and leaves the ACL as it was.
	ValidateACL func(turtle []byte, aclIRI string) error
	// Pods makes the server root a space of pods: each pod /<name>/ made
	// by CreatePod is a storage of its own, and the root is none (Solid
	// Protocol §4.1: storages do not overlap). When false, the server
	// root is the one storage and CreatePod is refused.
	Pods bool
	// PodSubdomains, with Pods, gives each pod a host of its own: the pod
	// /<name>/ is https://<name>.<base host>/ (its IRIs, WebID and links
	// say so), and the server package maps such hosts back to paths.
	PodSubdomains bool
	// OnChange, when set, is told of every successful write, after it
	// (change.go): each resource created, updated or deleted by PUT, POST,
	// PATCH or DELETE, intermediate containers included. It is called on
	// the writer's goroutine and must return quickly; notifications hand
	// the change on to their own goroutines.
	OnChange func(Change)
	// Describe, when set, adds triples to the storage description
	// resource of the storage rooted at storageIRI, whose own IRI is
	// descriptionIRI (Solid Notifications Protocol §2.1 "Discovery": the
	// subscription services).
	Describe func(descriptionIRI, storageIRI string) []rdfx.Triple
	// PodQuota is the most bytes a pod may hold unless it has a quota of
	// its own (SetPodQuota); 0 means no limit (quota.go).
	PodQuota int64
	// Hearing, when set, tells whether the Store hears every write that
	// other processes make to its storage (the caller hands each to
	// Heard), and an epoch that changes whenever it stopped hearing them;
	// while it does, GETs of containers answer from listings kept up to a
	// second (listings.go). Nil: every GET lists.
	Hearing func() (epoch uint64, ok bool)
	// KeepVersion, when set, answers the version of the object at key
	// (storage.ErrNotFound when there is none) from what it kept of an
	// earlier read, or by read: the server keeps versions while it hears
	// the other processes (server/aclversions.go). The Store asks it
	// whether containers exist (ContainerExists), and hands it every
	// container's creation and deletion through OnChange. Nil: it asks
	// the storage.
	KeepVersion func(ctx context.Context, key string, read func(context.Context, string) (string, error)) (string, error)
}

// Default limits.
const (
	DefaultMaxRDFBytes = 16 << 20
	DefaultMaxTriples  = 200_000
)

// Store is a Solid Protocol resource space over a storage.Backend. It is
// safe for concurrent use, also by several processes sharing a backend.
type Store struct {
	backend storage.Backend
	// pace is how quickly the backend answers an asker's questions
	// (memo.go).
	pace pace
	// noAppend: the backend said it does not append (appendix.go).
	noAppend atomic.Bool
	origin   string // scheme://host[:port], no trailing slash
	// scheme and host are the base URL's, for pod subdomains;
	// subdomains is Config.PodSubdomains.
	scheme, host string
	subdomains   bool
	maxRDF       int64
	maxTriples   int
	now          func() time.Time
	// validateACL is Config.ValidateACL.
	validateACL func(turtle []byte, aclIRI string) error
	started     time.Time // when New made the Store, to the second
	// pods is the index of pod roots, nil when the root is the one
	// storage.
	pods *podIndex
	// onChange and describe are Config.OnChange and Config.Describe.
	onChange func(Change)
	describe func(descriptionIRI, storageIRI string) []rdfx.Triple
	// podQuota is Config.PodQuota.
	podQuota int64
	// counters batches the changes of pods' usage counters (usage.go).
	counters usageBatches
	// keepVersion is Config.KeepVersion.
	keepVersion func(ctx context.Context, key string, read func(context.Context, string) (string, error)) (string, error)
	// touches shares the rewrites of a container's marker after
	// deletions (write.go, touch).
	touches coalescer
	// listings are the container listings kept for GET (listings.go).
	listings listings
	// bodies are the representations of large containers (bodies.go).
	bodies bodies
}

// New makes a Store and makes sure the root container exists.
func New(ctx context.Context, b storage.Backend, cfg Config) (*Store, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("ldp: base URL %q is not absolute", cfg.BaseURL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("ldp: base URL %q: Kluis must be served at the root path", cfg.BaseURL)
	}
	s := &Store{
		backend:     memoBackend{b},
		origin:      u.Scheme + "://" + u.Host,
		scheme:      u.Scheme,
		host:        u.Host,
		subdomains:  cfg.Pods && cfg.PodSubdomains,
		maxRDF:      cfg.MaxRDFBytes,
		maxTriples:  cfg.MaxTriples,
		now:         cfg.Now,
		validateACL: cfg.ValidateACL,
		onChange:    cfg.OnChange,
		describe:    cfg.Describe,
		podQuota:    max(0, cfg.PodQuota),
		listings:    listings{hearing: cfg.Hearing},
		keepVersion: cfg.KeepVersion,
	}
	if s.maxRDF <= 0 {
		s.maxRDF = DefaultMaxRDFBytes
	}
	if s.maxTriples <= 0 {
		s.maxTriples = DefaultMaxTriples
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now().UTC().Truncate(time.Second)
	if cfg.Pods {
		s.pods = newPodIndex(s.now)
	}
	_, err = b.Put(ctx, Path("/").Key(), strings.NewReader(""), storage.PutOptions{ContentType: rdfx.Turtle, IfNoneMatch: true})
	if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
		return nil, fmt.Errorf("ldp: creating the root container: %w", err)
	}
	return s, nil
}

// IRI returns the absolute IRI of a path. With pod subdomains, a path in a
// root-level container whose name is a DNS label is on that label's host.
func (s *Store) IRI(p Path) string {
	if s.subdomains {
		if label, rest, ok := SubdomainOf(p); ok {
			return s.scheme + "://" + label + "." + s.host + rest.escaped()
		}
	}
	return s.origin + p.escaped()
}

// SubdomainOf splits a path in a root-level container whose name can be a
// host label ("/alice/x" gives "alice" and "/x") for pod subdomains.
func SubdomainOf(p Path) (label string, rest Path, ok bool) {
	name, after, found := strings.Cut(string(p[1:]), "/")
	if !found || !IsHostLabel(name) {
		return "", "", false
	}
	return name, Path("/" + after), true
}

// IsHostLabel reports whether name can be a DNS label of a pod's host:
// lower-case letters, digits and inner hyphens, at most 63 characters.
func IsHostLabel(name string) bool {
	if name == "" || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// HostPath maps a request's host and path to a resource path: with pod
// subdomains, <label>.<base host> serves the pod /<label>/. ok is false
// when host is not a pod's.
func (s *Store) HostPath(host, path string) (string, bool) {
	if !s.subdomains {
		return "", false
	}
	label, ok := strings.CutSuffix(strings.ToLower(host), "."+strings.ToLower(s.host))
	if !ok || !IsHostLabel(label) {
		return "", false
	}
	return "/" + label + path, true
}

// PathOf returns the path of an IRI on this server, if it is one.
func (s *Store) PathOf(iri string) (Path, bool) {
	rest, ok := strings.CutPrefix(iri, s.origin)
	if !ok && s.subdomains {
		// https://<label>.<host>/...
		scheme, after, found := strings.Cut(iri, "://")
		if found && scheme == s.scheme {
			host, path, _ := strings.Cut(after, "/")
			if mapped, ok2 := s.HostPath(host, "/"+path); ok2 {
				rest, ok = mapped, true
			}
		}
	}
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", false
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	dec, err := url.PathUnescape(rest)
	if err != nil {
		return "", false
	}
	p, err := ParsePath(dec)
	return p, err == nil
}

// StorageOf returns the root of the storage (pim:Storage) that holds p:
// the server root when Kluis serves one storage, the pod root /<name>/ in
// pod mode (Config.Pods). ok is false when p lies in no storage: in pod
// mode, the server root and whatever lies beside the pods. Finding out
// costs at most one backend read per first path segment, and that answer
// is cached.
func (s *Store) StorageOf(ctx context.Context, p Path) (root Path, ok bool, err error) {
	pl, err := s.locate(ctx, p)
	return pl.root, pl.ok, err
}

// StorageDescription returns the path of the storage description resource
// of the storage holding p (Solid Protocol §4.1); ok is false when p lies
// in no storage.
func (s *Store) StorageDescription(ctx context.Context, p Path) (sd Path, ok bool, err error) {
	pl, err := s.locate(ctx, p)
	return pl.description(), pl.ok, err
}

// place is where a path lies: the root of its storage, if any.
type place struct {
	root Path
	ok   bool
	// deleting: the storage is a pod being deleted (DeletePod).
	deleting bool
}

// description is the storage description resource of the storage, or ""
// outside every storage.
func (pl place) description() Path {
	if !pl.ok {
		return ""
	}
	return pl.root + storageDescriptionName
}

// isRoot reports whether p is the root of its storage.
func (pl place) isRoot(p Path) bool { return pl.ok && pl.root == p }

// locate finds the storage holding p.
func (s *Store) locate(ctx context.Context, p Path) (place, error) {
	if s.pods == nil {
		return place{root: "/", ok: true}, nil
	}
	name, ok := podSegment(p)
	if !ok {
		return place{}, nil
	}
	rec, ok, err := s.pod(ctx, name)
	if err != nil || !ok {
		return place{}, err
	}
	return place{root: Path("/" + name + "/"), ok: true, deleting: rec.Deleting}, nil
}

// Backend returns the byte store under the resources.
func (s *Store) Backend() storage.Backend { return s.backend }
