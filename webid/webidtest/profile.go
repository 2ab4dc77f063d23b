package webidtest

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// ProfileTurtle is a WebID profile document in Turtle that lists issuers
// as the solid:oidcIssuer of webid. The WebID is written relative to the
// document (<#me>) when it has a fragment, so that the document must be
// parsed with its own URL as base.
func ProfileTurtle(webid string, issuers ...string) []byte {
	var b strings.Builder
	b.WriteString("@prefix solid: <http://www.w3.org/ns/solid/terms#> .\n")
	b.WriteString("@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n\n")
	subject := "<" + webid + ">"
	if i := strings.IndexByte(webid, '#'); i >= 0 {
		subject = "<" + webid[i:] + ">"
	}
	b.WriteString(subject + " a foaf:Person")
	for _, iss := range issuers {
		b.WriteString(";\n    solid:oidcIssuer <" + iss + ">")
	}
	b.WriteString(" .\n")
	return []byte(b.String())
}

// ProfileJSONLD is the same profile in JSON-LD, with an inline context.
func ProfileJSONLD(webid string, issuers ...string) []byte {
	iss := make([]map[string]string, len(issuers))
	for i, s := range issuers {
		iss[i] = map[string]string{"@id": s}
	}
	doc := map[string]any{
		"@context":         map[string]any{"solid": "http://www.w3.org/ns/solid/terms#"},
		"@id":              webid,
		"@type":            "http://xmlns.com/foaf/0.1/Person",
		"solid:oidcIssuer": iss,
	}
	b, _ := json.Marshal(doc)
	return b
}

// ProfileOptions describe a served WebID profile.
type ProfileOptions struct {
	// Issuers are the solid:oidcIssuer values.
	Issuers []string
	// MediaType forces text/turtle or application/ld+json; empty means
	// content negotiation by Accept (Turtle unless JSON-LD is preferred).
	MediaType string
	// Header is added to every response (e.g. Cache-Control).
	Header http.Header
}

// Profile is a WebID profile document served at /profile/card of its own
// httptest.Server; the WebID is that URL with #me.
type Profile struct {
	WebID  string
	URL    string
	Server *httptest.Server
	gets   atomic.Int64
}

// NewProfile serves a profile; it stops at the end of the test.
func NewProfile(t testing.TB, o ProfileOptions) *Profile {
	t.Helper()
	p := &Profile{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /profile/card", func(w http.ResponseWriter, r *http.Request) {
		p.gets.Add(1)
		for k, vs := range o.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		mt := o.MediaType
		if mt == "" {
			mt = negotiate(r.Header.Get("Accept"))
		}
		w.Header().Set("Content-Type", mt)
		w.Header().Add("Vary", "Accept")
		if mt == "application/ld+json" {
			w.Write(ProfileJSONLD(p.WebID, o.Issuers...))
			return
		}
		w.Write(ProfileTurtle(p.WebID, o.Issuers...))
	})
	p.Server = httptest.NewServer(mux)
	p.URL = p.Server.URL + "/profile/card"
	p.WebID = p.URL + "#me"
	t.Cleanup(p.Server.Close)
	return p
}

// Fetches is how many times the profile was served.
func (p *Profile) Fetches() int { return int(p.gets.Load()) }

// negotiate picks text/turtle or application/ld+json by the q-values of
// accept; Turtle wins ties and is the default.
func negotiate(accept string) string {
	q := map[string]float64{}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		v := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				v = f
			}
		}
		q[mt] = v
	}
	if t, j := q["text/turtle"], q["application/ld+json"]; j > t {
		return "application/ld+json"
	}
	return "text/turtle"
}
