package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/accounts"
	"github.com/weconomics/kluis/server/databrowser"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/storage"
)

// Media types Kluis accepts in PATCH and advertises for PUT and POST.
const (
	acceptPatch = "text/n3, application/sparql-update"
	acceptAny   = "*/*"
)

// resources serves the Solid Protocol over an ldp.Store: thin handlers
// that parse headers, ask the permission seam, call the store and write
// headers. Everything the protocol means lives in ldp.
type resources struct {
	store *ldp.Store
	authn Authenticator
	perms Permissions
	// wac is the access control among perms, asked ahead with the
	// storage (prefetch); nil when Permissions were given.
	wac *WAC
	// maxPatch is the largest PATCH body read, in bytes.
	maxPatch int64
	// welcome is the root's page for browsers.
	welcome welcome
	// browser is the data browser, served for a pod's containers and
	// RDF documents to browsers that prefer HTML; nil when it is off.
	browser *databrowser.Handler
	// updatesVia is the legacy notifications WebSocket, sent as
	// Updates-Via with every resource's headers; "" for none.
	updatesVia string
	// tickets add the agent's ticket to the Updates-Via of an answer to
	// an authenticated GET (legacyticket.go).
	tickets *legacyTickets
	// tracer gives authentication and authorization spans of their own;
	// nil when tracing is off.
	tracer Tracer
	// logs records each request to a pod and serves the pods' access
	// logs (accesslog.go); nil when the log is off.
	logs *accessLog
}

// span starts a span for a step of the request when tracing is on.
func (h *resources) span(ctx context.Context, name string) (context.Context, func(error)) {
	if h.tracer == nil {
		return ctx, func(error) {}
	}
	return h.tracer.Span(ctx, name)
}

func (h *resources) Mount(e *echo.Echo) {
	// Middleware runs for echo's own 405 answers too, which no route
	// handler sees.
	e.Use(h.unsupportedMethods)
	e.GET("/*", h.logged(h.get))
	e.HEAD("/*", h.logged(h.get))
	e.OPTIONS("/*", h.logged(h.options))
	e.PUT("/*", h.logged(h.put))
	e.POST("/*", h.logged(h.post))
	e.PATCH("/*", h.logged(h.patch))
	e.DELETE("/*", h.logged(h.delete))
}

// unsupportedMethods answers a method that no resource supports (PROPFIND,
// COPY, ...) with 405 and the Allow header of the target resource (Solid
// Protocol §5: "Servers MUST respond with the 405 status code to requests
// using HTTP methods that are not supported by the target resource"), in
// place of echo's, which lists the methods of the route: DELETE even for
// the root, which §5.4 forbids. Whether DELETE is listed tells whether the
// resource exists, so that is only told to an agent who may read it.
func (h *resources) unsupportedMethods(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if c.Path() != "/*" || !errors.Is(err, echo.ErrMethodNotAllowed) {
			return err
		}
		p, perr := target(c.Request())
		if perr != nil {
			return perr
		}
		exists, serr := h.exists(c, p)
		if serr != nil {
			return serr
		}
		if exists {
			if _, aerr := h.authorize(c, Operation{Method: http.MethodHead, Path: p, Exists: true}); aerr != nil {
				exists = false
			}
		}
		c.Response().Header().Del("Allow")
		allow, aerr := h.store.Allow(c.Request().Context(), p, exists)
		if aerr != nil {
			return aerr
		}
		return &problem.MethodNotAllowedError{Allow: allow}
	}
}

// target returns the resource path a request names. Encoded slashes are
// refused: a segment cannot hold a "/".
func target(r *http.Request) (ldp.Path, error) {
	if strings.Contains(strings.ToLower(r.URL.RawPath), "%2f") {
		return "", &problem.BadRequestError{Reason: "encoded slash in path"}
	}
	return ldp.ParsePath(r.URL.Path)
}

// authorize authenticates the request and asks the permission seam.
func (h *resources) authorize(c echo.Context, op Operation) (Agent, error) {
	agent, err := h.authenticate(c, op.Path)
	if err != nil {
		return Agent{}, err
	}
	return agent, h.permit(c, agent, op)
}

