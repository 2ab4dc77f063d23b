package acl_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/weconomics/kluis/acl"
)

// staticSource is a read-only in-memory Source with no locking, so that a
// benchmark measures the Evaluator and not the fake.
type staticSource map[string]string

func (s staticSource) ACLVersion(ctx context.Context, iri string) (string, error) {
	if _, ok := s[iri]; ok {
		return `"1"`, nil
	}
	return "", acl.ErrNoACL
}

func (s staticSource) ReadACL(ctx context.Context, iri string) ([]byte, string, string, error) {
	t, ok := s[iri]
	if !ok {
		return nil, "", "", acl.ErrNoACL
	}
	return []byte(t), `"1"`, iri + ".acl", nil
}

// BenchmarkModes evaluates a resource four levels below the container
// whose ACL applies (five ACLVersion lookups, four of them concurrent),
// with the compiled document in the cache.
func BenchmarkModes(b *testing.B) {
	src := staticSource{"https://pod.example/": prefixes + `
<#owner> a acl:Authorization; acl:agent <https://alice.example/#me>;
    acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent;
    acl:default <./>; acl:mode acl:Read.
`}
	e := acl.NewEvaluator(src, nil, acl.Options{})
	ctx := context.Background()
	const target = "https://pod.example/a/b/c/d"
	alice := acl.Agent{WebID: "https://alice.example/#me", Origin: "https://pod.example"}
	e2 := acl.NewEvaluator(src, nil, acl.Options{TrustedOrigins: []string{"https://pod.example"}})
	for _, bc := range []struct {
		name string
		e    *acl.Evaluator
		a    acl.Agent
		want acl.Mode
	}{
		{"owner", e2, alice, acl.Read | acl.Write | acl.Append | acl.Control},
		{"public", e, acl.Agent{}, acl.Read},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := bc.e.Modes(ctx, target, bc.a)
				if err != nil || m != bc.want {
					b.Fatalf("Modes = %v, %v; want %v", m, err, bc.want)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e2.Modes(ctx, target, alice); err != nil {
					panic(fmt.Sprint(err))
				}
			}
		})
	})
}

// changingSource is staticSource with a version that the benchmark bumps,
// as if the ACL were rewritten before every request.
type changingSource struct {
	staticSource
	version atomic.Int64
}

func (s *changingSource) ACLVersion(ctx context.Context, iri string) (string, error) {
	if _, ok := s.staticSource[iri]; ok {
		return strconv.FormatInt(s.version.Load(), 10), nil
	}
	return "", acl.ErrNoACL
}

func (s *changingSource) ReadACL(ctx context.Context, iri string) ([]byte, string, string, error) {
	t, ok := s.staticSource[iri]
	if !ok {
		return nil, "", "", acl.ErrNoACL
	}
	return []byte(t), strconv.FormatInt(s.version.Load(), 10), iri + ".acl", nil
}

// BenchmarkModesAfterChange is BenchmarkModes when the ACL changed since
// the last request: the cost of reading, parsing and compiling it.
func BenchmarkModesAfterChange(b *testing.B) {
	src := &changingSource{staticSource: staticSource{"https://pod.example/": prefixes + `
<#owner> a acl:Authorization; acl:agent <https://alice.example/#me>;
    acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent;
    acl:default <./>; acl:mode acl:Read.
`}}
	e := acl.NewEvaluator(src, nil, acl.Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		src.version.Add(1)
		if m, err := e.Modes(ctx, "https://pod.example/a/b/c/d", acl.Agent{}); err != nil || m != acl.Read {
			b.Fatalf("Modes = %v, %v", m, err)
		}
	}
}
