package ldp_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// countingBackend counts the reads of the pod registry.
type countingBackend struct {
	storage.Backend
	registryReads atomic.Int64
}

func (b *countingBackend) count(key string) {
	if strings.HasPrefix(key, "sys/pods/") {
		b.registryReads.Add(1)
	}
}

func (b *countingBackend) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.Info, error) {
	b.count(key)
	return b.Backend.Get(ctx, key, o)
}

func (b *countingBackend) Stat(ctx context.Context, key string) (storage.Info, error) {
	b.count(key)
	return b.Backend.Stat(ctx, key)
}

// podClock is a settable clock.
type podClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *podClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *podClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newPodStore(t *testing.T, b storage.Backend, c *podClock) *ldp.Store {
	t.Helper()
	cfg := ldp.Config{BaseURL: "https://pods.example/", Pods: true}
	if c != nil {
		cfg.Now = c.now
	}
	s, err := ldp.New(context.Background(), b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckPodName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"a", true},
		{"a1-b2", true},
		{"0", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"Alice", false},
		{"-alice", false},
		{"alice-", false},
		{"al_ice", false},
		{"al.ice", false},
		{".well-known", false},
		{"well-known", false},
		{"idp", false},
		{"account", false},
		{"oidc", false},
		{"admin", false},
		{"kluis", false},
		{"www", false},
		{"ålice", false},
		{"a b", false},
	}
	for _, tc := range tests {
		err := ldp.CheckPodName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPodName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
		var pe *ldp.PodNameError
		if err != nil && (!errors.As(err, &pe) || !errors.Is(err, ldp.ErrInvalidPodName) || pe.Reason == "") {
			t.Errorf("CheckPodName(%q) = %v, want a *PodNameError", tc.name, err)
		}
	}
}

