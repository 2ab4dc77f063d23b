package credential_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/storage/memory"
)

const (
	base  = "https://pod.example/.vc/"
	alice = "https://pod.example/alice/profile/card#me"
	org   = "https://org.example/id#it"
)

// newService is a service whose alice controls everything under /alice/.
func newService(t *testing.T, now *time.Time) *credential.Service {
	t.Helper()
	clock := func() time.Time { return *now }
	s, err := credential.New(credential.Config{
		Store: memory.New(), Base: base, Now: clock,
		Controls: func(_ context.Context, a credential.Agent, iri string) error {
			if a.WebID == alice && strings.HasPrefix(iri, "https://pod.example/alice/") {
				return nil
			}
			return errors.New("no control")
		},
		OnServer: func(iri string) bool { return strings.HasPrefix(iri, "https://pod.example/") },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func issueBody(kind, status, extra string) string {
	consent := "hasConsent"
	party := `"isConsentForDataSubject": "` + alice + `"`
	if kind != "SolidAccessRequest" {
		consent = "providedConsent"
		party = `"isProvidedTo": "` + org + `"`
	}
	return `{"credential": {"@context": ["https://www.w3.org/2018/credentials/v1", "https://schema.inrupt.com/credentials/v2.jsonld"],
	  "type": ["VerifiableCredential", "` + kind + `"], ` + extra + `
	  "credentialSubject": {"inbox": "https://org.example/inbox/",
	    "` + consent + `": {"mode": ["http://www.w3.org/ns/auth/acl#Read"], "hasStatus": "` + status + `",
	      "forPersonalData": ["https://pod.example/alice/data/"], "forPurpose": ["https://w3id.org/dpv#ServiceProvision"], ` + party + `}}}}`
}

func TestIssueSignVerify(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := newService(t, &now)
	ctx := context.Background()
	doc, acc, err := s.Issue(ctx, credential.Agent{WebID: alice}, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-31T00:00:00Z",`)))
	if err != nil {
		t.Fatal(err)
	}
	if acc.Kind != credential.Grant || acc.Requestor != org || acc.Owner != alice {
		t.Fatalf("access %+v", acc)
	}
	raw, _ := json.Marshal(doc)
	t.Logf("%s", raw)
	var presented map[string]any
	if err := json.Unmarshal(raw, &presented); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Verify(ctx, presented); len(v.Errors) != 0 {
		t.Fatalf("verify: %v", v.Errors)
	}
	// Tampered: a wider resource.
	presented["credentialSubject"].(map[string]any)["providedConsent"].(map[string]any)["forPersonalData"] = []any{"https://pod.example/alice/"}
	if v, _ := s.Verify(ctx, presented); len(v.Errors) == 0 {
		t.Fatal("a tampered credential verifies")
	}
}