// authenticate finds the agent of the request, once per request: a DPoP
// proof is accepted once only.
func (h *resources) authenticate(c echo.Context, p ldp.Path) (Agent, error) {
	req := c.Request()
	// Authentication verifies the DPoP proof and may fetch the WebID
	// profile and the issuer's keys: the costly steps of a request.
	ctx, end := h.span(req.Context(), "authenticate")
	areq := req
	if ctx != req.Context() {
		areq = req.WithContext(ctx)
	}
	agent, err := h.authn.Authenticate(areq)
	end(err)
	if h.logs != nil && err == nil {
		h.logs.note(c, agent, Grant{}, nil)
	}
	if err != nil {
		h.setRefusalLinks(req.Context(), c.Response().Header(), p)
		return Agent{}, err
	}
	return agent, nil
}

// permit asks the permission seam whether agent may do op.
func (h *resources) permit(c echo.Context, agent Agent, op Operation) error {
	req := c.Request()
	op.Origin = req.Header.Get("Origin")
	ctx, end := h.span(req.Context(), "authorize")
	grant, err := h.perms.Check(ctx, agent, op)
	end(err)
	if h.logs != nil {
		h.logs.note(c, agent, grant, op.Patch)
	}
	if grant.WACAllow != "" && (err != nil || op.Method == http.MethodGet || op.Method == http.MethodHead) {
		// On a refusal too: WAC 1.0 §6.1, what the agent and the public
		// may do here, for the request's origin.
		c.Response().Header().Set("WAC-Allow", grant.WACAllow)
	}
	if err != nil && (errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrForbidden)) {
		h.setRefusalLinks(req.Context(), c.Response().Header(), op.Path)
	}
	return err
}

