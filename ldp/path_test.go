package ldp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/weconomics/kluis/ldp"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in      string
		wantKey string // "" means the path is refused
	}{
		{"/", "r/"},
		{"/a", "r/a"},
		{"/a/", "r/a/"},
		{"/a/b.acl", "r/a/b.acl"},
		{"/a b/%c", "r/a b/%c"},
		{"/é", "r/é"},
		{"", ""},
		{"a", ""},
		{"//", ""},
		{"/a//b", ""},
		{"/.", ""},
		{"/..", ""},
		{"/../x", ""},
		{"/a/../x", ""},
		{"/a/./x", ""},
		{"/a/..", ""},
		{"/a\\b", ""},
		{"/a\x00b", ""},
		{"/a\nb", ""},
		{"/a\x7fb", ""},
		{"/\xff", ""},
		{"/" + strings.Repeat("a", 256), ""},
		{"/" + strings.Repeat("a/", 600), ""},
	}
	for _, tc := range tests {
		p, err := ldp.ParsePath(tc.in)
		if tc.wantKey == "" {
			var bad *ldp.BadRequestError
			if !errors.As(err, &bad) {
				t.Errorf("ParsePath(%q) = %q, %v; want a BadRequestError", tc.in, p, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tc.in, err)
			continue
		}
		if p.Key() != tc.wantKey {
			t.Errorf("ParsePath(%q).Key() = %q, want %q", tc.in, p.Key(), tc.wantKey)
		}
	}
}

func TestPathRelations(t *testing.T) {
	tests := []struct {
		p                     ldp.Path
		parent, name, sibling ldp.Path
		aux                   ldp.AuxKind
		subject               ldp.Path
	}{
		{"/", "/", "", "/", ldp.NotAux, ""},
		{"/a", "/", "a", "/a/", ldp.NotAux, ""},
		{"/a/", "/", "a/", "/a", ldp.NotAux, ""},
		{"/a/b/c", "/a/b/", "c", "/a/b/c/", ldp.NotAux, ""},
		{"/a/b.acl", "/a/", "b.acl", "/a/b.acl/", ldp.ACL, "/a/b"},
		{"/a/.acl", "/a/", ".acl", "/a/.acl/", ldp.ACL, "/a/"},
		{"/.acl", "/", ".acl", "/.acl/", ldp.ACL, "/"},
		{"/a/b.meta", "/a/", "b.meta", "/a/b.meta/", ldp.Meta, "/a/b"},
		{"/a/.meta", "/a/", ".meta", "/a/.meta/", ldp.Meta, "/a/"},
		{"/a.acl/", "/", "a.acl/", "/a.acl", ldp.NotAux, ""},
	}
	for _, tc := range tests {
		if got := tc.p.Parent(); got != tc.parent {
			t.Errorf("%q.Parent() = %q, want %q", tc.p, got, tc.parent)
		}
		if got := tc.p.Name(); got != string(tc.name) {
			t.Errorf("%q.Name() = %q, want %q", tc.p, got, tc.name)
		}
		if got := tc.p.Sibling(); got != tc.sibling {
			t.Errorf("%q.Sibling() = %q, want %q", tc.p, got, tc.sibling)
		}
		if kind, subject := tc.p.Aux(); kind != tc.aux || subject != tc.subject {
			t.Errorf("%q.Aux() = %v, %q; want %v, %q", tc.p, kind, subject, tc.aux, tc.subject)
		}
	}
	if got := ldp.Path("/a/").ACL(); got != "/a/.acl" {
		t.Errorf(`"/a/".ACL() = %q`, got)
	}
	if got := ldp.Path("/a").Meta(); got != "/a.meta" {
		t.Errorf(`"/a".Meta() = %q`, got)
	}
}

func TestSlugName(t *testing.T) {
	tests := []struct {
		slug, want string
	}{
		{"note", "note"},
		{"my note.txt", "my note.txt"},
		{"café", "café"},
		{"a/b", "a-b"},
		{"photos/", "photos"},
		{"photos%2F", "photos"},
		{"/", ""},
		{"a%2Fb", "a-b"},
		{"../../etc/passwd", "-..-etc-passwd"},
		{"%2e%2e", ""},
		{"..", ""},
		{".", ""},
		{"...", ""},
		{" . ", ""},
		{"-", ""},
		{"", ""},
		{"a\\b", "a-b"},
		{"a\x00b", "a-b"},
		{"a?b#c", "a-b-c"},
		{"x.acl", "x-acl"},
		{"x.meta", "x-meta"},
		{"x.acl.", "x-acl"},
		{".acl", "acl"},
		{"x.acl.meta", "x.acl-meta"},
		{"\xff\xfe", ""},
		{".hidden", "hidden"},
		{strings.Repeat("a", 300), strings.Repeat("a", 100)},
	}
	for _, tc := range tests {
		if got := ldp.SlugName(tc.slug); got != tc.want {
			t.Errorf("SlugName(%q) = %q, want %q", tc.slug, got, tc.want)
		}
	}
}

// FuzzSlugName checks that no Slug makes a name that leaves its container,
// is a dot segment, or is an auxiliary resource (Solid Protocol §4.3).
func FuzzSlugName(f *testing.F) {
	for _, s := range []string{"note", "a/b", "..", "%2e%2e%2f", "x.acl", "x.meta.", "a\\b", "\x00", "é/.acl", strings.Repeat("é", 60) + ".acl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, slug string) {
		name := ldp.SlugName(slug)
		if name == "" {
			return
		}
		switch {
		case strings.ContainsAny(name, "/\\"):
			t.Fatalf("SlugName(%q) = %q holds a separator", slug, name)
		case name == "." || name == "..":
			t.Fatalf("SlugName(%q) = %q is a dot segment", slug, name)
		case strings.HasSuffix(name, ldp.ACLSuffix) || strings.HasSuffix(name, ldp.MetaSuffix):
			t.Fatalf("SlugName(%q) = %q is an auxiliary name", slug, name)
		}
		for _, p := range []string{"/" + name, "/c/" + name + "/"} {
			q, err := ldp.ParsePath(p)
			if err != nil {
				t.Fatalf("SlugName(%q) = %q: ParsePath(%q): %v", slug, name, p, err)
			}
			if q.Parent() != ldp.Path(p[:strings.LastIndexByte(strings.TrimSuffix(p, "/"), '/')+1]) {
				t.Fatalf("SlugName(%q) = %q is not a direct child", slug, name)
			}
			if kind, _ := q.Aux(); kind != ldp.NotAux {
				t.Fatalf("SlugName(%q) = %q is auxiliary", slug, name)
			}
		}
	})
}
