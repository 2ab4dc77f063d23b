// Package acltest provides in-memory implementations of acl.Source and
// acl.Groups for tests of the acl package and of the code that uses it.
package acltest

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/weconomics/kluis/acl"
)

// Source is an in-memory acl.Source: a map from a resource IRI to the
// Turtle of its ACL resource, whose IRI is the resource IRI followed by
// ".acl" (as Kluis names them). Each Set gives the document a new version
// from a counter. Source is safe for concurrent use.
type Source struct {
	mu       sync.Mutex
	docs     map[string]doc
	fail     map[string]error
	counter  int
	versions int // ACLVersion calls
	reads    int // ReadACL calls
}

type doc struct {
	turtle  string
	version string
}

// NewSource returns an empty Source.
func NewSource() *Source {
	return &Source{docs: make(map[string]doc), fail: make(map[string]error)}
}

// Set stores turtle as the ACL document of the resource at resourceIRI,
// with a new version.
func (s *Source) Set(resourceIRI, turtle string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counter++
	s.docs[resourceIRI] = doc{turtle: turtle, version: `"v` + strconv.Itoa(s.counter) + `"`}
}

// Delete removes the ACL document of the resource at resourceIRI.
func (s *Source) Delete(resourceIRI string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.docs, resourceIRI)
}

// Fail makes ACLVersion and ReadACL for resourceIRI return err, or behave
// normally again when err is nil.
func (s *Source) Fail(resourceIRI string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.fail, resourceIRI)
	} else {
		s.fail[resourceIRI] = err
	}
}

// Calls returns how many times ACLVersion and ReadACL have been called.
func (s *Source) Calls() (versions, reads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versions, s.reads
}

// ACLVersion implements acl.Source.
func (s *Source) ACLVersion(ctx context.Context, resourceIRI string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions++
	if err := s.fail[resourceIRI]; err != nil {
		return "", err
	}
	d, ok := s.docs[resourceIRI]
	if !ok {
		return "", fmt.Errorf("acltest: %s: %w", resourceIRI, acl.ErrNoACL)
	}
	return d.version, nil
}

// ReadACL implements acl.Source.
func (s *Source) ReadACL(ctx context.Context, resourceIRI string) ([]byte, string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if err := s.fail[resourceIRI]; err != nil {
		return nil, "", "", err
	}
	d, ok := s.docs[resourceIRI]
	if !ok {
		return nil, "", "", fmt.Errorf("acltest: %s: %w", resourceIRI, acl.ErrNoACL)
	}
	return []byte(d.turtle), d.version, resourceIRI + ".acl", nil
}

// Groups is an in-memory acl.Groups: a map from a group IRI to its
// members. Groups is safe for concurrent use.
type Groups struct {
	mu      sync.Mutex
	members map[string][]string
	fail    map[string]error
	calls   int
}

// NewGroups returns Groups with no group; looking one up fails.
func NewGroups() *Groups {
	return &Groups{members: make(map[string][]string), fail: make(map[string]error)}
}

// Set makes members the members of the group at groupIRI.
func (g *Groups) Set(groupIRI string, members ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members[groupIRI] = members
}

// Fail makes looking up groupIRI return err.
func (g *Groups) Fail(groupIRI string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fail[groupIRI] = err
}

// Calls returns how many lookups were made.
func (g *Groups) Calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// Members implements acl.Groups.
func (g *Groups) Members(ctx context.Context, groupIRI string) ([]string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	if err := g.fail[groupIRI]; err != nil {
		return nil, err
	}
	m, ok := g.members[groupIRI]
	if !ok {
		return nil, fmt.Errorf("acltest: no group %s", groupIRI)
	}
	return m, nil
}
