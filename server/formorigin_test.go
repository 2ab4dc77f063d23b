package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/webid/account"
)

// formSenders are the headers browsers really send with a form POST, and
// whether a form of Kluis's own pages must take it. Chromium sends
// `Origin: null` with `Sec-Fetch-Site: same-origin` when a page's
// Referrer-Policy is no-referrer; a document a pod serves sandboxed has an
// opaque origin, which Fetch Metadata calls cross-site.
var formSenders = []struct {
	name string
	hdr  map[string]string
	ok   bool
}{
	{"Chromium, same origin, Origin null", map[string]string{"sec-fetch-site": "same-origin", "origin": "null"}, true},
	{"same origin", map[string]string{"sec-fetch-site": "same-origin", "origin": strings.TrimSuffix(testBaseURL, "/")}, true},
	{"a navigation the person started", map[string]string{"sec-fetch-site": "none"}, true},
	{"no browser headers (a script)", map[string]string{}, true},
	{"old browser, same origin", map[string]string{"origin": strings.TrimSuffix(testBaseURL, "/")}, true},
	{"cross-site page", map[string]string{"sec-fetch-site": "cross-site", "origin": "https://app.example"}, false},
	{"a pod's subdomain (same site)", map[string]string{"sec-fetch-site": "same-site", "origin": "http://alice.pod.example"}, false},
	{"sandboxed document", map[string]string{"sec-fetch-site": "cross-site", "origin": "null"}, false},
	{"same-site that claims the origin", map[string]string{"sec-fetch-site": "same-site", "origin": strings.TrimSuffix(testBaseURL, "/")}, false},
	{"old browser, other origin", map[string]string{"origin": "https://app.example"}, false},
	{"old browser, Origin null", map[string]string{"origin": "null"}, false},
}

// sendForm posts form to path with a browser's headers.
func sendForm(t *testing.T, c *http.Client, path string, form url.Values, hdr map[string]string) reply {
	t.Helper()
	h := map[string]string{"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}
	for k, v := range hdr {
		h[k] = v
	}
	return call(t, c, "POST", testBaseURL+strings.TrimPrefix(path, "/"), h, form.Encode())
}

var returnField = regexp.MustCompile(`name="return" value="([^"]*)"`)

// TestFormsFromBrowsers: every form of the account pages takes what
// browsers send from the page itself, and refuses the same form, with the
// right CSRF token, sent from another site, a pod's subdomain or a
// sandboxed document; nothing a refused form asks for happens.
func TestFormsFromBrowsers(t *testing.T) {
	ts, api := accountServer(t, backends()[0].open(t), func(c *server.Config) {
		c.Accounts.Limits = account.Limits{SignupBurst: 100, AddressBurst: 100}
	})
	const ret = "/.oidc/auth?client_id=https%3A%2F%2Fapp.example%2Fid&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s"
	for i, s := range formSenders {
		t.Run(s.name, func(t *testing.T) {
			b := formClient(t, ts)
			want := func(what string, r reply, okStatus int) {
				t.Helper()
				if s.ok && r.status != okStatus || !s.ok && (r.status != 403 || !strings.Contains(r.text, "another site")) {
					t.Errorf("%s: %d %.200s", what, r.status, r.text)
				}
			}
			email := "p" + string(rune('a'+i)) + "@example.org"
			pod := "pod" + string(rune('a'+i))
			_, tok := page(t, b, "/.account/signup/?return="+url.QueryEscape(ret))
			signup := url.Values{"csrf": {tok}, "email": {email}, "password": {"long enough"}, "password2": {"long enough"}, "pod": {pod}, "return": {ret}}
			r := sendForm(t, b, "/.account/signup/", signup, s.hdr)
			want("sign-up", r, 303)
			if !s.ok {
				// The refusal keeps the app to go back to, and shows none
				// of the fields another site may have chosen.
				if m := returnField.FindStringSubmatch(r.text); m == nil || strings.ReplaceAll(m[1], "&amp;", "&") != ret || strings.Contains(r.text, email) {
					t.Errorf("the refused sign-up page lost the return target or shows the input:\n%s", r.text)
				}
				if r := sendForm(t, b, "/.account/signup/", signup, nil); r.status != 303 {
					t.Fatalf("sign-up from the page: %d %s", r.status, r.text)
				}
			} else if loc := r.header.Get("Location"); loc != ret {
				t.Errorf("sign-up went to %q, want the app's %q", loc, ret)
			}

			_, tok = page(t, b, "/.account/")
			actions := []struct {
				form   url.Values
				status int
			}{
				{url.Values{"action": {"create-pod"}, "pod": {pod + "-2"}}, 303},
				{url.Values{"action": {"link-webid"}, "webid": {"https://elsewhere.example/card#me"}}, 400}, // asks for the proof
				{url.Values{"action": {"create-credential"}, "name": {"c"}, "webid": {testBaseURL + pod + "/profile/card#me"}}, 200},
				{url.Values{"action": {"delete-pod"}, "pod": {pod + "-2"}, "confirm": {pod + "-2"}}, 200},
			}
			for _, a := range actions {
				a.form.Set("csrf", tok)
				want(a.form.Get("action"), sendForm(t, b, "/.account/", a.form, s.hdr), a.status)
			}
			if !s.ok {
				html, _ := page(t, b, "/.account/")
				if strings.Contains(html, pod+"-2/") || strings.Contains(html, "<code>c_") {
					t.Errorf("a refused form changed the account:\n%s", html)
				}
			}
			r = sendForm(t, b, "/.account/", url.Values{"csrf": {tok}, "action": {"logout"}}, s.hdr)
			want("log out", r, 303)
			if s.ok {
				if html, _ := page(t, b, r.header.Get("Location")); !strings.Contains(html, "You are logged out.") {
					t.Errorf("after logout, %s does not say so:\n%s", r.header.Get("Location"), html)
				}
			}

			html, tok := page(t, b, "/.account/login/?return="+url.QueryEscape(ret))
			if !strings.Contains(html, "The app at <strong>https://app.example</strong> sent you here") {
				t.Errorf("the login page does not name the app that sent the person:\n%s", html)
			}
			login := url.Values{"csrf": {tok}, "email": {email}, "password": {"long enough"}, "return": {ret}}
			r = sendForm(t, b, "/.account/login/", login, s.hdr)
			want("log in", r, 303)
			if !s.ok {
				if m := returnField.FindStringSubmatch(r.text); m == nil || strings.ReplaceAll(m[1], "&amp;", "&") != ret {
					t.Errorf("the refused login page lost the return target:\n%s", r.text)
				}
				sendForm(t, b, "/.account/login/", login, nil)
			}

			_, tok = page(t, b, "/.account/")
			del := url.Values{"csrf": {tok}, "action": {"delete-account"}, "confirm": {email}}
			want("delete the account", sendForm(t, b, "/.account/", del, s.hdr), 200)
			if !s.ok {
				// Still there: the JSON API logs in with the password.
				res := call(t, api, "POST", testBaseURL+".account/login/password/", map[string]string{"content-type": "application/json"},
					`{"email":"`+email+`","password":"long enough"}`)
				if res.status != 200 {
					t.Errorf("a refused deletion form deleted the account: %d", res.status)
				}
			}
		})
	}
}
