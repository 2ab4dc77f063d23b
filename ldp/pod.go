package ldp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// Pods (Config.Pods): each pod /<name>/ is a storage of its own (Solid
// Protocol §4.1 "Storage Resource"), registered under the key
// "sys/pods/<name>" (outside "r/", so no request can name or change it).
// The registry object holds the pod's owner (§4.1: "Servers MUST keep
// track of at least one owner of a storage"); it is written first, with
// If-None-Match, so a name can be taken only once, also by several
// processes at the same moment.

// podKeyPrefix is where the pod registry lives in the backend.
const podKeyPrefix = "sys/pods/"

// The errors of pod creation, wrapped with context.
var (
	// ErrPodsDisabled means the Store serves one storage at the root
	// (Config.Pods is false), so no pod can be made.
	ErrPodsDisabled = errors.New("ldp: pods are disabled")
	// ErrPodExists means the name is taken, by a pod or by a resource
	// already at /<name>/.
	ErrPodExists = errors.New("ldp: pod name taken")
	// ErrInvalidPodName means a name breaks the rules of CheckPodName.
	ErrInvalidPodName = errors.New("ldp: invalid pod name")
)

// PodNameError is a pod name that CheckPodName refuses, with the reason
// to tell the person choosing it. It unwraps to ErrInvalidPodName.
type PodNameError struct {
	Name   string
	Reason string
}

func (e *PodNameError) Error() string {
	return fmt.Sprintf("ldp: invalid pod name %q: %s", e.Name, e.Reason)
}

// Unwrap returns ErrInvalidPodName.
func (e *PodNameError) Unwrap() error { return ErrInvalidPodName }

// MaxPodNameLength is the longest pod name: a DNS label, so that a name
// can become a host name when pods are served on subdomains.
const MaxPodNameLength = 63

// ReservedPodNames are the names no pod may take: the server's own
// places, and names that would let a pod pass for the server.
func ReservedPodNames() []string {
	return []string{
		"account", "accounts", "admin", "administrator", "api", "auth", "authorize",
		"idp", "inbox", "kluis", "login", "logout", "oauth", "oidc", "pod", "pods",
		"profile", "register", "root", "security", "settings", "signup", "solid",
		"static", "support", "sys", "system", "token", "well-known", "webid", "www",
	}
}

// CheckPodName reports whether name may name a pod: 1 to 63 lower-case
// ASCII letters, digits and hyphens, not starting or ending with a hyphen
// (a DNS label), and not one of ReservedPodNames. The error is a
// *PodNameError.
func CheckPodName(name string) error {
	if reason := podNameProblem(name); reason != "" {
		return &PodNameError{Name: truncateName(name), Reason: reason}
	}
	return nil
}

func podNameProblem(name string) string {
	switch {
	case name == "":
		return "a name is required"
	case len(name) > MaxPodNameLength:
		return fmt.Sprintf("at most %d characters", MaxPodNameLength)
	case name[0] == '-' || name[len(name)-1] == '-':
		return "must not start or end with a hyphen"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "use lower-case letters a-z, digits and hyphens only"
		}
	}
	for _, r := range ReservedPodNames() {
		if name == r {
			return "this name is reserved"
		}
	}
	return ""
}

