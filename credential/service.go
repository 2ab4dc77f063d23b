package credential

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/seal"
)

// Defaults of Config.
const (
	DefaultMaxLifetime = 365 * 24 * time.Hour
	DefaultKeyRotation = 30 * 24 * time.Hour
	DefaultTokenTTL    = 5 * time.Minute
	// MaxCredentialBytes bounds a credential (and any JSON body) the
	// service reads.
	MaxCredentialBytes = 64 << 10
)

// The storage layout under sys/consent/.
const (
	prefixCredentials = "sys/consent/vc/"
	prefixStatus      = "sys/consent/status/"
	prefixParty       = "sys/consent/party/"
)

// Agent is the authenticated caller.
type Agent struct {
	WebID, ClientID, Issuer string
}

// Config are the Service's dependencies.
type Config struct {
	Store storage.Backend
	// Base is the credential service's IRI, ending in "/" (the
	// verifiable_credential_issuer; credentials' issuer).
	Base string
	// Controls returns nil when agent has acl:Control on the resource
	// iri, which must be on this server.
	Controls func(ctx context.Context, a Agent, iri string) error
	// OnServer reports whether iri is a resource of this server.
	OnServer func(iri string) bool
	// MaxLifetime bounds a credential's validity (DefaultMaxLifetime).
	MaxLifetime time.Duration
	// KeyRotation is how long one key signs (DefaultKeyRotation).
	KeyRotation time.Duration
	// TokenTTL is the life of UMA tickets and access tokens.
	TokenTTL time.Duration
	// MaxRequestsPerRequestor, MaxRequestsPerOwner and MaxGrantsPerOwner
	// bound the live requests an agent has asked for, the live requests
	// addressed to one person, and the active grants one person has given
	// (DefaultMaxRequestsPerRequestor and the others; live.go): Issue
	// refuses one more with ErrTooMany.
	MaxRequestsPerRequestor, MaxRequestsPerOwner, MaxGrantsPerOwner int
	// Seal, when on, seals the signing keys in storage with the server's
	// secret key (KLUIS_SECRET_KEY), as the identity provider's are.
	Seal seal.Sealer

	Now func() time.Time
	// OnChange, when set, is told of every credential issued ("issued"),
	// every status change ("revoked"), after it is stored, and every
	// expiry ("expired", by SweepExpired): the records in the person's
	// pod and the notifications.
	OnChange func(ctx context.Context, acc *Access, event string)
}

// Service issues, stores, verifies and looks up access credentials.
type Service struct {
	cfg  Config
	ld   *loader
	keys *keyring
	now  func() time.Time

	// docs caches credentials by id; they never change once issued (the
	// status lives apart and is always read from storage).
	mu   sync.Mutex
	docs map[string]*stored
	// actives keeps agents' lists of active grants (Active); activeGen
	// counts the changes of grants in this process.
	actives   map[string]activeList
	activeGen uint64
}

type stored struct {
	doc    map[string]any
	access *Access
}

// maxCachedDocs bounds the cache of credentials.
const maxCachedDocs = 4096

// New builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || !strings.HasSuffix(cfg.Base, "/") || cfg.Controls == nil || cfg.OnServer == nil {
		return nil, errors.New("credential: incomplete Config")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	if cfg.KeyRotation <= 0 {
		cfg.KeyRotation = DefaultKeyRotation
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.MaxRequestsPerRequestor <= 0 {
		cfg.MaxRequestsPerRequestor = DefaultMaxRequestsPerRequestor
	}
	if cfg.MaxRequestsPerOwner <= 0 {
		cfg.MaxRequestsPerOwner = DefaultMaxRequestsPerOwner
	}
	if cfg.MaxGrantsPerOwner <= 0 {
		cfg.MaxGrantsPerOwner = DefaultMaxGrantsPerOwner
	}
	l, err := newLoader()
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, ld: l, now: cfg.Now, docs: map[string]*stored{}, actives: map[string]activeList{},
		keys: &keyring{store: cfg.Store, now: cfg.Now, every: cfg.KeyRotation, life: cfg.MaxLifetime, seal: cfg.Seal}}, nil
}

// Base is the service's IRI.
func (s *Service) Base() string { return s.cfg.Base }

