package rdfx

import "testing"

// RFC 3986 §5.4: every example of reference resolution, normal and abnormal.
func TestResolveIRI(t *testing.T) {
	const base = "http://a/b/c/d;p?q"
	tests := []struct{ ref, want string }{
		// §5.4.1 Normal Examples
		{"g:h", "g:h"},
		{"g", "http://a/b/c/g"},
		{"./g", "http://a/b/c/g"},
		{"g/", "http://a/b/c/g/"},
		{"/g", "http://a/g"},
		{"//g", "http://g"},
		{"?y", "http://a/b/c/d;p?y"},
		{"g?y", "http://a/b/c/g?y"},
		{"#s", "http://a/b/c/d;p?q#s"},
		{"g#s", "http://a/b/c/g#s"},
		{"g?y#s", "http://a/b/c/g?y#s"},
		{";x", "http://a/b/c/;x"},
		{"g;x", "http://a/b/c/g;x"},
		{"g;x?y#s", "http://a/b/c/g;x?y#s"},
		{"", "http://a/b/c/d;p?q"},
		{".", "http://a/b/c/"},
		{"./", "http://a/b/c/"},
		{"..", "http://a/b/"},
		{"../", "http://a/b/"},
		{"../g", "http://a/b/g"},
		{"../..", "http://a/"},
		{"../../", "http://a/"},
		{"../../g", "http://a/g"},
		// §5.4.2 Abnormal Examples
		{"../../../g", "http://a/g"},
		{"../../../../g", "http://a/g"},
		{"/./g", "http://a/g"},
		{"/../g", "http://a/g"},
		{"g.", "http://a/b/c/g."},
		{".g", "http://a/b/c/.g"},
		{"g..", "http://a/b/c/g.."},
		{"..g", "http://a/b/c/..g"},
		{"./../g", "http://a/b/g"},
		{"./g/.", "http://a/b/c/g/"},
		{"g/./h", "http://a/b/c/g/h"},
		{"g/../h", "http://a/b/c/h"},
		{"g;x=1/./y", "http://a/b/c/g;x=1/y"},
		{"g;x=1/../y", "http://a/b/c/y"},
		{"g?y/./x", "http://a/b/c/g?y/./x"},
		{"g?y/../x", "http://a/b/c/g?y/../x"},
		{"g#s/./x", "http://a/b/c/g#s/./x"},
		{"g#s/../x", "http://a/b/c/g#s/../x"},
		{"http:g", "http:g"},
	}
	for _, tt := range tests {
		if got := resolveIRI(base, tt.ref); got != tt.want {
			t.Errorf("resolve(%q) = %q, want %q", tt.ref, got, tt.want)
		}
	}
	// A fragment of the base is dropped; an empty base leaves refs alone.
	if got := resolveIRI("http://a/b#frag", "#me"); got != "http://a/b#me" {
		t.Errorf("resolve(#me) against a base with a fragment = %q", got)
	}
	if got := resolveIRI("", "../x"); got != "../x" {
		t.Errorf("resolve against no base = %q", got)
	}
	if got := resolveIRI("http://a", "g"); got != "http://a/g" {
		t.Errorf("resolve against an empty path = %q", got)
	}
}

func TestRelativeIRI(t *testing.T) {
	tests := []struct {
		base, iri, want string
		ok              bool
	}{
		{testBase, testBase, "", true},
		{testBase, testBase + "#me", "#me", true},
		{testBase + "#x", testBase + "#me", "#me", true},
		{testBase, "https://pod.example/alice/profile/other", "other", true},
		{testBase, "https://pod.example/alice/profile/", "./", true},
		{testBase, "https://pod.example/alice/profile/sub/x.ttl", "sub/x.ttl", true},
		{"https://pod.example/alice/", "https://pod.example/alice/photos/", "photos/", true},
		{testBase, "https://pod.example/alice/profile/a:b", "", false}, // would read as a scheme
		{testBase, "https://pod.example/alice/other", "", false},
		{testBase, "https://elsewhere.example/x", "", false},
		{testBase, "urn:uuid:1", "", false},
		{"", testBase, "", false},
		{"https://pod.example/c/?q=1", "https://pod.example/c/x", "", false},
	}
	for _, tt := range tests {
		got, ok := relativeIRI(tt.base, tt.iri)
		if got != tt.want || ok != tt.ok {
			t.Errorf("relativeIRI(%q, %q) = %q, %v; want %q, %v", tt.base, tt.iri, got, ok, tt.want, tt.ok)
		}
		if ok && resolveIRI(tt.base, got) != tt.iri {
			t.Errorf("relativeIRI(%q, %q) = %q does not resolve back", tt.base, tt.iri, got)
		}
	}
}

// relativeIRI must always give a reference that resolves back.
func TestRelativeIRIResolvesBack(t *testing.T) {
	bases := []string{testBase, "https://pod.example/c/", "https://pod.example/a/./b/../c", "https://pod.example", "http://a/b/c/d;p?q", "urn:x:y"}
	iris := []string{"https://pod.example/c/x", "https://pod.example/c/./x", "https://pod.example/c/../x", "https://pod.example/c/x/..",
		"https://pod.example/alice/profile/.", "https://pod.example/a/c", "https://pod.example/a/./b/x", "https://pod.example/c/", "https://pod.example/", "https://pod.example"}
	for _, base := range bases {
		for _, iri := range iris {
			if rel, ok := relativeIRI(base, iri); ok && resolveIRI(base, rel) != iri {
				t.Errorf("relativeIRI(%q, %q) = %q, which resolves to %q", base, iri, rel, resolveIRI(base, rel))
			}
		}
	}
}
