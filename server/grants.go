package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/accounts"
	"github.com/weconomics/kluis/server/consent"
	"github.com/weconomics/kluis/storage/seal"
	"github.com/weconomics/kluis/webid/account"
	"github.com/weconomics/kluis/webid/fetch"
)

// This file is the seam between the access grants (credential,
// server/consent) and the resource routes: the UMA access token as a way
// to authenticate, an active grant as a way to be allowed, and the UMA
// challenge on a 401.

// newGrants builds the credential service over the space, with inner as
// the access control that says who controls a resource.
func newGrants(cfg Config, sh *shared, logger *slog.Logger) (*credential.Service, error) {
	base := strings.TrimSuffix(cfg.BaseURL.String(), "/") + consent.Prefix
	inner := sh.perms
	// Decisions go to the requestor's inbox wherever it is, through the
	// safe fetcher (never to a private address unless the hoster allows).
	records := &consent.Records{Space: sh.space, Logger: logger, Now: time.Now,
		Outbox:       &consent.Outbox{Client: cfg.Fetcher.HTTPClient(), Logger: logger},
		ProfileInbox: profileInbox(cfg.Fetcher)}
	return credential.New(credential.Config{
		Store: sh.space.Backend(), Base: base, OnChange: records.Changed,
		// The signing keys are sealed with the secret key, as the
		// identity provider's are.
		Seal:     seal.Sealer{Current: cfg.IdP.SecretKey, Previous: cfg.IdP.PreviousSecretKey},
		OnServer: func(iri string) bool { _, ok := sh.space.PathOf(iri); return ok },
		Controls: func(ctx context.Context, a credential.Agent, iri string) error {
			p, ok := sh.space.PathOf(iri)
			if !ok {
				return credential.ErrForbidden
			}
			// Control is what reading the resource's ACL needs (WAC 1.0
			// §5.3.1).
			_, err := inner.Check(ctx, Agent{WebID: a.WebID, ClientID: a.ClientID, Issuer: a.Issuer},
				Operation{Method: http.MethodGet, Path: p.ACL()})
			return err
		},
	})
}

// profileInbox reads the ldp:inbox of a WebID from its profile document,
// through the safe fetcher (and its cache); "" when it names none.
func profileInbox(f *fetch.Client) func(ctx context.Context, webID string) (string, error) {
	return func(ctx context.Context, webID string) (string, error) {
		doc, _, _ := strings.Cut(webID, "#")
		body, mediaType, err := fetchRDF(f)(ctx, doc)
		if err != nil {
			return "", err
		}
		// A profile is small: what the fetcher reads (1 MiB) and 10,000
		// triples at most.
		g, err := rdfx.Parse(bytes.NewReader(body), mediaType, doc, rdfx.ParseOptions{MaxTriples: 10000})
		if err != nil {
			return "", err
		}
		o, ok := g.Object(rdfx.IRI(webID), rdfx.IRI("http://www.w3.org/ns/ldp#inbox"))
		if !ok || !o.IsIRI() {
			return "", nil
		}
		return o.Value(), nil
	}
}

// grantAuthn accepts the UMA access tokens of the token endpoint
// (Authorization: Bearer, no DPoP: UMA 2.0 Grant §3.3.5) and leaves every
// other request to inner.
type grantAuthn struct {
	inner  Authenticator
	grants *credential.Service
}

func (g grantAuthn) Authenticate(r *http.Request) (Agent, error) {
	authz := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(authz, "Bearer "); ok && strings.Count(tok, ".") == 2 && len(r.Header.Values("Authorization")) == 1 {
		t, err := g.grants.ReadToken(r.Context(), strings.TrimSpace(tok))
		if err == nil {
			return Agent{WebID: t.Agent.WebID, ClientID: t.Agent.ClientID, Issuer: t.Agent.Issuer, Grant: t.Grant}, nil
		}
		if !errors.Is(err, credential.ErrToken) {
			return Agent{}, err
		}
	}
	return g.inner.Authenticate(r)
}

