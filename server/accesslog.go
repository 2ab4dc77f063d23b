package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/accesslog"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/consent"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/storage"
)

// This file is the seam between the resource routes and the access log
// (ldp/accesslog, issue 17): what is recorded of each request to a pod,
// and the log served at <storage>.access-log to the pod's owner.

// Vocabulary of the access log: ActivityStreams 2.0 and Kluis's own terms.
const (
	nsAS = "https://www.w3.org/ns/activitystreams#"
	// NSKluis is the namespace of Kluis's own terms (docs/apps.md#the-access-log).
	// The .invalid domain says it is a name only: nothing is served there.
	NSKluis = "https://kluis.invalid/ns#"
	// AccessLogPredicate links a storage to its access log in the storage
	// description.
	AccessLogPredicate = NSKluis + "accessLog"
)

// AccessLogConfig configures the access log of every pod.
type AccessLogConfig struct {
	// Off keeps no access log.
	Off bool
	// IncludeOwners records the pod owners' own requests too.
	IncludeOwners bool
	// MaxAge and MaxBytes bound what is kept of each pod's log (zero:
	// DefaultAccessLogMaxAge, no size bound); the housekeeping sweep
	// removes the rest. An owner may ask for less (<storage>.access-log?retention).
	MaxAge   time.Duration
	MaxBytes int64
	// BatchSize, FlushEvery and QueueSize bound what waits in memory
	// (accesslog.Config); zero means its defaults.
	BatchSize  int
	FlushEvery time.Duration
	QueueSize  int
	// Reader, when set, is what the access page shows instead of the log
	// kept here (a log kept elsewhere; tests); nil: the log kept here.
	Reader consent.AccessLog
}

// DefaultAccessLogMaxAge is how long an access log entry is kept by
// default: well within the year and a month for which the signing keys
// stay published, so every entry kept can be verified.
const DefaultAccessLogMaxAge = 180 * 24 * time.Hour

// accessLog records the requests to pods and serves each pod's log.
type accessLog struct {
	log           *accesslog.Log
	space         *ldp.Store
	includeOwners bool
	retention     accesslog.Retention
	logger        *slog.Logger
}

// newAccessLog builds the access log of a configuration; nil when it is
// off, or without pods (a storage with no owner has no one to read it),
// or without the credential service whose keys sign it.
func newAccessLog(cfg Config, sh *shared, logger *slog.Logger) *accessLog {
	ac := cfg.AccessLog
	if ac.Off || !cfg.Pods || sh.grants == nil {
		return nil
	}
	a := &accessLog{space: sh.space, includeOwners: ac.IncludeOwners, logger: logger,
		retention: accesslog.Retention{MaxAge: ac.MaxAge, MaxBytes: ac.MaxBytes}}
	if a.retention.MaxAge <= 0 {
		a.retention.MaxAge = DefaultAccessLogMaxAge
	}
	lc := accesslog.Config{Backend: sh.space.Backend(), Keys: sh.grants.Detached(), Logger: logger,
		BatchSize: ac.BatchSize, FlushEvery: ac.FlushEvery, QueueSize: ac.QueueSize}
	if notes := sh.notes; notes != nil {
		// Live: a batch written is an Update of the pod's log
		// (<storage>.access-log), which its owner may subscribe to.
		lc.Written = func(pod string) {
			p := ldp.Path("/" + pod + "/" + ldp.AccessLogName)
			notes.Publish(context.Background(), notify.Activities(ldp.Change{Path: p, Type: ldp.Update, Time: time.Now()}, sh.space.IRI)...)
		}
	}
	a.log = accesslog.New(lc)
	if sh.wac != nil {
		sh.wac.by = true
	}
	return a
}

// accessNote is what the permission seam learnt of a request, for its
// log entry.
type accessNote struct {
	agent Agent
	grant Grant
	// patch is what a PATCH was last checked for, nil otherwise.
	patch *rdfx.Access
}

// ctxKeyAccessNote holds the *accessNote of a request in echo's context.
const ctxKeyAccessNote = "kluis.accessNote"

// note keeps what permit learnt, for the log entry.
func (a *accessLog) note(c echo.Context, agent Agent, g Grant, patch *rdfx.Access) {
	c.Set(ctxKeyAccessNote, &accessNote{agent: agent, grant: g, patch: patch})
}

