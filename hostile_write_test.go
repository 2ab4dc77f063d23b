package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/weconomics/kluis/webid/webidtest"
)

// TestHostileWrites is issue 13's findings #7 to #10 against the real
// binary on each backend, two processes sharing the storage, as the pod's
// owner (a logged-in user) tries them: every write must leave a resource that can be read back, named
// and deleted, and the quota must count exactly under parallel writes.
func TestHostileWrites(t *testing.T) {
	for _, b := range hostileBackends() {
		t.Run(b.name, func(t *testing.T) {
			// The storage is chosen here, not by startHostile, so that the
			// kluis command (pod usage) can open it beside the server.
			storeEnv := map[string]string{}
			var extra []string
			benv := b.env(t)
			if b.name == "fs" {
				dir := t.TempDir()
				extra = []string{"-data", dir}
				storeEnv["KLUIS_DATA"] = dir
			} else {
				for _, kv := range append(os.Environ(), benv...) {
					if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "KLUIS_") {
						storeEnv[k] = v
					}
				}
			}
			// Two processes on one storage, as a hoster runs them behind
			// one public URL (the first one's, so that the identity
			// provider both are is reachable); the parallel writers
			// alternate between them.
			env := append(benv, "KLUIS_POD_QUOTA=20MiB")
			c1 := startHostile(t, b, env, extra...)
			public := c1.url
			c2 := startHostile(t, b, env, append(extra, "-base-url", public)...)
			storeEnv["KLUIS_BASE_URL"] = public
			o := newPodOwnerOn(t, public, []string{c1.url, c2.url}, "alice")
			usage := func(recount bool) int64 {
				t.Helper()
				args := []string{"pod", "usage", "alice"}
				if recount {
					args = append(args, "-recount")
				}
				var out, errOut bytes.Buffer
				if err := runCommand(context.Background(), args, func(k string) string { return storeEnv[k] }, nil, &out, &errOut); err != nil {
					t.Fatalf("kluis %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
				}
				m := regexp.MustCompile(`used\s+(-?\d+)`).FindStringSubmatch(out.String())
				if m == nil {
					t.Fatalf("kluis pod usage printed %q", out.String())
				}
				n, _ := strconv.ParseInt(m[1], 10, 64)
				return n
			}

			t.Run("quota race", func(t *testing.T) {
				// Finding #7: a 5 MiB PUT, then 8 parallel 1-byte
				// overwrites of it and 8 parallel PUTs of one new
				// resource, six times, with a 20 MiB quota.
				const writers, rounds = 8, 6
				large := bytes.Repeat([]byte{'L'}, 5<<20)
				for round := range rounds {
					path := fmt.Sprintf("alice/race/%d.bin", round)
					if st, _ := o.do("PUT", path, "application/octet-stream", large); st != 201 {
						t.Fatalf("round %d: PUT of 5 MiB: %d", round, st)
					}
					if round == 0 {
						if st, got := o.get(path, "*/*"); st != 200 || !bytes.Equal(got, large) {
							t.Fatalf("GET of the 5 MiB: %d, %d bytes", st, len(got))
						}
					}
					statuses := make([]int, 2*writers)
					var wg sync.WaitGroup
					for i := range writers {
						wg.Go(func() { statuses[i], _ = o.via(i).do("PUT", path, "application/octet-stream", []byte{'x'}) })
						wg.Go(func() {
							statuses[writers+i], _ = o.via(i+1).do("PUT", path+".new", "application/octet-stream", []byte{'y'})
						})
					}
					wg.Wait()
					created := 0
					for i, st := range statuses {
						switch {
						case st == 201 && i >= writers:
							created++
						case st != 204:
							t.Errorf("round %d, writer %d: %d", round, i, st)
						}
					}
					if created != 1 {
						t.Errorf("round %d: %d of %d parallel PUTs of one new resource answered 201, want 1", round, created, writers)
					}
					if st, got := o.get(path, "*/*"); st != 200 || string(got) != "x" {
						t.Errorf("round %d: GET after the overwrites: %d %.20q", round, st, got)
					}
				}
				counted := usage(false)
				if recounted := usage(true); counted != recounted || counted < 0 {
					t.Errorf("usage counter %d, recount %d", counted, recounted)
				}
				// What the race left: 12 small files and the pod's seed.
				if counted > 1<<20 {
					t.Errorf("the pod holds %d bytes after the race", counted)
				}
			})

			t.Run("oversized PATCH", func(t *testing.T) {
				// Finding #8: a PATCH that would make a Turtle document
				// larger than the 16 MiB read limit is refused, and the
				// document stays readable, as Turtle and as JSON-LD.
				doc := []byte(`<#a> <http://example.org/p> "` + strings.Repeat("a", 15<<20+512<<10) + `".` + "\n")
				if st, body := o.do("PUT", "alice/big.ttl", "text/turtle", doc); st != 201 {
					t.Fatalf("PUT of 15.5 MiB of Turtle: %d %s", st, body)
				}
				// Within the PATCH body limit (1 MiB by default).
				patch := []byte(`INSERT DATA { <#b> <http://example.org/p> "` + strings.Repeat("b", 900<<10) + `". }`)
				stored := c1.objects(t, "r/")
				if st, body := o.do("PATCH", "alice/big.ttl", "application/sparql-update", patch); st != 413 {
					t.Errorf("PATCH past 16 MiB: %d %s, want 413", st, body)
				}
				c1.noObjectsLeft(t, stored)
				small := []byte(`INSERT DATA { <#c> <http://example.org/p> "c". }`)
				if st, body := o.do("PATCH", "alice/big.ttl", "application/sparql-update", small); st != 204 {
					t.Errorf("a small PATCH after the refused one: %d %s", st, body)
				}
				if st, body := o.get("alice/big.ttl", "application/ld+json"); st != 200 || !bytes.Contains(body, []byte(`"c"`)) {
					t.Errorf("GET as JSON-LD: %d, %d bytes", st, len(body))
				}
				if st, _ := o.do("DELETE", "alice/big.ttl", "", nil); st != 204 {
					t.Errorf("DELETE: %d", st)
				}
			})

			t.Run("long name", func(t *testing.T) {
				// Finding #9: a name whose .meta key would pass 255 bytes
				// is refused when it is written; the longest allowed name
				// can be written, described and deleted.
				tooLong := "alice/" + strings.Repeat("n", 251)
				stored := c1.objects(t, "r/")
				if st, body := o.do("PUT", tooLong, "text/plain", []byte("x")); st != 400 || !strings.Contains(string(body), "too long") {
					t.Errorf("PUT of a 251-byte name: %d %s, want 400 saying why", st, body)
				}
				if st, _ := o.get(tooLong, "text/plain"); st != 404 {
					t.Errorf("GET of the refused name: %d, want 404", st)
				}
				// A container's marker key is limited more (MinIO).
				if st, body := o.do("PUT", "alice/"+strings.Repeat("c", 247)+"/x", "text/plain", []byte("x")); st != 400 {
					t.Errorf("PUT below a 247-byte container name: %d %s, want 400", st, body)
				}
				c1.noObjectsLeft(t, stored)
				longest := "alice/" + strings.Repeat("n", 250)
				if st, _ := o.do("PUT", longest, "text/plain", []byte("x")); st != 201 {
					t.Fatalf("PUT of a 250-byte name: %d", st)
				}
				if st, body := o.do("PUT", longest+".meta", "text/turtle", []byte(`<> <http://example.org/p> "d".`)); st != 201 && st != 204 {
					t.Errorf("PUT of its description: %d %s", st, body)
				}
				if st, body := o.do("DELETE", longest, "", nil); st != 204 {
					t.Errorf("DELETE of a 250-byte name: %d %s", st, body)
				}
				if st, _ := o.get(longest+".meta", "text/turtle"); st != 404 {
					t.Errorf("GET of the description after DELETE: %d, want 404", st)
				}
			})

			t.Run("auxiliary of auxiliary", func(t *testing.T) {
				// Finding #10: x.acl.acl (and the like) is refused, so
				// nothing is left behind when x goes.
				if st, _ := o.do("PUT", "alice/x", "text/plain", []byte("x")); st != 201 {
					t.Fatalf("PUT x: %d", st)
				}
				acl := fmt.Sprintf(`@prefix acl: <http://www.w3.org/ns/auth/acl#>.
<#owner> a acl:Authorization; acl:agent <%s>; acl:accessTo <./x>; acl:mode acl:Read, acl:Write, acl:Control.`, o.webID)
				if st, body := o.do("PUT", "alice/x.acl", "text/turtle", []byte(acl)); st != 201 {
					t.Fatalf("PUT x.acl: %d %s", st, body)
				}
				stored := c1.objects(t, "r/")
				for _, p := range []string{"alice/x.acl.acl", "alice/x.acl.meta", "alice/x.meta.acl"} {
					if st, body := o.do("PUT", p, "text/turtle", []byte(`<#a> <#b> <#c>.`)); st != 400 {
						t.Errorf("PUT %s: %d %s, want 400", p, st, body)
					}
					if st, body := o.do("PATCH", p, "application/sparql-update", []byte(`INSERT DATA { <#a> <#b> <#c>. }`)); st != 400 {
						t.Errorf("PATCH %s: %d %s, want 400", p, st, body)
					}
				}
				c1.noObjectsLeft(t, stored)
				if st, _ := o.do("DELETE", "alice/x", "", nil); st != 204 {
					t.Errorf("DELETE x: %d", st)
				}
				for k := range c1.objects(t, "r/") {
					if strings.HasSuffix(k, "/x") || strings.Contains(k, "/x.") {
						t.Errorf("left behind after DELETE x: %s", k)
					}
				}
				if st, _ := o.get("alice/x.acl", "text/turtle"); st != 404 {
					t.Errorf("GET x.acl after DELETE x: %d, want 404", st)
				}
				if counted, recounted := usage(false), usage(true); counted != recounted {
					t.Errorf("usage counter %d, recount %d", counted, recounted)
				}
			})
		})
	}
}

