package credential_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/storage"
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

// openConfig is a service's settings over store, at the clock *now, where
// everyone controls everything and every IRI is on this server.
func openConfig(store storage.Backend, now *time.Time) credential.Config {
	return credential.Config{
		Store: store, Base: base, Now: func() time.Time { return *now },
		Controls: func(context.Context, credential.Agent, string) error { return nil },
		OnServer: func(string) bool { return true },
	}
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

// grantVP is the claim token of a presentation holding vcs.
func grantVP(t *testing.T, vcs ...map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"type": "VerifiablePresentation", "verifiableCredential": vcs})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// TestExchangeRefusals is the negative table of the UMA exchange that
// needs a clock: expired, not yet valid, revoked, cancelled, a denial,
// another issuer's credential, and a token used after revocation.
func TestExchangeRefusals(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := newService(t, &now)
	other := newService(t, &now) // another issuer with its own keys, same IRIs
	ctx := context.Background()
	asAlice, asOrg := credential.Agent{WebID: alice}, credential.Agent{WebID: org}
	issue := func(s *credential.Service, kind, status, extra string) map[string]any {
		t.Helper()
		doc, _, err := s.Issue(ctx, asAlice, []byte(issueBody(kind, status, extra)))
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	const data = "https://pod.example/alice/data/x"
	ticket := func() string {
		tk, err := s.Ticket(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	grant := issue(s, "SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-02T00:00:00Z",`)
	later := issue(s, "SolidAccessGrant", credential.StatusGiven, `"issuanceDate": "2026-12-05T00:00:00Z", "expirationDate": "2026-12-09T00:00:00Z",`)
	denial := issue(s, "SolidAccessDenial", credential.StatusDenied, "")
	foreign := issue(other, "SolidAccessGrant", credential.StatusGiven, "")
	request, _, err := s.Issue(ctx, asOrg, []byte(strings.Replace(issueBody("SolidAccessRequest", credential.StatusRequested, ""), "hasConsent", "hasConsent", 1)))
	if err != nil {
		t.Fatal(err)
	}

	tok, _, err := s.Exchange(ctx, asOrg, ticket(), grantVP(t, grant))
	if err != nil {
		t.Fatalf("a valid grant: %v", err)
	}
	for _, c := range []struct {
		name string
		vc   map[string]any
		want error
	}{
		{"not yet valid", later, credential.ErrForbidden},
		{"a denial presented as a grant", denial, credential.ErrForbidden},
		{"a request presented as a grant", request, credential.ErrForbidden},
		{"another issuer's credential", foreign, credential.ErrProof},
	} {
		if _, _, err := s.Exchange(ctx, asOrg, ticket(), grantVP(t, c.vc)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Cancelled requests and revoked grants.
	if _, err := s.SetStatus(ctx, asOrg, []byte(`{"credentialId": "`+request["id"].(string)+`", "credentialStatus": [{"type": "RevocationList2020Status", "status": "1"}]}`)); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if v, _ := s.Verify(ctx, request); len(v.Errors) == 0 {
		t.Error("a cancelled request verifies")
	}
	// Expired: the clock moves past the grant's expiry.
	now = now.Add(13 * time.Hour)
	if _, _, err := s.Exchange(ctx, asOrg, ticket(), grantVP(t, grant)); !errors.Is(err, credential.ErrForbidden) {
		t.Errorf("expired: %v", err)
	}
	if _, err := s.Grant(ctx, grant["id"].(string)); !errors.Is(err, credential.ErrForbidden) {
		t.Errorf("an expired grant is active: %v", err)
	}
	now = now.Add(-13 * time.Hour)
	// A token outlives nothing: after revocation the grant it names is
	// not active, whatever the token says.
	if _, err := s.SetStatus(ctx, asAlice, []byte(`{"credentialId": "`+grant["id"].(string)+`", "credentialStatus": [{"type": "RevocationList2020Status", "status": "1"}]}`)); err != nil {
		t.Fatal(err)
	}
	t2, err := s.ReadToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Grant(ctx, t2.Grant); !errors.Is(err, credential.ErrForbidden) {
		t.Errorf("the token's grant after revocation: %v", err)
	}
	// Tokens and tickets are not interchangeable, and expire.
	if _, err := s.ReadToken(ctx, ticket()); !errors.Is(err, credential.ErrToken) {
		t.Errorf("a ticket read as a token: %v", err)
	}
	now = now.Add(credential.DefaultTokenTTL + time.Second)
	if _, err := s.ReadToken(ctx, tok); !errors.Is(err, credential.ErrToken) {
		t.Errorf("an expired token: %v", err)
	}
}

// TestKeyRotation: a new key signs after the rotation period; what the
// old key signed still verifies while it is published.
func TestKeyRotation(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := newService(t, &now)
	ctx := context.Background()
	asAlice := credential.Agent{WebID: alice}
	first, _, err := s.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2027-06-01T00:00:00Z",`)))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(credential.DefaultKeyRotation + time.Hour)
	second, _, err := s.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2027-06-01T00:00:00Z",`)))
	if err != nil {
		t.Fatal(err)
	}
	vm := func(d map[string]any) string { return d["proof"].(map[string]any)["verificationMethod"].(string) }
	if vm(first) == vm(second) {
		t.Fatal("the key did not rotate")
	}
	keys, err := s.Keys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("published keys: %d %v", len(keys), err)
	}
	for _, d := range []map[string]any{first, second} {
		if v, _ := s.Verify(ctx, d); len(v.Errors) != 0 {
			t.Errorf("%s: %v", vm(d), v.Errors)
		}
	}
}

