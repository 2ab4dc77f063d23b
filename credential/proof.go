package credential

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// The proof type and purpose of issued credentials (Ed25519Signature2020,
// W3C CCG "Ed25519 Signature 2020", §3.1 "Proof Representation").
const (
	proofType    = "Ed25519Signature2020"
	proofPurpose = "assertionMethod"
)

// signingInput is what Ed25519Signature2020 signs: the SHA-256 of the
// canonical proof options followed by the SHA-256 of the canonical
// document (Ed25519Signature2020 §3.2, "hashing": "the concatenation of
// the hash of the canonical proof options and the hash of the canonical
// document").
func (s *Service) signingInput(doc map[string]any, opts map[string]any) ([]byte, error) {
	unsigned := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "proof" {
			unsigned[k] = v
		}
	}
	po := make(map[string]any, len(opts)+1)
	for k, v := range opts {
		if k != "proofValue" && k != "jws" {
			po[k] = v
		}
	}
	po["@context"] = doc["@context"]
	cp, err := s.ld.canonical(po)
	if err != nil {
		return nil, err
	}
	cd, err := s.ld.canonical(unsigned)
	if err != nil {
		return nil, err
	}
	hp, hd := sha256.Sum256([]byte(cp)), sha256.Sum256([]byte(cd))
	return append(hp[:], hd[:]...), nil
}

// sign adds a proof by the current key to doc.
func (s *Service) sign(ctx context.Context, doc map[string]any) error {
	set, err := s.keys.current(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	key := set.signing(now)
	if key == nil {
		return fmt.Errorf("credential: no signing key")
	}
	opts := map[string]any{
		"type":               proofType,
		"created":            now.UTC().Format(time.RFC3339),
		"verificationMethod": s.keyIRI(key.ID),
		"proofPurpose":       proofPurpose,
	}
	input, err := s.signingInput(doc, opts)
	if err != nil {
		return err
	}
	opts["proofValue"] = "z" + base58Encode(ed25519.Sign(key.priv, input))
	doc["proof"] = opts
	return nil
}

// verifyProof checks doc's proof against this issuer's published keys.
func (s *Service) verifyProof(ctx context.Context, doc map[string]any) error {
	set, err := s.keys.current(ctx)
	if err != nil {
		return err
	}
	return s.verifyWith(doc, func(vm string) ed25519.PublicKey {
		kid, ok := strings.CutPrefix(vm, s.keyIRI(""))
		if !ok || kid == "" {
			return nil
		}
		if key := set.find(kid); key != nil {
			return key.pub
		}
		return nil
	})
}

// verifyWith checks doc's proof with the key that keyOf gives for its
// verificationMethod (nil: not a key of the issuer).
func (s *Service) verifyWith(doc map[string]any, keyOf func(verificationMethod string) ed25519.PublicKey) error {
	p, ok := doc["proof"].(map[string]any)
	if !ok {
		return fmt.Errorf("%w: no proof", ErrProof)
	}
	if p["type"] != proofType || p["proofPurpose"] != proofPurpose {
		return fmt.Errorf("%w: not an %s assertion", ErrProof, proofType)
	}
	vm, _ := p["verificationMethod"].(string)
	pub := keyOf(vm)
	if pub == nil {
		return fmt.Errorf("%w: not signed by a key of this issuer", ErrProof)
	}
	pv, _ := p["proofValue"].(string)
	sig, err := base58Decode(strings.TrimPrefix(pv, "z"))
	if !strings.HasPrefix(pv, "z") || err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: malformed proofValue", ErrProof)
	}
	input, err := s.signingInput(doc, p)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, input, sig) {
		return ErrProof
	}
	return nil
}