// podOf returns the pod name and owner of the storage holding p, when p
// lies in a pod that has an owner.
func (a *accessLog) podOf(ctx context.Context, p ldp.Path) (root ldp.Path, pod, owner string, ok bool) {
	root, inStorage, err := a.space.StorageOf(ctx, p)
	if err != nil || !inStorage || root == "/" {
		return "", "", "", false
	}
	owner, ok, err = a.space.Owner(ctx, root)
	if err != nil || !ok {
		return "", "", "", false
	}
	return root, strings.Trim(string(root), "/"), owner, true
}

// logPath reports whether p is the access log of its storage.
func (a *accessLog) logPath(ctx context.Context, p ldp.Path) (root ldp.Path, pod, owner string, ok bool) {
	if !strings.HasSuffix(string(p), "/"+ldp.AccessLogName) {
		return "", "", "", false
	}
	root, pod, owner, ok = a.podOf(ctx, p)
	return root, pod, owner, ok && p == root+ldp.AccessLogName
}

// record logs a request to p answered with status, unless it is the
// owner's.
func (a *accessLog) record(c echo.Context, p ldp.Path, status int) {
	req := c.Request()
	_, pod, owner, ok := a.podOf(req.Context(), p)
	if !ok {
		return
	}
	n, _ := c.Get(ctxKeyAccessNote).(*accessNote)
	if n == nil {
		n = &accessNote{} // refused before anyone was authenticated
	}
	if n.agent.WebID == owner && !a.includeOwners {
		return
	}
	a.log.Record(pod, accesslog.Entry{
		Agent: n.agent.WebID, Client: n.agent.ClientID, Issuer: n.agent.Issuer,
		Resource: a.space.IRI(p), Method: req.Method, Mode: modeOf(req.Method, p, n.patch), Status: status,
		Authorization: n.grant.Authorization, Grant: n.grant.AccessGrant, Purposes: n.grant.Purposes,
	})
}

// modeOf is the mode a method needs on its target (WAC 1.0 §5.3.1), as
// the log tells it: Control for an ACL resource; for a PATCH, what its
// content needs (Solid Protocol §5.3.1: Append for a patch that only
// inserts), as far as it was read.
func modeOf(method string, p ldp.Path, patch *rdfx.Access) string {
	if kind, _ := p.Aux(); kind == ldp.ACL {
		return "Control"
	}
	if method == http.MethodPatch && patch != nil && !patch.Write && !patch.Read {
		return "Append"
	}
	switch method {
	case http.MethodGet, http.MethodHead:
		return "Read"
	case http.MethodPost:
		return "Append"
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return "Write"
	}
	return ""
}

// logged records what next answered.
func (h *resources) logged(next echo.HandlerFunc) echo.HandlerFunc {
	if h.logs == nil {
		return next
	}
	return func(c echo.Context) error {
		req := c.Request()
		p, err := target(req)
		if err != nil {
			return next(c) // no resource: nothing to log
		}
		if root, pod, owner, ok := h.logs.logPath(req.Context(), p); ok {
			err := h.serveLog(c, root, pod, owner)
			h.logs.record(c, p, statusOf(c, err))
			return err
		}
		err = next(c)
		h.logs.record(c, p, statusOf(c, err))
		return err
	}
}