// TestCreatePodSeeds checks the objects of a new pod and what they say.
func TestCreatePodSeeds(t *testing.T) {
	ctx := context.Background()
	s := newPodStore(t, memory.New(), nil)
	pod, err := s.CreatePod(ctx, "alice", ldp.PodOwner{Name: `Alice "A" Liddell`})
	if err != nil {
		t.Fatal(err)
	}
	const webID = "https://pods.example/alice/profile/card#me"
	if pod.Name != "alice" || pod.Root != "/alice/" || pod.Owner != webID || s.PodWebID("alice") != webID {
		t.Fatalf("pod %+v", pod)
	}
	for _, p := range []ldp.Path{
		"/alice/", "/alice/.acl", "/alice/profile/", "/alice/profile/card", "/alice/profile/card.acl",
		"/alice/inbox/", "/alice/inbox/.acl", "/alice/settings/", "/alice/settings/prefs.ttl",
		"/alice/settings/privateTypeIndex.ttl", "/alice/settings/publicTypeIndex.ttl",
		"/alice/settings/publicTypeIndex.ttl.acl",
	} {
		if _, err := s.Backend().Stat(ctx, p.Key()); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	profile := graphOf(t, s, "/alice/profile/card")
	me := rdfx.IRI(webID)
	for _, want := range []rdfx.Triple{
		{S: me, P: rdfx.IRI("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), O: rdfx.IRI("http://xmlns.com/foaf/0.1/Person")},
		{S: me, P: rdfx.IRI("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), O: rdfx.IRI("http://schema.org/Person")},
		{S: me, P: rdfx.IRI("http://www.w3.org/ns/solid/terms#oidcIssuer"), O: rdfx.IRI("https://pods.example/")},
		{S: me, P: rdfx.IRI("http://www.w3.org/ns/pim/space#storage"), O: rdfx.IRI("https://pods.example/alice/")},
		{S: me, P: rdfx.IRI("http://www.w3.org/ns/ldp#inbox"), O: rdfx.IRI("https://pods.example/alice/inbox/")},
		{S: me, P: rdfx.IRI("http://www.w3.org/ns/pim/space#preferencesFile"), O: rdfx.IRI("https://pods.example/alice/settings/prefs.ttl")},
		{S: me, P: rdfx.IRI("http://www.w3.org/ns/solid/terms#publicTypeIndex"), O: rdfx.IRI("https://pods.example/alice/settings/publicTypeIndex.ttl")},
		{S: me, P: rdfx.IRI("http://www.w3.org/ns/solid/terms#privateTypeIndex"), O: rdfx.IRI("https://pods.example/alice/settings/privateTypeIndex.ttl")},
		{S: me, P: rdfx.IRI("http://xmlns.com/foaf/0.1/name"), O: rdfx.Literal(`Alice "A" Liddell`, "")},
	} {
		if !profile.Has(want) {
			t.Errorf("profile lacks %s", want)
		}
	}
	for doc, want := range map[ldp.Path]string{
		"/alice/settings/publicTypeIndex.ttl":  "ListedDocument",
		"/alice/settings/privateTypeIndex.ttl": "UnlistedDocument",
	} {
		g := graphOf(t, s, doc)
		if !g.Has(rdfx.Triple{S: rdfx.IRI(s.IRI(doc)), P: rdfx.IRI("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), O: rdfx.IRI("http://www.w3.org/ns/solid/terms#" + want)}) ||
			!g.Has(rdfx.Triple{S: rdfx.IRI(s.IRI(doc)), P: rdfx.IRI("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), O: rdfx.IRI("http://www.w3.org/ns/solid/terms#TypeIndex")}) {
			t.Errorf("%s is not a solid:TypeIndex and solid:%s", doc, want)
		}
	}
	owner, ok, err := s.Owner(ctx, "/alice/")
	if err != nil || !ok || owner != webID {
		t.Fatalf("Owner = %q, %v, %v", owner, ok, err)
	}
	if _, ok, _ := s.Owner(ctx, "/alice/inbox/"); ok {
		t.Fatal("a pod's inner container has an owner")
	}

	// Another owner's WebID gets the ACLs, the pod keeps its own profile.
	pod, err = s.CreatePod(ctx, "bob", ldp.PodOwner{WebID: "https://id.example/bob#i", Issuer: "https://idp.example/"})
	if err != nil {
		t.Fatal(err)
	}
	acl := graphOf(t, s, "/bob/.acl")
	if !acl.Has(rdfx.Triple{S: rdfx.IRI("https://pods.example/bob/.acl#owner"), P: rdfx.IRI("http://www.w3.org/ns/auth/acl#agent"), O: rdfx.IRI("https://id.example/bob#i")}) {
		t.Error("the owner's WebID is not in the root ACL")
	}
	if !graphOf(t, s, "/bob/profile/card").Has(rdfx.Triple{S: rdfx.IRI(s.PodWebID("bob")), P: rdfx.IRI("http://www.w3.org/ns/solid/terms#oidcIssuer"), O: rdfx.IRI("https://idp.example/")}) {
		t.Error("the issuer is not in the profile")
	}

	var names []string
	for p, err := range s.Pods(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, p.Name)
	}
	if strings.Join(sorted(names), ",") != "alice,bob" {
		t.Fatalf("Pods = %v", names)
	}
}

func sorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func graphOf(t *testing.T, s *ldp.Store, p ldp.Path) *rdfx.Graph {
	t.Helper()
	rep, err := s.Get(context.Background(), p, ldp.GetRequest{Accept: "text/turtle"})
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	defer rep.Close()
	g, err := rdfx.Parse(rep.Body, "text/turtle", s.IRI(p), rdfx.ParseOptions{})
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return g
}

// TestCreatePodOnce: a name is taken once, whoever asks at the same
// moment; a name already used by a resource, a bad name, or a Store
// without pods is refused.
func TestCreatePodOnce(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	// Two Stores on one backend: two processes.
	stores := []*ldp.Store{newPodStore(t, b, nil), newPodStore(t, b, nil)}
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = stores[i%2].CreatePod(ctx, "same", ldp.PodOwner{WebID: "https://id.example/" + string(rune('a'+i)) + "#me"})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ldp.ErrPodExists):
			t.Errorf("CreatePod: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creations of one pod won, want 1", won)
	}

	s := stores[0]
	if _, err := s.Put(ctx, "/taken/x", ldp.WriteRequest{Body: strings.NewReader("x"), ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePod(ctx, "taken", ldp.PodOwner{}); !errors.Is(err, ldp.ErrPodExists) {
		t.Errorf("pod over an existing container: %v", err)
	}
	if _, err := s.CreatePod(ctx, "Bad", ldp.PodOwner{}); !errors.Is(err, ldp.ErrInvalidPodName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := s.CreatePod(ctx, "fine", ldp.PodOwner{WebID: "not a url"}); err == nil {
		t.Error("a bad owner WebID was accepted")
	}
	single := newStore(t, memory.New())
	if _, err := single.CreatePod(ctx, "alice", ldp.PodOwner{}); !errors.Is(err, ldp.ErrPodsDisabled) {
		t.Errorf("pods disabled: %v", err)
	}
}

// TestPodStorages: in pod mode each pod root is a storage and the server
// root is none; storage roots cannot be deleted.
func TestPodStorages(t *testing.T) {
	ctx := context.Background()
	s := newPodStore(t, memory.New(), nil)
	if _, err := s.CreatePod(ctx, "alice", ldp.PodOwner{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "/public/x", ldp.WriteRequest{Body: strings.NewReader("x"), ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   ldp.Path
		root   ldp.Path
		inside bool
	}{
		{"/", "", false},
		{"/alice", "", false},
		{"/public/x", "", false},
		{"/.well-known/solid", "", false},
		{"/alice/", "/alice/", true},
		{"/alice/.acl", "/alice/", true},
		{"/alice/profile/card", "/alice/", true},
		{"/alice/.well-known/solid", "/alice/", true},
		{"/Alice/x", "", false},
	}
	for _, tc := range tests {
		root, ok, err := s.StorageOf(ctx, tc.path)
		if err != nil || ok != tc.inside || root != tc.root {
			t.Errorf("StorageOf(%s) = %q, %v, %v; want %q, %v", tc.path, root, ok, err, tc.root, tc.inside)
		}
	}
	if sd, ok, _ := s.StorageDescription(ctx, "/alice/x"); !ok || sd != "/alice/.well-known/solid" {
		t.Errorf("StorageDescription = %q, %v", sd, ok)
	}
	rep, err := get(t, s, "/alice/", ldp.GetRequest{})
	if err != nil || !rep.IsStorage {
		t.Fatalf("GET /alice/: storage %v, %v", rep != nil && rep.IsStorage, err)
	}
	if rep, err := get(t, s, "/", ldp.GetRequest{}); err != nil || rep.IsStorage {
		t.Fatalf("GET /: storage %v, %v", rep != nil && rep.IsStorage, err)
	}
	desc := graphOf(t, s, "/alice/.well-known/solid")
	if !desc.Has(rdfx.Triple{S: rdfx.IRI("https://pods.example/alice/"), P: rdfx.IRI("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), O: rdfx.IRI(ldp.TypeStorage)}) {
		t.Error("the storage description does not describe the pod")
	}
	if _, err := get(t, s, "/.well-known/solid", ldp.GetRequest{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GET /.well-known/solid in pod mode: %v, want not found", err)
	}
	for _, p := range []ldp.Path{"/alice/", "/alice/.acl", "/", "/.acl"} {
		allow, err := s.Allow(ctx, p, true)
		if err != nil || strings.Contains(strings.Join(allow, ","), "DELETE") {
			t.Errorf("Allow(%s) = %v, %v; want no DELETE", p, allow, err)
		}
	}
	if err := s.Delete(ctx, "/alice/", ldp.Conditions{}); !isMethodNotAllowed(err) {
		t.Errorf("DELETE /alice/: %v", err)
	}
	if err := s.Delete(ctx, "/alice/.acl", ldp.Conditions{}); !isMethodNotAllowed(err) {
		t.Errorf("DELETE /alice/.acl: %v", err)
	}
	if err := s.Delete(ctx, "/alice/inbox/.acl", ldp.Conditions{}); err != nil {
		t.Errorf("DELETE of an inner ACL: %v", err)
	}
	if _, err := s.Put(ctx, "/alice/.well-known/solid", ldp.WriteRequest{Body: strings.NewReader(""), ContentType: "text/turtle"}); !isMethodNotAllowed(err) {
		t.Errorf("PUT on the pod's storage description: %v", err)
	}
	// Outside the pods, .well-known/solid is a plain path.
	if _, err := s.Put(ctx, "/public/.well-known/solid", ldp.WriteRequest{Body: strings.NewReader(""), ContentType: "text/turtle"}); err != nil {
		t.Errorf("PUT /public/.well-known/solid: %v", err)
	}
}

func isMethodNotAllowed(err error) bool {
	var m *ldp.MethodNotAllowedError
	return errors.As(err, &m)
}

// TestPodLookupCached: a first path segment costs at most one registry
// read, and the answer is kept until another process could have changed
// it: a pod made, or deleted, elsewhere.
func TestPodLookupCached(t *testing.T) {
	ctx := context.Background()
	b := &countingBackend{Backend: memory.New()}
	c := &podClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newPodStore(t, b, c)
	other := newPodStore(t, b, c) // another process on the same backend
	for range 5 {
		if _, ok, err := s.StorageOf(ctx, "/nobody/x"); ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if n := b.registryReads.Load(); n != 1 {
		t.Fatalf("%d registry reads for an unknown name, want 1", n)
	}
	for _, p := range []ldp.Path{"/", "/x", "/Bad-Name/x", "/.hidden/x", "/-x/y"} {
		if _, ok, err := s.StorageOf(ctx, p); ok || err != nil {
			t.Fatal(p, ok, err)
		}
	}
	if n := b.registryReads.Load(); n != 1 {
		t.Fatalf("%d registry reads, want none for paths that cannot be pods", n-1)
	}
	if _, err := other.CreatePod(ctx, "nobody", ldp.PodOwner{}); err != nil {
		t.Fatal(err)
	}
	c.advance(11 * time.Second)
	b.registryReads.Store(0)
	for range 5 {
		if root, ok, err := s.StorageOf(ctx, "/nobody/x"); !ok || root != "/nobody/" || err != nil {
			t.Fatalf("the pod made elsewhere: %q, %v, %v", root, ok, err)
		}
	}
	if n := b.registryReads.Load(); n != 1 {
		t.Fatalf("%d registry reads for a pod, want 1", n)
	}
	c.advance(time.Hour)
	for range 5 {
		if _, ok, _ := s.StorageOf(ctx, "/nobody/"); !ok {
			t.Fatal("pod forgotten")
		}
	}
	if n := b.registryReads.Load(); n != 2 {
		t.Fatalf("%d registry reads after an hour, want one more", n)
	}
	// Many unknown names stay bounded and correct.
	for i := range 5000 {
		name := "n" + strings.Repeat("x", i%50) + string(rune('a'+i%26))
		if _, ok, err := s.StorageOf(ctx, ldp.Path("/"+name+"/")); ok || err != nil {
			t.Fatal(name, ok, err)
		}
	}
}

// TestPodDeletedElsewhere: a pod that another process deletes, and then
// makes anew for another owner, is seen gone and then with its new owner
// once the cached answer is old enough.
func TestPodDeletedElsewhere(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	c := &podClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newPodStore(t, b, c)
	other := newPodStore(t, b, c)
	const alice, carol = "https://alice.example/#me", "https://carol.example/#me"
	if _, err := other.CreatePod(ctx, "shared", ldp.PodOwner{WebID: alice}); err != nil {
		t.Fatal(err)
	}
	owner := func() (string, bool) {
		t.Helper()
		o, ok, err := s.Owner(ctx, "/shared/")
		if err != nil {
			t.Fatal(err)
		}
		return o, ok
	}
	if o, ok := owner(); !ok || o != alice {
		t.Fatalf("owner %q, %v; want alice", o, ok)
	}
	if err := other.DeletePod(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.StorageOf(ctx, "/shared/x"); !ok {
		t.Fatal("the deletion is seen before the cached answer is old")
	}
	c.advance(11 * time.Second)
	if root, ok, err := s.StorageOf(ctx, "/shared/x"); ok || err != nil {
		t.Fatalf("deleted pod still a storage: %q, %v", root, err)
	}
	if _, err := other.CreatePod(ctx, "shared", ldp.PodOwner{WebID: carol}); err != nil {
		t.Fatal(err)
	}
	c.advance(11 * time.Second)
	if o, ok := owner(); !ok || o != carol {
		t.Fatalf("owner of the new pod %q, %v; want carol", o, ok)
	}
}
