package consent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server/problem"
)

// The paths of the routes. The credential service lives under /.vc/ (the
// verifiable_credential_issuer, so that the library's relative "issue",
// "status" and "derive" land there), the UMA token endpoint under /.uma/.
const (
	Prefix          = "/.vc/"
	TokenPath       = "/.uma/token"
	wellKnownUMA    = "/.well-known/uma2-configuration"
	wellKnownVC     = "/.well-known/vc-configuration"
	umaGrantType    = "urn:ietf:params:oauth:grant-type:uma-ticket"
	vcClaimFormat   = "https://www.w3.org/TR/vc-data-model/#json-ld"
	jsonMediaType   = "application/json"
	jsonLDMediaType = "application/ld+json"
)

// Handler serves the credential service and the UMA token endpoint.
type Handler struct {
	// Service issues and checks the credentials.
	Service *credential.Service
	// Origin is the server's public origin, "https://host" (no slash).
	Origin string
	// Authenticate finds the agent of a request by Solid-OIDC (DPoP); a
	// request without credentials is the zero Agent and no error.
	Authenticate func(r *http.Request) (credential.Agent, error)
	// Session finds the person logged in to their account, for the
	// consent page and the access page; nil when accounts are off (no
	// pages then).
	Session Session
	// Space is the resource space, for the access page (nil: no page).
	Space *ldp.Store
	// Log is the pod access log the access page shows; nil when the
	// server keeps none (the page says the log is off).
	Log AccessLog

	// limits, when set, replaces the bounds of the access page's walk
	// (tests).
	limits *walkLimits
}

// Mount adds the routes to e: static paths, which win over the resource
// routes' wildcard.
func (h *Handler) Mount(e *echo.Echo) {
	e.GET(wellKnownUMA, h.umaConfiguration)
	e.GET(wellKnownVC, h.vcConfiguration(false))
	e.GET(Prefix+".well-known/vc-configuration", h.vcConfiguration(true))
	e.GET(Prefix+"keys", h.keys)
	e.POST(Prefix+"issue", h.issue)
	e.GET(Prefix+"vc/:id", h.get)
	e.POST(Prefix+"status", h.status)
	e.GET(Prefix+"status/:id", h.statusList)
	e.POST(Prefix+"verify", h.verify)
	e.POST(Prefix+"derive", h.derive)
	e.GET(Prefix+"query", h.query)
	e.POST(TokenPath, h.token)
	e.GET(PagePath, h.page)
	e.POST(PagePath, h.decide)
	e.GET(AccessPath, h.access)
	e.POST(AccessPath, h.accessAction)
	// Nothing else under the prefixes is a resource.
	e.Any(Prefix+"*", func(echo.Context) error { return credential.ErrNotFound })
	e.Any("/.uma/*", func(echo.Context) error { return credential.ErrNotFound })
}

// writeJSON answers v as JSON with a Content-Length (the next major
// version of @inrupt/solid-client-vc refuses JSON without one).
func writeJSON(c echo.Context, status int, mediaType string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	h.Set("Cache-Control", "no-store")
	return c.Blob(status, mediaType, raw)
}

// umaConfiguration is the UMA authorization server's metadata (UMA 2.0
// Grant §2, RFC 8414), with the credential issuer the access grant
// library reads from it.
func (h *Handler) umaConfiguration(c echo.Context) error {
	return writeJSON(c, http.StatusOK, jsonMediaType, map[string]any{
		"issuer":                                h.Origin + "/",
		"token_endpoint":                        h.Origin + TokenPath,
		"grant_types_supported":                 []string{umaGrantType},
		"uma_profiles_supported":                []string{},
		"verifiable_credential_issuer":          h.Service.Base(),
		"claim_token_formats_supported":         []string{vcClaimFormat},
		"token_endpoint_auth_methods_supported": []string{"none"},
		"dpop_signing_alg_values_supported":     []string{"ES256", "PS256", "RS256"},
	})
}

// vcConfiguration lists the credential services. At the origin it is
// read as plain JSON for its contexts; under /.vc/ as JSON-LD, so there
// its context is inline and nothing needs fetching.
func (h *Handler) vcConfiguration(inline bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		b := h.Service.Base()
		doc := map[string]any{
			"issuerService":           b + "issue",
			"statusService":           b + "status",
			"verifierService":         b + "verify",
			"derivationService":       b + "derive",
			"queryService":            b + "derive",
			"supportedSignatureTypes": []string{"Ed25519Signature2020"},
		}
		if inline {
			terms := map[string]any{"vc": "http://www.w3.org/ns/solid/vc#"}
			for _, t := range []string{"issuerService", "statusService", "verifierService", "derivationService", "queryService", "supportedSignatureTypes"} {
				terms[t] = map[string]any{"@id": "vc:" + t, "@type": "@id"}
			}
			doc["@context"] = []any{terms}
			return writeJSON(c, http.StatusOK, jsonLDMediaType, doc)
		}
		doc["@context"] = []string{credential.ContextVC, credential.ContextInruptV2}
		return writeJSON(c, http.StatusOK, jsonMediaType, doc)
	}
}

