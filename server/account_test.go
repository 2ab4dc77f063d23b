package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/accounts"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid/account"
	"github.com/weconomics/kluis/webid/webidtest"
)

// fastArgon2 keeps the account tests quick.
func fastArgon2() account.Argon2Params {
	return account.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
}

// accountServer starts a server with pods and accounts over store, Web
// Access Control on, and the test Authenticator; it returns a client that
// reaches it under its public name (testBaseURL), so the absolute URLs of
// the API's controls work as they are.
func accountServer(t *testing.T, store storage.Backend, mutate func(*server.Config)) (*testServer, *http.Client) {
	t.Helper()
	ts := newTestServer(t, store, func(c *server.Config) {
		c.Pods = true
		c.Accounts = &account.Options{Argon2: fastArgon2()}
		c.Authenticator = testAgents{}
		c.Permissions = nil
		if mutate != nil {
			mutate(c)
		}
	})
	return ts, publicClient(ts, false)
}

// publicClient dials the test server whatever host a URL names. With
// follow false, it does not follow redirects.
func publicClient(ts *testServer, follow bool) *http.Client {
	addr := ts.Listener.Addr().String()
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// call is one request of a test: the status, headers and JSON body.
type reply struct {
	status int
	header http.Header
	json   map[string]any
	text   string
}

func call(t *testing.T, c *http.Client, method, u string, hdr map[string]string, body string) reply {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	out := reply{status: res.StatusCode, header: res.Header, text: string(data)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &out.json); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, u, err, data)
		}
	}
	return out
}

