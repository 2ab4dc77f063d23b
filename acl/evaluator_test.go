package acl_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/acl/acltest"
	"github.com/weconomics/kluis/ldp/rdfx"
)

const (
	pod     = "https://pod.example/"
	aliceID = "https://alice.example/profile#me"
	bobID   = "https://bob.example/profile#me"
	appA    = "https://app-a.example/id"
	appB    = "https://app-b.example/id"
	idpA    = "https://idp-a.example/"
	idpB    = "https://idp-b.example/"
)

var (
	alice = acl.Agent{WebID: aliceID}
	bob   = acl.Agent{WebID: bobID}
	anon  = acl.Agent{}
)

const (
	rw   = acl.Read | acl.Write | acl.Append
	rwc  = rw | acl.Control
	none = acl.Mode(0)
)

// newEvaluator returns an Evaluator over an in-memory Source holding docs
// (resource IRI -> Turtle, prefixes added) and the groups.
func newEvaluator(t testing.TB, docs map[string]string, groups acl.Groups, opts acl.Options) (*acl.Evaluator, *acltest.Source) {
	t.Helper()
	src := acltest.NewSource()
	for iri, ttl := range docs {
		src.Set(iri, prefixes+ttl)
	}
	return acl.NewEvaluator(src, groups, opts), src
}

// modes calls Modes and fails the test on an error.
func modes(t *testing.T, e *acl.Evaluator, iri string, a acl.Agent) acl.Mode {
	t.Helper()
	m, err := e.Modes(context.Background(), iri, a)
	if err != nil {
		t.Fatalf("Modes(%s): %v", iri, err)
	}
	return m
}

// TestEffectiveACL covers WAC 1.0 §5.1 "Effective ACL Resource": which
// document applies, and which of its authorizations.
func TestEffectiveACL(t *testing.T) {
	ownerRoot := `<#owner> a acl:Authorization; acl:agent <` + aliceID + `>;
		acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.`
	tests := []struct {
		name   string
		docs   map[string]string
		target string
		agent  acl.Agent
		opts   acl.Options
		want   acl.Mode
	}{
		{name: "root accessTo applies to the root",
			docs: map[string]string{pod: ownerRoot}, target: pod, agent: alice, want: rwc},
		{name: "root default applies to a member",
			docs: map[string]string{pod: ownerRoot}, target: pod + "doc", agent: alice, want: rwc},
		{name: "root default applies four levels down",
			docs: map[string]string{pod: ownerRoot}, target: pod + "a/b/c/d", agent: alice, want: rwc},
		{name: "root default applies eleven levels down",
			docs: map[string]string{pod: ownerRoot}, target: pod + "1/2/3/4/5/6/7/8/9/10/x", agent: alice, want: rwc},
		{name: "a deep container ACL, eleven levels down",
			docs:   map[string]string{pod: ownerRoot, pod + "1/2/3/4/5/6/7/8/9/10/": `<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Append.`},
			target: pod + "1/2/3/4/5/6/7/8/9/10/x", agent: alice, want: acl.Append},
		{name: "root default applies to a deep container",
			docs: map[string]string{pod: ownerRoot}, target: pod + "a/b/c/", agent: alice, want: rwc},
		{name: "other agents get nothing",
			docs: map[string]string{pod: ownerRoot}, target: pod + "doc", agent: bob, want: none},
		{name: "no ACL up to the root denies everything",
			docs: map[string]string{}, target: pod + "a/doc", agent: alice, want: none},
		{name: "no ACL at the root, one on another branch",
			docs:   map[string]string{pod + "x/": `<#a> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`},
			target: pod + "a/doc", agent: alice, want: none},
		{name: "accessTo of a container is not inherited",
			docs:   map[string]string{pod: `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:mode acl:Read.`},
			target: pod + "doc", agent: alice, want: none},
		{name: "default does not apply to the container itself",
			docs:   map[string]string{pod + "c/": `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <./>; acl:mode acl:Read.`},
			target: pod + "c/", agent: alice, want: none},
		{name: "the nearest ACL wins, even when it grants less",
			docs: map[string]string{
				pod:        ownerRoot,
				pod + "c/": `<#b> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.`},
			target: pod + "c/doc", agent: alice, want: none},
		{name: "a resource's own ACL replaces the inherited one",
			docs: map[string]string{
				pod:           ownerRoot,
				pod + "c/doc": `<#b> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <doc>; acl:mode acl:Read.`},
			target: pod + "c/doc", agent: alice, want: acl.Read},
		{name: "a resource's own ACL needs accessTo, not default",
			docs: map[string]string{
				pod:           ownerRoot,
				pod + "c/doc": `<#b> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <doc>; acl:mode acl:Read.`},
			target: pod + "c/doc", agent: alice, want: none},
		{name: "default must name the container whose ACL it is",
			docs:   map[string]string{pod + "c/": `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <../>; acl:mode acl:Read.`},
			target: pod + "c/doc", agent: alice, want: none},
		{name: "accessTo must name the resource whose ACL it is",
			docs:   map[string]string{pod + "c/": `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./other>, <../>; acl:mode acl:Read.`},
			target: pod + "c/", agent: alice, want: none},
		{name: "absolute IRIs work like relative ones",
			docs:   map[string]string{pod + "c/": `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <` + pod + `c/>; acl:mode acl:Append.`},
			target: pod + "c/d/e", agent: alice, want: acl.Append},
		{name: "nested container ACL in the middle of the path",
			docs: map[string]string{
				pod:          ownerRoot,
				pod + "a/b/": `<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`},
			target: pod + "a/b/c/d", agent: anon, want: acl.Read},
		{name: "Write implies Append",
			docs:   map[string]string{pod: `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <./>; acl:mode acl:Write.`},
			target: pod + "doc", agent: alice, want: acl.Write | acl.Append},
		{name: "Append does not imply Write",
			docs:   map[string]string{pod: `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <./>; acl:mode acl:Append.`},
			target: pod + "doc", agent: alice, want: acl.Append},
		{name: "modes of several authorizations add up",
			docs: map[string]string{pod: `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <./>; acl:mode acl:Read.
				<#b> a acl:Authorization; acl:agentClass acl:AuthenticatedAgent; acl:default <./>; acl:mode acl:Append.`},
			target: pod + "doc", agent: alice, want: acl.Read | acl.Append},
		{name: "unknown modes are ignored",
			docs: map[string]string{pod: `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <./>;
				acl:mode acl:Read, <https://example.org/modes#Everything>, acl:Access.`},
			target: pod + "doc", agent: alice, want: acl.Read},
		{name: "an untyped authorization is ignored",
			docs:   map[string]string{pod: `<#a> acl:agent <` + aliceID + `>; acl:default <./>; acl:mode acl:Read.`},
			target: pod + "doc", agent: alice, want: none},
		{name: "an untyped authorization counts with AcceptUntypedAuthorizations",
			docs:   map[string]string{pod: `<#a> acl:agent <` + aliceID + `>; acl:default <./>; acl:mode acl:Read.`},
			target: pod + "doc", agent: alice, opts: acl.Options{AcceptUntypedAuthorizations: true}, want: acl.Read},
		{name: "a blank node authorization",
			docs:   map[string]string{pod: `[] a acl:Authorization; acl:agent <` + aliceID + `>; acl:default <./>; acl:mode acl:Read.`},
			target: pod + "doc", agent: alice, want: acl.Read},
		{name: "other statements in the document are ignored",
			docs: map[string]string{pod: `<#a> a acl:Authorization, <https://example.org/Other>; acl:agent <` + aliceID + `>;
				acl:default <./>; acl:mode acl:Read; <https://example.org/note> "hello".
				<https://example.org/x> <https://example.org/y> <https://example.org/z>.`},
			target: pod + "doc", agent: alice, want: acl.Read},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEvaluator(t, tc.docs, nil, tc.opts)
			if got := modes(t, e, tc.target, tc.agent); got != tc.want {
				t.Errorf("Modes(%s) = %q, want %q", tc.target, got, tc.want)
			}
		})
	}
}