func (s *Service) keyIRI(kid string) string { return s.cfg.Base + "keys#" + kid }

// Keys are the published verification keys.
func (s *Service) Keys(ctx context.Context) ([]Key, error) {
	set, err := s.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(set.Keys))
	for _, k := range set.Keys {
		out = append(out, Key{ID: s.keyIRI(k.ID), Public: k.pub})
	}
	return out, nil
}

// KeysDocument is the controller document that publishes the keys
// (Ed25519VerificationKey2020 with publicKeyMultibase).
func (s *Service) KeysDocument(ctx context.Context) (map[string]any, error) {
	set, err := s.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	methods := []any{}
	ids := []any{}
	for _, k := range set.Keys {
		methods = append(methods, map[string]any{
			"id": s.keyIRI(k.ID), "type": "Ed25519VerificationKey2020", "controller": s.cfg.Base + "keys",
			"publicKeyMultibase": multibaseKey(k.pub),
		})
		ids = append(ids, s.keyIRI(k.ID))
	}
	return map[string]any{
		"@context":           []any{"https://www.w3.org/ns/did/v1", ContextEd25519},
		"id":                 s.cfg.Base + "keys",
		"verificationMethod": methods,
		"assertionMethod":    ids,
	}, nil
}

// Issue issues the credential in body ({"credential": {...}}, the VC
// API's issue request, as @inrupt/solid-client-vc sends it) for agent a.
// Requests may be issued by anyone authenticated; grants and denials only
// by an agent with acl:Control on every resource they name.
// credentialSubject.id is always a's WebID.
func (s *Service) Issue(ctx context.Context, a Agent, body []byte) (map[string]any, *Access, error) {
	if a.WebID == "" {
		return nil, nil, ErrUnauthenticated
	}
	var req struct {
		Credential map[string]any `json:"credential"`
	}
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	return s.issue(ctx, a, req.Credential, false)
}

// issue issues doc as a; moved is a grant re-issued by a pod's move
// (ImportPod), which the hoster's command makes: its Control was checked
// when it was first issued, and is checked again at every use.
func (s *Service) issue(ctx context.Context, a Agent, doc map[string]any, moved bool) (map[string]any, *Access, error) {
	if doc == nil {
		return nil, nil, fmt.Errorf("%w: no credential", ErrInvalid)
	}
	if err := knownContexts(doc["@context"]); err != nil {
		return nil, nil, err
	}
	for _, k := range []string{"id", "issuer", "proof", "credentialStatus"} {
		if _, ok := doc[k]; ok {
			return nil, nil, fmt.Errorf("%w: %s is set by the issuer", ErrInvalid, k)
		}
	}
	types := strings1(doc["type"])
	if !slices.Contains(types, "VerifiableCredential") {
		return nil, nil, fmt.Errorf("%w: not a VerifiableCredential", ErrInvalid)
	}
	subj, ok := doc["credentialSubject"].(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("%w: no credentialSubject", ErrInvalid)
	}
	subj["id"] = a.WebID
	now := s.now().UTC().Truncate(time.Second)
	if _, ok := doc["issuanceDate"]; !ok {
		doc["issuanceDate"] = now.Format(time.RFC3339)
	}
	acc, err := parseAccess(doc)
	if err != nil {
		return nil, nil, err
	}
	if err := s.check(ctx, a, acc, now, moved); err != nil {
		return nil, nil, err
	}
	if acc.Expires.IsZero() {
		acc.Expires = acc.Issued.Add(s.cfg.MaxLifetime)
		doc["expirationDate"] = acc.Expires.UTC().Format(time.RFC3339)
	}
	if err := s.checkCaps(ctx, acc); err != nil {
		return nil, nil, err
	}

	id, err := randomID()
	if err != nil {
		return nil, nil, err
	}
	acc.ID, acc.Issuer = s.cfg.Base+"vc/"+id, s.cfg.Base
	doc["id"], doc["issuer"] = acc.ID, acc.Issuer
	doc["@context"] = withContexts(doc["@context"], ContextRevocation, ContextEd25519)
	// The status entry: one revocation list per credential, served at
	// its status IRI (RevocationList2020Status).
	doc["credentialStatus"] = map[string]any{
		"id":                       s.cfg.Base + "status/" + id + "#0",
		"type":                     "RevocationList2020Status",
		"revocationListIndex":      "0",
		"revocationListCredential": s.cfg.Base + "status/" + id,
	}
	if err := s.sign(ctx, doc); err != nil {
		return nil, nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	// The expiry marker first, so that no stored credential is missing
	// from the index SweepExpired reads.
	if err := s.expiries().Add(ctx, acc.Expires, id); err != nil {
		return nil, nil, err
	}
	if err := s.forgets().Add(ctx, acc.Expires.Add(Retention), id); err != nil {
		return nil, nil, err
	}
	if _, err := s.cfg.Store.Put(ctx, prefixCredentials+id, bytes.NewReader(raw), storage.PutOptions{ContentType: "application/json", IfNoneMatch: true}); err != nil {
		return nil, nil, err
	}
	for _, party := range uniq(acc.Subject, acc.Requestor, acc.Owner) {
		if _, err := s.cfg.Store.Put(ctx, prefixParty+partyKey(party)+"/"+id, bytes.NewReader(nil), storage.PutOptions{}); err != nil {
			return nil, nil, err
		}
	}
	if acc.Kind != Request {
		if err := s.recordAnswer(ctx, acc); err != nil {
			return nil, nil, err
		}
	}
	if err := s.addLive(ctx, acc, id); err != nil {
		return nil, nil, err
	}
	s.remember(id, &stored{doc: doc, access: acc})
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(ctx, acc, "issued")
	}
	return doc, acc, nil
}

