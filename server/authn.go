package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/webid"
	"github.com/weconomics/kluis/webid/account"
	"github.com/weconomics/kluis/webid/fetch"
)

// OIDC authenticates requests with Solid-OIDC: a DPoP-bound access token
// from any issuer that the agent's WebID profile trusts
// (../shared/specs/solid-oidc.bs.txt, "Resource Access").
type OIDC struct {
	verifier *webid.Verifier
	// origin is the public scheme://host of the server, so the DPoP htu is
	// compared with the URL the client used, also behind a proxy.
	origin string
}

// NewOIDC authenticates with verifier; base is the public base URL.
func NewOIDC(verifier *webid.Verifier, base string) *OIDC {
	return &OIDC{verifier: verifier, origin: strings.TrimSuffix(base, "/")}
}

// Authenticate verifies the Authorization and DPoP headers. No
// Authorization header, or one that carries no credentials (empty, or a
// scheme alone such as "DPoP ", which some clients send before they have
// a token), is the anonymous agent: it asks for nothing, so a public
// resource is served and a private one gets the plain challenge.
func (o *OIDC) Authenticate(r *http.Request) (Agent, error) {
	authz := r.Header.Values("Authorization")
	if len(authz) == 1 && noCredentials(authz[0]) {
		authz = nil
	}
	if len(authz) == 0 {
		return Agent{}, nil
	}
	if len(authz) > 1 {
		return Agent{}, &webid.AuthError{Description: "more than one Authorization header", Err: webid.ErrMalformed}
	}
	u := o.origin + r.URL.EscapedPath()
	if pub, ok := publicURLOf(r); ok {
		u = pub // a pod on its own host
	}
	id, err := o.verifier.Verify(r.Context(), r.Method, u, authz[0], r.Header.Values("DPoP"))
	if err != nil {
		return Agent{}, err
	}
	return Agent{WebID: id.WebID, ClientID: id.ClientID, Issuer: id.Issuer}, nil
}

// noCredentials reports whether an Authorization value holds an
// auth-scheme and nothing after it (RFC 9110 §11.4: credentials =
// auth-scheme [ 1*SP ( token68 / #auth-param ) ]).
func noCredentials(v string) bool {
	return !strings.ContainsAny(strings.TrimSpace(v), " \t")
}

// Challenge is the WWW-Authenticate value of a 401: the reason when a
// token was refused, else the plain DPoP challenge.
func (o *OIDC) Challenge(realm string, err error) string {
	return o.verifier.Challenge(realm, err)
}

// LocalProfiles reads WebID profiles hosted by this server straight from
// storage, so verifying a local user's token needs no HTTP round trip.
type LocalProfiles struct {
	Store *ldp.Store
}

// maxProfile bounds a profile document read from storage.
const maxProfile = 1 << 20

// Profile returns the Turtle of the document holding webid, when it is on
// this server.
func (l LocalProfiles) Profile(ctx context.Context, id string) ([]byte, bool, error) {
	p, ok := l.Store.PathOf(id)
	if !ok {
		return nil, false, nil
	}
	rep, err := l.Store.Get(ctx, p, ldp.GetRequest{Accept: "text/turtle"})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	defer rep.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for b.Len() <= maxProfile {
		n, rerr := rep.Body.Read(buf)
		b.Write(buf[:n])
		if rerr != nil {
			break
		}
	}
	return []byte(b.String()), true, nil
}

// challenger is an Authenticator that words its own 401 challenges.
type challenger interface {
	Challenge(realm string, err error) string
}

// challengeOf returns the WWW-Authenticate value of a 401 for authn.
func challengeOf(authn Authenticator, realm string) func(error) string {
	if c, ok := authn.(challenger); ok {
		return func(err error) string { return c.Challenge(realm, err) }
	}
	return func(err error) string { return webid.Challenge(realm, err) }
}

// rdfAccept is the Accept header of fetched RDF documents.
const rdfAccept = "text/turtle, application/ld+json;q=0.9"

// fetchRDF fetches group documents through the safe fetcher.
func fetchRDF(f *fetch.Client) FetchFunc {
	return func(ctx context.Context, url string) ([]byte, string, error) {
		res, err := f.Get(ctx, url, rdfAccept)
		if err != nil {
			return nil, "", err
		}
		if res.StatusCode != http.StatusOK {
			return nil, "", &fetch.StatusError{URL: url, StatusCode: res.StatusCode}
		}
		return res.Body, res.MediaType, nil
	}
}

// maxProofDocument bounds a WebID document read for a proof of control.
const maxProofDocument = 1 << 20

// fetchProof reads the WebID document of a proof of control: from storage
// when it is on this server (LocalProfiles), else through the guarded
// HTTP client of the safe fetcher, bypassing its cache: the person has
// just added the proof triple, and a cached copy would not show it.
func fetchProof(local LocalProfiles, f *fetch.Client) account.FetchFunc {
	return func(ctx context.Context, u string) ([]byte, string, error) {
		body, isLocal, err := local.Profile(ctx, u)
		if isLocal {
			if err == nil && body == nil {
				err = errors.New("no such document on this server")
			}
			return body, "text/turtle", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, "", err
		}
		req.Header.Set("Accept", rdfAccept)
		req.Header.Set("Cache-Control", "no-cache")
		res, err := f.HTTPClient().Do(req)
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, "", &fetch.StatusError{URL: u, StatusCode: res.StatusCode}
		}
		data, err := io.ReadAll(io.LimitReader(res.Body, maxProofDocument))
		if err != nil {
			return nil, "", err
		}
		return data, res.Header.Get("Content-Type"), nil
	}
}
