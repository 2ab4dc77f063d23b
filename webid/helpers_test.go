package webid_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weconomics/kluis/webid"
	"github.com/weconomics/kluis/webid/fetch"
	"github.com/weconomics/kluis/webid/webidtest"
)

// clock is a settable clock shared by the verifier, its fetch client, the
// test issuer and the test client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// target is the public URL of the resource the test requests go to.
const target = "https://pod.example/alice/notes/today.ttl"

// fixture is a verifier wired to a real test issuer, a WebID profile on
// its own server that trusts the issuer, and a DPoP client.
type fixture struct {
	clk    *clock
	iss    *webidtest.Issuer
	prof   *webidtest.Profile
	client *webidtest.Client
	fetch  *fetch.Client
	v      *webid.Verifier
	// warm is the token of the accepted request warmUp made, which token
	// returns for a valid token from then on.
	warm string
}

type fixtureOptions struct {
	alg     string                   // client key algorithm
	profile webidtest.ProfileOptions // Issuers default to the issuer
	fetch   func(*fetch.Config)
	config  func(*webid.Config)
}

func newFixture(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{clk: newClock()}
	f.iss = webidtest.NewIssuer(t)
	f.iss.Now = f.clk.Now
	if o.profile.Issuers == nil {
		o.profile.Issuers = []string{f.iss.URL}
	}
	f.prof = webidtest.NewProfile(t, o.profile)
	f.client = webidtest.NewClient(t, o.alg)
	f.client.Now = f.clk.Now
	fc := fetch.Config{Allow: webidtest.Loopback(), Now: f.clk.Now, Timeout: 5 * time.Second}
	if o.fetch != nil {
		o.fetch(&fc)
	}
	var err error
	if f.fetch, err = fetch.New(fc); err != nil {
		t.Fatal(err)
	}
	cfg := webid.Config{Fetch: f.fetch, Now: f.clk.Now}
	if o.config != nil {
		o.config(&cfg)
	}
	if f.v, err = webid.NewVerifier(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// token mints a valid token for the fixture's WebID and client, changed by
// mod.
func (f *fixture) token(mod func(*webidtest.TokenOptions)) string {
	if mod == nil && f.warm != "" {
		return f.warm
	}
	o := webidtest.TokenOptions{WebID: f.prof.WebID, ClientID: f.client.ID, JKT: f.client.Thumbprint()}
	if mod != nil {
		mod(&o)
	}
	return f.iss.Token(o)
}

// verify runs Verify for a DPoP request to target.
func (f *fixture) verify(method, tok, proof string) (webid.Identity, error) {
	return f.v.Verify(context.Background(), method, target, "DPoP "+tok, []string{proof})
}

// localProfiles is a LocalProfiles over a map, counting reads.
type localProfiles struct {
	docs  map[string][]byte
	reads atomic.Int64
	err   error
}

func (l *localProfiles) Profile(_ context.Context, webid string) ([]byte, bool, error) {
	l.reads.Add(1)
	if l.err != nil {
		return nil, false, l.err
	}
	b, ok := l.docs[webid]
	return b, ok, nil
}

// warmUp makes an accepted request with a new valid token, when the
// fixture allows one, so that the client's proof header and that token
// are cached; token returns that token from then on. A fixture built to
// fail (its WebID unreachable, say) stays cold.
func (f *fixture) warmUp() {
	tok := f.token(nil)
	if _, err := f.verify("GET", tok, f.client.Proof("GET", target, tok)); err == nil {
		f.warm = tok
	}
}