// Challenge keeps inner's DPoP challenge.
func (g grantAuthn) Challenge(realm string, err error) string {
	return challengeOf(g.inner, realm)(err)
}

// grantPermissions allows what an active grant covers: a request with a
// UMA token is judged by its grant alone (never wider than it); any
// other request the access control refuses is allowed when one of the
// agent's active grants covers it. Either way the grant's status and
// validity are read from storage at every request, and the grant never
// gives Control, nor more than its owner holds now.
type grantPermissions struct {
	inner  Permissions
	grants *credential.Service
	space  *ldp.Store
	// wac, when inner is WAC, answers the owner's Control directly.
	wac *WAC
}

func (g grantPermissions) Check(ctx context.Context, a Agent, op Operation) (Grant, error) {
	if err := g.recordsReadOnly(ctx, op); err != nil {
		return Grant{}, err
	}
	if a.Grant != "" {
		acc, err := g.grants.Grant(ctx, a.Grant)
		if err != nil {
			if errors.Is(err, credential.ErrForbidden) || errors.Is(err, credential.ErrNotFound) {
				// The token stands for a grant no longer active: it is
				// no credential any more (RFC 6750 §3.1, invalid_token).
				return Grant{}, fmt.Errorf("%w: %s", ErrUnauthenticated, err.Error())
			}
			return Grant{}, err
		}
		return g.covered(ctx, a, op, []*credential.Access{acc})
	}
	res, err := g.inner.Check(ctx, a, op)
	if err == nil || a.Anonymous() || !errors.Is(err, ErrForbidden) {
		return res, err
	}
	active, aerr := g.grants.Active(ctx, a.WebID)
	if aerr != nil || len(active) == 0 {
		return res, err
	}
	if res2, gerr := g.covered(ctx, a, op, active); gerr == nil {
		return res2, nil
	}
	return res, err
}

// recordsReadOnly refuses every write to a storage's access records
// (server/consent.RecordsFolder), whoever asks: only Kluis writes them.
func (g grantPermissions) recordsReadOnly(ctx context.Context, op Operation) error {
	switch op.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if !strings.Contains(string(op.Path), "/"+consent.RecordsFolder) {
		return nil
	}
	root, ok, err := g.space.StorageOf(ctx, op.Path)
	if err != nil || !ok || !consent.RecordsPath(root, op.Path) {
		return err
	}
	return fmt.Errorf("%w: the access records are written by the server only", ErrForbidden)
}

// covered allows op when one grant covers every requirement of it.
func (g grantPermissions) covered(ctx context.Context, a Agent, op Operation, grants []*credential.Access) (Grant, error) {
	aop := acl.Operation{Method: op.Method, Target: g.space.IRI(op.Path), Exists: op.Exists}
	if op.Ancestor != "" && !op.Exists {
		aop.Ancestor = g.space.IRI(op.Ancestor)
	}
	if op.Patch != nil {
		aop.PatchRead, aop.PatchAppend, aop.PatchWrite = op.Patch.Read, op.Patch.Append, op.Patch.Write
	}
	reqs, err := acl.Required(aop)
	if err != nil {
		return Grant{}, err
	}
	for _, acc := range grants {
		if acc.Requestor != a.WebID || !acc.Admits(a.ClientID, a.Issuer) {
			continue
		}
		modes := grantModes(acc)
		ok := true
		for _, r := range reqs {
			if r.Modes&acl.Control != 0 || !acc.Covers(r.IRI) || !r.SatisfiedBy(modes) || !g.ownerControls(ctx, acc, r.IRI) {
				ok = false
				break
			}
		}
		if ok {
			return Grant{WACAllow: acl.WACAllow(modes, 0), AccessGrant: acc.ID, Purposes: acc.Purposes}, nil
		}
	}
	return Grant{}, fmt.Errorf("%w: no grant covers this request", ErrForbidden)
}

