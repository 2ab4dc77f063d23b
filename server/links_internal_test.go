package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestParseLinks(t *testing.T) {
	const bc = "http://www.w3.org/ns/ldp#BasicContainer"
	tests := []struct {
		in   []string
		want []link
	}{
		{nil, nil},
		{[]string{`<` + bc + `>; rel="type"`}, []link{{bc, "type"}}},
		{[]string{`<` + bc + `>; rel=type`}, []link{{bc, "type"}}},
		{[]string{`<` + bc + `> ; REL = "type"`}, []link{{bc, "type"}}},
		{[]string{`<a>; rel="type", <b>; rel="acl"`}, []link{{"a", "type"}, {"b", "acl"}}},
		{[]string{`<a>; rel="type"`, `<b>; rel="acl"`}, []link{{"a", "type"}, {"b", "acl"}}},
		{[]string{`<a>; rel="type describedby"`}, []link{{"a", "type"}, {"a", "describedby"}}},
		{[]string{`<a>; title="x, y"; rel="type", <b>; rel=acl`}, []link{{"a", "type"}, {"b", "acl"}}},
		{[]string{`<a>; anchor="<b>"; rel="type"`}, []link{{"a", "type"}}},
		{[]string{`<a>`}, nil},
		{[]string{`a; rel="type"`}, nil},
		{[]string{`<a; rel="type"`}, nil},
		{[]string{`<a>; rel`}, nil},
	}
	for _, tc := range tests {
		h := http.Header{}
		for _, v := range tc.in {
			h.Add("Link", v)
		}
		if got := parseLinks(h); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parseLinks(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	huge := http.Header{"Link": {strings.Repeat(`<a>; rel="type", `, maxLinkHeader)}}
	if got := parseLinks(huge); len(got) > maxLinkHeader {
		t.Errorf("parseLinks of a huge header made %d links", len(got))
	}
}

// FuzzParseLinks checks that no Link header makes parseLinks panic, and
// that what it finds round-trips through formatLinks.
func FuzzParseLinks(f *testing.F) {
	for _, s := range []string{
		`<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`,
		`<a>; rel="type", <b>; rel=acl`,
		`<a>; title="x, \"y"; rel="a b"`,
		`<`, `>`, `<>;`, `<<>rel=0`, `,,,<a>;rel=`, `<a>; rel="`, "\x00<\xff>; rel=\"\xff\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		links := parseLinks(http.Header{"Link": {v}})
		for _, l := range links {
			if l.rel == "" || strings.ContainsAny(l.rel, " \t") {
				t.Fatalf("parseLinks(%q): bad rel %q", v, l.rel)
			}
			if strings.Contains(l.target, ">") {
				t.Fatalf("parseLinks(%q): bad target %q", v, l.target)
			}
		}
		if len(links) == 0 {
			return
		}
		// A target or rel holding a quote, comma, semicolon or "<"
		// cannot round-trip.
		for _, l := range links {
			if strings.ContainsAny(l.target+l.rel, `",;<`) {
				return
			}
		}
		again := parseLinks(http.Header{"Link": {formatLinks(links)}})
		if fmt.Sprint(again) != fmt.Sprint(links) {
			t.Fatalf("parseLinks(%q) = %v; formatted and parsed again: %v", v, links, again)
		}
	})
}