func truncateName(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// podSegment returns the first segment of p when p lies inside a
// top-level container whose name could be a pod's.
func podSegment(p Path) (string, bool) {
	rest := string(p[1:])
	i := strings.IndexByte(rest, '/')
	if i <= 0 {
		return "", false
	}
	name := rest[:i]
	return name, podNameProblem(name) == ""
}

// Pod is a pod as the registry knows it.
type Pod struct {
	// Name is the pod's name; its root is /<Name>/.
	Name string
	// Root is the path of the pod's root container.
	Root Path
	// Owner is the WebID of the pod's owner.
	Owner string
	// Created is when the pod was made.
	Created time.Time
	// Deleting: a deletion of the pod started and has not finished
	// (DeletePod; running it again finishes it).
	Deleting bool
}

// podRecord is the registry object of a pod, as JSON.
type podRecord struct {
	Name    string    `json:"name"`
	Owner   string    `json:"owner"`
	Created time.Time `json:"created"`
	// Deleting marks a pod that DeletePod is removing: nothing may be
	// written into it any more (poddelete.go).
	Deleting bool `json:"deleting,omitempty"`
}

func (r podRecord) pod() Pod {
	return Pod{Name: r.Name, Root: Path("/" + r.Name + "/"), Owner: r.Owner, Created: r.Created, Deleting: r.Deleting}
}

// Bounds of the pod index.
const (
	// absentTTL is how long a name found not to be a pod is believed:
	// a pod another process creates is seen within it.
	absentTTL = 10 * time.Second
	// knownTTL is how long a pod's registry record is believed before it
	// is read again: a pod another process deletes, or deletes and makes
	// anew for another owner, is seen within it.
	knownTTL = 10 * time.Second
	// maxAbsent bounds the names remembered as not being pods.
	maxAbsent = 4096
)

// podIndex caches which top-level names are pods. Pods are never deleted
// through the Solid Protocol (§5.4 refuses to delete a storage's root), but
// DeletePod removes one outside it: this Store forgets the name at once,
// and other processes sharing the backend read the registry record again
// once their answer is knownTTL old. A positive answer is one small entry
// per pod; negative answers expire after absentTTL and are bounded by
// maxAbsent.
type podIndex struct {
	now    func() time.Time
	mu     sync.Mutex
	known  map[string]knownPod
	absent map[string]time.Time // name -> when the answer expires
}

type knownPod struct {
	rec   podRecord
	until time.Time // when the record is to be read again
}

func newPodIndex(now func() time.Time) *podIndex {
	return &podIndex{now: now, known: map[string]knownPod{}, absent: map[string]time.Time{}}
}

// lookup returns the cached answer for name; cached is false when the
// backend must be asked.
func (x *podIndex) lookup(name string) (rec podRecord, isPod, cached bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if k, ok := x.known[name]; ok {
		if x.now().Before(k.until) {
			return k.rec, true, true
		}
		// Kept until the record is read again, which replaces or
		// forgets it.
		return podRecord{}, false, false
	}
	if until, ok := x.absent[name]; ok {
		if x.now().Before(until) {
			return podRecord{}, false, true
		}
		delete(x.absent, name)
	}
	return podRecord{}, false, false
}

// learn records that name is a pod.
func (x *podIndex) learn(rec podRecord) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.known[rec.Name] = knownPod{rec: rec, until: x.now().Add(knownTTL)}
	delete(x.absent, rec.Name)
}

// learnAbsent records that name is no pod, for absentTTL.
func (x *podIndex) learnAbsent(name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	now := x.now()
	if len(x.absent) >= maxAbsent {
		for n, until := range x.absent {
			if !now.Before(until) {
				delete(x.absent, n)
			}
		}
		if len(x.absent) >= maxAbsent {
			// Still full of live answers: start over rather than grow.
			clear(x.absent)
		}
	}
	x.absent[name] = now.Add(absentTTL)
}

// forget drops what is known of name, after a failed creation or once the
// pod is deleted.
func (x *podIndex) forget(name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.known, name)
	delete(x.absent, name)
}

// maxPodRecord bounds what is read of a registry object.
const maxPodRecord = 64 << 10

// pod returns the registry record of the pod called name, through the
// cache.
func (s *Store) pod(ctx context.Context, name string) (podRecord, bool, error) {
	if rec, isPod, cached := s.pods.lookup(name); cached {
		return rec, isPod, nil
	}
	rec, err := s.readPodRecord(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		s.pods.forget(name) // deleted by another process
		s.pods.learnAbsent(name)
		return podRecord{}, false, nil
	}
	if err != nil {
		return podRecord{}, false, err
	}
	s.pods.learn(rec)
	return rec, true, nil
}

func (s *Store) readPodRecord(ctx context.Context, name string) (podRecord, error) {
	rec, _, err := s.readPodRecordTag(ctx, name)
	return rec, err
}