// exists tells whether the resource at p exists, for authorization and
// Allow headers.
func (h *resources) exists(c echo.Context, p ldp.Path) (bool, error) {
	_, err := h.store.Backend().Stat(c.Request().Context(), p.Key())
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// existing tells whether the resource at p exists and, when it does not,
// which container above it is the nearest that does: a write that
// creates p creates the missing containers on the way (Solid Protocol
// §5.3 "Servers MUST create intermediate containers"), so that container
// gains a member, and authorization must ask about it (acl.Operation).
// The walk stops at the root of p's storage.
func (h *resources) existing(c echo.Context, p ldp.Path) (Operation, error) {
	op := Operation{Method: c.Request().Method, Path: p}
	exists, err := h.exists(c, p)
	if err != nil || exists || p.IsRoot() {
		op.Exists = exists
		return op, err
	}
	root, inStorage, err := h.store.StorageOf(c.Request().Context(), p)
	if err != nil {
		return op, err
	}
	for _, a := range p.Ancestors() {
		if inStorage && a == root || a.IsRoot() {
			// A storage's root exists while the storage does; above it
			// there is nothing a write could create.
			op.Ancestor = a
			return op, nil
		}
		ok, err := h.store.ContainerExists(c.Request().Context(), a)
		if err != nil {
			return op, err
		}
		if ok {
			op.Ancestor = a
			return op, nil
		}
	}
	return op, nil
}

// setLinks sets the Link, Allow and Accept-* headers of a resource (Solid
// Protocol §4.1, §4.3, §5.1).
func (h *resources) setLinks(ctx context.Context, hdr http.Header, p ldp.Path, kind ldp.Kind, exists bool) error {
	links, err := h.links(ctx, p, kind, exists)
	if err != nil {
		return err
	}
	hdr.Set("Link", formatLinks(links))
	if h.updatesVia != "" {
		// The solid-0.1 protocol of SolidOS (notifications.go).
		hdr.Set("Updates-Via", h.updatesVia)
	}
	allow, err := h.store.Allow(ctx, p, exists)
	if err != nil {
		return err
	}
	hdr.Set("Allow", strings.Join(allow, ", "))
	// §5.2: the Accept-* headers "that correspond to acceptable HTTP
	// methods listed in Allow".
	for _, a := range []struct{ method, header, types string }{
		{http.MethodPatch, "Accept-Patch", acceptPatch},
		{http.MethodPost, "Accept-Post", acceptAny},
		{http.MethodPut, "Accept-Put", acceptAny},
	} {
		if slices.Contains(allow, a.method) {
			hdr.Set(a.header, a.types)
		}
	}
	return nil
}

// setRefusalLinks sets the Link header of a 401 or 403 on p: what a 200
// would say that follows from the URL alone (the ldp:Resource type, a
// container's types, the storage type of a pod root, the acl, describedby
// and storage description links), never whether the resource exists or
// what kind of document it is, nor its owner. An app refused a resource
// still finds the storage description and the ACL to ask about, as on
// the Community Solid Server.
func (h *resources) setRefusalLinks(ctx context.Context, hdr http.Header, p ldp.Path) {
	kind := ldp.Missing
	if p.IsContainer() {
		kind = ldp.Container
	}
	links, err := h.links(ctx, p, kind, false)
	if err != nil {
		return // the refusal still goes out, without links
	}
	root, inStorage, err := h.store.StorageOf(ctx, p)
	if err == nil && inStorage && root == p {
		links = append(links, link{ldp.TypeStorage, "type"})
	}
	if len(links) > 0 {
		hdr.Set("Link", formatLinks(links))
	}
}

// links are the Link header values of a resource (Solid Protocol §4.1,
// §4.3, §5.1). Missing (a kind not told) gives ldp:Resource alone.
func (h *resources) links(ctx context.Context, p ldp.Path, kind ldp.Kind, exists bool) ([]link, error) {
	var links []link
	switch kind {
	case ldp.Container:
		links = append(links, link{ldp.TypeContainer, "type"}, link{ldp.TypeBasicContainer, "type"}, link{ldp.TypeResource, "type"})
	case ldp.RDFSource:
		links = append(links, link{ldp.TypeResource, "type"}, link{ldp.TypeRDFSource, "type"})
	case ldp.NonRDF:
		links = append(links, link{ldp.TypeResource, "type"}, link{ldp.TypeNonRDFSource, "type"})
	default:
		links = append(links, link{ldp.TypeResource, "type"})
	}
	root, inStorage, err := h.store.StorageOf(ctx, p)
	if err != nil {
		return nil, err
	}
	if exists && inStorage && root == p {
		links = append(links, link{ldp.TypeStorage, "type"})
		// §4.1: "When a server wants to advertise the owner of a storage,
		// the server MUST include the Link header field with
		// rel="http://www.w3.org/ns/solid/terms#owner" targeting the URI
		// of the owner in the response of HTTP HEAD or GET requests
		// targeting the root container."
		owner, ok, err := h.store.Owner(ctx, p)
		if err != nil {
			return nil, err
		}
		if ok {
			links = append(links, link{owner, ldp.OwnerRel})
		}
	}
	sd, _, err := h.store.StorageDescription(ctx, p)
	if err != nil {
		return nil, err
	}
	if aux, subject := p.Aux(); aux == ldp.NotAux && p != sd {
		// The storage description has no object, so no auxiliary
		// resources of its own either.
		links = append(links, link{h.store.IRI(p.ACL()), "acl"}, link{h.store.IRI(p.Meta()), "describedby"})
	} else if aux == ldp.Meta {
		links = append(links, link{h.store.IRI(subject), "describes"})
	} else if aux == ldp.ACL {
		// WAC ED 2026 "ACL Resource Condition Discovery": the condition
		// types this server evaluates.
		for _, c := range acl.ConditionTypes() {
			links = append(links, link{c, acl.ConditionRel})
		}
	}
	if inStorage {
		// §4.1: the storage description is linked from "a resource in a
		// storage"; in pod mode the server root and what lies beside the
		// pods are in none.
		links = append(links, link{h.store.IRI(sd), ldp.StorageDescriptionRel})
	}
	return links, nil
}

// get answers GET and HEAD (Solid Protocol §5.2).
func (h *resources) get(c echo.Context) error {
	req := c.Request()
	p, err := target(req)
	if err != nil {
		return err
	}
	browser := p.IsRoot() && ldp.Prefers(req.Header.Get("Accept"), "text/html")
	if browser && h.welcome.public {
		return h.welcome.render(c)
	}
	// Reading needs the same modes whether or not the target exists (WAC
	// 1.0 §5.3.1), so GET and HEAD spare the Stat that writes make.
	agent, err := h.authorize(c, Operation{Method: req.Method, Path: p})
	if err != nil {
		return err
	}
	if browser {
		return h.welcome.render(c)
	}
	if h.browser != nil {
		// Whether a browser gets the data browser depends on Accept, for
		// a non-RDF resource too (its kind may change).
		vary(c.Response().Header(), "Accept")
		if ldp.Prefers(req.Header.Get("Accept"), "text/html") {
			kind, err := h.store.Kind(req.Context(), p)
			if err != nil {
				return err
			}
			if kind != ldp.NonRDF {
				return h.browser.ServePage(c, http.StatusOK)
			}
		}
	}
	cond, err := conditions(req.Header)
	if err != nil {
		return err
	}
	greq := ldp.GetRequest{Accept: req.Header.Get("Accept"), Conditions: cond, Head: req.Method == http.MethodHead}
	described, byOwner, err := h.ownerAsks(req.Context(), agent, p)
	if err != nil {
		return err
	}
	if described {
		// Its owner is told more (ldp/quota.go).
		c.Response().Header().Add("Vary", "Authorization")
	}
	greq.ByOwner = byOwner
	// zeroSuffix is "bytes=-0", which no representation satisfies (RFC
	// 9110 §14.1.1: a satisfiable range set has "at least one
	// suffix-range with a non-zero suffix-length"); the 416 must give the
	// size (§14.4), known only once the representation is found.
	zeroSuffix := false
	if br, ok := parseRange(req.Header.Get("Range")); ok && req.Method == http.MethodGet {
		switch {
		case br.isSuffix && br.suffix == 0:
			zeroSuffix = true
		case br.isSuffix:
			greq.Suffix = br.suffix
		default:
			greq.Range = br.storageRange()
		}
	}
	rep, err := h.store.Get(req.Context(), p, greq)
	hdr := c.Response().Header()
	var nm *ldp.NotModifiedError
	if errors.As(err, &nm) {
		// RFC 9110 §15.4.5: a 304 sends the ETag and the other headers a
		// 200 would have sent, but no content headers.
		if err := h.setRepresentationHeaders(req.Context(), hdr, &nm.Rep); err != nil {
			return err
		}
		h.ticket(hdr, agent)
		return c.NoContent(http.StatusNotModified)
	}
	if errors.Is(err, ldp.ErrNotAcceptable) {
		vary(hdr, "Accept")
	}
	var rngErr error
	if errors.Is(err, storage.ErrInvalidRange) {
		rngErr = err
	}
	if err != nil {
		if rngErr != nil {
			info, serr := h.store.Backend().Stat(req.Context(), p.Key())
			if serr == nil {
				return &problem.RangeNotSatisfiableError{Size: info.Size, Err: err}
			}
		}
		return err
	}
	defer rep.Close()
	if zeroSuffix && rep.Kind == ldp.NonRDF && ifRangeHolds(req.Header, rep.ETag) {
		// Ranges apply to non-RDF resources only; the 304 and 412 of the
		// preconditions came first (RFC 9110 §13.2.2).
		return &problem.RangeNotSatisfiableError{Size: rep.TotalSize, Err: storage.ErrInvalidRange}
	}
	if rep.Range != nil && !ifRangeHolds(req.Header, rep.ETag) {
		rep.Close()
		greq.Range, greq.Suffix = nil, 0
		if rep, err = h.store.Get(req.Context(), p, greq); err != nil {
			return err
		}
		defer rep.Close()
	}

	if err := h.setRepresentationHeaders(req.Context(), hdr, rep); err != nil {
		return err
	}
	h.ticket(hdr, agent)
	hdr.Set("Content-Type", rep.ContentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if rep.Kind == ldp.NonRDF {
		// Uploaded HTML or SVG must not run as the pod's origin.
		hdr.Set("Content-Security-Policy", "sandbox")
	}
	status := http.StatusOK
	if rep.Range != nil {
		status = http.StatusPartialContent
		hdr.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rep.Range.Offset, rep.Range.Offset+rep.Size-1, rep.TotalSize))
	}
	if rep.Size >= 0 {
		hdr.Set("Content-Length", strconv.FormatInt(rep.Size, 10))
	}
	res := c.Response()
	res.WriteHeader(status)
	if rep.Body == nil {
		return nil
	}
	n, err := io.Copy(res, rep.Body)
	if err == nil && rep.Size >= 0 && n != rep.Size {
		err = fmt.Errorf("%d of %d bytes: %w", n, rep.Size, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return fmt.Errorf("server: streaming %s: %w", p, err)
	}
	return nil
}

// ticket names the legacy WebSocket with agent's ticket in the answer to
// agent's GET, so that its connection hears of changes to what agent may
// read (legacyticket.go).
func (h *resources) ticket(hdr http.Header, agent Agent) {
	if h.updatesVia != "" && h.tickets != nil && !agent.Anonymous() {
		hdr.Set("Updates-Via", h.tickets.url(h.updatesVia, agent))
	}
}

// ownerAsks reports whether p is a storage description, and whether agent
// is the owner of its storage, who is told its usage and quota
// (ldp/quota.go).
func (h *resources) ownerAsks(ctx context.Context, agent Agent, p ldp.Path) (described, byOwner bool, err error) {
	sd, ok, err := h.store.StorageDescription(ctx, p)
	if err != nil || !ok || sd != p {
		return false, false, err
	}
	if agent.Anonymous() {
		return true, false, nil
	}
	root, _, err := h.store.StorageOf(ctx, p)
	if err != nil {
		return true, false, err
	}
	owner, ok, err := h.store.Owner(ctx, root)
	return true, ok && owner == agent.WebID, err
}

// setRepresentationHeaders sets the headers that a 200 and a 304 answer
// share: links, Allow and Accept-*, validators, Vary and Accept-Ranges.
func (h *resources) setRepresentationHeaders(ctx context.Context, hdr http.Header, rep *ldp.Representation) error {
	if err := h.setLinks(ctx, hdr, rep.Path, rep.Kind, true); err != nil {
		return err
	}
	hdr.Set("ETag", quoteETag(rep.ETag))
	if !rep.Modified.IsZero() && rep.Modified.Unix() > 0 {
		hdr.Set("Last-Modified", httpTime(rep.Modified))
	}
	if rep.Kind == ldp.NonRDF {
		hdr.Set("Accept-Ranges", "bytes")
	} else {
		vary(hdr, "Accept")
	}
	return nil
}

// ifRangeHolds evaluates If-Range (RFC 9110 §13.1.5) with the strong
// comparison; a date never holds here.
func ifRangeHolds(h http.Header, etag string) bool {
	v := strings.TrimSpace(h.Get("If-Range"))
	return v == "" || v == quoteETag(etag)
}

// options answers OPTIONS with what the target supports (Solid Protocol
// §5.2). CORS preflights never reach it.
func (h *resources) options(c echo.Context) error {
	req := c.Request()
	p, err := target(req)
	if err != nil {
		return err
	}
	exists, err := h.exists(c, p)
	if err != nil {
		return err
	}
	if _, err := h.authorize(c, Operation{Method: req.Method, Path: p, Exists: exists}); err != nil {
		return err
	}
	kind := ldp.Missing
	if exists {
		kind, err = h.kind(c, p)
		if err != nil {
			return err
		}
	}
	if err := h.setLinks(req.Context(), c.Response().Header(), p, kind, exists); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// kind tells what sort of resource exists at p, for the type links of
// OPTIONS.
func (h *resources) kind(c echo.Context, p ldp.Path) (ldp.Kind, error) {
	if p.IsContainer() {
		return ldp.Container, nil
	}
	info, err := h.store.Backend().Stat(c.Request().Context(), p.Key())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return ldp.Missing, nil
	case err != nil:
		return ldp.Missing, err
	case rdfx.Supports(info.ContentType):
		return ldp.RDFSource, nil
	}
	return ldp.NonRDF, nil
}

// requestBody returns the body of a write, or nil when it has none, and its
// Content-Type: content without a Content-Type is refused with 400 (Solid
// Protocol §2.1).
func requestBody(req *http.Request) (io.Reader, string, error) {
	hasBody := req.ContentLength > 0 || req.ContentLength < 0 && req.Body != nil && req.Body != http.NoBody
	ct := strings.TrimSpace(req.Header.Get("Content-Type"))
	if ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return nil, "", &problem.BadRequestError{Reason: "malformed Content-Type"}
		}
	}
	if !hasBody {
		return nil, ct, nil
	}
	if ct == "" {
		return nil, "", &problem.BadRequestError{Reason: "a request with content needs a Content-Type"}
	}
	return &bodyReader{r: req.Body}, ct, nil
}

