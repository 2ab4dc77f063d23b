package server_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
)

// objectsUnder lists the objects below prefix, level markers included.
func objectsUnder(t *testing.T, b storage.Backend, prefix string) []string {
	t.Helper()
	var out []string
	if _, err := b.Stat(context.Background(), prefix); err == nil {
		out = append(out, prefix)
	} else if !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	for info, err := range b.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		if info.IsPrefix {
			out = append(out, objectsUnder(t, b, info.Key)...)
		} else {
			out = append(out, info.Key)
		}
	}
	return out
}

func stored(t *testing.T, b storage.Backend, key string) bool {
	t.Helper()
	_, err := b.Stat(context.Background(), key)
	return err == nil
}

// TestDeletePodAndAccountAPI: a pod is deleted through its pod resource
// with {"confirm": name}; every object goes, the name is free again;
// wrong or missing confirmations and other accounts delete nothing;
// deleting the account removes its pods, login and client credentials.
func TestDeletePodAndAccountAPI(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			store := be.open(t)
			// Everyone may read what no pod's ACL governs, so that a
			// deleted pod's URLs can answer 404 rather than 403.
			publicRoot := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#public> a acl:Authorization; acl:agentClass <http://xmlns.com/foaf/0.1/Agent>; acl:accessTo </>; acl:default </>; acl:mode acl:Read.
<#admin> a acl:Authorization; acl:agent <https://admin.example/#me>; acl:accessTo </>; acl:mode acl:Control.
`
			ts, c := accountServer(t, store, func(cfg *server.Config) { cfg.RootACL = []byte(publicRoot) })
			owner := who{podOwner, "https://app.example/id", testBaseURL}
			tok := newPod(t, c) // alice@example.org, pod alice
			auth := map[string]string{"authorization": "CSS-Account-Token " + tok, "content-type": "application/json"}
			ctl := call(t, c, "GET", testBaseURL+".account/", auth, "").json["controls"].(map[string]any)
			podRes := ""
			for _, v := range call(t, c, "GET", str(t, ctl, "account.pod"), auth, "").json["pods"].(map[string]any) {
				podRes = v.(string)
			}
			// Something of the owner's, deeper down.
			if status, _, body := sendAs(t, ts.Server, owner, "PUT", "/alice/notes/2026/a.txt", "text/plain", "hello"); status >= 300 {
				t.Fatalf("PUT: %d %s", status, body)
			}
			if len(objectsUnder(t, store, "r/alice/notes/")) < 2 {
				t.Fatal("the note was not stored")
			}
			cred := call(t, c, "POST", str(t, ctl, "account.clientCredentials"), auth, `{"name":"k","webId":"`+podOwner+`"}`)
			if cred.status != 200 {
				t.Fatal(cred.text)
			}

			// Another account cannot delete it.
			otherTok := str(t, call(t, c, "POST", testBaseURL+".account/account/", nil, "").json, "authorization")
			other := map[string]string{"authorization": "CSS-Account-Token " + otherTok, "content-type": "application/json"}
			if r := call(t, c, "DELETE", podRes, other, `{"confirm":"alice"}`); r.status != 403 {
				t.Errorf("another account: %d %s", r.status, r.text)
			}
			// Without a session, with a missing or wrong confirmation, or a
			// body that is not JSON: nothing is deleted.
			for _, tc := range []struct {
				name string
				hdr  map[string]string
				body string
				want int
			}{
				{"no session", map[string]string{"content-type": "application/json"}, `{"confirm":"alice"}`, 401},
				{"no body", auth, "", 400},
				{"no confirm", auth, `{}`, 400},
				{"wrong confirm", auth, `{"confirm":"Alice"}`, 400},
				{"form body", map[string]string{"authorization": auth["authorization"], "content-type": "application/x-www-form-urlencoded"}, "confirm=alice", 415},
				{"cookie from another origin", map[string]string{"cookie": "css-account=" + tok, "origin": "https://evil.example", "content-type": "application/json"}, `{"confirm":"alice"}`, 403},
			} {
				r := call(t, c, "DELETE", podRes, tc.hdr, tc.body)
				if r.status != tc.want {
					t.Errorf("%s: %d, want %d: %s", tc.name, r.status, tc.want, r.text)
				}
				if tc.want == 400 && (r.json["name"] != "BadRequestHttpError" || !strings.Contains(r.json["message"].(string), "confirm")) {
					t.Errorf("%s: %v", tc.name, r.json)
				}
			}
			if !stored(t, store, "sys/pods/alice") || len(objectsUnder(t, store, "r/alice/notes/")) < 2 {
				t.Fatal("a refused deletion deleted something")
			}

			if r := call(t, c, "DELETE", podRes, auth, `{"confirm":"alice"}`); r.status != 200 {
				t.Fatalf("delete pod: %d %s", r.status, r.text)
			}
			if left := objectsUnder(t, store, "r/alice/"); len(left) != 0 {
				t.Errorf("left under r/alice/: %v", left)
			}
			for _, k := range []string{"sys/pods/alice", "sys/usage/alice"} {
				if stored(t, store, k) {
					t.Errorf("%s is left", k)
				}
			}
			for _, p := range []string{"/alice/", "/alice/profile/card", "/alice/notes/2026/a.txt"} {
				if status, _, _ := sendAs(t, ts.Server, owner, "GET", p, "", ""); status != 404 {
					t.Errorf("GET %s after delete: %d", p, status)
				}
			}
			if pods := call(t, c, "GET", str(t, ctl, "account.pod"), auth, "").json["pods"].(map[string]any); len(pods) != 0 {
				t.Errorf("the account still lists %v", pods)
			}
			if r := call(t, c, "GET", podRes, auth, ""); r.status != 404 {
				t.Errorf("pod resource after delete: %d", r.status)
			}
			if r := call(t, c, "GET", str(t, cred.json, "resource"), auth, ""); r.status != 404 {
				t.Errorf("the pod WebID's credential after delete: %d", r.status)
			}

			// The name can be taken again, by the other account, empty.
			if r := call(t, c, "POST", str(t, ctl, "account.pod"), auth, `{"name":"alice"}`); r.status != 200 {
				t.Fatalf("recreate: %d %s", r.status, r.text)
			}
			if status, _, _ := sendAs(t, ts.Server, owner, "GET", "/alice/notes/2026/a.txt", "", ""); status != 404 {
				t.Errorf("old data in the new pod: %d", status)
			}
			if left := objectsUnder(t, store, "r/alice/notes/"); len(left) != 0 {
				t.Errorf("old objects in the new pod: %v", left)
			}

			// Account deletion: wrong confirmation first.
			ctl = call(t, c, "GET", testBaseURL+".account/", auth, "").json["controls"].(map[string]any)
			del := str(t, ctl, "account.delete")
			if r := call(t, c, "DELETE", del, auth, `{"confirm":"bob@example.org"}`); r.status != 400 {
				t.Errorf("wrong e-mail: %d %s", r.status, r.text)
			}
			if r := call(t, c, "DELETE", del, other, `{"confirm":"alice@example.org"}`); r.status != 403 {
				t.Errorf("another account deletes: %d", r.status)
			}
			cred = call(t, c, "POST", str(t, ctl, "account.clientCredentials"), auth, `{"name":"k2","webId":"`+podOwner+`"}`)
			if r := call(t, c, "DELETE", del, auth, `{"confirm":"Alice@Example.org"}`); r.status != 200 {
				t.Fatalf("delete account: %d %s", r.status, r.text)
			}
			if left := objectsUnder(t, store, "r/alice/"); len(left) != 0 || stored(t, store, "sys/pods/alice") {
				t.Errorf("the account's pod is left: %v", left)
			}
			if r := call(t, c, "GET", str(t, ctl, "account.pod"), auth, ""); r.status != 401 {
				t.Errorf("the session after account deletion: %d", r.status)
			}
			if r := call(t, c, "POST", testBaseURL+".account/login/password/", map[string]string{"content-type": "application/json"},
				`{"email":"alice@example.org","password":"long enough"}`); r.status != 403 {
				t.Errorf("login after account deletion: %d", r.status)
			}
			tokenURL := testBaseURL + ".oidc/token"
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {str(t, cred.json, "id")}, "client_secret": {str(t, cred.json, "secret")}}
			if r := call(t, c, "POST", tokenURL, map[string]string{"content-type": "application/x-www-form-urlencoded"}, form.Encode()); r.status < 400 {
				t.Errorf("client credentials after account deletion: %d", r.status)
			}
			if left := objectsUnder(t, store, "sys/accounts/credential/"); len(left) != 0 {
				t.Errorf("credentials left: %v", left)
			}
			// The other account still works.
			if r := call(t, c, "GET", testBaseURL+".account/", other, ""); r.json["controls"].(map[string]any)["account"].(map[string]any)["delete"] == nil {
				t.Error("the other account lost its session")
			}
		})
	}
}

// TestDeletePages: the account page's "Delete this pod" and "Delete my
// account" forms need the CSRF token and the typed name or address.
func TestDeletePages(t *testing.T) {
	store := backends()[0].open(t)
	ts, _ := accountServer(t, store, nil)
	b := formClient(t, ts)
	_, tok := page(t, b, "/.account/signup/")
	if r := postForm(t, b, "/.account/signup/", url.Values{"csrf": {tok}, "email": {"erin@example.org"}, "password": {"long enough"}, "password2": {"long enough"}, "pod": {"erin"}}, ""); r.status != 303 {
		t.Fatal(r.text)
	}
	html, tok := page(t, b, "/.account/")
	for _, want := range []string{"Delete this pod", `value="delete-pod"`, "Delete my account", `value="delete-account"`} {
		if !strings.Contains(html, want) {
			t.Errorf("account page lacks %s", want)
		}
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
		want   int
	}{
		{"no token", url.Values{"action": {"delete-pod"}, "pod": {"erin"}, "confirm": {"erin"}}, "", 403},
		{"other origin", url.Values{"csrf": {tok}, "action": {"delete-pod"}, "pod": {"erin"}, "confirm": {"erin"}}, "https://evil.example", 403},
		{"wrong name", url.Values{"csrf": {tok}, "action": {"delete-pod"}, "pod": {"erin"}, "confirm": {"eri"}}, "", 400},
		{"not hers", url.Values{"csrf": {tok}, "action": {"delete-pod"}, "pod": {"other"}, "confirm": {"other"}}, "", 404},
		{"wrong address", url.Values{"csrf": {tok}, "action": {"delete-account"}, "confirm": {"erin@example.com"}}, "", 400},
	} {
		if r := postForm(t, b, "/.account/", tc.form, tc.origin); r.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, r.status, tc.want)
		}
	}
	if !stored(t, store, "sys/pods/erin") {
		t.Fatal("a refused form deleted the pod")
	}
	r := postForm(t, b, "/.account/", url.Values{"csrf": {tok}, "action": {"delete-pod"}, "pod": {"erin"}, "confirm": {"erin"}}, "")
	if r.status != 200 || !strings.Contains(r.text, "were deleted") || strings.Contains(r.text, testBaseURL+"erin/") {
		t.Fatalf("delete pod: %d %s", r.status, r.text)
	}
	if stored(t, store, "sys/pods/erin") || len(objectsUnder(t, store, "r/erin/")) != 0 {
		t.Fatal("the pod is left")
	}
	r = postForm(t, b, "/.account/", url.Values{"csrf": {tok}, "action": {"delete-account"}, "confirm": {"erin@example.org"}}, "")
	if r.status != 200 || !strings.Contains(r.text, "Your account, its pods and everything in them were deleted") {
		t.Fatalf("delete account: %d %s", r.status, r.text)
	}
	if left := objectsUnder(t, store, "sys/accounts/account/"); len(left) != 0 {
		t.Errorf("accounts left: %v", left)
	}
	if res := call(t, b, "GET", testBaseURL+".account/", map[string]string{"accept": "text/html"}, ""); res.status != 303 {
		t.Errorf("account page after deletion: %d", res.status)
	}
}