// readPodRecordTag is readPodRecord with the record's ETag, for a
// conditional write of it.
func (s *Store) readPodRecordTag(ctx context.Context, name string) (podRecord, string, error) {
	body, info, err := s.backend.Get(ctx, podKeyPrefix+name, storage.GetOptions{})
	if err != nil {
		return podRecord{}, "", fmt.Errorf("ldp: pod %s: %w", name, err)
	}
	defer body.Close()
	var rec podRecord
	data, err := io.ReadAll(io.LimitReader(body, maxPodRecord))
	if err != nil {
		return podRecord{}, "", fmt.Errorf("ldp: pod %s: %w", name, err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return podRecord{}, "", fmt.Errorf("ldp: pod %s: registry record does not parse: %w", name, err)
	}
	rec.Name = name
	return rec, info.ETag, nil
}

// Owner returns the WebID of the owner of the storage whose root is root
// (Solid Protocol §4.1), when it has a known owner: a pod's owner. The
// single storage of a server without pods has none.
func (s *Store) Owner(ctx context.Context, root Path) (string, bool, error) {
	if s.pods == nil {
		return "", false, nil
	}
	name, ok := podSegment(root)
	if !ok || root != Path("/"+name+"/") {
		return "", false, nil
	}
	rec, ok, err := s.pod(ctx, name)
	if err != nil || !ok || rec.Owner == "" {
		return "", false, err
	}
	return rec.Owner, true, nil
}

// Pods yields every pod in the registry, in no promised order.
func (s *Store) Pods(ctx context.Context) iter.Seq2[Pod, error] {
	return func(yield func(Pod, error) bool) {
		for info, err := range s.backend.List(ctx, podKeyPrefix) {
			if err != nil {
				yield(Pod{}, fmt.Errorf("ldp: listing pods: %w", err))
				return
			}
			if info.IsPrefix {
				continue
			}
			rec, err := s.readPodRecord(ctx, strings.TrimPrefix(info.Key, podKeyPrefix))
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if !yield(rec.pod(), err) {
				return
			}
		}
	}
}

// PodOwner is who a new pod is made for.
type PodOwner struct {
	// WebID is the agent given Read, Write and Control of the whole pod.
	// Empty means the WebID the pod's profile defines, /<name>/profile/card#me.
	WebID string
	// Name is the person's name for the profile (foaf:name); may be empty.
	Name string
	// Issuer is the OpenID provider trusted for the pod's WebID
	// (solid:oidcIssuer); empty means the server's base URL.
	Issuer string
}

// PodWebID returns the WebID a pod called name defines in its profile.
func (s *Store) PodWebID(name string) string {
	return s.IRI(Path("/"+name+"/profile/card")) + "#me"
}

// CreatePod makes the pod /<name>/ and seeds it like a person's pod:
//
//   - /<name>/.acl: the owner may Read, Write and Control everything
//     (acl:default), no one else anything;
//   - /<name>/profile/card: the WebID profile, with #me a foaf:Person and
//     schema:Person, its solid:oidcIssuer, pim:storage, ldp:inbox,
//     pim:preferencesFile and type indexes, readable by everyone;
//   - /<name>/inbox/: everyone may Append, only the owner Read;
//   - /<name>/settings/: private, with prefs.ttl and privateTypeIndex.ttl
//     (solid:UnlistedDocument), and publicTypeIndex.ttl
//     (solid:ListedDocument) readable by everyone.
//
// The name is claimed first in the registry with If-None-Match, so it is
// taken once only; a taken name is ErrPodExists, a bad one a
// *PodNameError, a Store without pods ErrPodsDisabled.
func (s *Store) CreatePod(ctx context.Context, name string, owner PodOwner) (Pod, error) {
	if s.pods == nil {
		return Pod{}, ErrPodsDisabled
	}
	if err := CheckPodName(name); err != nil {
		return Pod{}, err
	}
	webID := s.PodWebID(name)
	if owner.WebID == "" {
		owner.WebID = webID
	}
	if owner.Issuer == "" {
		owner.Issuer = s.origin + "/"
	}
	for _, iri := range []string{owner.WebID, owner.Issuer} {
		if !absoluteHTTP(iri) {
			return Pod{}, &BadRequestError{Reason: fmt.Sprintf("%q is not an absolute http(s) IRI", truncateName(iri))}
		}
	}
	rec := podRecord{Name: name, Owner: owner.WebID, Created: s.now().UTC().Truncate(time.Second)}
	data, err := json.Marshal(rec)
	if err != nil {
		return Pod{}, err
	}
	root := Path("/" + name + "/")
	// A resource already at /<name>/ or /<name> (made through the Solid
	// Protocol in the root) keeps the name from being a pod.
	for _, p := range []Path{root, root.Sibling()} {
		if _, err := s.backend.Stat(ctx, p.Key()); err == nil {
			return Pod{}, fmt.Errorf("ldp: pod %s: %s exists: %w", name, p, ErrPodExists)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return Pod{}, fmt.Errorf("ldp: pod %s: %w", name, err)
		}
	}
	_, err = s.backend.Put(ctx, podKeyPrefix+name, bytes.NewReader(data),
		storage.PutOptions{ContentType: "application/json", IfNoneMatch: true})
	if errors.Is(err, storage.ErrPreconditionFailed) {
		return Pod{}, fmt.Errorf("ldp: pod %s: %w", name, ErrPodExists)
	}
	if err != nil {
		return Pod{}, fmt.Errorf("ldp: registering pod %s: %w", name, err)
	}
	s.pods.learn(rec)
	docs, err := s.podDocuments(root, webID, owner)
	if err != nil {
		return Pod{}, err
	}
	var seeded int64
	for _, d := range docs {
		if d.acl && s.validateACL != nil {
			if err := s.validateACL(d.body, s.IRI(d.path)); err != nil {
				return Pod{}, fmt.Errorf("ldp: pod %s: seeded ACL %s is unusable: %w", name, d.path, err)
			}
		}
		info, err := s.backend.Put(ctx, d.path.Key(), bytes.NewReader(d.body),
			storage.PutOptions{ContentType: rdfx.Turtle, IfNoneMatch: true})
		if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
			return Pod{}, fmt.Errorf("ldp: seeding pod %s at %s: %w", name, d.path, err)
		}
		seeded += info.Size
	}
	// The pod's byte counter starts with what was seeded (quota.go),
	// replacing any left by an earlier pod of that name that a hoster
	// removed.
	if err := resetUsage(ctx, s.backend, name, seeded); err != nil {
		return Pod{}, fmt.Errorf("ldp: pod %s: usage counter: %w", name, err)
	}
	return rec.pod(), nil
}

