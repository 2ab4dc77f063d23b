package credential

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weconomics/kluis/storage"
)

// A pod's move (kluis pod export, kluis pod import) carries the access
// credentials about it: the signed credentials, their status, and the
// exporting issuer's public keys, as one JSON document (the archive's
// kluis-credentials.json):
//
//	{"format": "kluis-credentials", "version": 1,
//	 "issuer": "https://old.example/.vc/",
//	 "keys": <the issuer's keys document, public keys only>,
//	 "credentials": [{"credential": {...}, "revoked": "<RFC 3339>"}, ...]}
//
// When the importing server has the exporting one's base URL (the same
// server moved to other storage or another host) and the pod keeps its
// IRIs, the credentials are kept as they are: stored with their status,
// and the old server's public keys added to this server's as keys that
// verify and never sign. Every use of a grant, both ways, then goes on
// unchanged, and the person revokes it here.
//
// Otherwise the importing server re-issues each grant still active,
// under its own key, for the pod's new IRIs: the credentials of the old
// server name the old IRIs under the old server's signature, which no
// rewriting can keep valid. So the organisation's plain DPoP requests
// keep working at once (Active finds the new grant of the same grantee),
// while an app of the library's UMA way must fetch the new grant
// (getAccessGrantAll, or the notification to its inbox) before its next
// exchange. Requests and denials are not re-issued: their records move
// with the pod.

const (
	moveFormat  = "kluis-credentials"
	moveVersion = 1
	// maxMoved bounds the credentials one move carries.
	maxMoved = 100_000
)

type moveBundle struct {
	Format      string          `json:"format"`
	Version     int             `json:"version"`
	Issuer      string          `json:"issuer"`
	Keys        map[string]any  `json:"keys"`
	Credentials []movedDocument `json:"credentials"`
}

type movedDocument struct {
	Credential map[string]any `json:"credential"`
	Revoked    string         `json:"revoked,omitempty"`
}