// check applies the issuing rules to a credential a is about to issue.
func (s *Service) check(ctx context.Context, a Agent, acc *Access, now time.Time, moved bool) error {
	if len(acc.Modes) == 0 {
		return fmt.Errorf("%w: no mode", ErrInvalid)
	}
	if len(acc.Resources) == 0 || len(acc.Resources) > 100 {
		return fmt.Errorf("%w: between 1 and 100 resources", ErrInvalid)
	}
	for _, r := range acc.Resources {
		if !absoluteIRI(r, true) || strings.ContainsAny(r, "#?") || !s.cfg.OnServer(r) {
			return fmt.Errorf("%w: resource %.200q is not on this server", ErrInvalid, r)
		}
	}
	if len(acc.Purposes) > 20 {
		return fmt.Errorf("%w: too many purposes", ErrInvalid)
	}
	for _, p := range acc.Purposes {
		if !absoluteIRI(p, false) {
			return fmt.Errorf("%w: purpose %.200q is not an IRI", ErrInvalid, p)
		}
	}
	for _, pin := range []string{acc.Client, acc.IdP} {
		if pin != "" && !absoluteIRI(pin, true) {
			return fmt.Errorf("%w: acl:client and acl:issuer are http(s) IRIs", ErrInvalid)
		}
	}
	if acc.Inbox != "" && !absoluteIRI(acc.Inbox, true) {
		return fmt.Errorf("%w: inbox is not an http(s) IRI", ErrInvalid)
	}
	if !acc.Expires.IsZero() {
		if !acc.Expires.After(acc.Issued) || !acc.Expires.After(now) {
			return fmt.Errorf("%w: expirationDate is not after issuanceDate and now", ErrInvalid)
		}
		if acc.Expires.Sub(now) > s.cfg.MaxLifetime {
			return fmt.Errorf("%w: expirationDate is past the server's maximum of %s", ErrInvalid, s.cfg.MaxLifetime)
		}
	}
	if acc.Issued.Sub(now) > s.cfg.MaxLifetime {
		return fmt.Errorf("%w: issuanceDate too far ahead", ErrInvalid)
	}
	switch acc.Kind {
	case Request:
		if acc.Status != StatusRequested {
			return fmt.Errorf("%w: a request's status is ConsentStatusRequested", ErrInvalid)
		}
		// The owner is named (the library's resourceOwner is required):
		// the request is addressed to, and readable by, that person.
		if !absoluteIRI(acc.Owner, true) {
			return fmt.Errorf("%w: isConsentForDataSubject is not a WebID", ErrInvalid)
		}
	case Grant, Denial:
		want := StatusGiven
		if acc.Kind == Denial {
			want = StatusDenied
		}
		if acc.Status != want && !(acc.Kind == Grant && acc.Status == StatusDenied) {
			return fmt.Errorf("%w: hasStatus does not match the type", ErrInvalid)
		}
		if !absoluteIRI(acc.Requestor, true) {
			return fmt.Errorf("%w: isProvidedTo is not a WebID", ErrInvalid)
		}
		// A moved grant's Control was checked where it was first issued.
		if !moved {
			for _, r := range acc.Resources {
				if err := s.cfg.Controls(ctx, a, r); err != nil {
					return fmt.Errorf("%w: no acl:Control on %.200q", ErrForbidden, r)
				}
			}
		}
	}
	return nil
}