func (h *Handler) keys(c echo.Context) error {
	doc, err := h.Service.KeysDocument(c.Request().Context())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, jsonLDMediaType, doc)
}

// agent authenticates the request; anonymous agents are refused.
func (h *Handler) agent(c echo.Context) (credential.Agent, error) {
	a, err := h.Authenticate(c.Request())
	if err != nil {
		return a, err
	}
	if a.WebID == "" {
		return a, credential.ErrUnauthenticated
	}
	return a, nil
}

// body reads a bounded request body, after authentication.
func body(c echo.Context) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(c.Request().Body, credential.MaxCredentialBytes+1))
	if err != nil {
		return nil, &problem.BodyReadError{Err: err}
	}
	if len(raw) > credential.MaxCredentialBytes {
		return nil, credential.ErrTooLarge
	}
	return raw, nil
}

// issue is the VC API's issue service.
func (h *Handler) issue(c echo.Context) error {
	a, err := h.agent(c)
	if err != nil {
		return err
	}
	raw, err := body(c)
	if err != nil {
		return err
	}
	doc, _, err := h.Service.Issue(c.Request().Context(), a, raw)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", doc["id"].(string))
	return writeJSON(c, http.StatusCreated, jsonMediaType, doc)
}

// get reads a credential by its IRI: only its parties may.
func (h *Handler) get(c echo.Context) error {
	a, err := h.agent(c)
	if err != nil {
		return err
	}
	doc, _, err := h.Service.Get(c.Request().Context(), a, h.Service.Base()+"vc/"+c.Param("id"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, jsonMediaType, doc)
}

// status revokes a grant or cancels a request.
func (h *Handler) status(c echo.Context) error {
	a, err := h.agent(c)
	if err != nil {
		return err
	}
	raw, err := body(c)
	if err != nil {
		return err
	}
	if _, err := h.Service.SetStatus(c.Request().Context(), a, raw); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Length", "0")
	return c.NoContent(http.StatusNoContent)
}

// statusList is the revocation list a credential's credentialStatus
// names; public, like the lists of other issuers.
func (h *Handler) statusList(c echo.Context) error {
	doc, err := h.Service.StatusList(c.Request().Context(), h.Service.Base()+"status/"+c.Param("id"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, jsonMediaType, doc)
}

// verify is the VC API's verifier: 200 with the checks and errors.
func (h *Handler) verify(c echo.Context) error {
	if _, err := h.agent(c); err != nil {
		return err
	}
	raw, err := body(c)
	if err != nil {
		return err
	}
	var req struct {
		VerifiableCredential map[string]any `json:"verifiableCredential"`
	}
	if err := json.Unmarshal(raw, &req); err != nil || req.VerifiableCredential == nil {
		return fmt.Errorf("%w: expected {\"verifiableCredential\": {...}}", credential.ErrInvalid)
	}
	v, _ := h.Service.Verify(c.Request().Context(), req.VerifiableCredential)
	return writeJSON(c, http.StatusOK, jsonMediaType, v)
}

// derive is the legacy derivation service getAccessGrantAll calls: a
// shape of credential in, a presentation of the caller's matching
// credentials out.
func (h *Handler) derive(c echo.Context) error {
	a, err := h.agent(c)
	if err != nil {
		return err
	}
	raw, err := body(c)
	if err != nil {
		return err
	}
	var req struct {
		VerifiableCredential struct {
			Type              any `json:"type"`
			CredentialSubject struct {
				ProvidedConsent map[string]any `json:"providedConsent"`
				HasConsent      map[string]any `json:"hasConsent"`
			} `json:"credentialSubject"`
		} `json:"verifiableCredential"`
		Options struct {
			Include string `json:"include"`
		} `json:"options"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return fmt.Errorf("%w: %w", credential.ErrInvalid, err)
	}
	f := credential.Filter{IncludeExpired: req.Options.Include == "ExpiredVerifiableCredential"}
	for _, t := range anyStrings(req.VerifiableCredential.Type) {
		switch k := credential.Kind(t); k {
		case credential.Request, credential.Grant, credential.Denial:
			f.Types = append(f.Types, k)
		}
	}
	consent := req.VerifiableCredential.CredentialSubject.ProvidedConsent
	if consent == nil {
		consent = req.VerifiableCredential.CredentialSubject.HasConsent
	}
	if st, ok := consent["hasStatus"].(string); ok {
		f.Status = st
	}
	if rs := anyStrings(consent["forPersonalData"]); len(rs) > 0 {
		f.Resource = rs[0]
	}
	f.Purposes = anyStrings(consent["forPurpose"])
	f.Requestor, _ = consent["isProvidedTo"].(string)
	f.Modes = anyStrings(consent["mode"])
	docs, err := h.Service.Derive(c.Request().Context(), a, f)
	if err != nil {
		return err
	}
	vcs := make([]any, len(docs))
	for i, d := range docs {
		vcs[i] = d
	}
	return writeJSON(c, http.StatusOK, jsonMediaType, map[string]any{
		"@context":             []string{credential.ContextVC},
		"type":                 "VerifiablePresentation",
		"verifiableCredential": vcs,
	})
}

// token is the UMA token endpoint (UMA 2.0 Grant §3.3.1): a ticket and a
// presentation of a grant from an agent authenticated by Solid-OIDC, for
// a bearer token scoped to that grant (§3.3.5).
func (h *Handler) token(c echo.Context) error {
	a, err := h.Authenticate(c.Request())
	if err != nil {
		return err
	}
	raw, err := body(c)
	if err != nil {
		return err
	}
	if a.WebID == "" {
		return umaError(c, http.StatusUnauthorized, "invalid_client", "the token endpoint needs a Solid-OIDC (DPoP) authenticated agent")
	}
	form, err := parseForm(raw)
	if err != nil {
		return umaError(c, http.StatusBadRequest, "invalid_request", "the body is not a form")
	}
	if form.Get("grant_type") != umaGrantType {
		return umaError(c, http.StatusBadRequest, "unsupported_grant_type", "only "+umaGrantType)
	}
	if f := form.Get("claim_token_format"); f != "" && f != vcClaimFormat {
		return umaError(c, http.StatusBadRequest, "invalid_request", "claim_token_format must be "+vcClaimFormat)
	}
	tok, ttl, err := h.Service.Exchange(c.Request().Context(), a, form.Get("ticket"), form.Get("claim_token"))
	switch {
	case errors.Is(err, credential.ErrToken):
		return umaError(c, http.StatusBadRequest, "invalid_grant", "the ticket is invalid or expired")
	case errors.Is(err, credential.ErrInvalid), errors.Is(err, credential.ErrRemoteContext):
		return umaError(c, http.StatusBadRequest, "invalid_request", err.Error())
	case errors.Is(err, credential.ErrTooLarge):
		return err
	case errors.Is(err, credential.ErrForbidden), errors.Is(err, credential.ErrProof), errors.Is(err, credential.ErrNotFound):
		return umaError(c, http.StatusForbidden, "request_denied", err.Error())
	case err != nil:
		return err
	}
	return writeJSON(c, http.StatusOK, jsonMediaType, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl.Seconds()),
	})
}

// umaError is an OAuth 2.0 error response (RFC 6749 §5.2).
func umaError(c echo.Context, status int, code, desc string) error {
	return writeJSON(c, status, jsonMediaType, map[string]string{"error": code, "error_description": desc})
}

func anyStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// parseForm reads an application/x-www-form-urlencoded body.
func parseForm(raw []byte) (url.Values, error) {
	return url.ParseQuery(strings.TrimSpace(string(raw)))
}

// query is the query service of the library's query() and
// paginatedQuery(): filters in the query string, the caller's matching
// credentials in "items", and first/prev/next/last pages in Link headers.
func (h *Handler) query(c echo.Context) error {
	a, err := h.agent(c)
	if err != nil {
		return err
	}
	in := c.QueryParams()
	q := credential.Query{Type: credential.Kind(in.Get("type")), Status: in.Get("status"),
		FromAgent: in.Get("fromAgent"), ToAgent: in.Get("toAgent"), Resource: in.Get("resource"), Purpose: in.Get("purpose")}
	switch q.Type {
	case "", credential.Request, credential.Grant, credential.Denial:
	default:
		return fmt.Errorf("%w: type %.40q", credential.ErrInvalid, q.Type)
	}
	if v := in.Get("issuedWithin"); v != "" {
		if q.IssuedWithin, err = credential.ISODuration(v); err != nil {
			return err
		}
	}
	if v := in.Get("revokedWithin"); v != "" {
		if q.RevokedWithin, err = credential.ISODuration(v); err != nil {
			return err
		}
	}
	if v := in.Get("pageSize"); v != "" {
		if q.PageSize, err = strconv.Atoi(v); err != nil || q.PageSize < 1 {
			return fmt.Errorf("%w: pageSize", credential.ErrInvalid)
		}
	}
	if q.Page, err = credential.ParsePage(in.Get("page")); err != nil {
		return err
	}
	res, err := h.Service.Query(c.Request().Context(), a, q)
	if err != nil {
		return err
	}
	link := func(rel string, page int) {
		v := url.Values{}
		for k, vs := range in {
			if k != "page" {
				v[k] = vs
			}
		}
		v.Set("page", credential.PageString(page))
		c.Response().Header().Add("Link", "<"+h.Service.Base()+"query?"+v.Encode()+">; rel=\""+rel+"\"")
	}
	link("first", 0)
	link("last", res.Pages-1)
	if res.Page > 0 {
		link("prev", res.Page-1)
	}
	if res.Page+1 < res.Pages {
		link("next", res.Page+1)
	}
	items := make([]any, len(res.Items))
	for i, d := range res.Items {
		items[i] = d
	}
	return writeJSON(c, http.StatusOK, jsonMediaType, map[string]any{"items": items})
}
