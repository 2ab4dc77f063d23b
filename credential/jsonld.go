package credential

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/piprate/json-gold/ld"
)

// The context IRIs Kluis knows (contexts/README.md).
const (
	ContextVC          = "https://www.w3.org/2018/credentials/v1"
	ContextInruptV1    = "https://schema.inrupt.com/credentials/v1.jsonld"
	ContextInruptV2    = "https://schema.inrupt.com/credentials/v2.jsonld"
	ContextEd25519     = "https://w3id.org/security/suites/ed25519-2020/v1"
	ContextRevocation  = "https://w3id.org/vc-revocation-list-2020/v1"
	contextsFolder     = "contexts/"
	maxCanonicalQuads  = 4096
	maxCanonicalLength = 1 << 20
)

//go:embed contexts/*.json
var contextFiles embed.FS

// contextFile maps each known context IRI to its embedded document.
var contextFile = map[string]string{
	ContextVC:         "vc-v1.json",
	ContextInruptV1:   "inrupt-v1.json",
	ContextInruptV2:   "inrupt-v2.json",
	ContextEd25519:    "ed25519-2020.json",
	ContextRevocation: "revocation-list-2020.json",
}

// ErrRemoteContext is a credential naming a JSON-LD context that is not
// embedded: Kluis never fetches one.
var ErrRemoteContext = errors.New("credential: unknown JSON-LD context (remote contexts are never fetched)")

// loader is a json-gold DocumentLoader over the embedded contexts only.
type loader struct {
	docs map[string]any
}

func newLoader() (*loader, error) {
	l := &loader{docs: map[string]any{}}
	for iri, name := range contextFile {
		raw, err := contextFiles.ReadFile(contextsFolder + name)
		if err != nil {
			return nil, err
		}
		doc, err := ld.DocumentFromReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("credential: context %s: %w", name, err)
		}
		l.docs[iri] = doc
	}
	return l, nil
}

// LoadDocument returns an embedded context, or ErrRemoteContext.
func (l *loader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	doc, ok := l.docs[u]
	if !ok {
		return nil, ld.NewJsonLdError(ld.LoadingDocumentFailed, fmt.Errorf("%w: %.200q", ErrRemoteContext, u))
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
}

// knownContexts checks that ctx (a document's "@context") names embedded
// contexts only, by IRI: inline contexts are refused too, so that what a
// term means is always what the embedded documents say.
func knownContexts(ctx any) error {
	list, ok := ctx.([]any)
	if !ok {
		list = []any{ctx}
	}
	if len(list) == 0 {
		return fmt.Errorf("%w: no @context", ErrInvalid)
	}
	for _, c := range list {
		s, ok := c.(string)
		if !ok {
			return fmt.Errorf("%w: inline contexts are not accepted", ErrRemoteContext)
		}
		if _, ok := contextFile[s]; !ok {
			return fmt.Errorf("%w: %.200q", ErrRemoteContext, s)
		}
	}
	return nil
}

// canonical is the URDNA2015 canonical N-Quads of doc (RDF Dataset
// Canonicalization), expanded with the embedded contexts only.
func (l *loader) canonical(doc map[string]any) (string, error) {
	if err := knownContexts(doc["@context"]); err != nil {
		return "", err
	}
	// json-gold works on generic JSON values; a round trip makes sure
	// doc holds only those.
	raw, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return "", err
	}
	proc := ld.NewJsonLdProcessor()
	opts := ld.NewJsonLdOptions("")
	opts.Algorithm = ld.AlgorithmURDNA2015
	opts.Format = "application/n-quads"
	opts.DocumentLoader = l
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.SafeMode = true
	out, err := proc.Normalize(generic, opts)
	if err != nil {
		return "", fmt.Errorf("%w: canonical form: %w", ErrInvalid, err)
	}
	s, _ := out.(string)
	if s == "" {
		return "", fmt.Errorf("%w: the credential has no statements", ErrInvalid)
	}
	if len(s) > maxCanonicalLength || bytes.Count([]byte(s), []byte{'\n'}) > maxCanonicalQuads {
		return "", fmt.Errorf("%w: too many statements", ErrTooLarge)
	}
	return s, nil
}