// TestChangesTakeEffect checks that a changed, created or deleted ACL
// document is used by the very next evaluation, and that an unchanged one
// is not read again.
func TestChangesTakeEffect(t *testing.T) {
	ctx := context.Background()
	src := acltest.NewSource()
	e := acl.NewEvaluator(src, nil, acl.Options{})
	target := pod + "c/doc"
	grant := func(mode string) string {
		return prefixes + `<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode ` + mode + `.`
	}
	steps := []struct {
		name      string
		change    func()
		want      acl.Mode
		wantReads int // ReadACL calls made by this step's evaluation
	}{
		{"no ACL", func() {}, none, 0},
		{"root ACL created", func() { src.Set(pod, grant("acl:Read")) }, acl.Read, 1},
		{"unchanged: from the cache", func() {}, acl.Read, 0},
		{"root ACL changed", func() { src.Set(pod, grant("acl:Write")) }, acl.Write | acl.Append, 1},
		{"container ACL created", func() { src.Set(pod+"c/", grant("acl:Control")) }, acl.Control, 1},
		{"unchanged again", func() {}, acl.Control, 0},
		{"container ACL deleted: back to the root's, still cached", func() { src.Delete(pod + "c/") }, acl.Write | acl.Append, 0},
		{"own ACL created", func() {
			src.Set(target, prefixes+`<#a> a acl:Authorization; acl:agent <`+aliceID+`>; acl:accessTo <doc>; acl:mode acl:Read, acl:Append.`)
		}, acl.Read | acl.Append, 1},
		{"own ACL made unparseable", func() { src.Set(target, "this is not Turtle") }, none, 1},
		{"own ACL deleted", func() { src.Delete(target) }, acl.Write | acl.Append, 0},
		{"root ACL deleted: nothing left", func() { src.Delete(pod) }, none, 0},
	}
	for _, s := range steps {
		s.change()
		_, before := src.Calls()
		got, err := e.Modes(ctx, target, alice)
		_, after := src.Calls()
		if s.name == "own ACL made unparseable" {
			if !errors.Is(err, acl.ErrInvalidACL) {
				t.Fatalf("%s: err = %v, want ErrInvalidACL", s.name, err)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: Modes = %q, want %q", s.name, got, s.want)
		}
		if after-before != s.wantReads {
			t.Errorf("%s: %d ReadACL calls, want %d", s.name, after-before, s.wantReads)
		}
	}
}

// raceSource reports an ACL whose ACLVersion says it exists but which is
// gone when read, as when it is deleted between the two calls.
type raceSource struct{ *acltest.Source }

func (s raceSource) ACLVersion(ctx context.Context, iri string) (string, error) {
	if iri == pod+"c/" {
		return `"gone"`, nil
	}
	return s.Source.ACLVersion(ctx, iri)
}

func TestDeletedBetweenVersionAndRead(t *testing.T) {
	src := acltest.NewSource()
	src.Set(pod, prefixes+`<#a> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`)
	e := acl.NewEvaluator(raceSource{src}, nil, acl.Options{})
	if got := modes(t, e, pod+"c/doc", anon); got != acl.Read {
		t.Errorf("Modes = %q, want the root's read", got)
	}
}

// TestSubjects covers WAC 1.0 §4.3 "Access Subjects".
func TestSubjects(t *testing.T) {
	groups := acltest.NewGroups()
	groups.Set(pod+"groups#friends", bobID, "https://carol.example/#me")
	groups.Set(pod + "groups#empty")
	groups.Fail(pod+"groups#broken", errors.New("unreachable"))
	doc := func(subject string) map[string]string {
		return map[string]string{pod: `<#a> a acl:Authorization; ` + subject + `; acl:default <./>; acl:mode acl:Read.`}
	}
	tests := []struct {
		name    string
		subject string
		groups  acl.Groups
		agent   acl.Agent
		want    acl.Mode
	}{
		{"agent: the agent", `acl:agent <` + aliceID + `>`, nil, alice, acl.Read},
		{"agent: another agent", `acl:agent <` + aliceID + `>`, nil, bob, none},
		{"agent: anonymous", `acl:agent <` + aliceID + `>`, nil, anon, none},
		{"agent: one of several", `acl:agent <` + bobID + `>, <` + aliceID + `>`, nil, alice, acl.Read},
		{"agent: a literal is not an agent", `acl:agent "` + aliceID + `"`, nil, alice, none},
		{"foaf:Agent: anonymous", `acl:agentClass foaf:Agent`, nil, anon, acl.Read},
		{"foaf:Agent: authenticated", `acl:agentClass foaf:Agent`, nil, alice, acl.Read},
		{"AuthenticatedAgent: authenticated", `acl:agentClass acl:AuthenticatedAgent`, nil, alice, acl.Read},
		{"AuthenticatedAgent: anonymous", `acl:agentClass acl:AuthenticatedAgent`, nil, anon, none},
		{"AuthenticatedAgent: a client without WebID", `acl:agentClass acl:AuthenticatedAgent`, nil, acl.Agent{ClientID: appA}, none},
		{"unknown class", `acl:agentClass <https://example.org/Admins>`, nil, alice, none},
		{"group: member", `acl:agentGroup <groups#friends>`, groups, bob, acl.Read},
		{"group: not a member", `acl:agentGroup <groups#friends>`, groups, alice, none},
		{"group: anonymous", `acl:agentGroup <groups#friends>`, groups, anon, none},
		{"group: empty", `acl:agentGroup <groups#empty>`, groups, bob, none},
		{"group: lookup fails", `acl:agentGroup <groups#broken>`, groups, bob, none},
		{"group: unknown", `acl:agentGroup <groups#nobody>`, groups, bob, none},
		{"group: failing one then a good one", `acl:agentGroup <groups#broken>, <groups#friends>`, groups, bob, acl.Read},
		{"group: no Groups configured", `acl:agentGroup <groups#friends>`, nil, bob, none},
		{"origin only never grants", `acl:origin <https://app.example>`, nil, acl.Agent{WebID: aliceID, Origin: "https://app.example"}, none},
		{"no subject", `acl:accessTo <./>`, nil, alice, none},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEvaluator(t, doc(tc.subject), tc.groups, acl.Options{})
			if got := modes(t, e, pod+"doc", tc.agent); got != tc.want {
				t.Errorf("Modes = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGroupFailureDeniesOnlyThatAuthorization checks that a failed group
// lookup does not fail the evaluation nor hide other authorizations.
func TestGroupFailureDeniesOnlyThatAuthorization(t *testing.T) {
	groups := acltest.NewGroups()
	groups.Fail(pod+"groups#g", errors.New("timeout"))
	e, _ := newEvaluator(t, map[string]string{pod: `
		<#g> a acl:Authorization; acl:agentGroup <groups#g>; acl:default <./>; acl:mode acl:Write.
		<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`}, groups, acl.Options{})
	if got := modes(t, e, pod+"doc", bob); got != acl.Read {
		t.Errorf("Modes = %q, want read", got)
	}
}

// TestGroupLookedUpOnlyWhenUseful checks that a group is not looked up
// when its authorization could add no mode, and once per evaluation.
func TestGroupLookedUpOnlyWhenUseful(t *testing.T) {
	groups := acltest.NewGroups()
	groups.Set(pod+"groups#g", bobID)
	e, _ := newEvaluator(t, map[string]string{pod: `
		<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.
		<#g1> a acl:Authorization; acl:agentGroup <groups#g>; acl:default <./>; acl:mode acl:Read.
		<#g2> a acl:Authorization; acl:agentGroup <groups#g>; acl:default <./>; acl:mode acl:Append.
		<#g3> a acl:Authorization; acl:agentGroup <groups#g>; acl:default <./>; acl:mode acl:Control.`}, groups, acl.Options{})
	if got := modes(t, e, pod+"doc", alice); got != acl.Read {
		t.Errorf("Modes = %q, want read", got)
	}
	if n := groups.Calls(); n != 1 {
		t.Errorf("%d group lookups, want 1 (memoized)", n)
	}
	if got := modes(t, e, pod+"doc", anon); got != acl.Read {
		t.Errorf("anonymous: Modes = %q, want read", got)
	}
	if n := groups.Calls(); n != 1 {
		t.Errorf("%d group lookups after the anonymous call, want still 1", n)
	}
}

// TestGroupLoop checks that a Groups implementation which evaluates access
// to the group document (which needs the same group) is stopped.
func TestGroupLoop(t *testing.T) {
	src := acltest.NewSource()
	src.Set(pod, prefixes+`<#g> a acl:Authorization; acl:agentGroup <groups#g>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.`)
	var e *acl.Evaluator
	calls := 0
	groups := acl.GroupsFunc(func(ctx context.Context, g string) ([]string, error) {
		calls++
		// Reading the group document needs Read on it, which needs the group.
		m, err := e.Modes(ctx, strings.TrimSuffix(g, "#g"), bob)
		if err != nil {
			return nil, err
		}
		if !m.Has(acl.Read) {
			return nil, errors.New("cannot read the group document")
		}
		return []string{bobID}, nil
	})
	e = acl.NewEvaluator(src, groups, acl.Options{})
	if got := modes(t, e, pod+"doc", bob); got != none {
		t.Errorf("Modes = %q, want none", got)
	}
	if calls != 1 {
		t.Errorf("%d lookups, want 1: the nested evaluation must see the loop without asking", calls)
	}
}

// TestOrigin covers WAC 1.0 §5.3.2 "Web Origin Authorization".
func TestOrigin(t *testing.T) {
	const app, other = "https://app.example", "https://other.example"
	docs := map[string]string{pod: `
		<#alice-app> a acl:Authorization; acl:agent <` + aliceID + `>; acl:origin <` + app + `/>;
			acl:default <./>; acl:mode acl:Read, acl:Write.
		<#alice-any> a acl:Authorization; acl:agent <` + aliceID + `>;
			acl:default <./>; acl:mode acl:Control.
		<#bob> a acl:Authorization; acl:agent <` + bobID + `>; acl:default <./>; acl:mode acl:Read.
		<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Append.
		<#public-app> a acl:Authorization; acl:agentClass foaf:Agent; acl:origin <` + app + `>;
			acl:default <./>; acl:mode acl:Read.`}
	ac := acl.Append | acl.Control
	// named is the default policy (OriginRestrictNamed), strict WAC 1.0
	// §5.3.2 as written (OriginStrict).
	tests := []struct {
		name          string
		agent         acl.Agent
		trusted       []string
		named, strict acl.Mode
	}{
		{"no Origin: acl:origin is ignored", alice, nil, rwc, rwc},
		{"listed origin", acl.Agent{WebID: aliceID, Origin: app}, nil, rwc, rw | acl.Append},
		{"listed origin, other case", acl.Agent{WebID: aliceID, Origin: "HTTPS://APP.example"}, nil, rwc, rw},
		{"other origin", acl.Agent{WebID: aliceID, Origin: other}, nil, ac, acl.Append},
		{"other origin, trusted", acl.Agent{WebID: aliceID, Origin: other}, []string{other}, rwc, rwc},
		{"other origin, owner trusts it with Read and Write", acl.Agent{WebID: aliceID, Origin: other, OriginModes: rw}, nil, ac, rw | acl.Append},
		{"other origin, owner trusts it with Read", acl.Agent{WebID: aliceID, Origin: other, OriginModes: acl.Read}, nil, ac, acl.Read | acl.Append},
		{"no acl:origin at all", acl.Agent{WebID: bobID, Origin: app}, nil, acl.Read | acl.Append, acl.Read | acl.Append},
		{"no acl:origin at all, other origin", acl.Agent{WebID: bobID, Origin: other}, nil, acl.Read | acl.Append, acl.Append},
		{"bob without Origin", bob, nil, acl.Read | acl.Append, acl.Read | acl.Append},
		{"anonymous, listed origin", acl.Agent{Origin: app}, nil, acl.Read | acl.Append, acl.Read | acl.Append},
		{"anonymous, other origin", acl.Agent{Origin: other}, nil, acl.Append, acl.Append},
		{"anonymous, no Origin", anon, nil, acl.Read | acl.Append, acl.Read | acl.Append},
		{"origin null", acl.Agent{WebID: aliceID, Origin: "null"}, nil, ac, acl.Append},
	}
	for _, tc := range tests {
		for _, p := range []struct {
			name   string
			policy acl.OriginPolicy
			want   acl.Mode
		}{{"named", acl.OriginRestrictNamed, tc.named}, {"strict", acl.OriginStrict, tc.strict}} {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				e, _ := newEvaluator(t, docs, nil, acl.Options{TrustedOrigins: tc.trusted, OriginPolicy: p.policy})
				if got := modes(t, e, pod+"doc", tc.agent); got != p.want {
					t.Errorf("Modes = %q, want %q", got, p.want)
				}
				// WAC-Allow speaks for the request's origin.
				user, _, err := e.Allowed(context.Background(), pod+"doc", tc.agent)
				if err != nil || user != p.want {
					t.Errorf("Allowed user = %q, %v, want %q", user, err, p.want)
				}
			})
		}
	}
}

// TestConditions covers WAC ED §4.4 "Access Conditions" and §5.3.2
// "Condition Evaluation".
func TestConditions(t *testing.T) {
	groups := acltest.NewGroups()
	groups.Set(pod+"groups#apps", appB)
	groups.Set(pod+"groups#idps", "https://idp-b.example")
	groups.Fail(pod+"groups#broken", errors.New("down"))
	doc := func(conds string) map[string]string {
		return map[string]string{pod: `<#a> a acl:Authorization; acl:agent <` + aliceID + `>;
			acl:default <./>; acl:mode acl:Read` + conds + `.`}
	}
	with := func(client, issuer string) acl.Agent {
		return acl.Agent{WebID: aliceID, ClientID: client, Issuer: issuer}
	}
	tests := []struct {
		name  string
		conds string
		agent acl.Agent
		want  acl.Mode
	}{
		{"no condition", ``, with("", ""), acl.Read},
		{"client: listed", `; acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ]`, with(appA, idpA), acl.Read},
		{"client: other", `; acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ]`, with(appB, idpA), none},
		{"client: none", `; acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ]`, with("", idpA), none},
		{"client: one of two", `; acl:condition [ a acl:ClientCondition; acl:client <` + appB + `>, <` + appA + `> ]`, with(appA, ""), acl.Read},
		{"client: group member", `; acl:condition [ a acl:ClientCondition; acl:clientGroup <groups#apps> ]`, with(appB, ""), acl.Read},
		{"client: not a group member", `; acl:condition [ a acl:ClientCondition; acl:clientGroup <groups#apps> ]`, with(appA, ""), none},
		{"client: group lookup fails", `; acl:condition [ a acl:ClientCondition; acl:clientGroup <groups#broken> ]`, with(appB, ""), none},
		{"client: class foaf:Agent", `; acl:condition [ a acl:ClientCondition; acl:clientClass foaf:Agent ]`, with(appA, ""), acl.Read},
		{"client: class foaf:Agent, no client", `; acl:condition [ a acl:ClientCondition; acl:clientClass foaf:Agent ]`, with("", ""), acl.Read},
		{"client: unknown class", `; acl:condition [ a acl:ClientCondition; acl:clientClass <https://example.org/Apps> ]`, with(appA, ""), none},
		{"client: nothing listed", `; acl:condition [ a acl:ClientCondition ]`, with(appA, ""), none},
		{"issuer: listed", `; acl:condition [ a acl:IssuerCondition; acl:issuer <` + idpA + `> ]`, with(appA, idpA), acl.Read},
		{"issuer: listed without the slash", `; acl:condition [ a acl:IssuerCondition; acl:issuer <https://idp-a.example> ]`, with(appA, idpA), acl.Read},
		{"issuer: other", `; acl:condition [ a acl:IssuerCondition; acl:issuer <` + idpA + `> ]`, with(appA, idpB), none},
		{"issuer: group member", `; acl:condition [ a acl:IssuerCondition; acl:issuerGroup <groups#idps> ]`, with(appA, idpB), acl.Read},
		{"issuer: class foaf:Agent", `; acl:condition [ a acl:IssuerCondition; acl:issuerClass foaf:Agent ]`, with(appA, idpB), acl.Read},
		{"issuer: client values do not count", `; acl:condition [ a acl:IssuerCondition; acl:client <` + appA + `> ]`, with(appA, idpA), none},
		{"both: both hold", `; acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ], [ a acl:IssuerCondition; acl:issuer <` + idpA + `> ]`, with(appA, idpA), acl.Read},
		{"both: client fails", `; acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ], [ a acl:IssuerCondition; acl:issuer <` + idpA + `> ]`, with(appB, idpA), none},
		{"both: issuer fails", `; acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ], [ a acl:IssuerCondition; acl:issuer <` + idpA + `> ]`, with(appA, idpB), none},
		{"one node with both types", `; acl:condition [ a acl:ClientCondition, acl:IssuerCondition; acl:client <` + appA + `>; acl:issuer <` + idpA + `> ]`, with(appA, idpA), acl.Read},
		{"one node with both types, issuer fails", `; acl:condition [ a acl:ClientCondition, acl:IssuerCondition; acl:client <` + appA + `>; acl:issuer <` + idpA + `> ]`, with(appA, idpB), none},
		{"acl:Condition as an extra type is fine", `; acl:condition [ a acl:Condition, acl:ClientCondition; acl:client <` + appA + `> ]`, with(appA, ""), acl.Read},
		{"unsupported type never matches", `; acl:condition [ a <https://example.org/TimeCondition>; <https://example.org/before> "2030-01-01" ]`, with(appA, idpA), none},
		{"unsupported next to a holding one", `; acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ], [ a <https://example.org/X> ]`, with(appA, idpA), none},
		{"acl:Condition alone is no type", `; acl:condition [ a acl:Condition; acl:client <` + appA + `> ]`, with(appA, idpA), none},
		{"untyped condition never matches", `; acl:condition [ acl:client <` + appA + `> ]`, with(appA, idpA), none},
		{"literal condition never matches", `; acl:condition "client must be app A"`, with(appA, idpA), none},
		{"named condition node", `; acl:condition <#c> . <#c> a acl:ClientCondition; acl:client <` + appA + `>`, with(appA, ""), acl.Read},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEvaluator(t, doc(tc.conds), groups, acl.Options{})
			if got := modes(t, e, pod+"doc", tc.agent); got != tc.want {
				t.Errorf("Modes = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestConditionOnPublicAuthorization checks that a condition restricts an
// acl:agentClass foaf:Agent authorization too, and that conditions do not
// spill over to other authorizations.
func TestConditionOnPublicAuthorization(t *testing.T) {
	e, _ := newEvaluator(t, map[string]string{pod: `
		<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read;
			acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ].
		<#b> a acl:Authorization; acl:agent <` + bobID + `>; acl:default <./>; acl:mode acl:Append.`}, nil, acl.Options{})
	for _, tc := range []struct {
		agent acl.Agent
		want  acl.Mode
	}{
		{acl.Agent{ClientID: appA}, acl.Read},
		{acl.Agent{ClientID: appB}, none},
		{anon, none},
		{acl.Agent{WebID: bobID, ClientID: appB}, acl.Append},
		{acl.Agent{WebID: bobID, ClientID: appA}, acl.Read | acl.Append},
	} {
		if got := modes(t, e, pod+"doc", tc.agent); got != tc.want {
			t.Errorf("Modes(%+v) = %q, want %q", tc.agent, got, tc.want)
		}
	}
}

// TestAllowed covers the two permission groups of WAC-Allow (WAC 1.0 §6.1).
func TestAllowed(t *testing.T) {
	docs := map[string]string{pod: `
		<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>;
			acl:mode acl:Read, acl:Write, acl:Control.
		<#app> a acl:Authorization; acl:agent <` + bobID + `>; acl:default <./>; acl:mode acl:Write;
			acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ].
		<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`}
	e, _ := newEvaluator(t, docs, nil, acl.Options{})
	tests := []struct {
		name               string
		target             string
		agent              acl.Agent
		wantUser, wantPubl acl.Mode
		wantHeader         string
	}{
		{"owner", pod + "doc", alice, rwc, acl.Read, `user="read write append control",public="read"`},
		{"anonymous", pod + "doc", anon, acl.Read, acl.Read, `user="read",public="read"`},
		{"bob with app A", pod + "doc", acl.Agent{WebID: bobID, ClientID: appA}, rw, acl.Read, `user="read write append",public="read"`},
		{"bob with app B", pod + "doc", acl.Agent{WebID: bobID, ClientID: appB}, acl.Read, acl.Read, `user="read",public="read"`},
		{"root: no public default on itself", pod, alice, rwc, none, `user="read write append control",public=""`},
		{"ACL resource of the root", pod + ".acl", alice, acl.All, none, `user="read write append control",public=""`},
		{"ACL resource, bob", pod + "doc.acl", acl.Agent{WebID: bobID, ClientID: appA}, none, none, `user="",public=""`},
		{"description resource", pod + "doc.meta", acl.Agent{WebID: bobID, ClientID: appA}, rw, acl.Read, `user="read write append",public="read"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, public, err := e.Allowed(context.Background(), tc.target, tc.agent)
			if err != nil {
				t.Fatal(err)
			}
			if user != tc.wantUser || public != tc.wantPubl {
				t.Errorf("Allowed = %q, %q; want %q, %q", user, public, tc.wantUser, tc.wantPubl)
			}
			if m := modes(t, e, tc.target, tc.agent); m != user {
				t.Errorf("Modes = %q, Allowed user = %q: must be equal", m, user)
			}
			if h := acl.WACAllow(user, public); h != tc.wantHeader {
				t.Errorf("WACAllow = %s, want %s", h, tc.wantHeader)
			}
		})
	}
}

// TestAuxiliaryResources checks that ACL resources are governed by
// acl:Control on their subject, and description resources by the modes of
// their subject (WAC 1.0 §5.3.1).
func TestAuxiliaryResources(t *testing.T) {
	e, _ := newEvaluator(t, map[string]string{pod: `
		<#c> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Control.
		<#r> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write.`},
		nil, acl.Options{})
	tests := []struct {
		target string
		agent  acl.Agent
		want   acl.Mode
	}{
		{pod + "doc", alice, acl.Control},
		{pod + "doc.acl", alice, acl.All},
		{pod + ".acl", alice, acl.All},
		{pod + "c/.acl", alice, acl.All},
		{pod + "doc.meta", alice, acl.Control},
		{pod + "doc.meta.acl", alice, acl.All},
		{pod + "doc.acl", bob, none},
		{pod + "doc.meta", bob, rw},
		{pod + "doc.acl.meta", bob, none},
		{pod + "c/.meta", bob, rw},
		{pod + "a.acl/", bob, rw}, // a container named so is no ACL resource
	}
	for _, tc := range tests {
		if got := modes(t, e, tc.target, tc.agent); got != tc.want {
			t.Errorf("Modes(%s, %s) = %q, want %q", tc.target, tc.agent.WebID, got, tc.want)
		}
	}
}

// TestErrors checks the errors of an evaluation.
func TestErrors(t *testing.T) {
	storageDown := errors.New("storage down")
	public := prefixes + `<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read.`
	tests := []struct {
		name    string
		setup   func(*acltest.Source)
		target  string
		opts    acl.Options
		want    acl.Mode
		wantErr error
	}{
		{"ACLVersion fails below the effective ACL", func(s *acltest.Source) {
			s.Set(pod, public)
			s.Fail(pod+"c/", storageDown)
		}, pod + "c/doc", acl.Options{}, none, storageDown},
		{"ACLVersion fails above the effective ACL: not needed", func(s *acltest.Source) {
			s.Set(pod+"c/", public)
			s.Fail(pod, storageDown)
		}, pod + "c/doc", acl.Options{}, acl.Read, nil},
		{"syntax error", func(s *acltest.Source) { s.Set(pod, "<#a> a <b") }, pod + "doc", acl.Options{}, none, acl.ErrInvalidACL},
		{"too large", func(s *acltest.Source) { s.Set(pod, public) }, pod + "doc", acl.Options{MaxACLBytes: 100}, none, acl.ErrInvalidACL},
		{"too many triples", func(s *acltest.Source) { s.Set(pod, public) }, pod + "doc", acl.Options{MaxTriples: 3}, none, acl.ErrInvalidACL},
		{"relative IRI", func(s *acltest.Source) { s.Set(pod, public) }, "/doc", acl.Options{}, none, acl.ErrInvalidIRI},
		{"IRI without path", func(s *acltest.Source) { s.Set(pod, public) }, "https://pod.example", acl.Options{}, none, acl.ErrInvalidIRI},
		{"IRI with query", func(s *acltest.Source) { s.Set(pod, public) }, pod + "doc?x", acl.Options{}, none, acl.ErrInvalidIRI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := acltest.NewSource()
			tc.setup(src)
			e := acl.NewEvaluator(src, nil, tc.opts)
			for range 2 { // the second time from the cache
				got, err := e.Modes(context.Background(), tc.target, anon)
				if !errors.Is(err, tc.wantErr) || tc.wantErr == nil && err != nil {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if got != tc.want {
					t.Errorf("Modes = %q, want %q", got, tc.want)
				}
			}
		})
	}
	t.Run("syntax error keeps its position", func(t *testing.T) {
		src := acltest.NewSource()
		src.Set(pod, "<#a> a <b")
		_, err := acl.NewEvaluator(src, nil, acl.Options{}).Modes(context.Background(), pod, anon)
		var se *rdfx.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("err = %v, want a *rdfx.SyntaxError inside", err)
		}
	})
}

// barrierSource makes every ACLVersion call wait until n calls are in
// flight at once, which only happens when they are made concurrently, or
// until wait has passed. met tells whether the last n calls met.
type barrierSource struct {
	*acltest.Source
	n    int
	wait time.Duration

	mu       sync.Mutex
	arrived  int
	all      chan struct{}
	inFlight int
	most     int // calls in flight at once, at most
}

func (s *barrierSource) ACLVersion(ctx context.Context, iri string) (string, error) {
	s.mu.Lock()
	if s.all == nil {
		s.all = make(chan struct{})
	}
	all := s.all
	s.arrived++
	if s.arrived == s.n {
		close(s.all)
		s.all, s.arrived = nil, 0
	}
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	select {
	case <-all:
	case <-time.After(s.wait):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return s.Source.ACLVersion(ctx, iri)
}

// reset forgets the calls seen and returns how many were in flight at
// once, at most.
func (s *barrierSource) reset() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	most := s.most
	s.all, s.arrived, s.most = nil, 0, 0
	return most
}

// TestLookupsAreConcurrent checks that the ACL versions of a resource and
// of all its containers are asked for at once when the Source is slow:
// once the first evaluation has found it so, all five are in flight
// together.
func TestLookupsAreConcurrent(t *testing.T) {
	inner := acltest.NewSource()
	inner.Set(pod, prefixes+`<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`)
	src := &barrierSource{Source: inner, n: 5, wait: 300 * time.Millisecond}
	e := acl.NewEvaluator(src, nil, acl.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := e.Modes(ctx, pod+"a/b/c/d", anon); err != nil {
		t.Fatal(err)
	}
	src.reset()
	m, err := e.Modes(ctx, pod+"a/b/c/d", anon)
	if err != nil {
		t.Fatalf("Modes: %v", err)
	}
	if m != acl.Read {
		t.Errorf("Modes = %q, want read", m)
	}
	if most := src.reset(); most != 5 {
		t.Errorf("at most %d of the five lookups in flight at once, want 5", most)
	}
}

// goroutineSource records on which goroutine each ACLVersion call runs.
type goroutineSource struct {
	*acltest.Source
	mu  sync.Mutex
	ids []string
}

func (s *goroutineSource) ACLVersion(ctx context.Context, iri string) (string, error) {
	s.mu.Lock()
	s.ids = append(s.ids, goroutineID())
	s.mu.Unlock()
	return s.Source.ACLVersion(ctx, iri)
}

// take returns the goroutines of the calls since the last take.
func (s *goroutineSource) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.ids
	s.ids = nil
	return ids
}

// goroutineID is the number runtime.Stack gives the calling goroutine.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}

// TestQuickLookupsInline checks that a Source that answers at once is
// asked on the evaluating goroutine, one lookup after another: on
// goroutines of their own, each would wait its turn for a processor.
func TestQuickLookupsInline(t *testing.T) {
	inner := acltest.NewSource()
	inner.Set(pod, prefixes+`<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`)
	src := &goroutineSource{Source: inner}
	e := acl.NewEvaluator(src, nil, acl.Options{})
	self := goroutineID()
	inline := 0
	for range 20 {
		if _, err := e.Modes(context.Background(), pod+"a/b/c/d", anon); err != nil {
			t.Fatal(err)
		}
		ids := src.take()
		if len(ids) == 5 && !slices.ContainsFunc(ids, func(id string) bool { return id != self }) {
			inline++
		}
	}
	if inline == 0 {
		t.Error("no evaluation asked all five lookups on its own goroutine")
	}
}

// panicSource panics in ACLVersion for one IRI.
type panicSource struct{ *acltest.Source }

func (s panicSource) ACLVersion(ctx context.Context, iri string) (string, error) {
	if iri == pod+"a/" {
		panic("boom")
	}
	return s.Source.ACLVersion(ctx, iri)
}

func TestSourcePanicBecomesError(t *testing.T) {
	e := acl.NewEvaluator(panicSource{acltest.NewSource()}, nil, acl.Options{})
	if _, err := e.Modes(context.Background(), pod+"a/b", anon); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v, want the panic as an error", err)
	}
}

// TestConcurrentUse runs evaluations while the ACL changes, for the race
// detector.
func TestConcurrentUse(t *testing.T) {
	src := acltest.NewSource()
	e := acl.NewEvaluator(src, nil, acl.Options{MaxCacheEntries: 2})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				iri := pod + []string{"a/", "b/", "c/"}[(i+j)%3]
				if i == 0 {
					src.Set(iri, prefixes+`<#p> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`)
					continue
				}
				if _, err := e.Modes(context.Background(), iri+"x/y", anon); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestCacheStats: a compiled ACL is found in the cache while its version
// holds, and read again (a miss) once it changes.
func TestCacheStats(t *testing.T) {
	src := acltest.NewSource()
	doc := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#a> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo <https://pod.example/>; acl:default <https://pod.example/>; acl:mode acl:Read.`
	src.Set("https://pod.example/", doc)
	e := acl.NewEvaluator(src, nil, acl.Options{})
	ctx := context.Background()
	for range 3 {
		if _, err := e.Modes(ctx, "https://pod.example/doc", acl.Agent{}); err != nil {
			t.Fatal(err)
		}
	}
	hits, misses := e.CacheStats()
	if misses != 1 || hits != 2 {
		t.Fatalf("hits %d, misses %d; want 2 and 1", hits, misses)
	}
	src.Set("https://pod.example/", doc+"\n")
	if _, err := e.Modes(ctx, "https://pod.example/doc", acl.Agent{}); err != nil {
		t.Fatal(err)
	}
	if _, misses := e.CacheStats(); misses != 2 {
		t.Fatalf("misses %d after a change, want 2", misses)
	}
}

// TestDeniedReasons: a refusal tells an origin refusal (WAC 1.0 §5.3.2)
// and a refusal for the token's client or issuer (WAC ED §4.4) from one
// for the agent.
func TestDeniedReasons(t *testing.T) {
	const app = "https://app.example"
	docs := map[string]string{pod: `
		<#a> a acl:Authorization; acl:agent <` + aliceID + `>; acl:origin <` + app + `>;
			acl:default <./>; acl:mode acl:Read;
			acl:condition [ a acl:ClientCondition; acl:client <` + appA + `> ].`}
	e, _ := newEvaluator(t, docs, nil, acl.Options{})
	read := []acl.Requirement{{IRI: pod + "doc", Modes: acl.Read}}
	for _, tc := range []struct {
		name               string
		agent              acl.Agent
		origin, conditions bool
	}{
		{"another origin", acl.Agent{WebID: aliceID, ClientID: appA, Origin: "https://other.example"}, true, false},
		{"another client", acl.Agent{WebID: aliceID, ClientID: appB, Origin: app}, false, true},
		{"another agent", acl.Agent{WebID: bobID, ClientID: appA, Origin: app}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d *acl.DeniedError
			if err := e.Check(context.Background(), read, tc.agent); !errors.As(err, &d) {
				t.Fatalf("Check = %v, want a *DeniedError", err)
			}
			if d.Origin != tc.origin || d.Conditions != tc.conditions {
				t.Errorf("Origin %v Conditions %v, want %v %v", d.Origin, d.Conditions, tc.origin, tc.conditions)
			}
		})
	}
}