// ownerControls: a grant never gives what its owner could not give now.
func (g grantPermissions) ownerControls(ctx context.Context, acc *credential.Access, iri string) bool {
	p, ok := g.space.PathOf(iri)
	if !ok {
		return false
	}
	if g.wac != nil {
		// One evaluation of the one requirement, rather than the whole
		// check of a GET of the ACL resource (WAC 1.0 §5.3.1).
		iri := g.space.IRI(p)
		return g.wac.eval.Check(withGroupScope(ctx, iri), []acl.Requirement{{IRI: iri, Modes: acl.Control}}, acl.Agent{WebID: acc.Owner}) == nil
	}
	_, err := g.inner.Check(ctx, Agent{WebID: acc.Owner}, Operation{Method: http.MethodGet, Path: p.ACL()})
	return err == nil
}

func grantModes(acc *credential.Access) acl.Mode {
	var m acl.Mode
	for _, iri := range acc.Modes {
		switch strings.TrimPrefix(iri, "http://www.w3.org/ns/auth/acl#") {
		case "Read":
			m |= acl.Read
		case "Write":
			m |= acl.Write | acl.Append
		case "Append":
			m |= acl.Append
		}
	}
	return m
}

// umaChallenge is the UMA challenge of a 401 on a resource (UMA 2.0
// Grant §3.2): the authorization server and a ticket bound to the
// resource, which the access grant library reads before anything else.
func umaChallenge(grants *credential.Service, origin string) func(c echo.Context) string {
	return func(c echo.Context) string {
		if c.Path() != "/*" {
			return "" // not a resource route
		}
		r := c.Request()
		iri := origin + r.URL.EscapedPath()
		if pub, ok := publicURLOf(r); ok {
			iri = pub
		}
		ticket, err := grants.Ticket(r.Context(), iri)
		if err != nil {
			return ""
		}
		return `UMA realm="` + origin + `/", as_uri="` + origin + `/", ticket="` + ticket + `"`
	}
}

// consentAuthn authenticates the credential service's callers by
// Solid-OIDC only (never with a UMA token).
func consentAuthn(inner Authenticator) func(r *http.Request) (credential.Agent, error) {
	return func(r *http.Request) (credential.Agent, error) {
		a, err := inner.Authenticate(r)
		return credential.Agent{WebID: a.WebID, ClientID: a.ClientID, Issuer: a.Issuer}, err
	}
}

// describeConsentUI adds the consent page to every storage description
// (where @inrupt/solid-client-access-grants looks for
// ess:ConsentManagementUI), after what next describes.
func describeConsentUI(next func(description, storage string) []rdfx.Triple, page string) func(description, storage string) []rdfx.Triple {
	return func(description, storage string) []rdfx.Triple {
		var ts []rdfx.Triple
		if next != nil {
			ts = next(description, storage)
		}
		return append(ts, rdfx.Triple{S: rdfx.IRI(storage), P: rdfx.IRI(consent.ConsentUIPredicate), O: rdfx.IRI(page)})
	}
}

// wellKnownConsentUI names the consent page in the origin's
// /.well-known/solid, where the library looks first.
func wellKnownConsentUI(page string) func(doc string) []rdfx.Triple {
	return func(doc string) []rdfx.Triple {
		return []rdfx.Triple{{S: rdfx.IRI(doc), P: rdfx.IRI(consent.ConsentUIPredicate), O: rdfx.IRI(page)}}
	}
}

// accountSession is the consent page's view of the account sessions; nil
// without accounts.
func accountSession(store *account.Store) consent.Session {
	if store == nil {
		return nil
	}
	return func(r *http.Request) (string, []string, error) {
		ck, err := r.Cookie(accounts.DefaultSessionCookie)
		if err != nil || ck.Value == "" {
			return "", nil, nil
		}
		acc, err := store.SessionAccount(r.Context(), ck.Value)
		if errors.Is(err, account.ErrNoSession) {
			return "", nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		return ck.Value, acc.WebIDs, nil
	}
}
