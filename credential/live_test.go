package credential_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

func revokeBody(iri string) []byte {
	return []byte(`{"credentialId": "` + iri + `", "credentialStatus": [{"type": "RevocationList2020Status", "status": "1"}]}`)
}

// TestLiveCaps: an agent at the bound of its live requests, or a person
// at the bound of the grants they have given, is refused one more with
// ErrTooMany; a cancelled, revoked, answered or expired credential frees
// its place.
func TestLiveCaps(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s, err := credential.New(credential.Config{
		Store: memory.New(), Base: base, Now: func() time.Time { return now },
		Controls: func(_ context.Context, a credential.Agent, _ string) error {
			if a.WebID == alice {
				return nil
			}
			return errors.New("no control")
		},
		OnServer:                func(iri string) bool { return strings.HasPrefix(iri, "https://pod.example/") },
		MaxRequestsPerRequestor: 3, MaxRequestsPerOwner: 5, MaxGrantsPerOwner: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	asOrg, asAlice := credential.Agent{WebID: org}, credential.Agent{WebID: alice}
	request := func(who credential.Agent, expires string) (string, error) {
		doc, _, err := s.Issue(ctx, who, []byte(issueBody("SolidAccessRequest", credential.StatusRequested, `"expirationDate": "`+expires+`",`)))
		if err != nil {
			return "", err
		}
		return doc["id"].(string), nil
	}
	grant := func() (string, error) {
		doc, _, err := s.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-20T00:00:00Z",`)))
		if err != nil {
			return "", err
		}
		return doc["id"].(string), nil
	}

	// Per requestor: 3 live requests, then no more.
	var reqs []string
	for range 3 {
		id, err := request(asOrg, "2026-12-20T00:00:00Z")
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, id)
	}
	if _, err := request(asOrg, "2026-12-20T00:00:00Z"); !errors.Is(err, credential.ErrTooMany) {
		t.Fatalf("a 4th live request: %v, want ErrTooMany", err)
	}
	// Cancelled or answered, a request holds its requestor's place for
	// RequestHold: cancelling at once does not let an agent issue more.
	if _, err := s.SetStatus(ctx, asOrg, revokeBody(reqs[0])); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Decide(ctx, asAlice, reqs[1], false); err != nil {
		t.Fatal(err)
	}
	if _, err := request(asOrg, "2026-12-20T00:00:00Z"); !errors.Is(err, credential.ErrTooMany) {
		t.Fatalf("a request right after a cancellation: %v, want ErrTooMany", err)
	}
	now = now.Add(credential.RequestHold)
	if _, err := request(asOrg, "2026-12-20T00:00:00Z"); err != nil {
		t.Fatalf("after a cancellation, once its hold is over: %v", err)
	}
	if _, err := request(asOrg, "2026-12-20T00:00:00Z"); err != nil {
		t.Fatalf("after an answer, once its hold is over: %v", err)
	}
	if _, err := request(asOrg, "2026-12-20T00:00:00Z"); !errors.Is(err, credential.ErrTooMany) {
		t.Fatalf("full again: %v, want ErrTooMany", err)
	}
	// Per owner: alice has 3 live requests addressed to her (the bound is
	// 5; cancelled and answered ones free her places at once); others add
	// 2, then one more is refused until one expires.
	if _, err := request(credential.Agent{WebID: "https://third.example/id#me"}, "2026-12-02T13:00:00Z"); err != nil {
		t.Fatal(err)
	}
	other := credential.Agent{WebID: "https://other.example/id#me"}
	if _, err := request(other, "2026-12-20T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	if _, err := request(other, "2026-12-20T00:00:00Z"); !errors.Is(err, credential.ErrTooMany) {
		t.Fatalf("a 6th live request to alice: %v, want ErrTooMany", err)
	}
	now = now.Add(2 * time.Hour) // the third's request expires
	if _, err := request(other, "2026-12-20T00:00:00Z"); err != nil {
		t.Fatalf("after an expiry: %v", err)
	}
	if _, err := request(other, "2026-12-20T00:00:00Z"); !errors.Is(err, credential.ErrTooMany) {
		t.Fatalf("full again: %v, want ErrTooMany", err)
	}

	// Grants given: 2, then no more until one is revoked.
	g1, err := grant()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := grant(); err != nil {
		t.Fatal(err)
	}
	if _, err := grant(); !errors.Is(err, credential.ErrTooMany) {
		t.Fatalf("a 3rd active grant: %v, want ErrTooMany", err)
	}
	if _, err := s.SetStatus(ctx, asAlice, revokeBody(g1)); err != nil {
		t.Fatal(err)
	}
	if _, err := grant(); err != nil {
		t.Fatalf("after a revocation: %v", err)
	}
}

// TestActiveReadsActiveGrantsOnly: what the access control asks on every
// request it refuses (Active) reads the grants active for the agent, not
// the credentials it was ever a party to: with 1 or 40 revoked, expired,
// denied and requested credentials beside one active grant, a process
// with nothing in its memory reads the same number of objects, and finds
// the one grant.
func TestActiveReadsActiveGrantsOnly(t *testing.T) {
	reads := func(old int) int {
		now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		store := &countingStore{Backend: memory.New()}
		cfg := openConfig(store, &now)
		s, err := credential.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		asAlice := credential.Agent{WebID: alice}
		issue := func(who credential.Agent, kind, status, expires string) string {
			t.Helper()
			doc, _, err := s.Issue(ctx, who, []byte(issueBody(kind, status, `"expirationDate": "`+expires+`",`)))
			if err != nil {
				t.Fatal(err)
			}
			return doc["id"].(string)
		}
		active := issue(asAlice, "SolidAccessGrant", credential.StatusGiven, "2026-12-20T00:00:00Z")
		for range old {
			issue(asAlice, "SolidAccessGrant", credential.StatusGiven, "2026-12-02T00:00:00Z")
			revoked := issue(asAlice, "SolidAccessGrant", credential.StatusGiven, "2026-12-20T00:00:00Z")
			if _, err := s.SetStatus(ctx, asAlice, revokeBody(revoked)); err != nil {
				t.Fatal(err)
			}
			issue(asAlice, "SolidAccessDenial", credential.StatusDenied, "2026-12-20T00:00:00Z")
			issue(credential.Agent{WebID: org}, "SolidAccessRequest", credential.StatusRequested, "2026-12-02T00:00:00Z")
		}
		now = now.Add(48 * time.Hour)
		if _, err := s.SweepExpired(ctx); err != nil {
			t.Fatal(err)
		}
		fresh, err := credential.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		store.reads = 0
		got, err := fresh.Active(ctx, org)
		if err != nil || len(got) != 1 || got[0].ID != active {
			t.Fatalf("%d old: active %v, %v", old, got, err)
		}
		return store.reads
	}
	if one, many := reads(1), reads(40); one != many {
		t.Errorf("Active read %d objects beside 1 old credential of each kind and %d beside 40", one, many)
	}
}

// TestActiveRevokedAcrossProcesses: a process that keeps an agent's list
// of active grants still reads each grant's status at every call, so a
// revocation through another process holds at its next call, and an
// expiry at the first call past it.
func TestActiveRevokedAcrossProcesses(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cfg := openConfig(memory.New(), &now)
	a, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	asAlice := credential.Agent{WebID: alice}
	short, _, err := a.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-01T12:00:01Z",`)))
	if err != nil {
		t.Fatal(err)
	}
	long, _, err := a.Issue(ctx, asAlice, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, `"expirationDate": "2026-12-20T00:00:00Z",`)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Active(ctx, org); err != nil || len(got) != 2 {
		t.Fatalf("active through B: %d %v", len(got), err)
	}
	now = now.Add(time.Second) // the short grant expires; B's list is kept
	if got, err := b.Active(ctx, org); err != nil || len(got) != 1 || got[0].ID != long["id"] {
		t.Fatalf("active through B after an expiry: %v %v (short %v)", got, err, short["id"])
	}
	if _, err := a.SetStatus(ctx, asAlice, revokeBody(long["id"].(string))); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Active(ctx, org); err != nil || len(got) != 0 {
		t.Fatalf("active through B after a revocation through A: %d %v", len(got), err)
	}
}

// oldStore is a storage as the service wrote it before the live and
// retention indexes: their writes are dropped.
type oldStore struct{ storage.Backend }

func (o oldStore) Put(ctx context.Context, key string, r io.Reader, opts storage.PutOptions) (storage.Info, error) {
	if strings.HasPrefix(key, "sys/consent/live/") || strings.HasPrefix(key, "sys/consent/forget/") {
		return storage.Info{Key: key}, nil
	}
	return o.Backend.Put(ctx, key, r, opts)
}

// TestIndexEarlier: on a storage written before the live index, a grant
// is not seen until IndexEarlier indexes it; IndexEarlier does so once,
// and afterwards reads one object.
func TestIndexEarlier(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	store := &countingStore{Backend: memory.New()}
	cfg := openConfig(oldStore{store}, &now)
	before, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := before.Issue(ctx, credential.Agent{WebID: alice}, []byte(issueBody("SolidAccessGrant", credential.StatusGiven, ""))); err != nil {
		t.Fatal(err)
	}
	cfg.Store = store
	after, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := after.Active(ctx, org); err != nil || len(got) != 0 {
		t.Fatalf("before indexing: %d %v", len(got), err)
	}
	if err := after.IndexEarlier(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := credential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Active(ctx, org); err != nil || len(got) != 1 {
		t.Fatalf("after indexing: %d %v", len(got), err)
	}
	store.reads = 0
	if err := again.IndexEarlier(ctx); err != nil || store.reads != 1 {
		t.Fatalf("indexing again read %d objects (%v), want 1", store.reads, err)
	}
}
