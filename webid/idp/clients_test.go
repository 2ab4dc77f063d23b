package idp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/storage/memory"
	"github.com/weconomics/kluis/webid/idp"
)

// publicMeta is the body of a small public registration.
const publicMeta = `{"redirect_uris":["` + redirect + `"],"token_endpoint_auth_method":"none","scope":"openid webid offline_access"}`

// registerFrom registers a public client from a client address.
func (f *fixture) registerFrom(addr string) (string, error) {
	res, err := f.p.Register(context.Background(), []byte(publicMeta), addr)
	if err != nil {
		return "", err
	}
	return res.ClientID, nil
}

// limited reports whether err is a refusal by a limit: 429 with a wait.
func limited(err error) bool {
	e, ok := errors.AsType[*idp.Error](err)
	return ok && e.Status() == http.StatusTooManyRequests && e.RetryAfter > 0 && e.Code == idp.CodeTemporarilyUnavailable
}

// TestRegistrationLimits: anonymous registration is bounded by body size,
// by a rate and a count of unused clients per client address, and by a
// count in all; one address reaching its limits leaves others free.
func TestRegistrationLimits(t *testing.T) {
	t.Run("body size", func(t *testing.T) {
		f := newFixture(t, nil)
		if got := f.p.RegistrationLimit(); got != idp.DefaultRegistrationBytes {
			t.Fatalf("RegistrationLimit = %d", got)
		}
		big := `{"redirect_uris":["` + redirect + `"],"client_name":"` + strings.Repeat("x", 60<<10) + `"}`
		if _, err := f.p.Register(context.Background(), []byte(big), "192.0.2.1"); oauthCode(err) != idp.CodeInvalidClientMetadata {
			t.Fatalf("a 60 KB registration: %v, want invalid_client_metadata", err)
		}
	})
	t.Run("rate per address", func(t *testing.T) {
		f := newFixture(t, func(c *idp.Config) {
			c.Clients = idp.ClientLimits{Burst: 5, Every: time.Minute, MaxPendingPerAddress: 100}
		})
		for i := range 5 {
			if _, err := f.registerFrom("192.0.2.1:4000"); err != nil {
				t.Fatalf("registration %d: %v", i, err)
			}
		}
		if _, err := f.registerFrom("192.0.2.1:4001"); !limited(err) {
			t.Fatalf("registration past the burst: %v, want 429", err)
		}
		if _, err := f.registerFrom("192.0.2.2:4000"); err != nil {
			t.Fatalf("another address: %v", err)
		}
		// An IPv6 client is counted by its /64.
		for i := range 5 {
			if _, err := f.registerFrom("[2001:db8:1:1::" + string(rune('a'+i)) + "]:1"); err != nil {
				t.Fatalf("IPv6 registration %d: %v", i, err)
			}
		}
		if _, err := f.registerFrom("[2001:db8:1:1::ff]:1"); !limited(err) {
			t.Fatalf("the same /64 past the burst: %v, want 429", err)
		}
		f.clock.Advance(time.Minute)
		if _, err := f.registerFrom("192.0.2.1:4000"); err != nil {
			t.Fatalf("a minute later: %v", err)
		}
	})
	t.Run("unused clients per address", func(t *testing.T) {
		f := newFixture(t, func(c *idp.Config) { c.Clients = idp.ClientLimits{Burst: 100, MaxPendingPerAddress: 3} })
		var first string
		for i := range 3 {
			id, err := f.registerFrom("192.0.2.1")
			if err != nil {
				t.Fatalf("registration %d: %v", i, err)
			}
			if i == 0 {
				first = id
			}
		}
		if _, err := f.registerFrom("192.0.2.1"); !limited(err) {
			t.Fatalf("a fourth unused client: %v, want 429", err)
		}
		if _, err := f.registerFrom("192.0.2.2"); err != nil {
			t.Fatalf("another address: %v", err)
		}
		// A login with the first client makes room.
		verifier, challenge := pkce()
		if _, err := f.exchange(first, f.code(authQuery(first, challenge)), verifier, f.dpop()); err != nil {
			t.Fatal(err)
		}
		if _, err := f.registerFrom("192.0.2.1"); err != nil {
			t.Fatalf("after a login: %v", err)
		}
		if _, err := f.registerFrom("192.0.2.1"); !limited(err) {
			t.Fatalf("full again: %v, want 429", err)
		}
		// So does their expiry.
		f.clock.Advance(idp.DefaultUnusedClientLife)
		if _, err := f.registerFrom("192.0.2.1"); err != nil {
			t.Fatalf("after the unused clients expired: %v", err)
		}
	})
	t.Run("in all", func(t *testing.T) {
		f := newFixture(t, func(c *idp.Config) { c.Clients = idp.ClientLimits{MaxPendingPerAddress: 3, MaxPending: 5} })
		for _, a := range []string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.2"} {
			if _, err := f.registerFrom(a); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.registerFrom("192.0.2.3"); !limited(err) {
			t.Fatalf("past the total: %v, want 429", err)
		}
	})
}

// counting is a backend that counts the reads of registered clients.
type counting struct {
	storage.Backend
	clientReads atomic.Int64
}

