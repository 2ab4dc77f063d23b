package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/memory"
)

// originServer is wacServerOn with an origin policy.
func originServer(t *testing.T, store storage.Backend, policy acl.OriginPolicy) *httptest.Server {
	t.Helper()
	return wacServerWith(t, store, func(c *server.Config) { c.OriginPolicy = policy })
}

// sendFrom sends a request as an agent, with an Origin header ("" for
// none).
func sendFrom(t *testing.T, ts *httptest.Server, as who, origin, method, path, ct, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if h := as.header(); h != "" {
		req.Header.Set("Authorization", h)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(data)
}

// TestOriginPermissionTable adds the origin rows to the permission table:
// for each method, Bob holding Read and Write on /c/ and what is in it
// through an authorization that names no origin or names the app's, a
// request from no origin, the app's, another app's or the server's own;
// under the default policy (acl.OriginRestrictNamed) and WAC 1.0's strict
// one. The status follows from the rules as docs/browsers.md states them:
//
//   - without an Origin header, acl:origin is ignored (WAC 1.0 §5.3);
//   - the server's own origin is always trusted;
//   - an authorization that names origins admits only those;
//   - one that names none admits every origin by default, and none but
//     trusted ones under strict.
func TestOriginPermissionTable(t *testing.T) {
	const app, other = "https://app.example", "https://other.example"
	methods := []struct {
		name, verb, path, ct, body string
		ok                         int
	}{
		{"GET", "GET", "/c/t", "", "", 200},
		{"HEAD", "HEAD", "/c/t", "", "", 200},
		{"PUT", "PUT", "/c/t", "text/turtle", "<#s> <#p> <#x>.", 204},
		{"PUT new", "PUT", "/c/new", "text/plain", "new", 201},
		{"POST", "POST", "/c/", "text/plain", "posted", 201},
		{"PATCH", "PATCH", "/c/t", "text/n3", `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#new> <#p> <#o>. }.`, 204},
		{"DELETE", "DELETE", "/c/t", "", "", 204},
	}
	grants := []struct {
		name, turtle string
		origins      []string // the origins the authorization names
	}{
		{"no acl:origin", "", nil},
		{"acl:origin app", "; acl:origin <" + app + ">", []string{app}},
	}
	policies := []struct {
		name   string
		policy acl.OriginPolicy
	}{{"named", acl.OriginRestrictNamed}, {"strict", acl.OriginStrict}}
	for _, pol := range policies {
		for _, g := range grants {
			for _, origin := range []string{"", app, other, "http://pod.example"} {
				for _, m := range methods {
					admitted := origin == "" || origin == "http://pod.example"
					if !admitted && len(g.origins) > 0 {
						admitted = g.origins[0] == origin
					} else if !admitted {
						admitted = pol.policy == acl.OriginRestrictNamed
					}
					want := 403
					if admitted {
						want = m.ok
					}
					name := pol.name + "/" + g.name + "/origin=" + origin + "/" + m.name
					t.Run(name, func(t *testing.T) {
						store := memory.New()
						ctx := context.Background()
						for k, v := range map[string]string{
							"r/.acl": rootACL,
							"r/c/.acl": `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + aliceID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#bob> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write` + g.turtle + `.`,
							"r/c/":  "",
							"r/c/t": "<#s> <#p> <#o>.",
						} {
							if _, err := store.Put(ctx, k, strings.NewReader(v), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
								t.Fatal(err)
							}
						}
						ts := originServer(t, store, pol.policy)
						status, hdr, body := sendFrom(t, ts, who{bobID, "https://app.example/id", "https://idp.example/"}, origin, m.verb, m.path, m.ct, m.body)
						if status != want {
							t.Fatalf("status %d, want %d (%s)", status, want, strings.TrimSpace(body))
						}
						// WAC-Allow is truthful for the request's own origin,
						// on success and on refusal alike.
						wantAllow := `user="read write append"`
						if !admitted {
							wantAllow = `user=""`
						}
						if (m.verb == "GET" || status == 403) && !strings.Contains(hdr.Get("WAC-Allow"), wantAllow) {
							t.Errorf("WAC-Allow %q, want %s", hdr.Get("WAC-Allow"), wantAllow)
						}
						if status == 403 && m.verb != "HEAD" && !strings.Contains(body, "Origin") {
							t.Errorf("the refusal does not say it is for the origin: %s", body)
						}
					})
				}
			}
		}
	}
}

// TestRefusalsAppsCanActOn: 401 and 403 carry the Link headers a 200 has
// that follow from the URL, WAC-Allow, and a short reason that names the
// missing mode and, for 403, whether the app's client or the origin was
// refused.
func TestRefusalsAppsCanActOn(t *testing.T) {
	ts, c := accountServer(t, memory.New(), nil)
	newPod(t, c)
	owner := who{podOwner, "https://app.example/id", testBaseURL}
	// Bob may read /alice/shared/ only through the clinic's app.
	shared := `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <` + podOwner + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#bob> a acl:Authorization; acl:agent <` + bobID + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read;
  acl:condition [ a acl:ClientCondition; acl:client <` + clinicApp + `> ].`
	if s, _, b := sendAs(t, ts.Server, owner, "PUT", "/alice/shared/doc.ttl", "text/turtle", "<#a> <#b> <#c>."); s != 201 {
		t.Fatalf("seed: %d %s", s, b)
	}
	if s, _, b := sendAs(t, ts.Server, owner, "PUT", "/alice/shared/.acl", "text/turtle", shared); s != 201 {
		t.Fatalf("seed ACL: %d %s", s, b)
	}
	for _, tc := range []struct {
		name     string
		as       who
		method   string
		path     string
		status   int
		reason   []string
		links    []string
		notLinks []string
		wacAllow string
	}{
		{"anonymous GET of a private document", who{}, "GET", "/alice/shared/doc.ttl", 401,
			[]string{"authentication required", "read", testBaseURL + "alice/shared/doc.ttl"},
			[]string{`<` + testBaseURL + `alice/shared/doc.ttl.acl>; rel="acl"`, `; rel="http://www.w3.org/ns/solid/terms#storageDescription"`, `<http://www.w3.org/ns/ldp#Resource>; rel="type"`},
			[]string{"RDFSource", "owner"}, `user="",public=""`},
		{"anonymous GET of the pod root", who{}, "GET", "/alice/", 401, []string{"authentication required"},
			[]string{`<http://www.w3.org/ns/pim/space#Storage>; rel="type"`, `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`, `rel="acl"`},
			[]string{"owner"}, ""},
		{"anonymous PUT", who{}, "PUT", "/alice/shared/new.ttl", 401, []string{"authentication required", "write"}, []string{`rel="acl"`}, nil, ""},
		{"bob through another app", who{bobID, otherApp, "https://idp.example/"}, "GET", "/alice/shared/doc.ttl", 403,
			[]string{"forbidden", "read", "you have none", "client_id"}, []string{`rel="acl"`}, nil, `user=""`},
		{"bob through the clinic's app, writing", who{bobID, clinicApp, "https://idp.example/"}, "PUT", "/alice/shared/doc.ttl", 403,
			[]string{"forbidden", "write", "you have read"}, []string{`rel="acl"`}, []string{"client_id"}, `user="read"`},
		{"a stranger", who{"https://stranger.example/#me", clinicApp, "https://idp.example/"}, "DELETE", "/alice/shared/doc.ttl", 403,
			[]string{"forbidden", "write"}, []string{`rel="acl"`}, []string{"client_id", "Origin"}, `user=""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := sendAs(t, ts.Server, tc.as, tc.method, tc.path, "text/turtle", "")
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			for _, w := range tc.reason {
				if !strings.Contains(body, w) {
					t.Errorf("reason %q lacks %q", body, w)
				}
			}
			link := strings.Join(hdr.Values("Link"), ", ")
			for _, w := range tc.links {
				if !strings.Contains(link, w) {
					t.Errorf("Link %q lacks %q", link, w)
				}
			}
			for _, w := range tc.notLinks {
				if strings.Contains(link, w) {
					t.Errorf("Link %q tells %q", link, w)
				}
			}
			if tc.wacAllow != "" && !strings.Contains(hdr.Get("WAC-Allow"), tc.wacAllow) {
				t.Errorf("WAC-Allow %q, want %s", hdr.Get("WAC-Allow"), tc.wacAllow)
			}
			if tc.status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without a challenge")
			}
		})
	}
}

// TestTrustedApps: under the strict origin policy, an app on another
// origin is refused on the owner's own pod until the owner lists it with
// acl:trustedApp in their WebID profile, and then gets the modes listed
// there and no others; the default policy admits it from the start.
func TestTrustedApps(t *testing.T) {
	const app = "https://app.example"
	owner := who{podOwner, app + "/id", testBaseURL}
	for _, policy := range []acl.OriginPolicy{acl.OriginRestrictNamed, acl.OriginStrict} {
		ts, c := accountServer(t, memory.New(), func(c *server.Config) { c.OriginPolicy = policy })
		newPod(t, c)
		if s, _, b := sendAs(t, ts.Server, owner, "PUT", "/alice/notes/a.ttl", "text/turtle", "<#a> <#b> <#c>."); s != 201 {
			t.Fatalf("seed: %d %s", s, b)
		}
		status, hdr, body := sendFrom(t, ts.Server, owner, app, "GET", "/alice/notes/a.ttl", "", "")
		if policy == acl.OriginRestrictNamed {
			if status != 200 || !strings.Contains(hdr.Get("WAC-Allow"), `user="read write append control"`) {
				t.Fatalf("named: the owner's app: %d %q %s", status, hdr.Get("WAC-Allow"), body)
			}
			continue
		}
		if status != 403 || !strings.Contains(body, "Origin") {
			t.Fatalf("strict, untrusted app: %d %s", status, body)
		}
		// The owner trusts the app with Read, from a script (no Origin).
		trust := `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
@prefix acl: <http://www.w3.org/ns/auth/acl#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#me> acl:trustedApp <#app>. <#app> acl:origin <` + app + `>; acl:mode acl:Read }.`
		if s, _, b := sendAs(t, ts.Server, owner, "PATCH", "/alice/profile/card", "text/n3", trust); s != 205 && s != 204 {
			t.Fatalf("trust the app: %d %s", s, b)
		}
		status, hdr, body = sendFrom(t, ts.Server, owner, app, "GET", "/alice/notes/a.ttl", "", "")
		if status != 200 || !strings.Contains(hdr.Get("WAC-Allow"), `user="read"`) {
			t.Errorf("strict, trusted with Read: %d %q %s", status, hdr.Get("WAC-Allow"), body)
		}
		if status, _, body = sendFrom(t, ts.Server, owner, app, "PUT", "/alice/notes/a.ttl", "text/turtle", "<#x> <#y> <#z>."); status != 403 {
			t.Errorf("strict, trusted with Read only, PUT: %d %s", status, body)
		}
		// Another app is still refused, and a stranger gains nothing from
		// the owner's trust.
		if status, _, _ = sendFrom(t, ts.Server, owner, "https://other.example", "GET", "/alice/notes/a.ttl", "", ""); status != 403 {
			t.Errorf("strict, another app: %d", status)
		}
		if status, _, _ = sendFrom(t, ts.Server, who{bobID, app + "/id", "https://idp.example/"}, app, "GET", "/alice/notes/a.ttl", "", ""); status != 403 {
			t.Errorf("strict, a stranger through the trusted app: %d", status)
		}
		// The server's own origin is trusted in both policies.
		if status, _, _ = sendFrom(t, ts.Server, owner, strings.TrimSuffix(testBaseURL, "/"), "PUT", "/alice/notes/a.ttl", "text/turtle", "<#x> <#y> <#z>."); status != 204 {
			t.Errorf("strict, own origin: %d", status)
		}
	}
}
