package acl

import (
	"errors"
	"slices"
	"testing"
)

func TestAppendChain(t *testing.T) {
	tests := []struct {
		iri  string
		want []string
	}{
		{"https://h/", []string{"https://h/"}},
		{"https://h/a", []string{"https://h/a", "https://h/"}},
		{"https://h/a/", []string{"https://h/a/", "https://h/"}},
		{"https://h/a/b/c/d", []string{"https://h/a/b/c/d", "https://h/a/b/c/", "https://h/a/b/", "https://h/a/", "https://h/"}},
		{"https://h/a/b/", []string{"https://h/a/b/", "https://h/a/", "https://h/"}},
		{"http://h:8080/x%2Fy", []string{"http://h:8080/x%2Fy", "http://h:8080/"}},
		{"https://h/a//b", []string{"https://h/a//b", "https://h/a//", "https://h/a/", "https://h/"}},
	}
	for _, tc := range tests {
		got, err := appendChain(nil, tc.iri)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("appendChain(%q) = %q, %v; want %q", tc.iri, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "/a/b", "https://h", "urn:x:y", "https://h/a?q", "https://h/a#f", "://h/"} {
		if _, err := appendChain(nil, bad); !errors.Is(err, ErrInvalidIRI) {
			t.Errorf("appendChain(%q): err = %v, want ErrInvalidIRI", bad, err)
		}
	}
}

func TestParentOf(t *testing.T) {
	for iri, want := range map[string]string{
		"https://h/":     "",
		"https://h/a":    "https://h/",
		"https://h/a/":   "https://h/",
		"https://h/a/b":  "https://h/a/",
		"https://h/a/b/": "https://h/a/",
		"not an iri":     "",
	} {
		if got := parentOf(iri); got != want {
			t.Errorf("parentOf(%q) = %q, want %q", iri, got, want)
		}
	}
}

func TestSubjectOf(t *testing.T) {
	tests := []struct {
		iri     string
		subject string
		kind    auxKind
	}{
		{"https://h/a", "https://h/a", notAux},
		{"https://h/a/", "https://h/a/", notAux},
		{"https://h/a.acl", "https://h/a", aclAux},
		{"https://h/.acl", "https://h/", aclAux},
		{"https://h/c/.acl", "https://h/c/", aclAux},
		{"https://h/a.meta", "https://h/a", metaAux},
		{"https://h/c/.meta", "https://h/c/", metaAux},
		{"https://h/a.meta.acl", "https://h/a", aclAux},
		{"https://h/a.acl.meta", "https://h/a", aclAux},
		{"https://h/a.acl.acl", "https://h/a", aclAux},
		{"https://h/a.acl/", "https://h/a.acl/", notAux},
		{"https://h/a.aclx", "https://h/a.aclx", notAux},
	}
	for _, tc := range tests {
		s, k := subjectOf(tc.iri)
		if s != tc.subject || k != tc.kind {
			t.Errorf("subjectOf(%q) = %q, %d; want %q, %d", tc.iri, s, k, tc.subject, tc.kind)
		}
	}
}

func TestSameOriginAndIssuer(t *testing.T) {
	for _, tc := range []struct {
		a, b         string
		origin, issu bool
	}{
		{"https://a.example", "https://a.example", true, true},
		{"https://a.example", "https://a.example/", true, true},
		{"https://A.example", "https://a.example", true, false},
		{"https://a.example", "http://a.example", false, false},
		{"https://a.example:8443", "https://a.example", false, false},
		{"https://a.example/x", "https://a.example/x/", true, false},
		{"https://a.example/x", "https://a.example/x", true, true},
		{"https://a.example", "https://a.example.evil", false, false},
	} {
		if got := sameOrigin(tc.a, tc.b); got != tc.origin {
			t.Errorf("sameOrigin(%q, %q) = %v", tc.a, tc.b, got)
		}
		if got := sameIssuer(tc.a, tc.b); got != tc.issu {
			t.Errorf("sameIssuer(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