// Get returns the credential id (its IRI) for a when a is one of its
// two parties: the requestor, or the owner (the data subject a request
// is addressed to, the person who gave a grant or denial). Anyone else,
// even an agent with acl:Control on a resource it names, gets
// ErrNotFound: what an organisation asked of a person is theirs alone.
// The library's approve flow reads the request as its owner.
func (s *Service) Get(ctx context.Context, a Agent, iri string) (map[string]any, *Access, error) {
	if a.WebID == "" {
		return nil, nil, ErrUnauthenticated
	}
	st, err := s.load(ctx, iri)
	if err != nil {
		return nil, nil, err
	}
	if !st.access.Party(a.WebID) {
		return nil, nil, ErrNotFound
	}
	return st.doc, st.access, nil
}

// load reads a credential by IRI.
func (s *Service) load(ctx context.Context, iri string) (*stored, error) {
	id, ok := strings.CutPrefix(iri, s.cfg.Base+"vc/")
	if !ok || id == "" || len(id) > 64 || strings.ContainsAny(id, "/?#") {
		return nil, ErrNotFound
	}
	s.mu.Lock()
	st := s.docs[id]
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	rc, _, err := s.cfg.Store.Get(ctx, prefixCredentials+id, storage.GetOptions{})
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrInvalidKey) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, 4*MaxCredentialBytes))
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	acc, err := parseAccess(doc)
	if err != nil {
		return nil, err
	}
	st = &stored{doc: doc, access: acc}
	s.remember(id, st)
	return st, nil
}

func (s *Service) remember(id string, st *stored) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.docs) >= maxCachedDocs {
		for k := range s.docs { // drop one at random
			delete(s.docs, k)
			break
		}
	}
	s.docs[id] = st
}