// str reads a string at a dotted path of a JSON object.
func str(t *testing.T, m map[string]any, path string) string {
	t.Helper()
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s: no object at %q in %v", path, k, m)
		}
		cur = obj[k]
	}
	s, ok := cur.(string)
	if !ok {
		t.Fatalf("%s: not a string in %v", path, m)
	}
	return s
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestCSSAccountScript runs, step by step, the script the Community Solid
// Server documents for its account API (usage/account/json-api.md and
// usage/client-credentials.md): find the controls, create an account, add
// an e-mail and password login, create a pod, log in, create client
// credentials, list and delete them, log out. Every URL comes from the
// controls, as CSS advises; the JSON fields are CSS's.
func TestCSSAccountScript(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			_, c := accountServer(t, be.open(t), nil)
			const index = testBaseURL + ".account/"
			jsonCT := map[string]string{"content-type": "application/json"}

			// const indexResponse = await fetch('http://localhost:3000/.account/');
			res := call(t, c, "GET", index, nil, "")
			if res.status != 200 {
				t.Fatalf("index: %d %s", res.status, res.text)
			}
			controls := res.json["controls"].(map[string]any)
			if str(t, controls, "main.index") != index || str(t, controls, "main.logins") == "" ||
				str(t, controls, "password.login") == "" || controls["html"] == nil {
				t.Fatalf("controls without a session: %v", controls)
			}

			// Create an account: empty POST; the cookie and authorization.
			res = call(t, c, "POST", str(t, controls, "account.create"), nil, "")
			if res.status != 200 {
				t.Fatalf("account.create: %d %s", res.status, res.text)
			}
			token := str(t, res.json, "authorization")
			cookies := (&http.Response{Header: res.header}).Cookies()
			if len(cookies) != 1 || cookies[0].Name != "css-account" || cookies[0].Value != token || !cookies[0].HttpOnly {
				t.Fatalf("cookies %v, want css-account=%s", cookies, token)
			}
			auth := map[string]string{"authorization": "CSS-Account-Token " + token}

			// The controls grow with the token.
			res = call(t, c, "GET", index, auth, "")
			controls = res.json["controls"].(map[string]any)
			for _, k := range []string{"account.logout", "account.webId", "account.pod", "account.clientCredentials", "password.create", "html.account.account"} {
				if !strings.HasPrefix(str(t, controls, k), testBaseURL+".account/account/") {
					t.Errorf("controls.%s = %q", k, str(t, controls, k))
				}
			}
			// The cookie works too, and gives the same controls.
			withCookie := map[string]string{"cookie": "css-account=" + token}
			if got := call(t, c, "GET", index, withCookie, ""); str(t, got.json, "controls.account.pod") != str(t, controls, "account.pod") {
				t.Fatal("the cookie gives other controls than the header")
			}
			if got := call(t, c, "GET", str(t, controls, "account.pod"), nil, ""); got.status != 401 {
				t.Fatalf("account.pod without a session: %d", got.status)
			}

			// Add the e-mail and password login.
			const email, password = "my-email@example.com", "my-password"
			post := func(u string, hdr map[string]string, v any) reply {
				h := map[string]string{}
				for k, x := range hdr {
					h[k] = x
				}
				for k, x := range jsonCT {
					h[k] = x
				}
				return call(t, c, "POST", u, h, jsonBody(v))
			}
			res = post(str(t, controls, "password.create"), auth, map[string]any{"email": email, "password": password})
			if res.status != 200 || !strings.HasPrefix(str(t, res.json, "resource"), testBaseURL+".account/account/") {
				t.Fatalf("password.create: %d %s", res.status, res.text)
			}
			logins := call(t, c, "GET", str(t, controls, "password.create"), auth, "")
			if logins.json["passwordLogins"].(map[string]any)[email] != str(t, res.json, "resource") {
				t.Fatalf("passwordLogins %v", logins.json)
			}

			// Create a pod.
			res = post(str(t, controls, "account.pod"), auth, map[string]any{"name": "my-pod"})
			if res.status != 200 {
				t.Fatalf("account.pod: %d %s", res.status, res.text)
			}
			pod, webID := str(t, res.json, "pod"), str(t, res.json, "webId")
			if pod != testBaseURL+"my-pod/" || webID != testBaseURL+"my-pod/profile/card#me" ||
				str(t, res.json, "podResource") == "" || str(t, res.json, "webIdResource") == "" {
				t.Fatalf("pod creation answered %v", res.json)
			}
			pods := call(t, c, "GET", str(t, controls, "account.pod"), auth, "")
			if pods.json["pods"].(map[string]any)[pod] != str(t, res.json, "podResource") {
				t.Fatalf("pods %v", pods.json)
			}
			podRes := call(t, c, "GET", str(t, res.json, "podResource"), auth, "")
			if str(t, podRes.json, "baseUrl") != pod || len(podRes.json["owners"].([]any)) != 1 {
				t.Fatalf("pod resource %v", podRes.json)
			}
			links := call(t, c, "GET", str(t, controls, "account.webId"), auth, "")
			if links.json["webIdLinks"].(map[string]any)[webID] != str(t, res.json, "webIdResource") {
				t.Fatalf("webIdLinks %v", links.json)
			}
			// The pod is there, with its profile readable by anyone.
			if got := call(t, c, "GET", strings.TrimSuffix(webID, "#me"), map[string]string{"accept": "text/turtle"}, ""); got.status != 200 ||
				!strings.Contains(got.text, "oidcIssuer") {
				t.Fatalf("profile: %d %s", got.status, got.text)
			}

			// usage/client-credentials.md: log in to the account API...
			res = call(t, c, "GET", index, nil, "")
			controls = res.json["controls"].(map[string]any)
			res = post(str(t, controls, "password.login"), nil, map[string]any{"email": email, "password": password})
			if res.status != 200 {
				t.Fatalf("password.login: %d %s", res.status, res.text)
			}
			authorization := str(t, res.json, "authorization")
			auth = map[string]string{"authorization": "CSS-Account-Token " + authorization}
			// ...request the updated controls...
			res = call(t, c, "GET", index, auth, "")
			controls = res.json["controls"].(map[string]any)
			// ...and generate a token.
			res = post(str(t, controls, "account.clientCredentials"), auth, map[string]any{"name": "my-token", "webId": webID})
			if res.status != 200 {
				t.Fatalf("clientCredentials: %d %s", res.status, res.text)
			}
			id, secret, resource := str(t, res.json, "id"), str(t, res.json, "secret"), str(t, res.json, "resource")
			if !strings.HasPrefix(id, "my-token_") || len(secret) < 32 || resource == "" {
				t.Fatalf("credential %v", res.json)
			}
			list := call(t, c, "GET", str(t, controls, "account.clientCredentials"), auth, "")
			if list.json["clientCredentials"].(map[string]any)[id] != resource {
				t.Fatalf("clientCredentials %v", list.json)
			}
			// "Requesting an Access token": the built-in OpenID provider
			// takes the id and secret (form-encoded, then Basic) with a
			// DPoP proof, as the script of usage/client-credentials.md
			// sends them.
			tokenURL := testBaseURL + ".oidc/token"
			basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
			dpop := webidtest.NewClient(t, "ES256")
			tok := call(t, c, "POST", tokenURL, map[string]string{
				"authorization": "Basic " + basic, "content-type": "application/x-www-form-urlencoded",
				"dpop": dpop.Proof("POST", tokenURL, ""),
			}, "grant_type=client_credentials&scope=webid")
			if tok.status != 200 || tok.json["access_token"] == nil || tok.json["token_type"] != "DPoP" {
				t.Fatalf("token endpoint: %d %s", tok.status, tok.text)
			}
			wrong := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret+"x")))
			if got := call(t, c, "POST", tokenURL, map[string]string{
				"authorization": "Basic " + wrong, "content-type": "application/x-www-form-urlencoded",
				"dpop": dpop.Proof("POST", tokenURL, ""),
			}, "grant_type=client_credentials&scope=webid"); got.status != 401 {
				t.Fatalf("token endpoint with a wrong secret: %d %s", got.status, got.text)
			}
			detail := call(t, c, "GET", resource, auth, "")
			if str(t, detail.json, "webId") != webID || detail.json["secret"] != nil {
				t.Fatalf("credential resource %v", detail.json)
			}
			if got := call(t, c, "DELETE", resource, auth, ""); got.status != 200 {
				t.Fatalf("delete credential: %d %s", got.status, got.text)
			}
			list = call(t, c, "GET", str(t, controls, "account.clientCredentials"), auth, "")
			if n := len(list.json["clientCredentials"].(map[string]any)); n != 0 {
				t.Fatalf("%d credentials after delete", n)
			}
			if got := call(t, c, "POST", tokenURL, map[string]string{
				"authorization": "Basic " + basic, "content-type": "application/x-www-form-urlencoded",
				"dpop": dpop.Proof("POST", tokenURL, ""),
			}, "grant_type=client_credentials&scope=webid"); got.status != 401 {
				t.Fatalf("token endpoint with a deleted credential: %d %s", got.status, got.text)
			}

			// Change the password, log out, and the token is dead.
			pwRes := str(t, post(str(t, controls, "password.create"), auth, map[string]any{"email": "other@example.com", "password": "long enough"}).json, "message")
			if !strings.Contains(pwRes, "password login") {
				t.Errorf("a second password login: %q", pwRes)
			}
			loginRes := call(t, c, "GET", str(t, controls, "password.create"), auth, "").json["passwordLogins"].(map[string]any)[email].(string)
			if got := post(loginRes, auth, map[string]any{"oldPassword": password, "newPassword": "new-password"}); got.status != 200 {
				t.Fatalf("change password: %d %s", got.status, got.text)
			}
			if got := post(str(t, controls, "account.logout"), auth, nil); got.status != 200 {
				t.Fatalf("logout: %d %s", got.status, got.text)
			}
			if got := call(t, c, "GET", str(t, controls, "account.pod"), auth, ""); got.status != 401 {
				t.Fatalf("after logout: %d", got.status)
			}
			if got := post(str(t, controls, "password.login"), nil, map[string]any{"email": email, "password": "new-password"}); got.status != 200 {
				t.Fatalf("login with the new password: %d", got.status)
			}
		})
	}
}