// statusOf is the status of the answer: the one written, or the one the
// error responder will write for err.
func statusOf(c echo.Context, err error) int {
	if err == nil || c.Response().Committed {
		return c.Response().Status
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return problem.Classify(err).Status
}

// Flush writes the entries waiting in memory; Close of the Server's
// shutdown calls it (Drain).
func (a *accessLog) close(ctx context.Context) error {
	return a.log.Close(ctx)
}

// sweep trims the logs due (written in the last hour, of age, or whose
// retention changed) to their retention (the owner's, within the
// server's), for the housekeeping.
func (a *accessLog) sweep(ctx context.Context) (int, error) {
	return a.log.Sweep(ctx, time.Now(), a.retentionOf)
}

// --- Serving the log: <storage>.access-log ---

// serveLog answers a request to a pod's log: its owner reads it (GET,
// HEAD, with ?verify the verification document, with ?retention the
// retention), clears it (DELETE) and sets its retention (PUT
// ?retention); no one else may do anything, and no one may write
// entries (405).
func (h *resources) serveLog(c echo.Context, root ldp.Path, pod, owner string) error {
	req := c.Request()
	hdr := c.Response().Header()
	allow := "GET, HEAD, OPTIONS, DELETE"
	q := req.URL.Query()
	_, settings := q["retention"]
	if settings {
		allow = "GET, HEAD, OPTIONS, PUT"
	}
	agent, err := h.authenticate(c, root+ldp.AccessLogName)
	if err != nil {
		return err
	}
	h.logs.note(c, agent, Grant{}, nil)
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete:
	case http.MethodPut:
		if !settings {
			return &problem.MethodNotAllowedError{Allow: strings.Split(allow, ", ")}
		}
	default:
		// Only Kluis writes the log (issue 17), whoever asks.
		return &problem.MethodNotAllowedError{Allow: strings.Split(allow, ", ")}
	}
	if agent.WebID != owner || agent.Grant != "" {
		// The owner's only, whatever the pod's ACLs say; a grant never
		// reaches it.
		if agent.Anonymous() {
			return ErrUnauthenticated
		}
		return ErrForbidden
	}
	hdr.Set("Allow", allow)
	logIRI := h.store.IRI(root + ldp.AccessLogName)
	ctx := req.Context()
	switch {
	case req.Method == http.MethodOptions:
		return c.NoContent(http.StatusNoContent)
	case req.Method == http.MethodDelete:
		if _, err := h.logs.log.Clear(ctx, pod); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	case settings:
		return h.logs.serveRetention(c, pod, logIRI)
	}
	if _, ok := q["verify"]; ok {
		rep, err := h.logs.log.Verify(ctx, pod)
		if err != nil {
			return err
		}
		return writeJSONLD(c, verificationDoc(logIRI, rep))
	}
	lq, page, err := logQuery(q)
	if err != nil {
		return err
	}
	if !page {
		return h.logs.writeLog(c, collectionDoc(logIRI, q))
	}
	entries, next, err := h.logs.log.Read(ctx, pod, lq)
	if errors.Is(err, accesslog.ErrBadCursor) {
		return &problem.BadRequestError{Reason: "bad page"}
	}
	if err != nil {
		return err
	}
	doc := pageDoc(logIRI, q, lq, entries, next)
	var links []string
	if n, ok := doc["next"].(string); ok {
		links = append(links, "<"+n+`>; rel="next"`)
	}
	if p, ok := doc["prev"].(string); ok {
		links = append(links, "<"+p+`>; rel="prev"`)
	}
	links = append(links, "<"+doc["partOf"].(string)+`>; rel="collection"`)
	hdr.Set("Link", strings.Join(links, ", "))
	return h.logs.writeLog(c, doc)
}

// logQuery reads the filters and page of a request to the log:
// ?agent=, ?resource=, ?from=, ?to= (RFC 3339), ?limit=, and ?page=
// ("first" or a cursor).
func logQuery(q url.Values) (accesslog.Query, bool, error) {
	var lq accesslog.Query
	lq.Agent, lq.Resource = q.Get("agent"), q.Get("resource")
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &lq.From}, {"to", &lq.To}} {
		if v := q.Get(f.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return lq, false, &problem.BadRequestError{Reason: f.name + " must be an RFC 3339 time"}
			}
			*f.t = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return lq, false, &problem.BadRequestError{Reason: "limit must be a positive number"}
		}
		lq.Limit = min(n, accesslog.MaxPage)
	}
	page, ok := q["page"]
	if ok && len(page) > 0 && page[0] != "first" {
		lq.Cursor = page[0]
	}
	return lq, ok, nil
}