// Revoked reports whether the credential iri has been revoked (a grant)
// or cancelled (a request). It always reads storage, so that a status
// set through any process holds at once.
func (s *Service) Revoked(ctx context.Context, iri string) (bool, error) {
	id, ok := strings.CutPrefix(iri, s.cfg.Base+"vc/")
	if !ok {
		return false, ErrNotFound
	}
	_, err := s.cfg.Store.Stat(ctx, prefixStatus+id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SetStatus revokes a grant or denial, or cancels a request: body is the
// VC API's status request ({"credentialId", "credentialStatus":
// [{"type":"RevocationList2020Status","status":"1"}]}). Only the party
// that issued the credential (its credentialSubject.id) may.
func (s *Service) SetStatus(ctx context.Context, a Agent, body []byte) (*Access, error) {
	if a.WebID == "" {
		return nil, ErrUnauthenticated
	}
	var req struct {
		CredentialID     string `json:"credentialId"`
		CredentialStatus []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"credentialStatus"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.CredentialStatus) != 1 || req.CredentialStatus[0].Status != "1" {
		return nil, fmt.Errorf("%w: only a revocation (status \"1\") is supported", ErrInvalid)
	}
	st, err := s.load(ctx, req.CredentialID)
	if err != nil {
		return nil, err
	}
	if st.access.Subject != a.WebID {
		if st.access.Party(a.WebID) {
			return nil, fmt.Errorf("%w: only the issuing party may change the status", ErrForbidden)
		}
		return nil, ErrNotFound
	}
	id := strings.TrimPrefix(req.CredentialID, s.cfg.Base+"vc/")
	stamp := []byte(s.now().UTC().Format(time.RFC3339))
	if err := s.forgets().Add(ctx, s.now().Add(Retention), id); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Store.Put(ctx, prefixStatus+id, bytes.NewReader(stamp), storage.PutOptions{ContentType: "text/plain"}); err != nil {
		return nil, err
	}
	s.dropLive(ctx, st.access)
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(ctx, st.access, "revoked")
	}
	return st.access, nil
}

// Verification is the VC API's verification result.
type Verification struct {
	Checks   []string `json:"checks"`
	Warnings []string `json:"warnings"`
	Errors   []string `json:"errors"`
}

// Verify checks a presented credential: issued here, proof valid, not
// revoked, within its validity.
func (s *Service) Verify(ctx context.Context, doc map[string]any) (Verification, *Access) {
	v := Verification{Checks: []string{"proof", "expiration", "revocation"}, Warnings: []string{}, Errors: []string{}}
	acc, err := s.Valid(ctx, doc)
	if err != nil {
		v.Errors = append(v.Errors, err.Error())
	}
	return v, acc
}

// Valid returns the access of a presented credential when it was issued
// here, is the one stored under its id, its proof verifies, and it is
// neither revoked nor outside its validity.
func (s *Service) Valid(ctx context.Context, doc map[string]any) (*Access, error) {
	if doc == nil {
		return nil, fmt.Errorf("%w: no credential", ErrInvalid)
	}
	if iss, _ := doc["issuer"].(string); iss != s.cfg.Base {
		return nil, fmt.Errorf("%w: not issued by %s", ErrProof, s.cfg.Base)
	}
	if err := s.verifyProof(ctx, doc); err != nil {
		return nil, err
	}
	id, _ := doc["id"].(string)
	st, err := s.load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%w: not a credential of this issuer", ErrProof)
	}
	acc := st.access
	if !acc.ValidAt(s.now()) {
		return acc, fmt.Errorf("%w: expired or not yet valid", ErrForbidden)
	}
	revoked, err := s.Revoked(ctx, acc.ID)
	if err != nil {
		return acc, err
	}
	if revoked {
		return acc, fmt.Errorf("%w: revoked", ErrForbidden)
	}
	return acc, nil
}

// Filter is what Derive matches credentials on; empty fields match all.
type Filter struct {
	Types           []Kind
	Status          string // full IRI
	Resource        string
	Purposes        []string
	Requestor       string
	Modes           []string
	IncludeExpired  bool
	IncludeInactive bool
}

// Derive returns a's credentials that match f (the legacy derive
// service that getAccessGrantAll calls), newest first.
func (s *Service) Derive(ctx context.Context, a Agent, f Filter) ([]map[string]any, error) {
	if a.WebID == "" {
		return nil, ErrUnauthenticated
	}
	var hits []hit
	now := s.now()
	for st, err := range s.partyCredentials(ctx, a.WebID) {
		if err != nil {
			return nil, err
		}
		acc := st.access
		if !f.match(acc) || !f.IncludeExpired && !acc.Expires.IsZero() && !now.Before(acc.Expires) {
			continue
		}
		if !f.IncludeInactive {
			if revoked, err := s.Revoked(ctx, acc.ID); err != nil {
				return nil, err
			} else if revoked {
				continue
			}
		}
		hits = append(hits, hit{st.doc, acc.Issued})
		if len(hits) >= 1000 {
			break
		}
	}
	sortNewestFirst(hits)
	out := make([]map[string]any, len(hits))
	for i, h := range hits {
		out[i] = h.doc
	}
	return out, nil
}

// hit is a credential found by a lookup, with its issuance time.
type hit struct {
	doc    map[string]any
	issued time.Time
}

// sortNewestFirst orders hits by issuance, newest first, keeping the
// order of those issued at the same time.
func sortNewestFirst(hits []hit) {
	slices.SortStableFunc(hits, func(x, y hit) int { return y.issued.Compare(x.issued) })
}

