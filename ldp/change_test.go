package ldp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage/memory"
)

// TestOnChange: every successful write tells Config.OnChange what it did,
// with the container whose containment changed; failed writes tell
// nothing.
func TestOnChange(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var got []string
	s, err := ldp.New(context.Background(), memory.New(), ldp.Config{
		BaseURL: "https://pod.example/", Now: func() time.Time { return now },
		OnChange: func(c ldp.Change) {
			if !c.Time.Equal(now) {
				t.Errorf("change time %v", c.Time)
			}
			etag := "-"
			if c.ETag != "" {
				etag = "etag"
			}
			got = append(got, fmt.Sprintf("%s %s %s %s", c.Type, c.Path, c.Container, etag))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	turtle := func(body string) ldp.WriteRequest {
		return ldp.WriteRequest{Body: strings.NewReader(body), ContentType: "text/turtle"}
	}
	patch, err := s.ParsePatch(context.Background(), "/a/b", strings.NewReader("INSERT DATA { <#x> <#y> <#z> }"), "application/sparql-update")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"PUT with a missing parent", func() error { _, err := s.Put(ctx, "/a/b", turtle("<#a> <#b> <#c>.")); return err },
			[]string{"Create /a/ / -", "Create /a/b /a/ etag"}},
		{"PUT again", func() error { _, err := s.Put(ctx, "/a/b", turtle("<#a> <#b> <#d>.")); return err },
			[]string{"Update /a/b  etag"}},
		{"PATCH", func() error { _, err := s.Patch(ctx, "/a/b", patch, ldp.Conditions{}); return err },
			[]string{"Update /a/b  etag"}},
		{"an ACL", func() error { _, err := s.Put(ctx, "/a/b.acl", turtle("")); return err },
			[]string{"Create /a/b.acl  etag"}},
		{"POST", func() error {
			_, err := s.Post(ctx, "/a/", ldp.PostRequest{WriteRequest: turtle(""), Slug: "c"})
			return err
		}, []string{"Create /a/c /a/ etag"}},
		{"a failed DELETE", func() error { return s.Delete(ctx, "/a/", ldp.Conditions{}) }, nil},
		{"DELETE", func() error { return s.Delete(ctx, "/a/b", ldp.Conditions{}) },
			[]string{"Delete /a/b /a/ -"}},
	}
	for _, st := range steps {
		got = nil
		err := st.do()
		if (err != nil) != (st.want == nil) {
			t.Fatalf("%s: %v", st.name, err)
		}
		if strings.Join(got, "|") != strings.Join(st.want, "|") {
			t.Errorf("%s: changes %q, want %q", st.name, got, st.want)
		}
	}
}