// TestAccountAPIBadInput: every bad request gets a clear 4xx with CSS's
// JSON error shape.
func TestAccountAPIBadInput(t *testing.T) {
	store := backends()[0].open(t)
	ts, c := accountServer(t, store, nil)
	_ = ts
	const index = testBaseURL + ".account/"
	jsonCT := "application/json"
	// Account one: login and pod "taken".
	mk := func(email string) (string, map[string]any) {
		res := call(t, c, "POST", index+"account/", nil, "")
		tok := str(t, res.json, "authorization")
		ctl := call(t, c, "GET", index, map[string]string{"authorization": "CSS-Account-Token " + tok}, "").json["controls"].(map[string]any)
		if email != "" {
			r := call(t, c, "POST", str(t, ctl, "password.create"), map[string]string{"authorization": "CSS-Account-Token " + tok, "content-type": jsonCT},
				jsonBody(map[string]string{"email": email, "password": "long enough"}))
			if r.status != 200 {
				t.Fatalf("setup: %d %s", r.status, r.text)
			}
		}
		return tok, ctl
	}
	tok1, ctl1 := mk("one@example.org")
	tok2, ctl2 := mk("") // no login yet
	r := call(t, c, "POST", str(t, ctl1, "account.pod"), map[string]string{"authorization": "CSS-Account-Token " + tok1, "content-type": jsonCT}, `{"name":"taken"}`)
	if r.status != 200 {
		t.Fatalf("setup pod: %d %s", r.status, r.text)
	}
	a1 := "CSS-Account-Token " + tok1
	a2 := "CSS-Account-Token " + tok2

	tests := []struct {
		name       string
		method     string
		url        string
		auth       string
		ct         string
		origin     string
		body       string
		wantStatus int
		wantMsg    string
	}{
		{"malformed JSON", "POST", index + "login/password/", "", jsonCT, "", `{"email":`, 400, "Invalid JSON"},
		{"JSON array", "POST", index + "login/password/", "", jsonCT, "", `[1,2]`, 400, "Invalid JSON"},
		{"wrong type", "POST", index + "login/password/", "", jsonCT, "", `{"email":5,"password":"x"}`, 400, "Invalid JSON: email"},
		{"two values", "POST", index + "login/password/", "", jsonCT, "", `{} {}`, 400, "Invalid JSON"},
		{"form body", "POST", index + "login/password/", "", "application/x-www-form-urlencoded", "", `email=a`, 415, ""},
		{"no content type", "POST", index + "login/password/", "", "", "", `{"email":"a"}`, 415, ""},
		{"huge body", "POST", index + "login/password/", "", jsonCT, "", `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, 413, ""},
		{"empty login", "POST", index + "login/password/", "", jsonCT, "", `{}`, 400, "required"},
		{"wrong password", "POST", index + "login/password/", "", jsonCT, "", `{"email":"one@example.org","password":"wrong password"}`, 403, "Invalid email/password combination."},
		{"unknown e-mail", "POST", index + "login/password/", "", jsonCT, "", `{"email":"nobody@example.org","password":"long enough"}`, 403, "Invalid email/password combination."},
		{"duplicate e-mail", "POST", str(t, ctl2, "password.create"), a2, jsonCT, "", `{"email":"ONE@example.org","password":"long enough"}`, 400, "There already is a login for this e-mail address."},
		{"weak password", "POST", str(t, ctl2, "password.create"), a2, jsonCT, "", `{"email":"two@example.org","password":"short"}`, 400, "at least 8 characters"},
		{"empty password", "POST", str(t, ctl2, "password.create"), a2, jsonCT, "", `{"email":"two@example.org","password":""}`, 400, "A password is required."},
		{"bad e-mail", "POST", str(t, ctl2, "password.create"), a2, jsonCT, "", `{"email":"two","password":"long enough"}`, 400, "Not a valid e-mail address."},
		{"pod without login", "POST", str(t, ctl2, "account.pod"), a2, jsonCT, "", `{"name":"fresh"}`, 400, "An account needs at least 1 login method."},
		{"pod without name", "POST", str(t, ctl1, "account.pod"), a1, jsonCT, "", `{}`, 400, "name is a required field"},
		{"pod name upper case", "POST", str(t, ctl1, "account.pod"), a1, jsonCT, "", `{"name":"Alice"}`, 400, "Invalid pod name: use lower-case letters"},
		{"pod name reserved", "POST", str(t, ctl1, "account.pod"), a1, jsonCT, "", `{"name":"idp"}`, 400, "Invalid pod name: this name is reserved."},
		{"pod name hyphen", "POST", str(t, ctl1, "account.pod"), a1, jsonCT, "", `{"name":"-x"}`, 400, "Invalid pod name"},
		{"pod name long", "POST", str(t, ctl1, "account.pod"), a1, jsonCT, "", `{"name":"` + strings.Repeat("a", 64) + `"}`, 400, "at most 63"},
		{"pod name path", "POST", str(t, ctl1, "account.pod"), a1, jsonCT, "", `{"name":"../x"}`, 400, "Invalid pod name"},
		{"pod name reused", "POST", str(t, ctl1, "account.pod"), a1, jsonCT, "", `{"name":"taken"}`, 400, "Pod creation failed"},
		{"pod for a bad WebID", "POST", str(t, ctl1, "account.pod"), a1, jsonCT, "", `{"name":"fresh","settings":{"webId":"ftp://x"}}`, 400, "Not an absolute http or https URL."},
		{"no session", "GET", str(t, ctl1, "account.pod"), "", "", "", "", 401, ""},
		{"dead token", "GET", str(t, ctl1, "account.pod"), "CSS-Account-Token " + strings.Repeat("x", 43), "", "", "", 401, ""},
		{"another's account", "GET", str(t, ctl1, "account.pod"), a2, "", "", "", 403, ""},
		{"credential for an unlinked WebID", "POST", str(t, ctl1, "account.clientCredentials"), a1, jsonCT, "", `{"name":"x","webId":"https://elsewhere.example/#me"}`, 400, "WebID does not belong to this account."},
		{"credential without WebID", "POST", str(t, ctl1, "account.clientCredentials"), a1, jsonCT, "", `{"name":"x"}`, 400, "webId is a required field"},
		{"unknown credential", "DELETE", str(t, ctl1, "account.clientCredentials") + "nope_1/", a1, "", "", "", 404, ""},
		{"unknown WebID link", "DELETE", str(t, ctl1, "account.webId") + "0123/", a1, "", "", "", 404, ""},
		{"delete the only login", "DELETE", loginResource(t, c, ctl1, a1), a1, "", "", "", 400, "An account needs at least 1 login method."},
		{"wrong old password", "POST", loginResource(t, c, ctl1, a1), a1, jsonCT, "", `{"oldPassword":"nope nope","newPassword":"long enough 2"}`, 403, ""},
		{"link a bad WebID", "POST", str(t, ctl1, "account.webId"), a1, jsonCT, "", `{"webId":"not a url"}`, 400, ""},
		{"link a linked WebID", "POST", str(t, ctl1, "account.webId"), a1, jsonCT, "", `{"webId":"` + testBaseURL + `taken/profile/card#me"}`, 400, "already registered"},
		{"change pod owners", "POST", str(t, ctl1, "account.pod") + "taken/", a1, jsonCT, "", `{"webId":"https://x.example/#me","visible":true}`, 400, "owners"},
		{"unknown path", "GET", index + "nope/", "", "", "", "", 404, ""},
		{"PUT on the index", "PUT", index, "", "text/turtle", "", "<a> <b> <c>.", 404, ""},
		{"PUT below /.account/", "PUT", index + "x", "", "text/turtle", "", "<a> <b> <c>.", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.auth != "" {
				h["authorization"] = tc.auth
			}
			if tc.ct != "" {
				h["content-type"] = tc.ct
			}
			if tc.origin != "" {
				h["origin"] = tc.origin
			}
			res := call(t, c, tc.method, tc.url, h, tc.body)
			if res.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tc.wantStatus, res.text)
			}
			if res.json == nil {
				t.Fatalf("not JSON: %s", res.text)
			}
			if got, _ := res.json["statusCode"].(float64); int(got) != tc.wantStatus || res.json["name"] == "" {
				t.Fatalf("error body %v", res.json)
			}
			if msg, _ := res.json["message"].(string); !strings.Contains(msg, tc.wantMsg) {
				t.Fatalf("message %q, want it to hold %q", msg, tc.wantMsg)
			}
		})
	}
	// Nothing below /.account/ became a resource.
	for info := range store.List(context.Background(), "r/") {
		if strings.HasPrefix(info.Key, "r/.account") {
			t.Errorf("%s was stored", info.Key)
		}
	}
	// The reused name left the second account as it was.
	if pods := call(t, c, "GET", str(t, ctl2, "account.pod"), map[string]string{"authorization": a2}, "").json["pods"].(map[string]any); len(pods) != 0 {
		t.Errorf("pods %v", pods)
	}
}

func loginResource(t *testing.T, c *http.Client, ctl map[string]any, auth string) string {
	t.Helper()
	for _, v := range call(t, c, "GET", str(t, ctl, "password.create"), map[string]string{"authorization": auth}, "").json["passwordLogins"].(map[string]any) {
		return v.(string)
	}
	t.Fatal("no password login")
	return ""
}

// TestAccountCookieOrigin: a state-changing request with the session
// cookie must come from this origin; the header token may come from
// anywhere (it is no ambient credential).
func TestAccountCookieOrigin(t *testing.T) {
	_, c := accountServer(t, backends()[0].open(t), nil)
	res := call(t, c, "POST", testBaseURL+".account/account/", nil, "")
	tok := str(t, res.json, "authorization")
	ctl := call(t, c, "GET", testBaseURL+".account/", map[string]string{"cookie": "css-account=" + tok}, "").json["controls"].(map[string]any)
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"cookie, other origin", map[string]string{"cookie": "css-account=" + tok, "origin": "https://evil.example"}, 403},
		{"cookie, cross-site fetch", map[string]string{"cookie": "css-account=" + tok, "sec-fetch-site": "same-site"}, 403},
		{"cookie, same origin", map[string]string{"cookie": "css-account=" + tok, "origin": "http://pod.example"}, 200},
		{"cookie, no origin", map[string]string{"cookie": "css-account=" + tok}, 200},
		{"token, other origin", map[string]string{"authorization": "CSS-Account-Token " + tok, "origin": "https://app.example"}, 200},
		{"cookie, sandboxed pod document", map[string]string{"cookie": "css-account=" + tok, "origin": "null"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.hdr["content-type"] = "application/json"
			got := call(t, c, "POST", str(t, ctl, "account.webId"), tc.hdr, `{"webId":"`+testBaseURL+`nopod/profile/card#me"}`)
			// 400 means the request got through to the proof step.
			if tc.want == 200 && got.status != 400 || tc.want != 200 && got.status != tc.want {
				t.Fatalf("status %d: %s", got.status, got.text)
			}
			// Reading the account with the cookie follows the same rule.
			delete(tc.hdr, "content-type")
			read := call(t, c, "GET", str(t, ctl, "account.webId"), tc.hdr, "")
			if tc.want == 200 && read.status != 200 || tc.want != 200 && read.status != tc.want {
				t.Fatalf("GET: status %d: %s", read.status, read.text)
			}
		})
	}
}

// TestAccountRateLimit: failed logins are limited per e-mail address, with
// 429 and Retry-After.
func TestAccountRateLimit(t *testing.T) {
	_, c := accountServer(t, backends()[0].open(t), func(cfg *server.Config) {
		cfg.Accounts.Limits = account.Limits{AccountBurst: 2, AccountEvery: time.Hour}
	})
	body := `{"email":"x@example.org","password":"wrong password"}`
	h := map[string]string{"content-type": "application/json"}
	for i, want := range []int{403, 403, 429, 429} {
		res := call(t, c, "POST", testBaseURL+".account/login/password/", h, body)
		if res.status != want {
			t.Fatalf("attempt %d: %d, want %d", i, res.status, want)
		}
		if want == 429 && (res.header.Get("Retry-After") == "" || res.json["name"] != "TooManyRequestsHttpError") {
			t.Fatalf("429 without Retry-After or name: %v %v", res.header, res.json)
		}
	}
}

// podOwner is the WebID of the pod "alice" on the test server.
const podOwner = testBaseURL + "alice/profile/card#me"

// newPod signs up through the API and makes the pod "alice".
func newPod(t *testing.T, c *http.Client) string {
	t.Helper()
	tok := str(t, call(t, c, "POST", testBaseURL+".account/account/", nil, "").json, "authorization")
	h := map[string]string{"authorization": "CSS-Account-Token " + tok, "content-type": "application/json"}
	ctl := call(t, c, "GET", testBaseURL+".account/", h, "").json["controls"].(map[string]any)
	if r := call(t, c, "POST", str(t, ctl, "password.create"), h, `{"email":"alice@example.org","password":"long enough"}`); r.status != 200 {
		t.Fatal(r.text)
	}
	r := call(t, c, "POST", str(t, ctl, "account.pod"), h, `{"name":"alice","settings":{"name":"Alice"}}`)
	if r.status != 200 || str(t, r.json, "webId") != podOwner {
		t.Fatalf("pod: %d %s", r.status, r.text)
	}
	return tok
}

// TestPodPermissions checks the seeded pod through HTTP with Web Access
// Control: the owner reads and writes everything; a stranger reads the
// profile and the public type index and appends to the inbox, but reads
// neither the inbox nor the settings; the anonymous agent likewise, with
// 401 for 403.
func TestPodPermissions(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			ts, c := accountServer(t, be.open(t), nil)
			newPod(t, c)
			owner := who{podOwner, "https://app.example/id", testBaseURL}
			stranger := who{bobID, "https://app.example/id", "https://idp.other.example/"}
			anon := who{}
			var notification string
			tests := []struct {
				as         who
				method     string
				path       string
				ct, body   string
				wantStatus int
			}{
				{owner, "GET", "/alice/", "", "", 200},
				{owner, "GET", "/alice/.acl", "", "", 200},
				{owner, "GET", "/alice/profile/card", "", "", 200},
				{owner, "GET", "/alice/settings/prefs.ttl", "", "", 200},
				{owner, "GET", "/alice/settings/privateTypeIndex.ttl", "", "", 200},
				{owner, "GET", "/alice/inbox/", "", "", 200},
				{owner, "PUT", "/alice/notes/today.ttl", "text/turtle", "<#a> <#b> <#c>.", 201},
				{owner, "PATCH", "/alice/profile/card", "text/n3", "@prefix solid: <http://www.w3.org/ns/solid/terms#>. _:p a solid:InsertDeletePatch; solid:inserts { <#me> <http://xmlns.com/foaf/0.1/nick> \"al\" }.", 204},
				{stranger, "GET", "/alice/profile/card", "", "", 200},
				{stranger, "GET", "/alice/settings/publicTypeIndex.ttl", "", "", 200},
				{stranger, "POST", "/alice/inbox/", "text/turtle", "<> a <https://www.w3.org/ns/activitystreams#Note>.", 201},
				{stranger, "GET", "/alice/inbox/", "", "", 403},
				{stranger, "GET", "/alice/", "", "", 403},
				{stranger, "GET", "/alice/.acl", "", "", 403},
				{stranger, "GET", "/alice/settings/prefs.ttl", "", "", 403},
				{stranger, "GET", "/alice/settings/privateTypeIndex.ttl", "", "", 403},
				{stranger, "GET", "/alice/notes/today.ttl", "", "", 403},
				{stranger, "PUT", "/alice/profile/card", "text/turtle", "", 403},
				{stranger, "PUT", "/alice/settings/publicTypeIndex.ttl", "text/turtle", "", 403},
				{stranger, "DELETE", "/alice/notes/today.ttl", "", "", 403},
				{anon, "GET", "/alice/profile/card", "", "", 200},
				{anon, "GET", "/alice/settings/publicTypeIndex.ttl", "", "", 200},
				{anon, "POST", "/alice/inbox/", "text/turtle", "<> a <https://www.w3.org/ns/activitystreams#Note>.", 201},
				{anon, "GET", "/alice/inbox/", "", "", 401},
				{anon, "GET", "/alice/settings/prefs.ttl", "", "", 401},
				{anon, "PUT", "/alice/x", "text/plain", "x", 401},
				{owner, "DELETE", "/alice/", "", "", 405},
				{owner, "DELETE", "/alice/.acl", "", "", 405},
			}
			for _, tc := range tests {
				status, hdr, body := sendAs(t, ts.Server, tc.as, tc.method, tc.path, tc.ct, tc.body)
				if status != tc.wantStatus {
					t.Errorf("%s %s as %q: %d, want %d: %s", tc.method, tc.path, tc.as.webid, status, tc.wantStatus, body)
				}
				if tc.method == "POST" && status == 201 && notification == "" {
					notification = strings.TrimPrefix(hdr.Get("Location"), strings.TrimSuffix(testBaseURL, "/"))
				}
			}
			if notification == "" {
				t.Fatal("no notification was posted")
			}
			if status, _, _ := sendAs(t, ts.Server, owner, "GET", notification, "", ""); status != 200 {
				t.Errorf("the owner reads a notification: %d", status)
			}
			if status, _, _ := sendAs(t, ts.Server, stranger, "GET", notification, "", ""); status != 403 {
				t.Errorf("a stranger reads a notification: %d", status)
			}
		})
	}
}

// TestPodStorageLinks: the pod root is a storage with an owner; the
// server root is not, when it holds pods (Solid Protocol §4.1).
func TestPodStorageLinks(t *testing.T) {
	publicRoot := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#public> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo </>; acl:mode acl:Read.
<#admin> a acl:Authorization; acl:agent <https://admin.example/#me>; acl:accessTo </>; acl:mode acl:Control.
`
	ts, c := accountServer(t, backends()[0].open(t), func(cfg *server.Config) { cfg.RootACL = []byte(publicRoot) })
	newPod(t, c)
	owner := who{podOwner, "https://app.example/id", testBaseURL}
	for _, method := range []string{"GET", "HEAD"} {
		status, hdr, _ := sendAs(t, ts.Server, owner, method, "/alice/", "", "")
		links := strings.Join(hdr.Values("Link"), ", ")
		for _, want := range []string{
			`<http://www.w3.org/ns/pim/space#Storage>; rel="type"`,
			`<` + podOwner + `>; rel="http://www.w3.org/ns/solid/terms#owner"`,
			`<` + testBaseURL + `alice/.well-known/solid>; rel="http://www.w3.org/ns/solid/terms#storageDescription"`,
		} {
			if status != 200 || !strings.Contains(links, want) {
				t.Errorf("%s /alice/: %d, Link %s lacks %s", method, status, links, want)
			}
		}
	}
	_, hdr, _ := sendAs(t, ts.Server, owner, "GET", "/alice/profile/card", "", "")
	if l := strings.Join(hdr.Values("Link"), ", "); strings.Contains(l, "Storage>") || strings.Contains(l, "#owner") ||
		!strings.Contains(l, "alice/.well-known/solid>") {
		t.Errorf("a resource in the pod: Link %s", l)
	}
	status, _, body := sendAs(t, ts.Server, owner, "GET", "/alice/.well-known/solid", "", "")
	if status != 200 || !strings.Contains(body, "Storage") || !strings.Contains(body, "/alice/") {
		t.Errorf("storage description: %d %s", status, body)
	}
	status, hdr, body = sendAs(t, ts.Server, who{}, "GET", "/", "", "")
	if l := strings.Join(hdr.Values("Link"), ", "); status != 200 || strings.Contains(l, "Storage>") || strings.Contains(l, "storageDescription") {
		t.Errorf("root: %d, Link %s", status, l)
	}
	if strings.Contains(body, "pim/space#Storage") {
		t.Errorf("the root says it is a storage:\n%s", body)
	}
	// Browsers see a welcome page with the way to sign up.
	res := call(t, c, "GET", testBaseURL, map[string]string{"accept": "text/html"}, "")
	if res.status != 200 || !strings.Contains(res.text, `href="/.account/signup/"`) {
		t.Errorf("welcome: %d %s", res.status, res.text)
	}
}

// formClient is a browser: cookies, no redirects followed.
func formClient(t *testing.T, ts *testServer) *http.Client {
	c := publicClient(ts, false)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Jar = jar
	return c
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page GETs an HTML page and returns it with its CSRF token.
func page(t *testing.T, c *http.Client, path string) (string, string) {
	t.Helper()
	res := call(t, c, "GET", testBaseURL+strings.TrimPrefix(path, "/"), map[string]string{"accept": "text/html"}, "")
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s", path, res.status, res.text)
	}
	if res.header.Get("Content-Security-Policy") == "" || res.header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("GET %s: headers %v", path, res.header)
	}
	m := csrfField.FindStringSubmatch(res.text)
	if m == nil {
		t.Fatalf("GET %s: no CSRF field", path)
	}
	return res.text, m[1]
}

func postForm(t *testing.T, c *http.Client, path string, form url.Values, origin string) reply {
	t.Helper()
	h := map[string]string{"content-type": "application/x-www-form-urlencoded", "accept": "text/html"}
	if origin != "" {
		h["origin"] = origin
	}
	return call(t, c, "POST", testBaseURL+strings.TrimPrefix(path, "/"), h, form.Encode())
}

// TestAccountPages: sign up with a pod, see the account page, make and
// delete a client credential, log out and in, through the HTML forms;
// forms without the right CSRF token or from another origin are refused.
func TestAccountPages(t *testing.T) {
	ts, _ := accountServer(t, backends()[0].open(t), nil)
	b := formClient(t, ts)

	html, tok := page(t, b, "/.account/signup/")
	for _, want := range []string{`<label for="email">`, `<label for="password">`, `<button type="submit">Sign up</button>`, `autocomplete="new-password"`} {
		if !strings.Contains(html, want) {
			t.Errorf("sign-up page lacks %s", want)
		}
	}
	signup := url.Values{"email": {"carol@example.org"}, "password": {"long enough"}, "password2": {"long enough"}, "pod": {"carol"}, "name": {"Carol"}}

	// CSRF: no token, a wrong one, another origin.
	for _, tc := range []struct {
		name   string
		csrf   string
		origin string
	}{{"no token", "", ""}, {"wrong token", tok + "x", ""}, {"other origin", tok, "https://evil.example"}, {"null origin", tok, "null"}} {
		f := url.Values{}
		for k, v := range signup {
			f[k] = v
		}
		if tc.csrf != "" {
			f.Set("csrf", tc.csrf)
		}
		res := postForm(t, b, "/.account/signup/", f, tc.origin)
		if res.status != 403 || !strings.Contains(res.text, "another site") {
			t.Errorf("%s: %d %s", tc.name, res.status, res.text)
		}
	}
	if res := postForm(t, b, "/.account/signup/", url.Values{"csrf": {tok}, "email": {strings.Repeat("a", 70<<10)}}, ""); res.status != 413 {
		t.Errorf("huge form: %d", res.status)
	}
	// A browser without the CSRF cookie (another site's form) is refused.
	fresh := formClient(t, ts)
	f := url.Values{"csrf": {tok}}
	for k, v := range signup {
		f[k] = v
	}
	if res := postForm(t, fresh, "/.account/signup/", f, ""); res.status != 403 {
		t.Errorf("token without its cookie: %d", res.status)
	}
	// Mismatched passwords and bad pod names say so, keeping the input.
	bad := url.Values{"csrf": {tok}, "email": {"carol@example.org"}, "password": {"long enough"}, "password2": {"long enougH"}}
	if res := postForm(t, b, "/.account/signup/", bad, ""); res.status != 400 || !strings.Contains(res.text, "differ") || !strings.Contains(res.text, "carol@example.org") || !strings.Contains(res.text, `role="alert"`) {
		t.Errorf("mismatched passwords: %d %s", res.status, res.text)
	}
	bad.Set("password2", "long enough")
	bad.Set("pod", "Carol!")
	if res := postForm(t, b, "/.account/signup/", bad, ""); res.status != 400 || !strings.Contains(res.text, "Invalid pod name") {
		t.Errorf("bad pod name: %d %s", res.status, res.text)
	}

	// Sign up.
	f.Set("csrf", tok)
	res := postForm(t, b, "/.account/signup/", f, testBaseURL[:len(testBaseURL)-1])
	if res.status != 303 || res.header.Get("Location") != "/.account/" {
		t.Fatalf("sign-up: %d %v %s", res.status, res.header, res.text)
	}
	html, tok = page(t, b, "/.account/")
	for _, want := range []string{"carol@example.org", testBaseURL + "carol/", testBaseURL + "carol/profile/card#me", "Create client credential", " KiB used)"} {
		if !strings.Contains(html, want) {
			t.Errorf("account page lacks %s", want)
		}
	}
	// The server root's welcome page knows her, and links her pod (which
	// opens in the data browser) and her account.
	if res := call(t, b, "GET", testBaseURL, map[string]string{"accept": "text/html"}, ""); res.status != 200 ||
		!strings.Contains(res.text, "Logged in as carol@example.org") || !strings.Contains(res.text, `<a href="`+testBaseURL+`carol/">`) ||
		!strings.Contains(res.text, "data browser") || !strings.Contains(res.text, `<a href="/.account/">Your account</a>`) ||
		res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("welcome page when logged in: %d %v %s", res.status, res.header, res.text)
	}
	// A client credential: the secret is shown once.
	res = postForm(t, b, "/.account/", url.Values{"csrf": {tok}, "action": {"create-credential"}, "name": {"backup"}, "webid": {testBaseURL + "carol/profile/card#me"}}, "")
	if res.status != 200 || !strings.Contains(res.text, "backup_") || !strings.Contains(res.text, "not shown again") {
		t.Fatalf("create credential: %d %s", res.status, res.text)
	}
	credID := regexp.MustCompile(`<code>(backup_[^<]+)</code>`).FindStringSubmatch(res.text)[1]
	html, _ = page(t, b, "/.account/")
	if !strings.Contains(html, credID) || strings.Contains(html, "not shown again") {
		t.Fatal("the account page does not list the credential, or shows its secret again")
	}
	// The pre-login token does not work after login.
	if res := postForm(t, b, "/.account/", url.Values{"csrf": {"x"}, "action": {"delete-credential"}, "id": {credID}}, ""); res.status != 403 {
		t.Errorf("delete with a wrong token: %d", res.status)
	}
	if res := postForm(t, b, "/.account/", url.Values{"csrf": {tok}, "action": {"delete-credential"}, "id": {credID}}, ""); res.status != 303 {
		t.Errorf("delete: %d %s", res.status, res.text)
	}
	if html, _ = page(t, b, "/.account/"); strings.Contains(html, credID) {
		t.Error("deleted credential still listed")
	}
	// A second pod, and a taken name.
	if res := postForm(t, b, "/.account/", url.Values{"csrf": {tok}, "action": {"create-pod"}, "pod": {"carol-work"}}, ""); res.status != 303 {
		t.Errorf("create pod: %d %s", res.status, res.text)
	}
	if res := postForm(t, b, "/.account/", url.Values{"csrf": {tok}, "action": {"create-pod"}, "pod": {"carol"}}, ""); res.status != 400 || !strings.Contains(res.text, "Pod creation failed") {
		t.Errorf("taken pod name: %d %s", res.status, res.text)
	}
	// A WebID elsewhere needs a proof.
	if res := postForm(t, b, "/.account/", url.Values{"csrf": {tok}, "action": {"link-webid"}, "webid": {"https://elsewhere.example/card#me"}}, ""); res.status != 400 || !strings.Contains(res.text, "oidcIssuerRegistrationToken") {
		t.Errorf("link: %d %s", res.status, res.text)
	}

	// Log out, then log in again through the login page.
	if res := postForm(t, b, "/.account/", url.Values{"csrf": {tok}, "action": {"logout"}}, ""); res.status != 303 {
		t.Fatalf("logout: %d", res.status)
	}
	if res := call(t, b, "GET", testBaseURL+".account/", map[string]string{"accept": "text/html"}, ""); res.status != 303 || !strings.HasPrefix(res.header.Get("Location"), "/.account/login") {
		t.Fatalf("account page after logout: %d %v", res.status, res.header)
	}
	if res := call(t, b, "GET", testBaseURL, map[string]string{"accept": "text/html"}, ""); res.status != 200 ||
		strings.Contains(res.text, "Logged in") || strings.Contains(res.text, "carol/") || !strings.Contains(res.text, `href="/.account/signup/"`) {
		t.Errorf("welcome page after logout: %d %s", res.status, res.text)
	}
	_, tok = page(t, b, "/.account/login/")
	wrong := url.Values{"csrf": {tok}, "email": {"carol@example.org"}, "password": {"wrong password"}}
	if res := postForm(t, b, "/.account/login/", wrong, ""); res.status != 403 || !strings.Contains(res.text, "Invalid email/password combination.") {
		t.Errorf("wrong password: %d %s", res.status, res.text)
	}
	good := url.Values{"csrf": {tok}, "email": {"carol@example.org"}, "password": {"long enough"}}
	if res := postForm(t, b, "/.account/login/", good, ""); res.status != 303 || res.header.Get("Location") != "/.account/" {
		t.Fatalf("login: %d %v", res.status, res.header)
	}
}

