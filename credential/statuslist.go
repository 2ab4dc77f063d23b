package credential

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"strings"
	"time"
)

// statusListBits is the length of a status list: the 16 KiB that
// Revocation List 2020 asks as the least, so that a list tells nothing by
// its size (vc-status-rl-2020 §6.1, "the bitstring MUST be at least 16KB").
const statusListBits = 16 * 1024 * 8

// StatusList is the RevocationList2020Credential that the
// credentialStatus of the credential iri names: one list per credential,
// whose bit 0 is set once it is revoked or cancelled, signed like the
// credentials. It is built at each call, so it is always current.
func (s *Service) StatusList(ctx context.Context, listIRI string) (map[string]any, error) {
	id, ok := strings.CutPrefix(listIRI, s.cfg.Base+"status/")
	if !ok {
		return nil, ErrNotFound
	}
	st, err := s.load(ctx, s.cfg.Base+"vc/"+id)
	if err != nil {
		return nil, err
	}
	revoked, err := s.Revoked(ctx, st.access.ID)
	if err != nil {
		return nil, err
	}
	bits := make([]byte, statusListBits/8)
	if revoked {
		bits[0] = 0x80 // index 0, the leftmost bit
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	if _, err := w.Write(bits); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	doc := map[string]any{
		"@context":     []any{ContextVC, ContextRevocation, ContextEd25519},
		"id":           listIRI,
		"type":         []any{"VerifiableCredential", "RevocationList2020Credential"},
		"issuer":       s.cfg.Base,
		"issuanceDate": s.now().UTC().Format(time.RFC3339),
		"credentialSubject": map[string]any{
			"id": listIRI + "#list", "type": "RevocationList2020",
			"encodedList": base64.RawURLEncoding.EncodeToString(z.Bytes()),
		},
	}
	if err := s.sign(ctx, doc); err != nil {
		return nil, err
	}
	return doc, nil
}