func absoluteHTTP(iri string) bool {
	rest, ok := strings.CutPrefix(iri, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(iri, "http://")
	}
	return ok && rest != "" && rest[0] != '/' && !strings.ContainsAny(iri, " <>\"{}|\\^`\n\r\t")
}

// seed is one object of a new pod.
type seed struct {
	path Path
	body []byte
	acl  bool
}

// Vocabularies of the seeded documents.
const (
	nsFOAF   = "http://xmlns.com/foaf/0.1/"
	nsSchema = "http://schema.org/"
)

// podPrefixes are those the seeded Turtle is written with.
func podPrefixes() map[string]string {
	return map[string]string{
		"acl": nsACL, "foaf": nsFOAF, "schema": nsSchema, "solid": nsSolid, "pim": nsPIM,
		"ldp": nsLDP, "dcterms": nsDCTerms,
	}
}

// podDocuments returns the objects of a new pod, each ACL before the
// resource it governs, so nothing is ever readable under the wrong rules.
func (s *Store) podDocuments(root Path, webID string, owner PodOwner) ([]seed, error) {
	iri := func(p Path) rdfx.Term { return rdfx.IRI(s.IRI(p)) }
	a := rdfx.IRI(nsRDF + "type")
	me := rdfx.IRI(webID)
	var (
		profile     = root + "profile/card"
		inbox       = root + "inbox/"
		settings    = root + "settings/"
		prefs       = settings + "prefs.ttl"
		publicTI    = settings + "publicTypeIndex.ttl"
		privateTI   = settings + "privateTypeIndex.ttl"
		solidTI     = rdfx.IRI(nsSolid + "TypeIndex")
		pubTIPred   = rdfx.IRI(nsSolid + "publicTypeIndex")
		privTIPred  = rdfx.IRI(nsSolid + "privateTypeIndex")
		ownerAgent  = rdfx.IRI(owner.WebID)
		everyone    = rdfx.IRI(nsFOAF + "Agent")
		aclAgent    = rdfx.IRI(nsACL + "agent")
		aclClass    = rdfx.IRI(nsACL + "agentClass")
		aclAccessTo = rdfx.IRI(nsACL + "accessTo")
		aclDefault  = rdfx.IRI(nsACL + "default")
		aclMode     = rdfx.IRI(nsACL + "mode")
		authz       = rdfx.IRI(nsACL + "Authorization")
	)
	mode := func(m string) rdfx.Term { return rdfx.IRI(nsACL + m) }

	var out []seed
	prefixes := podPrefixes()
	add := func(p Path, acl bool, triples ...rdfx.Triple) error {
		g := rdfx.NewGraph(len(triples))
		for _, t := range triples {
			g.Add(t)
		}
		var buf bytes.Buffer
		if g.Len() > 0 {
			if err := rdfx.Serialize(&buf, g, rdfx.Turtle, s.IRI(p), prefixes); err != nil {
				return fmt.Errorf("ldp: seeding %s: %w", p, err)
			}
		}
		out = append(out, seed{path: p, body: buf.Bytes(), acl: acl})
		return nil
	}
	// rule is one acl:Authorization of an ACL document at aclPath.
	rule := func(aclPath Path, id string, who, agent rdfx.Term, target Path, inherit bool, modes ...string) []rdfx.Triple {
		r := rdfx.IRI(s.IRI(aclPath) + "#" + id)
		ts := []rdfx.Triple{{S: r, P: a, O: authz}, {S: r, P: who, O: agent}, {S: r, P: aclAccessTo, O: iri(target)}}
		if inherit {
			ts = append(ts, rdfx.Triple{S: r, P: aclDefault, O: iri(target)})
		}
		for _, m := range modes {
			ts = append(ts, rdfx.Triple{S: r, P: aclMode, O: mode(m)})
		}
		return ts
	}
	ownerAll := func(aclPath, target Path, inherit bool) []rdfx.Triple {
		return rule(aclPath, "owner", aclAgent, ownerAgent, target, inherit, "Read", "Write", "Control")
	}

	profileTriples := []rdfx.Triple{
		{S: iri(profile), P: a, O: rdfx.IRI(nsFOAF + "PersonalProfileDocument")},
		{S: iri(profile), P: rdfx.IRI(nsFOAF + "maker"), O: me},
		{S: iri(profile), P: rdfx.IRI(nsFOAF + "primaryTopic"), O: me},
		{S: me, P: a, O: rdfx.IRI(nsFOAF + "Person")},
		{S: me, P: a, O: rdfx.IRI(nsSchema + "Person")},
		{S: me, P: rdfx.IRI(nsSolid + "oidcIssuer"), O: rdfx.IRI(owner.Issuer)},
		{S: me, P: rdfx.IRI(nsPIM + "storage"), O: iri(root)},
		{S: me, P: rdfx.IRI(nsLDP + "inbox"), O: iri(inbox)},
		{S: me, P: rdfx.IRI(nsPIM + "preferencesFile"), O: iri(prefs)},
		{S: me, P: pubTIPred, O: iri(publicTI)},
		{S: me, P: privTIPred, O: iri(privateTI)},
	}
	if n := strings.TrimSpace(owner.Name); n != "" {
		profileTriples = append(profileTriples, rdfx.Triple{S: me, P: rdfx.IRI(nsFOAF + "name"), O: rdfx.Literal(n, nsXSD+"string")})
	}

	steps := []struct {
		p       Path
		acl     bool
		triples []rdfx.Triple
	}{
		{root.ACL(), true, ownerAll(root.ACL(), root, true)},
		{root, false, nil},
		{profile.ACL(), true, append(ownerAll(profile.ACL(), profile, false),
			rule(profile.ACL(), "public", aclClass, everyone, profile, false, "Read")...)},
		{root + "profile/", false, nil},
		{profile, false, profileTriples},
		{inbox.ACL(), true, append(ownerAll(inbox.ACL(), inbox, true),
			rule(inbox.ACL(), "public", aclClass, everyone, inbox, false, "Append")...)},
		{inbox, false, nil},
		{settings, false, nil},
		{prefs, false, []rdfx.Triple{
			{S: iri(prefs), P: a, O: rdfx.IRI(nsPIM + "ConfigurationFile")},
			{S: iri(prefs), P: rdfx.IRI(nsDCTerms + "title"), O: rdfx.Literal("Preferences file", nsXSD+"string")},
			{S: me, P: pubTIPred, O: iri(publicTI)},
			{S: me, P: privTIPred, O: iri(privateTI)},
		}},
		{privateTI, false, []rdfx.Triple{
			{S: iri(privateTI), P: a, O: solidTI},
			{S: iri(privateTI), P: a, O: rdfx.IRI(nsSolid + "UnlistedDocument")},
		}},
		{publicTI.ACL(), true, append(ownerAll(publicTI.ACL(), publicTI, false),
			rule(publicTI.ACL(), "public", aclClass, everyone, publicTI, false, "Read")...)},
		{publicTI, false, []rdfx.Triple{
			{S: iri(publicTI), P: a, O: solidTI},
			{S: iri(publicTI), P: a, O: rdfx.IRI(nsSolid + "ListedDocument")},
		}},
	}
	for _, st := range steps {
		if err := add(st.p, st.acl, st.triples...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PodRegistered reports whether a pod named name is registered in b, for
// code that has a backend but no Store (such as the certificate manager
// deciding which pod host names to serve).
func PodRegistered(ctx context.Context, b storage.Backend, name string) (bool, error) {
	if !IsHostLabel(name) {
		return false, nil
	}
	_, err := b.Stat(ctx, podKeyPrefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