// TestLoginReturn: the login page sends the browser back to the OpenID
// provider's authorization request, and never to another origin.
func TestLoginReturn(t *testing.T) {
	ts, c := accountServer(t, backends()[0].open(t), nil)
	if r := call(t, c, "POST", testBaseURL+".account/login/password/", map[string]string{"content-type": "application/json"}, `{}`); r.status != 400 {
		t.Fatal(r.text)
	}
	b := formClient(t, ts)
	_, tok := page(t, b, "/.account/signup/")
	if r := postForm(t, b, "/.account/signup/", url.Values{"csrf": {tok}, "email": {"dan@example.org"}, "password": {"long enough"}, "password2": {"long enough"}}, ""); r.status != 303 {
		t.Fatal(r.text)
	}
	tests := []struct {
		ret, want string
	}{
		{"/.oidc/auth?client_id=https%3A%2F%2Fapp.example%2Fid&state=x", "/.oidc/auth?client_id=https%3A%2F%2Fapp.example%2Fid&state=x"},
		{testBaseURL + ".oidc/auth?x=1", "/.oidc/auth?x=1"},
		{"https://evil.example/steal", "/.account/"},
		{"//evil.example/steal", "/.account/"},
		{"/\\evil.example", "/.account/"},
		{"javascript:alert(1)", "/.account/"},
		{"http://pod.example@evil.example/", "/.account/"},
		{"https://pod.example/", "/.account/"}, // other scheme, other origin
		{"relative/path", "/.account/"},
		{"", "/.account/"},
	}
	for _, tc := range tests {
		// The return URL passes from the query to the form to the redirect.
		html, tok := page(t, b, "/.account/login?"+url.Values{"return": {tc.ret}}.Encode())
		m := regexp.MustCompile(`name="return" value="([^"]*)"`).FindStringSubmatch(html)
		if m == nil {
			t.Fatal("no return field")
		}
		ret := strings.ReplaceAll(m[1], "&amp;", "&")
		res := postForm(t, b, "/.account/login", url.Values{"csrf": {tok}, "email": {"dan@example.org"}, "password": {"long enough"}, "return": {ret}}, "")
		if res.status != 303 || res.header.Get("Location") != tc.want {
			t.Errorf("return %q: %d to %q, want %q", tc.ret, res.status, res.header.Get("Location"), tc.want)
		}
		// Even a forged form field cannot send it elsewhere.
		res = postForm(t, b, "/.account/login", url.Values{"csrf": {tok}, "email": {"dan@example.org"}, "password": {"long enough"}, "return": {tc.ret}}, "")
		if res.status != 303 || res.header.Get("Location") != tc.want {
			t.Errorf("forged return %q: %d to %q", tc.ret, res.status, res.header.Get("Location"))
		}
	}
	// The session cookie is what the provider reads.
	u, _ := url.Parse(testBaseURL)
	var found bool
	for _, ck := range b.Jar.Cookies(u) {
		found = found || ck.Name == accounts.DefaultSessionCookie && ck.Value != ""
	}
	if !found {
		t.Fatal("no session cookie after login")
	}
}

