package acl

import (
	"context"
	"fmt"
	"testing"
)

// countingSource holds one public ACL per container /0/ ... /9/ and counts
// reads.
type countingSource struct{ reads int }

func (s *countingSource) ACLVersion(ctx context.Context, iri string) (string, error) {
	if iri == "https://h/" {
		return "", ErrNoACL
	}
	return "v1", nil
}

func (s *countingSource) ReadACL(ctx context.Context, iri string) ([]byte, string, string, error) {
	s.reads++
	return []byte(`@prefix acl: <http://www.w3.org/ns/auth/acl#>.
		<#p> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo <./>; acl:mode acl:Read.`),
		"v1", iri + ".acl", nil
}

// TestCacheBound checks that the cache never holds more than
// MaxCacheEntries documents and keeps the recently used ones.
func TestCacheBound(t *testing.T) {
	src := &countingSource{}
	e := NewEvaluator(src, nil, Options{MaxCacheEntries: 3})
	ctx := context.Background()
	use := func(i int) {
		t.Helper()
		m, err := e.Modes(ctx, fmt.Sprintf("https://h/%d/", i), Agent{})
		if err != nil || m != Read {
			t.Fatalf("Modes = %v, %v", m, err)
		}
	}
	for i := range 10 {
		use(i)
		if n := e.cache.len(); n > 3 {
			t.Fatalf("cache holds %d entries, more than 3", n)
		}
	}
	if src.reads != 10 {
		t.Errorf("%d reads, want 10", src.reads)
	}
	// With three entries, sampling them all evicts the least recently used:
	// 7 goes, 8 and 9 stay.
	use(8)
	use(9)
	use(0)
	use(8)
	use(9)
	if src.reads != 11 {
		t.Errorf("%d reads, want 11: 8 and 9 should have stayed cached", src.reads)
	}
}

// TestAllocations keeps the cached path lean.
func TestAllocations(t *testing.T) {
	src := &countingSource{}
	e := NewEvaluator(src, nil, Options{})
	ctx := context.Background()
	const target = "https://h/c/a/b/c/d" // <https://h/c/a/b/c/d> has its own ACL here
	if _, err := e.Modes(ctx, target, Agent{}); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := e.Modes(ctx, target, Agent{}); err != nil {
			t.Fatal(err)
		}
	})
	// One closure per concurrent lookup (four containers); the walk is
	// pooled. The race detector adds its own.
	if allocs > 5 && !raceEnabled {
		t.Errorf("%.0f allocations per cached evaluation, want at most 5", allocs)
	}
}