// ExportPod writes the move document of the credentials ids (their last
// IRI segments: the names of the records in the pod's access-records
// container) to w; ids this issuer does not hold are left out.
func (s *Service) ExportPod(ctx context.Context, ids []string, w io.Writer) error {
	b := moveBundle{Format: moveFormat, Version: moveVersion, Issuer: s.cfg.Base, Credentials: []movedDocument{}}
	for _, id := range ids {
		st, err := s.load(ctx, s.cfg.Base+"vc/"+id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		m := movedDocument{Credential: st.doc}
		at, err := s.revokedAt(ctx, st.access.ID)
		if err != nil {
			return err
		}
		if !at.IsZero() {
			m.Revoked = at.UTC().Format(time.RFC3339)
		}
		b.Credentials = append(b.Credentials, m)
	}
	if len(b.Credentials) > 0 {
		// The keys, only when there is something to verify: an export of
		// a pod with no credentials makes no signing key.
		keys, err := s.KeysDocument(ctx)
		if err != nil {
			return err
		}
		b.Keys = keys
	}
	return json.NewEncoder(w).Encode(&b)
}

// Moved is a grant that ImportPod re-issued, or kept.
type Moved struct {
	// From is the grant of the old server, To the one that holds here:
	// the same IRI when it was kept as it was.
	From, To string
	Grantee  string
}

// ImportPod reads a move document from r. From this issuer's base URL,
// for a pod whose IRIs do not change, it keeps the credentials as they
// are (keepMoved). Otherwise it re-issues, under this server's key,
// every grant in it that is still active: not revoked, not
// expired, its proof valid under the exporting issuer's keys that the
// document carries, and every resource inside the moved pod once rebase
// has mapped it (OnServer must hold for it). rebase maps the old IRIs of
// the pod (resources, and the owner when the WebID moved with it) to
// their new ones. Each re-issue is told to OnChange ("issued"), so it is
// recorded in the pod and the grantee's inbox is notified.
//
// The keys in the document are trusted as much as the archive: whoever
// runs the import vouches for it. A re-issued grant never gives more than
// its owner can give now (the access control checks that at every use).
func (s *Service) ImportPod(ctx context.Context, r io.Reader, rebase func(string) string) ([]Moved, error) {
	var b moveBundle
	d := json.NewDecoder(r)
	if err := d.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: the move document: %w", ErrInvalid, err)
	}
	if b.Format != moveFormat || b.Version != moveVersion || !strings.HasSuffix(b.Issuer, "/") {
		return nil, fmt.Errorf("%w: not a move document of version %d", ErrInvalid, moveVersion)
	}
	if len(b.Credentials) > maxMoved {
		return nil, fmt.Errorf("%w: more than %d credentials", ErrTooLarge, maxMoved)
	}
	keys := publicKeys(b.Keys)
	now := s.now()
	if b.Issuer == s.cfg.Base {
		return s.keepMoved(ctx, b, keys, rebase, now)
	}
	var out []Moved
	for _, m := range b.Credentials {
		doc := m.Credential
		if m.Revoked != "" || doc == nil {
			continue
		}
		if iss, _ := doc["issuer"].(string); iss != b.Issuer {
			continue
		}
		if err := s.verifyWith(doc, func(vm string) ed25519.PublicKey { return keys[vm] }); err != nil {
			return out, fmt.Errorf("credential %.200v: %w", doc["id"], err)
		}
		acc, err := parseAccess(doc)
		if err != nil {
			return out, err
		}
		if acc.Kind != Grant || acc.Status != StatusGiven || !acc.ValidAt(now) {
			continue
		}
		moved, err := rebased(doc, rebase)
		if err != nil {
			return out, err
		}
		inside := true
		for _, r := range acc.Resources {
			inside = inside && s.cfg.OnServer(rebase(r))
		}
		if !inside {
			continue // a resource outside the moved pod: not re-issued
		}
		nd, nacc, err := s.issue(ctx, Agent{WebID: rebase(acc.Subject)}, moved, true)
		if err != nil {
			return out, fmt.Errorf("re-issuing %s: %w", acc.ID, err)
		}
		out = append(out, Moved{From: acc.ID, To: nd["id"].(string), Grantee: nacc.Requestor})
	}
	return out, nil
}

// rebased is the credential doc as the new server issues it: the old
// issuer's fields gone, the pod's IRIs (resources, the owner) mapped.
func rebased(doc map[string]any, rebase func(string) string) (map[string]any, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	for _, k := range []string{"id", "issuer", "proof", "credentialStatus"} {
		delete(out, k)
	}
	subj, _ := out["credentialSubject"].(map[string]any)
	consent, _ := subj["providedConsent"].(map[string]any)
	if subj == nil || consent == nil {
		return nil, fmt.Errorf("%w: a grant without providedConsent", ErrInvalid)
	}
	if id, ok := subj["id"].(string); ok {
		subj["id"] = rebase(id)
	}
	switch rs := consent["forPersonalData"].(type) {
	case string:
		consent["forPersonalData"] = rebase(rs)
	case []any:
		for i, r := range rs {
			if s, ok := r.(string); ok {
				rs[i] = rebase(s)
			}
		}
	}
	return out, nil
}

// publicKeys reads the Ed25519VerificationKey2020 keys of a keys
// document, by their IRI.
func publicKeys(doc map[string]any) map[string]ed25519.PublicKey {
	out := map[string]ed25519.PublicKey{}
	methods, _ := doc["verificationMethod"].([]any)
	for _, m := range methods {
		vm, _ := m.(map[string]any)
		id, _ := vm["id"].(string)
		mb, _ := vm["publicKeyMultibase"].(string)
		if vm["type"] != "Ed25519VerificationKey2020" || id == "" {
			continue
		}
		if pub, ok := parseMultibaseKey(mb); ok {
			out[id] = pub
		}
	}
	return out
}

