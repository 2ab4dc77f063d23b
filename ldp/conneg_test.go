package ldp_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/weconomics/kluis/ldp"
)

var rdfOffers = []string{"text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml", "text/n3"}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept string
		want   string // "" means ErrNotAcceptable
	}{
		{"", "text/turtle"},
		{"*/*", "text/turtle"},
		{"text/turtle", "text/turtle"},
		{"application/ld+json", "application/ld+json"},
		{"APPLICATION/LD+JSON", "application/ld+json"},
		{"application/*", "application/ld+json"},
		{"text/*", "text/turtle"},
		{"text/turtle;q=0.5, application/ld+json;q=0.9", "application/ld+json"},
		{"text/turtle;q=0.5, application/ld+json", "application/ld+json"},
		{"text/turtle;q=0, */*", "application/ld+json"},
		{"text/turtle;q=0, */*;q=0.1", "application/ld+json"},
		{"application/ld+json;q=0.9, */*;q=0.1", "application/ld+json"},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/turtle"},
		{"application/n-triples, text/turtle", "text/turtle"}, // a tie goes to the earlier offer
		{"application/rdf+xml;q=1.0", "application/rdf+xml"},
		{"text/n3; charset=utf-8", "text/n3"},
		{"image/png", ""},
		{"image/*", ""},
		{"*/*;q=0", ""},
		{"text/turtle;q=0", ""},
		{"text/turtle;q=2", "text/turtle"}, // an invalid quality drops the element, and then the header
		{"image/png, text/turtle;q=2", ""},
		{"garbage", "text/turtle"},
		{",,,", "text/turtle"},
		{"*/turtle", "text/turtle"},
	}
	for _, tc := range tests {
		got, err := ldp.Negotiate(tc.accept, rdfOffers)
		if tc.want == "" {
			if !errors.Is(err, ldp.ErrNotAcceptable) {
				t.Errorf("Negotiate(%q) = %q, %v; want ErrNotAcceptable", tc.accept, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Negotiate(%q) = %q, %v; want %q", tc.accept, got, err, tc.want)
		}
	}
	if _, err := ldp.Negotiate("*/*", nil); !errors.Is(err, ldp.ErrNotAcceptable) {
		t.Errorf("Negotiate with no offers: %v, want ErrNotAcceptable", err)
	}
}

func TestPrefers(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},
		{"text/turtle, text/html;q=0.5", false},
		{"*/*", false},
		{"", false},
		{"text/html;q=0.9, text/turtle", false},
	}
	for _, tc := range tests {
		if got := ldp.Prefers(tc.accept, "text/html"); got != tc.want {
			t.Errorf("Prefers(%q, text/html) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}

// FuzzNegotiate checks that no Accept header makes Negotiate panic or
// answer something it was not offered.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "*/*", "text/turtle;q=0.5, application/ld+json", "text/*;q=0", "*/*;q=0.1;level=1",
		"a/b;q=", ";;,", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "*/x", "x/*;q=1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got, err := ldp.Negotiate(accept, rdfOffers)
		if err != nil {
			if !errors.Is(err, ldp.ErrNotAcceptable) {
				t.Fatalf("Negotiate(%q): %v", accept, err)
			}
			return
		}
		if !slices.Contains(rdfOffers, got) {
			t.Fatalf("Negotiate(%q) = %q, not an offer", accept, got)
		}
		ldp.Prefers(accept, "text/html")
	})
}