// logURL is the log's IRI with the query's filters and extra parameters.
func logURL(logIRI string, q url.Values, extra ...string) string {
	v := url.Values{}
	for _, k := range []string{"agent", "resource", "from", "to", "limit"} {
		if s := q.Get(k); s != "" {
			v.Set(k, s)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	if len(v) == 0 {
		return logIRI
	}
	return logIRI + "?" + v.Encode()
}

// maxBack bounds the pages a page's prev link can lead back through.
const maxBack = 16

// collectionDoc is the log as an AS2 OrderedCollection, whose first page
// holds the newest entries (Activity Streams 2.0 Core §2.7 "Collections",
// §2.7.1 "Collection Paging": first, next, prev, partOf).
func collectionDoc(logIRI string, q url.Values) map[string]any {
	return map[string]any{
		"@context": logContext(),
		"id":       logURL(logIRI, q),
		"type":     "OrderedCollection",
		"first":    logURL(logIRI, q, "page", "first"),
		"summary":  "Access log: every request to this pod by someone other than its owner, newest first",
	}
}

// pageDoc is one OrderedCollectionPage. Its prev link is carried in the
// URL (?back=, the cursors of the pages before, at most maxBack).
func pageDoc(logIRI string, q url.Values, lq accesslog.Query, entries []accesslog.Stored, next string) map[string]any {
	self := lq.Cursor
	if self == "" {
		self = "first"
	}
	var back []string
	if b := q.Get("back"); b != "" {
		back = strings.Split(b, " ")
	}
	id := logURL(logIRI, q, "page", self)
	if len(back) > 0 {
		id = logURL(logIRI, q, "page", self, "back", strings.Join(back, " "))
	}
	items := make([]any, 0, len(entries))
	for _, e := range entries {
		items = append(items, entryDoc(logIRI, e))
	}
	doc := map[string]any{
		"@context":     logContext(),
		"id":           id,
		"type":         "OrderedCollectionPage",
		"partOf":       logURL(logIRI, q),
		"orderedItems": items,
	}
	if next != "" {
		nb := append(append([]string(nil), back...), self)
		if len(nb) > maxBack {
			nb = nb[len(nb)-maxBack:]
		}
		doc["next"] = logURL(logIRI, q, "page", next, "back", strings.Join(nb, " "))
	}
	if len(back) > 0 {
		prev := back[len(back)-1]
		if rest := back[:len(back)-1]; len(rest) > 0 {
			doc["prev"] = logURL(logIRI, q, "page", prev, "back", strings.Join(rest, " "))
		} else {
			doc["prev"] = logURL(logIRI, q, "page", prev)
		}
	}
	return doc
}

// activityTypes are the AS2 activity of each method.
var activityTypes = map[string]string{
	http.MethodGet: "Read", http.MethodHead: "Read", http.MethodOptions: "View",
	http.MethodPut: "Update", http.MethodPatch: "Update", http.MethodPost: "Create", http.MethodDelete: "Delete",
}

// entryIRI is the stable IRI of an entry.
func entryIRI(logIRI, id string) string { return logIRI + "#" + id }

// entryDoc is one entry as an AS2 Activity.
func entryDoc(logIRI string, e accesslog.Stored) map[string]any {
	t := activityTypes[e.Method]
	if t == "" {
		t = "Activity"
	}
	d := map[string]any{
		"id":           entryIRI(logIRI, e.ID),
		"type":         t,
		"published":    e.Time.Format(time.RFC3339Nano),
		"object":       e.Resource,
		"result":       map[string]any{"type": "kluis:Outcome", "kluis:status": e.Status},
		"kluis:method": e.Method,
	}
	if e.Agent != "" {
		d["actor"] = e.Agent
	} else {
		d["actor"] = "kluis:Anonymous"
	}
	if e.Mode != "" {
		d["kluis:mode"] = "acl:" + e.Mode
	}
	if e.Client != "" {
		d["kluis:client"] = e.Client
	}
	if e.Issuer != "" {
		d["kluis:issuer"] = e.Issuer
	}
	if e.Authorization != "" {
		d["kluis:authorization"] = e.Authorization
	}
	if e.Grant != "" {
		d["kluis:grant"] = e.Grant
		d["kluis:purpose"] = e.Purposes
	}
	return d
}

// logContext is the JSON-LD context of the log's documents: AS2, and the
// Kluis and WAC terms, whose IRI-valued ones are typed @id.
func logContext() []any {
	id := map[string]any{"@type": "@id"}
	integer := map[string]any{"@type": "xsd:integer"}
	return []any{notify.ContextActivityStreams, map[string]any{
		"kluis": NSKluis, "acl": nsACL, "xsd": rdfx.NSXSD,
		"kluis:authorization": id, "kluis:grant": id, "kluis:purpose": id, "kluis:client": id,
		"kluis:issuer": id, "kluis:mode": id,
		"kluis:status": integer, "kluis:segments": integer, "kluis:entries": integer, "kluis:chains": integer,
		"kluis:maxBytes": integer, "kluis:maxAgeDays": integer,
		"kluis:requestedMaxBytes": integer, "kluis:requestedMaxAgeDays": integer,
		"kluis:verified": map[string]any{"@type": "xsd:boolean"},
	}}
}

const nsACL = "http://www.w3.org/ns/auth/acl#"

// asIRITerms are the AS2 terms whose values are IRIs.
var asIRITerms = map[string]bool{"first": true, "next": true, "prev": true, "partOf": true, "object": true, "actor": true}

// expand makes an IRI of a compact name of the log's documents.
func expand(name string) string {
	switch {
	case strings.HasPrefix(name, "kluis:"):
		return NSKluis + name[len("kluis:"):]
	case strings.HasPrefix(name, "acl:"):
		return nsACL + name[len("acl:"):]
	case strings.Contains(name, ":"):
		return name
	}
	return nsAS + name
}

// docTriples are the triples of one of the log's documents (the same
// graph as its JSON-LD under logContext), for Turtle.
func docTriples(doc map[string]any, g *rdfx.Graph, blank *int) rdfx.Term {
	var subject rdfx.Term
	if id, ok := doc["id"].(string); ok {
		subject = rdfx.IRI(id)
	} else {
		*blank++
		subject = rdfx.Blank("b" + strconv.Itoa(*blank))
	}
	for k, v := range doc {
		if k == "@context" || k == "id" {
			continue
		}
		if k == "type" {
			g.Add(rdfx.Triple{S: subject, P: rdfx.IRI(rdfx.RDFType), O: rdfx.IRI(expand(v.(string)))})
			continue
		}
		p := rdfx.IRI(expand(k))
		var values []any
		switch v := v.(type) {
		case []any:
			values = v
		case []string:
			for _, s := range v {
				values = append(values, s)
			}
		default:
			values = []any{v}
		}
		if k == "orderedItems" {
			// AS2: an ordered list (rdf:first, rdf:rest).
			head := rdfx.IRI(rdfx.NSRDF + "nil")
			for i := len(values) - 1; i >= 0; i-- {
				*blank++
				node := rdfx.Blank("l" + strconv.Itoa(*blank))
				g.Add(rdfx.Triple{S: node, P: rdfx.IRI(rdfx.NSRDF + "first"), O: docTriples(values[i].(map[string]any), g, blank)})
				g.Add(rdfx.Triple{S: node, P: rdfx.IRI(rdfx.NSRDF + "rest"), O: head})
				head = node
			}
			g.Add(rdfx.Triple{S: subject, P: p, O: head})
			continue
		}
		for _, x := range values {
			var o rdfx.Term
			switch x := x.(type) {
			case map[string]any:
				o = docTriples(x, g, blank)
			case bool:
				o = rdfx.Literal(strconv.FormatBool(x), rdfx.XSDBoolean)
			case int:
				o = rdfx.Literal(strconv.Itoa(x), rdfx.XSDInteger)
			case int64:
				o = rdfx.Literal(strconv.FormatInt(x, 10), rdfx.XSDInteger)
			case string:
				switch {
				case k == "published":
					o = rdfx.Literal(x, rdfx.XSDDateTime)
				case asIRITerms[k] || strings.HasPrefix(k, "kluis:") && iriTerm(k):
					o = rdfx.IRI(expand(x))
				default:
					o = rdfx.Literal(x, rdfx.XSDString)
				}
			default:
				continue
			}
			g.Add(rdfx.Triple{S: subject, P: p, O: o})
		}
	}
	return subject
}

// iriTerm reports whether a Kluis term's values are IRIs.
func iriTerm(k string) bool {
	switch k {
	case "kluis:authorization", "kluis:grant", "kluis:purpose", "kluis:client", "kluis:issuer", "kluis:mode":
		return true
	}
	return false
}

// verificationDoc is what Verify found, for the owner.
func verificationDoc(logIRI string, rep accesslog.Report) map[string]any {
	problems := rep.Problems
	if problems == nil {
		problems = []string{}
	}
	return map[string]any{
		"@context":       logContext(),
		"id":             logIRI + "?verify",
		"type":           "kluis:Verification",
		"object":         logIRI,
		"kluis:verified": rep.OK(),
		"kluis:segments": rep.Segments,
		"kluis:entries":  rep.Entries,
		"kluis:chains":   rep.Chains,
		"kluis:problem":  problems,
		"summary": "Every segment's hash chain and signed head checked against the keys published at /.vc/keys. " +
			"The removal of a chain's newest segments, or of whole chains, is not detectable.",
	}
}

// writeLog answers a document of the log: JSON-LD unless Turtle is
// preferred, the two representations an RDF source must offer (Solid
// Protocol §5.5 "Resource Representations").
func (a *accessLog) writeLog(c echo.Context, doc map[string]any) error {
	vary(c.Response().Header(), "Accept")
	mt, err := ldp.Negotiate(c.Request().Header.Get("Accept"), []string{rdfx.JSONLD, rdfx.Turtle})
	if err != nil {
		return err
	}
	if mt != rdfx.Turtle {
		return writeJSONLD(c, doc)
	}
	g := rdfx.NewGraph(0)
	blank := 0
	docTriples(doc, g, &blank)
	var b bytes.Buffer
	if err := rdfx.Serialize(&b, g, rdfx.Turtle, "", map[string]string{"as": nsAS, "kluis": NSKluis, "acl": nsACL}); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Length", strconv.Itoa(b.Len()))
	return c.Blob(http.StatusOK, "text/turtle; charset=utf-8", b.Bytes())
}

// writeJSONLD answers doc as JSON-LD, with its length.
func writeJSONLD(c echo.Context, doc map[string]any) error {
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Length", strconv.Itoa(len(raw)))
	return c.Blob(http.StatusOK, "application/ld+json", raw)
}

// --- Retention: <storage>.access-log?retention ---

// podRetention is the stored form of an owner's retention.
type podRetention struct {
	MaxAgeDays int   `json:"maxAgeDays,omitempty"`
	MaxBytes   int64 `json:"maxBytes,omitempty"`
}

// retentionOf is the retention of pod: the owner's within the server's.
func (a *accessLog) retentionOf(ctx context.Context, pod string) (accesslog.Retention, error) {
	r := a.retention
	pr, err := a.readRetention(ctx, pod)
	if err != nil {
		return r, err
	}
	if age := time.Duration(pr.MaxAgeDays) * 24 * time.Hour; age > 0 && (r.MaxAge <= 0 || age < r.MaxAge) {
		r.MaxAge = age
	}
	if pr.MaxBytes > 0 && (r.MaxBytes <= 0 || pr.MaxBytes < r.MaxBytes) {
		r.MaxBytes = pr.MaxBytes
	}
	return r, nil
}

// readRetention reads the owner's retention of pod; zero when none.
func (a *accessLog) readRetention(ctx context.Context, pod string) (podRetention, error) {
	var pr podRetention
	rc, _, err := a.space.Backend().Get(ctx, accesslog.RetentionKey(pod), storage.GetOptions{})
	if errors.Is(err, storage.ErrNotFound) {
		return pr, nil
	}
	if err != nil {
		return pr, err
	}
	defer rc.Close()
	if err := json.NewDecoder(io.LimitReader(rc, 4096)).Decode(&pr); err != nil {
		a.logger.Warn("access log: unreadable retention; the server's applies", "pod", pod, "error", err)
		return podRetention{}, nil
	}
	return pr, nil
}

// maxRetentionBody bounds a retention document.
const maxRetentionBody = 4096

// serveRetention reads (GET) or sets (PUT, JSON
// {"maxAgeDays": n, "maxBytes": n}) the owner's retention of pod's log;
// the server's bounds apply whatever the owner asks.
func (a *accessLog) serveRetention(c echo.Context, pod, logIRI string) error {
	req := c.Request()
	ctx := req.Context()
	if req.Method == http.MethodPut {
		ct, _, _ := strings.Cut(req.Header.Get("Content-Type"), ";")
		if ct = strings.TrimSpace(ct); ct != "application/json" && ct != rdfx.JSONLD {
			return &problem.BadRequestError{Reason: `the retention is JSON: {"maxAgeDays": 30, "maxBytes": 1000000}`}
		}
		var pr podRetention
		dec := json.NewDecoder(io.LimitReader(req.Body, maxRetentionBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pr); err != nil || pr.MaxAgeDays < 0 || pr.MaxBytes < 0 {
			return &problem.BadRequestError{Reason: `the retention is JSON: {"maxAgeDays": 30, "maxBytes": 1000000}`}
		}
		raw, _ := json.Marshal(pr)
		if _, err := a.space.Backend().Put(ctx, accesslog.RetentionKey(pod), bytes.NewReader(raw), storage.PutOptions{ContentType: "application/json"}); err != nil {
			return err
		}
		// Applied at the next sweep.
		if err := a.log.Touch(ctx, pod); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
	pr, err := a.readRetention(ctx, pod)
	if err != nil {
		return err
	}
	r, err := a.retentionOf(ctx, pod)
	if err != nil {
		return err
	}
	doc := map[string]any{
		"@context": logContext(), "id": logIRI + "?retention", "type": "kluis:Retention",
		"object": logIRI, "kluis:requestedMaxAgeDays": pr.MaxAgeDays, "kluis:requestedMaxBytes": pr.MaxBytes,
		"kluis:maxAgeDays": int(r.MaxAge / (24 * time.Hour)),
	}
	if r.MaxBytes > 0 {
		doc["kluis:maxBytes"] = r.MaxBytes
	}
	return writeJSONLD(c, doc)
}

// --- The access page's view (server/consent) ---

// logView reads pods' logs for the access page (consent.AccessLog).
type logView struct{ a *accessLog }

// Read reads a page of the log of the pod whose root IRI is storageIRI.
func (v logView) Read(ctx context.Context, storageIRI string, q consent.LogQuery) ([]consent.LogEntry, string, error) {
	p, ok := v.a.space.PathOf(storageIRI)
	if !ok {
		return nil, "", ErrForbidden
	}
	root, pod, _, ok := v.a.podOf(ctx, p)
	if !ok || root != p {
		return nil, "", ErrForbidden
	}
	es, next, err := v.a.log.Read(ctx, pod, accesslog.Query{Agent: q.Agent, Resource: q.Resource, From: q.From, To: q.To, Cursor: q.Cursor, Limit: q.Limit})
	if errors.Is(err, accesslog.ErrBadCursor) {
		return nil, "", &problem.BadRequestError{Reason: "bad page"}
	}
	if err != nil {
		return nil, "", err
	}
	logIRI := v.a.space.IRI(root + ldp.AccessLogName)
	out := make([]consent.LogEntry, len(es))
	for i, e := range es {
		out[i] = consent.LogEntry{ID: entryIRI(logIRI, e.ID), Time: e.Time, Agent: e.Agent, Client: e.Client, Issuer: e.Issuer,
			Resource: e.Resource, Method: e.Method, Mode: e.Mode, Status: e.Status,
			Authorization: e.Authorization, Grant: e.Grant, Purposes: e.Purposes}
	}
	return out, next, nil
}

// AccessLog is the access page's view of the pods' access logs, nil when
// the log is off. The caller checks that the person owns the pod.
func (s *Server) AccessLog() consent.AccessLog { return s.logs.view() }

// view is the access page's view of the logs (consent.AccessLog), nil
// when the log is off: what server.New gives the page's handler.
func (a *accessLog) view() consent.AccessLog {
	if a == nil {
		return nil
	}
	return logView{a}
}

// describeAccessLog links each storage to its access log in its storage
// description (kluis:accessLog), after what next describes.
func describeAccessLog(next func(description, storage string) []rdfx.Triple) func(description, storage string) []rdfx.Triple {
	return func(description, storage string) []rdfx.Triple {
		var ts []rdfx.Triple
		if next != nil {
			ts = next(description, storage)
		}
		if storage == "" || !strings.HasSuffix(storage, "/") {
			return ts
		}
		return append(ts, rdfx.Triple{S: rdfx.IRI(storage), P: rdfx.IRI(AccessLogPredicate), O: rdfx.IRI(storage + ldp.AccessLogName)})
	}
}

// FlushAccessLog writes the access log entries waiting in memory, for
// tests and for an operator who wants them now; nil when the log is off.
func (s *Server) FlushAccessLog(ctx context.Context) error {
	if s.logs == nil {
		return nil
	}
	return s.logs.log.Flush(ctx)
}