// prefetch asks the storage ahead, in parallel, what a PUT or DELETE of p
// and its authorization will ask (ldp.Store.Prefetch).
func (h *resources) prefetch(ctx context.Context, p ldp.Path, deleting bool) {
	var warm func(context.Context)
	if h.wac != nil {
		warm = func(ctx context.Context) { h.wac.warm(ctx, p) }
	}
	h.store.Prefetch(ctx, p, deleting, warm)
}

// writeRequest reads what PUT and POST share: the target, the body and its
// Content-Type, the authorization of the method on the target, and the
// preconditions. With put, what the PUT will ask the storage is asked at
// once first (ldp.Store.Prefetch).
func (h *resources) writeRequest(c echo.Context, put bool) (ldp.Path, ldp.WriteRequest, error) {
	// What authorization asks of storage, Put and Post ask again
	// (ldp.WithStatMemo).
	c.SetRequest(c.Request().WithContext(ldp.WithStatMemo(c.Request().Context())))
	req := c.Request()
	p, err := target(req)
	if err != nil {
		return "", ldp.WriteRequest{}, err
	}
	body, ct, err := requestBody(req)
	if err != nil {
		return "", ldp.WriteRequest{}, err
	}
	if put {
		h.prefetch(req.Context(), p, false)
	}
	op, err := h.existing(c, p)
	if err != nil {
		return "", ldp.WriteRequest{}, err
	}
	// Authorized before a byte of the body is read: a refusal costs no
	// more than the headers (the body guard, middleware.go, then closes
	// the connection instead of draining it).
	if _, err := h.authorize(c, op); err != nil {
		return "", ldp.WriteRequest{}, err
	}
	cond, err := conditions(req.Header)
	if err != nil {
		return "", ldp.WriteRequest{}, err
	}
	return p, ldp.WriteRequest{Body: body, ContentType: ct, Conditions: cond, ContentLength: req.ContentLength}, nil
}

