package account

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/weconomics/kluis/ldp/rdfx"
)

// registrationToken is the predicate of the proof triple, as the
// Community Solid Server names it.
const registrationToken = "http://www.w3.org/ns/solid/terms#oidcIssuerRegistrationToken"

// maxWebIDLength bounds a WebID.
const maxWebIDLength = 2048

// CheckWebID reports whether webID is an absolute http(s) IRI without
// user information, as an *InputError if not.
func CheckWebID(webID string) error {
	bad := &InputError{Field: "webId", Reason: "not an absolute http or https URL"}
	if webID == "" {
		return &InputError{Field: "webId", Reason: "a WebID is required"}
	}
	if len(webID) > maxWebIDLength || strings.ContainsAny(webID, " \t\r\n<>\"{}|\\^`") {
		return bad
	}
	u, err := url.Parse(webID)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return bad
	}
	return nil
}

// documentOf is the profile document of a WebID: the IRI without its
// fragment.
func documentOf(webID string) string {
	doc, _, _ := strings.Cut(webID, "#")
	return doc
}

// inPods reports whether webID lies in one of pods (base URLs ending in
// "/").
func inPods(webID string, pods []string) bool {
	for _, p := range pods {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(webID, p) {
			return true
		}
	}
	return false
}

// LinkWebID links webID to account id, so the account may log in as it.
// A WebID inside one of the account's pods is linked at once. Any other
// must be proved, as the Community Solid Server does: the first attempt
// fails with a *ProofRequiredError holding a triple with a random token;
// once the owner has added it to the WebID's profile document, the next
// attempt (within Options.ProofTTL) reads the document through
// Options.Fetch, finds the triple, and links.
func (s *Store) LinkWebID(ctx context.Context, id, webID string) error {
	if err := CheckWebID(webID); err != nil {
		return err
	}
	r, _, err := s.read(ctx, id)
	if err != nil {
		return err
	}
	if slices.Contains(r.WebIDs, webID) {
		return ErrAlreadyLinked
	}
	if len(r.WebIDs) >= MaxWebIDs {
		return fmt.Errorf("%w: at most %d WebIDs", ErrTooMany, MaxWebIDs)
	}
	if !inPods(webID, r.Pods) {
		if err := s.prove(ctx, id, webID, r); err != nil {
			return err
		}
	}
	_, err = s.update(ctx, id, func(r *record) error {
		delete(r.Proofs, webID)
		if slices.Contains(r.WebIDs, webID) {
			return nil
		}
		if len(r.WebIDs) >= MaxWebIDs {
			return fmt.Errorf("%w: at most %d WebIDs", ErrTooMany, MaxWebIDs)
		}
		r.WebIDs = append(r.WebIDs, webID)
		return nil
	})
	return err
}

// prove checks the pending proof of webID, or starts one.
func (s *Store) prove(ctx context.Context, id, webID string, r record) error {
	now := s.now()
	if p, ok := r.Proofs[webID]; ok && now.Before(p.Expires) {
		perr := s.proofError(webID, p)
		found, err := s.hasToken(ctx, webID, p.Token)
		if err != nil {
			perr.Err = err
			return perr
		}
		if !found {
			return perr
		}
		return nil
	}
	p := proof{Token: newID(), Expires: now.Add(s.proofTTL).UTC()}
	if err := s.expiry.Add(ctx, p.Expires, markerProof+id); err != nil {
		return err
	}
	_, err := s.update(ctx, id, func(r *record) error {
		if r.Proofs == nil {
			r.Proofs = map[string]proof{}
		}
		for w, old := range r.Proofs {
			if !now.Before(old.Expires) {
				delete(r.Proofs, w)
			}
		}
		if cur, ok := r.Proofs[webID]; ok && now.Before(cur.Expires) {
			p = cur // another request started it first
			return nil
		}
		if len(r.Proofs) >= maxProofs {
			return fmt.Errorf("%w: at most %d WebID proofs pending", ErrTooMany, maxProofs)
		}
		r.Proofs[webID] = p
		return nil
	})
	if err != nil {
		return err
	}
	return s.proofError(webID, p)
}

func (s *Store) proofError(webID string, p proof) *ProofRequiredError {
	triple := rdfx.Triple{S: rdfx.IRI(webID), P: rdfx.IRI(registrationToken), O: rdfx.Literal(p.Token, "")}
	return &ProofRequiredError{WebID: webID, Token: p.Token, Triple: triple.String(), Expires: p.Expires}
}

// maxProofTriples bounds the profile documents read for a proof.
const maxProofTriples = 50_000

// hasToken reads the WebID's document and looks for the proof triple.
func (s *Store) hasToken(ctx context.Context, webID, token string) (bool, error) {
	if s.fetch == nil {
		return false, errors.New("this server cannot read WebID documents elsewhere")
	}
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	doc := documentOf(webID)
	body, mediaType, err := s.fetch(fctx, doc)
	if err != nil {
		return false, err
	}
	mt, _, _ := strings.Cut(mediaType, ";")
	mt = strings.TrimSpace(mt)
	if !rdfx.Supports(mt) {
		return false, fmt.Errorf("the document is %q, not RDF", truncate(mt))
	}
	g, err := rdfx.Parse(bytes.NewReader(body), mt, doc, rdfx.ParseOptions{MaxTriples: maxProofTriples})
	if err != nil {
		return false, errors.New("the document does not parse as " + mt)
	}
	want := rdfx.Triple{S: rdfx.IRI(webID), P: rdfx.IRI(registrationToken), O: rdfx.Literal(token, "")}
	return g.Has(want), nil
}

// UnlinkWebID removes webID from account id (ErrNotLinked when it is not
// linked). Its client credentials stop working with it.
func (s *Store) UnlinkWebID(ctx context.Context, id, webID string) error {
	_, err := s.update(ctx, id, func(r *record) error {
		if !slices.Contains(r.WebIDs, webID) {
			return ErrNotLinked
		}
		r.WebIDs = slices.DeleteFunc(r.WebIDs, func(w string) bool { return w == webID })
		return nil
	})
	return err
}
