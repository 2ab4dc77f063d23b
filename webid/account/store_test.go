package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/storage"
)

// TestStore runs the account store's behaviour on every backend.
func TestStore(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Run("register and authenticate", func(t *testing.T) { testRegister(t, be.open(t)) })
			t.Run("concurrent sign-ups", func(t *testing.T) { testConcurrentSignups(t, be.open(t)) })
			t.Run("account without login", func(t *testing.T) { testCreateThenLogin(t, be.open(t)) })
			t.Run("sessions", func(t *testing.T) { testSessions(t, be.open(t)) })
			t.Run("client credentials", func(t *testing.T) { testCredentials(t, be.open(t)) })
			t.Run("WebID links", func(t *testing.T) { testLinks(t, be.open(t)) })
			t.Run("concurrent updates", func(t *testing.T) { testConcurrentUpdates(t, be.open(t)) })
			t.Run("stale e-mail claim", func(t *testing.T) { testStaleClaim(t, be.open(t)) })
			t.Run("keys", func(t *testing.T) { testKeys(t, be.open(t)) })
		})
	}
}

func testRegister(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	s := newStore(b, newClock(), nil)
	a, err := s.Register(ctx, "  Alice@Example.org ", "correct horse", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Email != "alice@example.org" || !validID(a.ID) || !a.HasLogin() {
		t.Fatalf("Register = %+v", a)
	}
	tests := []struct {
		name, email, password string
		want                  error
	}{
		{"right", "alice@example.org", "correct horse", nil},
		{"other case", "ALICE@example.org", "correct horse", nil},
		{"wrong password", "alice@example.org", "correct horsE", ErrBadCredentials},
		{"empty password", "alice@example.org", "", ErrBadCredentials},
		{"unknown address", "bob@example.org", "correct horse", ErrBadCredentials},
		{"not an address", "alice", "correct horse", ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Authenticate(ctx, tc.email, tc.password, "192.0.2.1")
			if !errors.Is(err, tc.want) {
				t.Fatalf("Authenticate: %v, want %v", err, tc.want)
			}
			if err == nil && got.ID != a.ID {
				t.Fatalf("Authenticate found %s, want %s", got.ID, a.ID)
			}
		})
	}
	if _, err := s.Register(ctx, "alice@EXAMPLE.org", "another password", "192.0.2.2"); !errors.Is(err, ErrEmailTaken) {
		t.Fatalf("second Register: %v, want ErrEmailTaken", err)
	}
	got, err := s.Get(ctx, a.ID)
	if err != nil || got.Email != a.Email || !got.Created.Equal(a.Created) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, "../../r/x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a bad id: %v", err)
	}

	// Changing the password needs the old one.
	if err := s.ChangePassword(ctx, a.ID, "wrong one!", "battery staple"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("ChangePassword with a wrong old password: %v", err)
	}
	if err := s.ChangePassword(ctx, a.ID, "correct horse", "short"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("ChangePassword to a weak password: %v", err)
	}
	if err := s.ChangePassword(ctx, a.ID, "correct horse", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, a.Email, "battery staple", "192.0.2.1"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if _, err := s.Authenticate(ctx, a.Email, "correct horse", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("login with the old password: %v", err)
	}
}

// testConcurrentSignups: of many sign-ups with one address at once,
// exactly one wins, through either way of signing up.
func testConcurrentSignups(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	s := newStore(b, newClock(), func(o *Options) { o.Limits.SignupBurst = 1000 })
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				_, errs[i] = s.Register(ctx, "same@example.org", "password "+fmt.Sprint(i), "192.0.2.9")
				return
			}
			a, err := s.Create(ctx, "192.0.2.9")
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = s.AddPasswordLogin(ctx, a.ID, "Same@example.org", "password "+fmt.Sprint(i))
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrEmailTaken):
			t.Errorf("sign-up %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d sign-ups won, want exactly 1", won)
	}
}