// put creates or replaces a resource (Solid Protocol §5.3).
func (h *resources) put(c echo.Context) error {
	req := c.Request()
	if req.Header.Get("Content-Range") != "" {
		if _, err := target(req); err != nil {
			return err
		}
		return &problem.BadRequestError{Reason: "Content-Range is not allowed in PUT"}
	}
	p, w, err := h.writeRequest(c, true)
	if err != nil {
		return err
	}
	res, err := h.store.Put(c.Request().Context(), p, w)
	if err != nil {
		return bodyError(w.Body, err)
	}
	return h.written(c, res, http.StatusNoContent)
}

// post creates a resource in a container (Solid Protocol §5.3).
func (h *resources) post(c echo.Context) error {
	req := c.Request()
	p, w, err := h.writeRequest(c, false)
	if err != nil {
		return err
	}
	preq := ldp.PostRequest{WriteRequest: w, Slug: req.Header.Get("Slug")}
	for _, l := range parseLinks(req.Header) {
		if l.rel == "type" && (l.target == ldp.TypeBasicContainer || l.target == ldp.TypeContainer) {
			preq.Container = true
		}
	}
	res, err := h.store.Post(c.Request().Context(), p, preq)
	if err != nil {
		return bodyError(w.Body, err)
	}
	return h.written(c, res, http.StatusCreated)
}