func (c *counting) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	if strings.HasPrefix(key, "sys/idp/clients/") {
		c.clientReads.Add(1)
	}
	return c.Backend.Get(ctx, key, o)
}

func (c *counting) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return c.Backend.List(ctx, prefix)
}

// TestClientExpiry: a registered client that never completes a login is
// forgotten after a day and swept; one in use lives as long as the
// refresh tokens of its last login, and longer; the sweep reads only the
// clients that expired.
func TestClientExpiry(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) storage.Backend{
		"memory": func(*testing.T) storage.Backend { return memory.New() },
		"filesystem": func(t *testing.T) storage.Backend {
			b, err := filesystem.New(filepath.Join(t.TempDir(), "data"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		},
	} {
		t.Run(name, func(t *testing.T) { testClientExpiry(t, open(t)) })
	}
}

func testClientExpiry(t *testing.T, b storage.Backend) {
	store := &counting{Backend: b}
	f := newFixture(t, func(c *idp.Config) { c.Store = store })
	f.store = b
	ctx := context.Background()
	unused, err := f.registerFrom("192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	used, err := f.registerFrom("192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, err := f.registerFrom("192.0.2.9"); err != nil && !limited(err) {
			t.Fatal(err)
		}
	}
	verifier, challenge := pkce()
	key := f.dpop()
	tok, err := f.exchange(used, f.code(authQuery(used, challenge)), verifier, key)
	if err != nil {
		t.Fatal(err)
	}

	// Nothing expired: once the first sweep has given the clients of
	// before expiry theirs (reading every client, once per storage), a
	// sweep reads no client.
	if _, err := f.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	store.clientReads.Store(0)
	if n, err := f.p.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep of live clients: %d, %v", n, err)
	}
	if r := store.clientReads.Load(); r != 0 {
		t.Fatalf("a sweep with nothing expired read %d clients", r)
	}

	// A day on, the unused clients are gone, at once and from storage.
	f.clock.Advance(idp.DefaultUnusedClientLife)
	if res, err := f.p.Authorize(ctx, authQuery(unused, challenge), session); err != nil || res.Status != http.StatusBadRequest {
		t.Fatalf("authorize with an expired client: %+v, %v; want an error page", res, err)
	}
	f.clock.Advance(24 * time.Hour) // the sweep takes whole past days
	store.clientReads.Store(0)
	if _, err := f.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	// The 21 unused clients, and the client in use, whose first expiry
	// was the same day: nothing else.
	if r := store.clientReads.Load(); r != 22 {
		t.Errorf("the sweep read %d clients, want 22", r)
	}
	stored := 0
	for _, err := range f.store.List(ctx, "sys/idp/clients/") {
		if err != nil {
			t.Fatal(err)
		}
		stored++
	}
	if stored != 1 {
		t.Errorf("%d clients stored after the sweep, want the one in use", stored)
	}
	if _, _, err := f.store.Get(ctx, "sys/idp/clients/"+unused, storage.GetOptions{}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the unused client is still stored: %v", err)
	}

	// The client in use refreshes until its refresh token expires,
	// whatever sweeps run.
	for range 11 {
		f.clock.Advance(24 * time.Hour)
		if _, err := f.p.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if tok, err = f.refresh(used, tok.RefreshToken, key); err != nil {
			t.Fatalf("refresh on day %s: %v", f.clock.Now(), err)
		}
	}
	// Without another login it goes once UsedLifetime has passed.
	f.clock.Advance(idp.DefaultUsedClientLife)
	if n, err := f.p.Sweep(ctx); err != nil || n != 2 { // the client and its expired family
		t.Fatalf("sweep of the idle client: %d, %v", n, err)
	}
	if _, _, err := f.store.Get(ctx, "sys/idp/clients/"+used, storage.GetOptions{}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the idle client is still stored: %v", err)
	}
	// Nothing left in the index.
	for info, err := range f.store.List(ctx, "sys/idp/client-expiry/") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Key < "sys/idp/client-expiry/"+f.clock.Now().UTC().Format("2006-01-02") {
			t.Errorf("left in the expiry index: %s", info.Key)
		}
	}
}

// TestClientExpiryMigration: clients stored before clients expired get an
// expiry at the first sweep, long enough for their refresh tokens, and
// are swept after it.
func TestClientExpiryMigration(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	old, _ := json.Marshal(map[string]any{
		"client_id": "legacy-client", "token_endpoint_auth_method": "none", "redirect_uris": []string{redirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"client_id_issued_at": 1,
	})
	if _, err := f.store.Put(ctx, "sys/idp/clients/legacy-client", strings.NewReader(string(old)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	_, challenge := pkce()
	f.clock.Advance(idp.DefaultRefreshTokenLifetime)
	if res, err := f.p.Authorize(ctx, authQuery("legacy-client", challenge), session); err != nil || res.Status != http.StatusOK {
		t.Fatalf("the legacy client after %s: %+v, %v", idp.DefaultRefreshTokenLifetime, res, err)
	}
	f.clock.Advance(idp.DefaultUsedClientLife + 24*time.Hour)
	if n, err := f.p.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep of the legacy client: %d, %v", n, err)
	}
}
