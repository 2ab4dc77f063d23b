package webid

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestProfileIssuersHostile: a profile is parsed before its agent is
// authenticated, so an attacker who hosts one chooses what Kluis parses
// (issue 13, finding 2). Each of these is answered quickly: parsed, or
// refused as too large.
func TestProfileIssuersHostile(t *testing.T) {
	const me = "https://evil.example/card#me"
	array := func(n int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `{"@id": "%s", "http://www.w3.org/ns/solid/terms#oidcIssuer": {"@id": "https://idp.example/"}, "http://example.org/n": [`, me)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprint(&b, i)
		}
		return b.String() + "]}"
	}
	for _, tt := range []struct {
		name    string
		doc     string
		tooMany bool
	}{
		{"4,000 numbers in one property", array(4_000), false},
		{"9,000 numbers in one property, more JSON than 10,000 triples need", array(9_000), true},
		{"40,000 numbers in one property (2 minutes before)", array(40_000), true},
		{"300,000 numbers in one property", array(300_000), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			iss, err := profileIssuers(context.Background(), []byte(tt.doc), "application/ld+json", "https://evil.example/card", me)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if tt.tooMany {
				var ae *AuthError
				if !errors.As(err, &ae) || ae.Description != "the WebID profile is too large" {
					t.Fatalf("got %v, want the profile refused as too large", err)
				}
				return
			}
			if err != nil || len(iss) != 1 {
				t.Fatalf("got %v %v", iss, err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := profileIssuers(ctx, []byte(array(10)), "application/ld+json", "https://evil.example/card", me); !errors.Is(err, context.Canceled) {
		t.Errorf("with the request gone: %v, want context.Canceled", err)
	}
}