// patch applies an N3 Patch or SPARQL Update (Solid Protocol §5.3.1).
func (h *resources) patch(c echo.Context) error {
	req := c.Request()
	p, err := target(req)
	if err != nil {
		return err
	}
	if _, _, err := requestBody(req); err != nil {
		return err
	}
	op, err := h.existing(c, p)
	if err != nil {
		return err
	}
	agent, err := h.authenticate(c, p)
	if err != nil {
		return err
	}
	// The modes a patch needs follow from its content (Solid Protocol
	// §5.3.1: Read for conditions and deletes, Append for inserts, Write
	// for deletes), but every patch needs Append at least (WAC 1.0 §5.3.1
	// PATCH: an update needs "acl:Append or acl:Write"; acl.Required asks
	// Append even of a patch that inserts nothing), and Append or Write on
	// the containers a new target is created in. So that much is checked
	// before a byte of the body is read: an agent who may not append is
	// refused for the cost of its headers.
	cheapest := rdfx.Access{Append: true}
	op.Patch = &cheapest
	if err := h.permit(c, agent, op); err != nil {
		return err
	}
	// Then the body is read and parsed within MaxPatchBytes, which bounds
	// the parser's work (and the triples it makes) by what an agent who
	// may append can send.
	if req.ContentLength > h.maxPatch {
		return &http.MaxBytesError{Limit: h.maxPatch}
	}
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, h.maxPatch)
	}
	body, ct, err := requestBody(req)
	if err != nil {
		return err
	}
	if body == nil {
		body = strings.NewReader("")
	}
	patch, err := h.store.ParsePatch(req.Context(), p, body, ct)
	if err != nil {
		return bodyError(body, err)
	}
	if access := patch.Access(); access != cheapest {
		// The full modes of this patch.
		op.Patch = &access
		if err := h.permit(c, agent, op); err != nil {
			return err
		}
	}
	cond, err := conditions(req.Header)
	if err != nil {
		return err
	}
	res, err := h.store.Patch(req.Context(), p, patch, cond)
	if err != nil {
		return err
	}
	return h.written(c, res, http.StatusNoContent)
}