// podOwner is a signed-up user with a pod, sending requests with a
// DPoP-bound access token of the server's own identity provider (client
// credentials, as a script of the owner's gets one).
type podOwner struct {
	t *testing.T
	// public is the server's public base URL, which proofs name; addrs
	// are the processes serving it, and addr the one requests go to.
	public string
	addrs  []string
	addr   string
	webID  string
	token  string
	dpop   *webidtest.Client
}

// via returns the owner sending to process i (modulo their number).
func (o *podOwner) via(i int) *podOwner {
	v := *o
	v.addr = o.addrs[i%len(o.addrs)]
	return &v
}

// local rewrites a URL of the public base to the first process.
func (o *podOwner) local(u string) string {
	if rest, ok := strings.CutPrefix(u, o.public); ok {
		return o.addrs[0] + rest
	}
	return u
}

// newPodOwner signs up on the server at base, makes the pod name and
// client credentials, and gets an access token.
func newPodOwner(t *testing.T, base, name string) *podOwner {
	t.Helper()
	return newPodOwnerOn(t, base, []string{base}, name)
}

// newPodOwnerOn signs up through the account API of the first of addrs,
// the processes serving the public base URL, makes the pod name and
// client credentials, and gets an access token.
func newPodOwnerOn(t *testing.T, public string, addrs []string, name string) *podOwner {
	t.Helper()
	o := &podOwner{t: t, public: public, addrs: addrs, addr: addrs[0], dpop: webidtest.NewClient(t, "ES256")}
	str := func(m map[string]any, keys ...string) string {
		t.Helper()
		var v any = m
		for _, k := range keys {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		s, ok := v.(string)
		if !ok || s == "" {
			t.Fatalf("no %s in %v", strings.Join(keys, "."), m)
		}
		return s
	}
	control := func(m map[string]any, keys ...string) string { return o.local(str(m, keys...)) }
	index := accountAPI(t, "GET", o.local(public+".account/"), "", nil)
	session := str(accountAPI(t, "POST", control(index, "controls", "account", "create"), "", nil), "authorization")
	controls := accountAPI(t, "GET", o.local(public+".account/"), session, nil)
	accountAPI(t, "POST", control(controls, "controls", "password", "create"), session,
		map[string]string{"email": name + "@example.org", "password": "a long enough password"})
	pod := accountAPI(t, "POST", control(controls, "controls", "account", "pod"), session, map[string]string{"name": name})
	o.webID = str(pod, "webId")
	cred := accountAPI(t, "POST", control(controls, "controls", "account", "clientCredentials"), session,
		map[string]string{"name": "hostile", "webId": o.webID})
	tokenURL := public + ".oidc/token"
	req, err := http.NewRequest("POST", o.local(tokenURL), strings.NewReader("grant_type=client_credentials&scope=webid"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
		[]byte(url.QueryEscape(str(cred, "id"))+":"+url.QueryEscape(str(cred, "secret")))))
	req.Header.Set("DPoP", o.dpop.Proof("POST", tokenURL, ""))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok map[string]any
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != 200 {
		t.Fatalf("token endpoint: %d %v %v", res.StatusCode, tok, err)
	}
	o.token = str(tok, "access_token")
	return o
}

// do sends an authenticated request to the path (relative to the base)
// and returns the status and at most 1 KiB of the body.
func (o *podOwner) do(method, path, contentType string, body []byte) (int, []byte) {
	return o.send(method, path, contentType, "", body, 1<<10)
}

// get reads the path whole, as accept asks.
func (o *podOwner) get(path, accept string) (int, []byte) {
	return o.send("GET", path, "", accept, nil, 64<<20)
}

func (o *podOwner) send(method, path, contentType, accept string, body []byte, keep int64) (int, []byte) {
	o.t.Helper()
	u := o.public + path
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, o.addr+path, r)
	if err != nil {
		o.t.Error(err)
		return 0, nil
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("Authorization", "DPoP "+o.token)
	req.Header.Set("DPoP", o.dpop.Proof(method, u, o.token))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, keep))
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, data
}