// partyCredentials yields the credentials in which webID is a party,
// through the party index, skipping those gone since they were indexed.
func (s *Service) partyCredentials(ctx context.Context, webID string) iter.Seq2[*stored, error] {
	return func(yield func(*stored, error) bool) {
		for info, err := range s.cfg.Store.List(ctx, prefixParty+partyKey(webID)+"/") {
			if err != nil {
				yield(nil, err)
				return
			}
			if info.IsPrefix {
				continue
			}
			st, err := s.load(ctx, s.cfg.Base+"vc/"+info.Key[strings.LastIndexByte(info.Key, '/')+1:])
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if !yield(st, err) || err != nil {
				return
			}
		}
	}
}

func (f Filter) match(a *Access) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, a.Kind) {
		return false
	}
	if f.Status != "" && a.Status != f.Status {
		return false
	}
	if f.Resource != "" && !slices.Contains(a.Resources, f.Resource) {
		return false
	}
	for _, p := range f.Purposes {
		if !slices.Contains(a.Purposes, p) {
			return false
		}
	}
	if f.Requestor != "" && a.Requestor != f.Requestor {
		return false
	}
	for _, m := range f.Modes {
		if iri, ok := modeIRIs[m]; !ok || !a.HasMode(iri) {
			return false
		}
	}
	return true
}

// Grant returns the grant iri when it is active now: stored, a grant,
// valid, not revoked. It reads the status from storage at every call.
func (s *Service) Grant(ctx context.Context, iri string) (*Access, error) {
	st, err := s.load(ctx, iri)
	if err != nil {
		return nil, err
	}
	acc := st.access
	if acc.Kind != Grant || acc.Status != StatusGiven {
		return nil, fmt.Errorf("%w: not a grant", ErrForbidden)
	}
	if !acc.ValidAt(s.now()) {
		return nil, fmt.Errorf("%w: the grant is expired or not yet valid", ErrForbidden)
	}
	revoked, err := s.Revoked(ctx, iri)
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, fmt.Errorf("%w: the grant is revoked", ErrForbidden)
	}
	return acc, nil
}

func decode(body []byte, v any) error {
	if len(body) > MaxCredentialBytes {
		return ErrTooLarge
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func partyKey(webID string) string {
	h := sha256.Sum256([]byte(webID))
	return hex.EncodeToString(h[:16])
}

func uniq(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// withContexts appends the contexts not yet named.
func withContexts(ctx any, add ...string) []any {
	list, ok := ctx.([]any)
	if !ok {
		list = []any{ctx}
	}
	out := slices.Clone(list)
	for _, c := range add {
		if !slices.Contains(out, any(c)) {
			out = append(out, c)
		}
	}
	return out
}

// Decide answers the request iri for a, its owner: approve issues a
// grant of what the request asks, deny a denial (the consent page's
// two buttons). It returns the issued credential.
func (s *Service) Decide(ctx context.Context, a Agent, iri string, approve bool) (map[string]any, *Access, error) {
	st, err := s.load(ctx, iri)
	if err != nil {
		return nil, nil, err
	}
	req := st.access
	if req.Kind != Request {
		return nil, nil, fmt.Errorf("%w: not an access request", ErrInvalid)
	}
	if revoked, err := s.Revoked(ctx, iri); err != nil {
		return nil, nil, err
	} else if revoked {
		return nil, nil, fmt.Errorf("%w: the request was cancelled", ErrForbidden)
	}
	kind, status := Grant, StatusGiven
	if !approve {
		kind, status = Denial, StatusDenied
	}
	consent := map[string]any{
		"mode": req.Modes, "hasStatus": status, "forPersonalData": req.Resources,
		"isProvidedTo": req.Requestor, "request": req.ID, "inherit": req.Inherit,
	}
	if len(req.Purposes) > 0 {
		consent["forPurpose"] = req.Purposes
	}
	subject := map[string]any{"providedConsent": consent}
	if req.Inbox != "" {
		subject["inbox"] = req.Inbox
	}
	cred := map[string]any{
		"@context":          []any{ContextVC, ContextInruptV2},
		"type":              []any{"VerifiableCredential", string(kind)},
		"credentialSubject": subject,
	}
	if !req.Expires.IsZero() {
		cred["expirationDate"] = req.Expires.UTC().Format(time.RFC3339)
	}
	body, err := json.Marshal(map[string]any{"credential": cred})
	if err != nil {
		return nil, nil, err
	}
	return s.Issue(ctx, a, body)
}