// delete removes a resource (Solid Protocol §5.4).
func (h *resources) delete(c echo.Context) error {
	c.SetRequest(c.Request().WithContext(ldp.WithStatMemo(c.Request().Context())))
	req := c.Request()
	p, err := target(req)
	if err != nil {
		return err
	}
	h.prefetch(req.Context(), p, true)
	exists, err := h.exists(c, p)
	if err != nil {
		return err
	}
	if exists {
		// §5.4: "When a DELETE request targets storage's root container
		// or its associated ACL resource, the server MUST respond with the
		// 405 status code", whoever asks: a pod's owner may not write the
		// server root above it, yet must hear 405, not 403.
		allow, err := h.store.Allow(req.Context(), p, true)
		if err != nil {
			return err
		}
		if !slices.Contains(allow, http.MethodDelete) {
			return &problem.MethodNotAllowedError{Allow: allow}
		}
	}
	if _, err := h.authorize(c, Operation{Method: req.Method, Path: p, Exists: exists}); err != nil {
		return err
	}
	cond, err := conditions(req.Header)
	if err != nil {
		return err
	}
	if err := h.store.Delete(req.Context(), p, cond); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// written answers a successful write: 201 with Location when it created a
// resource, else the given status; the new ETag either way.
func (h *resources) written(c echo.Context, res ldp.WriteResult, replaced int) error {
	hdr := c.Response().Header()
	if res.ETag != "" {
		hdr.Set("ETag", quoteETag(res.ETag))
	}
	if res.Created {
		hdr.Set("Location", h.store.IRI(res.Path))
		return c.NoContent(http.StatusCreated)
	}
	return c.NoContent(replaced)
}

// bodyError prefers a failure to read the request body over what the store
// made of it.
func bodyError(body io.Reader, err error) error {
	if br, ok := body.(*bodyReader); ok && br.err != nil {
		return &problem.BodyReadError{Err: br.err}
	}
	return err
}

// bodyReader remembers the first error reading the request body, so that a
// broken or oversized upload is told from a backend failure.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// welcome is the root's page for browsers.
type welcome struct {
	// public shows it to everyone, before access control: in pod mode the
	// root holds no one's data, and newcomers must find the sign-up page.
	public bool
	// page is the account pages' welcome (accounts.Handler.Welcome); nil
	// when accounts are off, for a bare page.
	page func(echo.Context) error
}

// welcomeOf is the welcome page of a configuration.
func welcomeOf(cfg Config, pages *accounts.Handler) welcome {
	w := welcome{public: cfg.Pods}
	if pages != nil {
		w.page = pages.Welcome
	}
	return w
}

func (w welcome) render(c echo.Context) error {
	if w.page != nil {
		return w.page(c)
	}
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'")
	c.Response().Header().Add("Vary", "Accept")
	return c.HTML(http.StatusOK, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kluis</title></head>
<body><main><h1>Kluis</h1><p>This is a Solid pod server. Use a Solid app to read and write its data.</p>
</main></body></html>
`)
}