// TestSweepExpired: an expiry is told once, and not for a revoked grant.
func TestSweepExpired(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var told []string
	cfg := openConfig(memory.New(), &now)
	cfg.OnChange = func(_ context.Context, acc *credential.Access, event string) { told = append(told, event+" "+acc.ID) }
	s, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	asAlice := credential.Agent{WebID: alice}
	short, _, err := s.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-02T00:00:00Z",`)))
	if err != nil {
		t.Fatal(err)
	}
	revoked, _, err := s.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-02T00:00:00Z",`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-20T00:00:00Z",`))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, asAlice, []byte(`{"credentialId": "`+revoked["id"].(string)+`", "credentialStatus": [{"type": "RevocationList2020Status", "status": "1"}]}`)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SweepExpired(ctx); n != 0 || err != nil {
		t.Fatalf("before any expiry: %d %v", n, err)
	}
	now = now.Add(48 * time.Hour)
	told = nil
	if n, err := s.SweepExpired(ctx); n != 1 || err != nil || len(told) != 1 || told[0] != "expired "+short["id"].(string) {
		t.Fatalf("after the expiry: %d %v %v", n, err, told)
	}
	if n, err := s.SweepExpired(ctx); n != 0 || err != nil {
		t.Fatalf("again: %d %v", n, err)
	}
}

// countingStore counts the objects a sweep reads: every Get, Stat and
// listed entry.
type countingStore struct {
	storage.Backend
	reads int
}

func (c *countingStore) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	c.reads++
	return c.Backend.Get(ctx, key, o)
}

func (c *countingStore) Stat(ctx context.Context, key string) (storage.Info, error) {
	c.reads++
	return c.Backend.Stat(ctx, key)
}

func (c *countingStore) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		for info, err := range c.Backend.List(ctx, prefix) {
			c.reads++
			if !yield(info, err) {
				return
			}
		}
	}
}

// TestSweepExpiredReadsWhatExpired: a sweep reads the credentials whose
// expiry hour has begun, not every credential the server holds (issue
// 19): with 1 or 40 credentials that have not expired beside it, the
// sweep that tells the one expiry reads the same number of objects.
func TestSweepExpiredReadsWhatExpired(t *testing.T) {
	reads := func(others int) int {
		now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		store := &countingStore{Backend: memory.New()}
		cfg := openConfig(store, &now)
		s, err := credential.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		asAlice := credential.Agent{WebID: alice}
		if _, _, err := s.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-02T00:00:00Z",`))); err != nil {
			t.Fatal(err)
		}
		for range others {
			if _, _, err := s.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-20T00:00:00Z",`))); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(48 * time.Hour)
		// Another process: nothing in its memory.
		fresh, err := credential.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		store.reads = 0
		if n, err := fresh.SweepExpired(ctx); n != 1 || err != nil {
			t.Fatalf("%d others: told %d, %v", others, n, err)
		}
		return store.reads
	}
	if one, many := reads(1), reads(40); one != many {
		t.Errorf("a sweep read %d objects beside 1 live credential and %d beside 40", one, many)
	}
}

// TestOwner: a person's credentials with their state, newest first; the
// organisation's own are not the person's; the bound says so.
func TestOwner(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := newService(t, &now)
	ctx := context.Background()
	asAlice, asOrg := credential.Agent{WebID: alice}, credential.Agent{WebID: org}
	issue := func(a credential.Agent, kind, status, extra string) string {
		t.Helper()
		doc, _, err := s.Issue(ctx, a, []byte(issueBody(kind, status, extra)))
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
		return doc["id"].(string)
	}
	pending := issue(asOrg, "SolidAccessRequest", credential.StatusRequested, "")
	answered := issue(asOrg, "SolidAccessRequest", credential.StatusRequested, "")
	denial, _, err := s.Decide(ctx, asAlice, answered, false)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	active := issue(asAlice, "SolidAccessGrant", credential.StatusGiven, "")
	revoked := issue(asAlice, "SolidAccessGrant", credential.StatusGiven, "")
	expired := issue(asAlice, "SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-01T12:30:00Z",`)
	if _, err := s.SetStatus(ctx, asAlice, []byte(`{"credentialId": "`+revoked+`", "credentialStatus": [{"type": "RevocationList2020Status", "status": "1"}]}`)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)

	got, more, err := s.Owner(ctx, alice, 0)
	if err != nil || more {
		t.Fatal(more, err)
	}
	var states []string
	for _, o := range got {
		states = append(states, o.Access.ID+" "+o.State)
	}
	want := []string{expired + " Expired", revoked + " Revoked", active + " Active", denial["id"].(string) + " Active", answered + " Denied", pending + " Pending"}
	if strings.Join(states, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(states, "\n"), strings.Join(want, "\n"))
	}
	if got[1].Changed.IsZero() || !got[0].Changed.IsZero() {
		t.Errorf("changed: %v %v", got[1].Changed, got[0].Changed)
	}
	if got, _, _ := s.Owner(ctx, org, 0); len(got) != 0 {
		t.Errorf("the organisation owns %d", len(got))
	}
	if got, more, err := s.Owner(ctx, alice, 2); !more || err != nil || len(got) > 2 {
		t.Errorf("bounded: %d %v %v", len(got), more, err)
	}
	if _, _, err := s.Owner(ctx, "", 0); err == nil {
		t.Error("no WebID")
	}
}