// TestLoginForOpenIDProvider: an app's authorization request without a
// session goes to the login page, which logs the browser in and sends it
// back, and the provider then knows the account (its consent page names
// the account's WebID).
func TestLoginForOpenIDProvider(t *testing.T) {
	ts, c := accountServer(t, backends()[0].open(t), nil)
	newPod(t, c)
	b := formClient(t, ts)
	reg := call(t, b, "POST", testBaseURL+".oidc/reg", map[string]string{"content-type": "application/json"},
		`{"redirect_uris":["http://localhost:8080/cb"],"token_endpoint_auth_method":"none","client_name":"An app"}`)
	if reg.status != 201 {
		t.Fatalf("registration: %d %s", reg.status, reg.text)
	}
	sum := sha256.Sum256([]byte("a-verifier-that-is-long-enough-for-pkce-0123456789"))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	auth := testBaseURL + ".oidc/auth?" + url.Values{
		"client_id": {str(t, reg.json, "client_id")}, "redirect_uri": {"http://localhost:8080/cb"}, "response_type": {"code"},
		"scope": {"openid webid"}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}.Encode()
	res := call(t, b, "GET", auth, map[string]string{"accept": "text/html"}, "")
	loc := res.header.Get("Location")
	if res.status != 302 || !strings.HasPrefix(loc, "/.account/login?return=") {
		t.Fatalf("authorize without a session: %d %q", res.status, loc)
	}
	_, tok := page(t, b, loc)
	html, _ := page(t, b, loc)
	ret := strings.ReplaceAll(regexp.MustCompile(`name="return" value="([^"]*)"`).FindStringSubmatch(html)[1], "&amp;", "&")
	res = postForm(t, b, "/.account/login/", url.Values{"csrf": {tok}, "email": {"alice@example.org"}, "password": {"long enough"}, "return": {ret}}, "")
	back := res.header.Get("Location")
	if res.status != 303 || !strings.HasPrefix(back, "/.oidc/auth?") {
		t.Fatalf("login: %d %q", res.status, back)
	}
	res = call(t, b, "GET", testBaseURL+strings.TrimPrefix(back, "/"), map[string]string{"accept": "text/html"}, "")
	if res.status != 200 || !strings.Contains(res.text, podOwner) || !strings.Contains(res.text, "An app") {
		t.Fatalf("consent page: %d %s", res.status, res.text)
	}
}