func testCreateThenLogin(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	s := newStore(b, newClock(), nil)
	a, err := s.Create(ctx, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if a.HasLogin() {
		t.Fatal("a new account has a login")
	}
	if err := s.CanCreatePod(a); !errors.Is(err, ErrNoLogin) {
		t.Fatalf("CanCreatePod without login: %v", err)
	}
	for _, tc := range []struct {
		email, password string
		want            error
	}{
		{"", "long enough", ErrInvalidInput},
		{"not-an-address", "long enough", ErrInvalidInput},
		{"a@example.org", "", ErrInvalidInput},
		{"a@example.org", "short", ErrInvalidInput},
		{"a@example.org", "long enough", nil},
		{"b@example.org", "long enough", ErrLoginExists},
	} {
		if err := s.AddPasswordLogin(ctx, a.ID, tc.email, tc.password); !errors.Is(err, tc.want) {
			t.Errorf("AddPasswordLogin(%q, %q) = %v, want %v", tc.email, tc.password, err, tc.want)
		}
	}
	// The refused second address stays free.
	if _, err := s.Register(ctx, "b@example.org", "long enough", "192.0.2.1"); err != nil {
		t.Fatalf("b@example.org was not released: %v", err)
	}
	a, _ = s.Get(ctx, a.ID)
	if err := s.CanCreatePod(a); err != nil {
		t.Fatalf("CanCreatePod: %v", err)
	}
}

func testSessions(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	c := newClock()
	s := newStore(b, c, func(o *Options) { o.SessionTTL = time.Hour })
	a, err := s.Register(ctx, "s@example.org", "long enough", "")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.NewSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.Token) != tokenLength || !sess.Expires.Equal(c.Now().Add(time.Hour)) {
		t.Fatalf("session %d chars, expires %v", len(sess.Token), sess.Expires)
	}
	// The token itself is stored nowhere.
	assertNotStored(t, b, sess.Token)
	if got, err := s.SessionAccount(ctx, sess.Token); err != nil || got.ID != a.ID {
		t.Fatalf("SessionAccount = %v, %v", got.ID, err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", tokenLength), sess.Token + "A", "../../../r/.acl"} {
		if _, err := s.SessionAccount(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("SessionAccount(%q) = %v", bad, err)
		}
	}
	c.Advance(time.Hour)
	if _, err := s.SessionAccount(ctx, sess.Token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("expired session: %v", err)
	}
	sess2, err := s.NewSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, sess2.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAccount(ctx, sess2.Token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("ended session: %v", err)
	}
	if err := s.EndSession(ctx, sess2.Token); err != nil {
		t.Fatalf("ending twice: %v", err)
	}
	if _, err := s.NewSession(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session of no account: %v", err)
	}
}

func testCredentials(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	s := newStore(b, newClock(), nil)
	a, err := s.Register(ctx, "c@example.org", "long enough", "")
	if err != nil {
		t.Fatal(err)
	}
	const pod, webID = "https://pods.example/c/", "https://pods.example/c/profile/card#me"
	if _, _, err := s.CreateCredential(ctx, a.ID, "my token", webID); !errors.Is(err, ErrNotLinked) {
		t.Fatalf("credential for an unlinked WebID: %v", err)
	}
	if err := s.AddPod(ctx, a.ID, pod, webID); err != nil {
		t.Fatal(err)
	}
	info, secret, err := s.CreateCredential(ctx, a.ID, "my token/ä", webID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.ID, "my-token-_") || info.WebID != webID || info.Name != "my token/ä" {
		t.Fatalf("credential %+v", info)
	}
	assertNotStored(t, b, secret)
	list, err := s.Credentials(ctx, a.ID)
	if err != nil || len(list) != 1 || list[0].ID != info.ID {
		t.Fatalf("Credentials = %+v, %v", list, err)
	}
	cred, err := s.ClientCredential(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cred.AccountID != a.ID || cred.WebID != webID || cred.ID != info.ID {
		t.Fatalf("ClientCredential = %+v", cred)
	}
	if !cred.Verify(secret) || cred.Verify(secret[:len(secret)-1]) || cred.Verify("") || (Credential{}).Verify("") {
		t.Fatal("Verify does not tell the secret from others")
	}
	if _, err := s.ClientCredential(ctx, "nope_"+info.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown credential: %v", err)
	}

	// Unlinking the WebID disables the credential; linking it again
	// (inside the account's pod) brings it back.
	if err := s.UnlinkWebID(ctx, a.ID, webID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientCredential(ctx, info.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("credential of an unlinked WebID: %v", err)
	}
	if err := s.LinkWebID(ctx, a.ID, webID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCredential(ctx, a.ID, info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientCredential(ctx, info.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted credential: %v", err)
	}
	if err := s.DeleteCredential(ctx, a.ID, info.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	// Another account cannot delete a credential it does not hold.
	other, _ := s.Register(ctx, "d@example.org", "long enough", "")
	info2, _, _ := s.CreateCredential(ctx, a.ID, "", webID)
	if !strings.HasPrefix(info2.ID, "_") {
		t.Fatalf("unnamed credential id %q", info2.ID)
	}
	if err := s.DeleteCredential(ctx, other.ID, info2.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting another's credential: %v", err)
	}
}

// testLinks: a WebID in the account's pod links at once; any other needs
// the proof triple in its document, within the proof's lifetime.
func testLinks(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	c := newClock()
	docs := &fakeWeb{docs: map[string]string{}}
	s := newStore(b, c, func(o *Options) { o.Fetch = docs.fetch })
	a, err := s.Register(ctx, "l@example.org", "long enough", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddPod(ctx, a.ID, "https://pods.example/l/", ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		webID string
		want  error
	}{
		{"", ErrInvalidInput},
		{"mailto:x@example.org", ErrInvalidInput},
		{"https://user:pw@example.org/#me", ErrInvalidInput},
		{"https://pods.example/l/other#me", nil},
		{"https://pods.example/l/other#me", ErrAlreadyLinked},
	} {
		if err := s.LinkWebID(ctx, a.ID, tc.webID); !errors.Is(err, tc.want) {
			t.Errorf("LinkWebID(%q) = %v, want %v", tc.webID, err, tc.want)
		}
	}

	const ext = "https://elsewhere.example/card#me"
	err = s.LinkWebID(ctx, a.ID, ext)
	var perr *ProofRequiredError
	if !errors.As(err, &perr) {
		t.Fatalf("external WebID: %v, want a proof request", err)
	}
	if !strings.Contains(perr.Triple, "<"+ext+"> <"+registrationToken+"> \""+perr.Token+"\"") ||
		!strings.Contains(perr.Error(), "https://elsewhere.example/card ") {
		t.Fatalf("proof request %q / %q", perr.Triple, perr.Error())
	}
	// Not added yet: the same token is asked for again.
	docs.set("https://elsewhere.example/card", "<#me> a <http://xmlns.com/foaf/0.1/Person>.")
	var again *ProofRequiredError
	if err := s.LinkWebID(ctx, a.ID, ext); !errors.As(err, &again) || again.Token != perr.Token {
		t.Fatalf("second try: %v", err)
	}
	// An unreachable document says why.
	docs.fail = errors.New("connection refused")
	if err := s.LinkWebID(ctx, a.ID, ext); !errors.As(err, &again) || again.Err == nil {
		t.Fatalf("unreachable document: %v", err)
	}
	docs.fail = nil
	docs.set("https://elsewhere.example/card", "<#me> <"+registrationToken+"> \""+perr.Token+"\".")
	if err := s.LinkWebID(ctx, a.ID, ext); err != nil {
		t.Fatalf("with the triple: %v", err)
	}
	got, _ := s.Get(ctx, a.ID)
	if !got.Linked(ext) {
		t.Fatalf("not linked: %v", got.WebIDs)
	}

	// A proof expires.
	const ext2 = "https://elsewhere.example/two#me"
	err = s.LinkWebID(ctx, a.ID, ext2)
	if !errors.As(err, &perr) {
		t.Fatal(err)
	}
	docs.set("https://elsewhere.example/two", "<#me> <"+registrationToken+"> \""+perr.Token+"\".")
	c.Advance(DefaultProofTTL)
	if err := s.LinkWebID(ctx, a.ID, ext2); !errors.As(err, &again) || again.Token == perr.Token {
		t.Fatalf("after expiry: %v", err)
	}
	// Without a fetcher, external WebIDs cannot be proved.
	bare := newStore(b, c, nil)
	if err := bare.LinkWebID(ctx, a.ID, ext2); !errors.As(err, &again) {
		t.Fatalf("no fetcher: %v", err)
	}
	if err := bare.LinkWebID(ctx, a.ID, ext2); !errors.As(err, &again) || again.Err == nil {
		t.Fatalf("no fetcher, second try: %v", err)
	}
	if err := s.UnlinkWebID(ctx, a.ID, ext2); !errors.Is(err, ErrNotLinked) {
		t.Fatalf("unlinking what is not linked: %v", err)
	}
}

// fakeWeb serves WebID documents as Turtle.
type fakeWeb struct {
	mu   sync.Mutex
	docs map[string]string
	fail error
}

func (f *fakeWeb) set(url, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs[url] = body
}

func (f *fakeWeb) fetch(_ context.Context, url string) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, "", f.fail
	}
	body, ok := f.docs[url]
	if !ok {
		return nil, "", errors.New("404")
	}
	return []byte(body), "text/turtle; charset=utf-8", nil
}

// testConcurrentUpdates: read-modify-writes of one account from many
// goroutines lose nothing.
func testConcurrentUpdates(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	s := newStore(b, newClock(), nil)
	a, err := s.Register(ctx, "u@example.org", "long enough", "")
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.AddPod(ctx, a.ID, fmt.Sprintf("https://pods.example/p%d/", i), fmt.Sprintf("https://pods.example/p%d/profile/card#me", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.Get(ctx, a.ID)
	if err != nil || len(got.Pods) != n || len(got.WebIDs) != n {
		t.Fatalf("after %d concurrent AddPod: %d pods, %d WebIDs, %v", n, len(got.Pods), len(got.WebIDs), err)
	}
}

// testStaleClaim: an e-mail claim whose account never came to use it is
// taken over once it is old, and not before.
func testStaleClaim(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	c := newClock()
	s := newStore(b, c, nil)
	if _, err := s.claimEmail(ctx, "crash@example.org", newID()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, "crash@example.org", "long enough", ""); !errors.Is(err, ErrEmailTaken) {
		t.Fatalf("fresh claim: %v", err)
	}
	c.Advance(staleClaim)
	if _, err := s.Register(ctx, "crash@example.org", "long enough", ""); err != nil {
		t.Fatalf("stale claim: %v", err)
	}
	c.Advance(staleClaim)
	if _, err := s.Register(ctx, "crash@example.org", "long enough", ""); !errors.Is(err, ErrEmailTaken) {
		t.Fatalf("a used address, however old: %v", err)
	}
}

// testKeys: everything lies below sys/accounts/, out of reach of Solid
// requests (r/).
func testKeys(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	s := newStore(b, newClock(), nil)
	a, err := s.Register(ctx, "k@example.org", "long enough", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewSession(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	for info, err := range b.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Key != "sys/" {
			t.Errorf("top-level key %q; want only sys/", info.Key)
		}
	}
	for info, err := range b.List(ctx, "sys/") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Key != keyPrefix {
			t.Errorf("key %q outside %s", info.Key, keyPrefix)
		}
	}
}

// assertNotStored fails when secret appears in any stored object.
func assertNotStored(t *testing.T, b storage.Backend, secret string) {
	t.Helper()
	ctx := context.Background()
	var walk func(prefix string)
	walk = func(prefix string) {
		for info, err := range b.List(ctx, prefix) {
			if err != nil {
				t.Fatal(err)
			}
			if info.IsPrefix {
				walk(info.Key)
				continue
			}
			if strings.Contains(info.Key, secret) {
				t.Errorf("key %s holds the secret", info.Key)
			}
			rc, _, err := b.Get(ctx, info.Key, storage.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			_, _ = fmt.Fprint(&sb, readAll(rc))
			if strings.Contains(sb.String(), secret) {
				t.Errorf("%s holds the secret", info.Key)
			}
		}
	}
	walk("")
}
