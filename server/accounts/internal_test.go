package accounts

import (
	"net/url"
	"testing"
)

func TestSafeReturn(t *testing.T) {
	base, _ := url.Parse("https://pods.example/")
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"/.oidc/auth?client_id=x&state=y", "/.oidc/auth?client_id=x&state=y", true},
		{"/", "/", true},
		{"https://pods.example/.account/", "/.account/", true},
		{"https://pods.example/a%20b?q=1#frag", "/a%20b?q=1", true},
		{"http://pods.example/x", "", false}, // another scheme is another origin
		{"https://pods.example:444/x", "", false},
		{"https://evil.example/x", "", false},
		{"//evil.example/x", "", false},
		{"///evil.example/x", "", false},
		{"/\\evil.example", "", false},
		{"\\\\evil.example", "", false},
		{"https://user@pods.example/x", "", false},
		{"javascript:alert(1)", "", false},
		{"data:text/html,x", "", false},
		{"x/y", "", false},
		{"/x\r\nSet-Cookie: a=b", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, ok := safeReturn(base, tc.raw)
		if got != tc.want || ok != tc.ok {
			t.Errorf("safeReturn(%q) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
	// loginURL carries a return URL that safeReturn gives back.
	ret := "/.oidc/auth?client_id=https%3A%2F%2Fapp.example%2Fid&scope=openid+webid"
	u, err := url.Parse(loginURL(ret))
	if err != nil || u.Path != "/.account/login/" {
		t.Fatalf("loginURL = %q", loginURL(ret))
	}
	if got, ok := safeReturn(base, u.Query().Get("return")); !ok || got != ret {
		t.Fatalf("round trip: %q, %v", got, ok)
	}
}
