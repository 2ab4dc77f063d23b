package credential_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/storage/memory"
)

// TestRetention: a credential ended (expired, revoked, cancelled) is kept
// for credential.Retention, then the housekeeping's sweep deletes it and
// its place in its parties' lists; a live one stays.
func TestRetention(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cfg := openConfig(memory.New(), &now)
	s, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	asAlice, asOrg := credential.Agent{WebID: alice}, credential.Agent{WebID: org}
	issue := func(who credential.Agent, kind, status, expires string) string {
		t.Helper()
		doc, _, err := s.Issue(ctx, who, []byte(issueBody(kind, status, `"expirationDate": "`+expires+`",`)))
		if err != nil {
			t.Fatal(err)
		}
		return doc["id"].(string)
	}
	expired := issue(asAlice, "SolidAccessGrant", credential.StatusGiven, "2026-12-01T12:30:00Z")
	revoked := issue(asAlice, "SolidAccessGrant", credential.StatusGiven, "2027-06-01T00:00:00Z")
	cancelled := issue(asOrg, "SolidAccessRequest", credential.StatusRequested, "2027-06-01T00:00:00Z")
	live := issue(asAlice, "SolidAccessGrant", credential.StatusGiven, "2027-06-01T00:00:00Z")
	if _, err := s.SetStatus(ctx, asAlice, revokeBody(revoked)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, asOrg, revokeBody(cancelled)); err != nil {
		t.Fatal(err)
	}
	listed := func(s *credential.Service) int {
		t.Helper()
		res, err := s.Query(ctx, asOrg, credential.Query{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Items)
	}

	now = now.Add(credential.Retention - time.Hour)
	if _, err := s.SweepExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if n := listed(s); n != 4 {
		t.Fatalf("before the retention is over: %d credentials listed, want 4", n)
	}
	now = now.Add(2 * time.Hour)
	if _, err := s.SweepExpired(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*credential.Service{s, fresh} {
		if n := listed(s); n != 1 {
			t.Errorf("after the retention: %d credentials listed, want the live one", n)
		}
		for _, iri := range []string{expired, revoked, cancelled} {
			if _, _, err := s.Get(ctx, asOrg, iri); !errors.Is(err, credential.ErrNotFound) {
				t.Errorf("%s after the retention: %v, want ErrNotFound", iri, err)
			}
		}
		if _, _, err := s.Get(ctx, asOrg, live); err != nil {
			t.Errorf("the live grant: %v", err)
		}
	}
}