// keepMoved stores the credentials of a move document from this issuer's
// base URL as they are (see the top of this file), once their proofs
// verify with the document's keys and their resources are in the moved
// pod under the same IRIs; the others are left out. The keys go first, so
// that no stored credential lacks the key that verifies it.
func (s *Service) keepMoved(ctx context.Context, b moveBundle, keys map[string]ed25519.PublicKey, rebase func(string) string, now time.Time) ([]Moved, error) {
	type kept struct {
		id      string
		doc     map[string]any
		acc     *Access
		revoked time.Time
	}
	var todo []kept
	used := map[string]ed25519.PublicKey{}
	until := now
	for _, m := range b.Credentials {
		doc := m.Credential
		if doc == nil {
			continue
		}
		if iss, _ := doc["issuer"].(string); iss != b.Issuer {
			continue
		}
		var vm string
		if err := s.verifyWith(doc, func(v string) ed25519.PublicKey { vm = v; return keys[v] }); err != nil {
			return nil, fmt.Errorf("credential %.200v: %w", doc["id"], err)
		}
		acc, err := parseAccess(doc)
		if err != nil {
			return nil, err
		}
		id, ok := strings.CutPrefix(acc.ID, s.cfg.Base+"vc/")
		if !ok || id == "" || len(id) > 64 || strings.ContainsAny(id, "/?#.") || acc.Expires.IsZero() || !now.Before(acc.Expires) {
			continue
		}
		same := true
		for _, r := range acc.Resources {
			same = same && rebase(r) == r && s.cfg.OnServer(r)
		}
		if !same {
			continue
		}
		k := kept{id: id, doc: doc, acc: acc}
		if m.Revoked != "" {
			if k.revoked, err = time.Parse(time.RFC3339, m.Revoked); err != nil {
				k.revoked = now
			}
		}
		kid, _ := strings.CutPrefix(vm, s.keyIRI(""))
		used[kid] = keys[vm]
		if acc.Expires.After(until) {
			until = acc.Expires
		}
		todo = append(todo, k)
	}
	if len(todo) == 0 {
		return nil, nil
	}
	if err := s.keys.addPublic(ctx, used, until); err != nil {
		return nil, err
	}
	var out []Moved
	for _, k := range todo {
		raw, err := json.Marshal(k.doc)
		if err != nil {
			return out, err
		}
		if err := s.expiries().Add(ctx, k.acc.Expires, k.id); err != nil {
			return out, err
		}
		if err := s.forgets().Add(ctx, k.acc.Expires.Add(Retention), k.id); err != nil {
			return out, err
		}
		_, err = s.cfg.Store.Put(ctx, prefixCredentials+k.id, bytes.NewReader(raw), storage.PutOptions{ContentType: "application/json", IfNoneMatch: true})
		if errors.Is(err, storage.ErrPreconditionFailed) {
			continue // held here already
		}
		if err != nil {
			return out, err
		}
		if !k.revoked.IsZero() {
			if err := s.forgets().Add(ctx, k.revoked.Add(Retention), k.id); err != nil {
				return out, err
			}
			if _, err := s.cfg.Store.Put(ctx, prefixStatus+k.id, strings.NewReader(k.revoked.UTC().Format(time.RFC3339)), storage.PutOptions{ContentType: "text/plain"}); err != nil {
				return out, err
			}
		}
		for _, party := range uniq(k.acc.Subject, k.acc.Requestor, k.acc.Owner) {
			if _, err := s.cfg.Store.Put(ctx, prefixParty+partyKey(party)+"/"+k.id, bytes.NewReader(nil), storage.PutOptions{}); err != nil {
				return out, err
			}
		}
		if k.revoked.IsZero() {
			if err := s.addLive(ctx, k.acc, k.id); err != nil {
				return out, err
			}
		}
		if k.acc.Kind == Grant && k.acc.Status == StatusGiven && k.revoked.IsZero() {
			out = append(out, Moved{From: k.acc.ID, To: k.acc.ID, Grantee: k.acc.Requestor})
		}
	}
	// Answers last: a request and its answer may come in any order.
	for _, k := range todo {
		if k.acc.Kind != Request {
			if err := s.recordAnswer(ctx, k.acc); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}
