package consent

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/weconomics/kluis/acl"
	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/server/request"
)

// AccessPath is the access page of a pod: GET AccessPath?storage=<the
// pod's root IRI> shows its owner, in plain words, who else can reach
// what (the authorizations of the pod's ACL documents), the pending
// access requests, the grants given and ended, and the access log; its
// forms POST to the same path (remove an authorization, revoke a grant,
// approve or deny a request). Only the pod's owner, logged in to their
// account, sees it.
const AccessPath = Prefix + "access"

// accessCSP is the page's Content-Security-Policy: no script, no frames,
// forms to this origin only (every answer redirects here).
const accessCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// The page's other bounds.
const (
	// logPageSize is how many access log entries one page shows.
	logPageSize = 50
	// recentEnded is how many ended grants, denials and closed requests
	// the page lists.
	recentEnded = 20
	// maxNameLookups bounds the profile reads for organisations' names.
	maxNameLookups = 20
	// maxOwned bounds the credentials read for one page.
	maxOwned = 500
	// maxWhoLength bounds the WebID the log is filtered on; a longer one
	// shows everyone's requests.
	maxWhoLength = 2048
)

// accessDone are the messages after a form succeeded (the redirect names
// one by key, so that nothing the form sent is reflected).
var accessDone = map[string]string{
	"removed":  "The access rule was removed.",
	"revoked":  "The grant was revoked: it ends at the organisation's next request.",
	"approved": "The request was approved: the organisation has a grant now.",
	"denied":   "The request was denied.",
}

// accessView is what the page shows.
type accessView struct {
	Storage, Owner string
	Error, Done    string
	Refused        string // set: the page shows only this
	CSRF, Action   string

	Rules    []ruleGroup
	RulesCut string

	Requests []credentialView
	Active   []credentialView
	Ended    []credentialView
	More     bool // the owner's credentials were not all read
	MaxOwned int

	LogOff      bool
	LogError    string
	Log         []logView
	LogNext     string // the URL of the next page of the log
	LogDownload string
	ByGrant     []grantUse
	// LogWho is the agent the log is filtered on ("" everyone), LogWhoName
	// its name, LogAll the page's URL without the filter.
	LogWho, LogWhoName, LogAll string
}

// ruleGroup is the authorizations of one ACL document.
type ruleGroup struct {
	Resource, ACL string
	Container     bool
	Unusable      bool
	Rules         []ruleView
}

type ruleView struct {
	ID, ACL    string
	Who        []string
	Modes      string
	Scope      string
	Limits     []string
	Own        bool // gives the owner Control: no Remove button
	Everything bool // public
}

type credentialView struct {
	IRI, Org, OrgWebID, Modes, Until, State, Changed string
	// LogOf is the page's URL with the log filtered on the organisation.
	LogOf               string
	Resources, Purposes []string
	Kind                string
}

type logView struct {
	// Resource is the IRI requested; Where says it within the pod.
	IRI, Time, Who, What, Resource, Where, Outcome string
	// Via says what allowed it; ViaIRI is that rule's or grant's IRI.
	Via, ViaIRI string
	Refused     bool
	Purposes    []string
}

// grantUse is what one organisation did under one grant, in the entries
// shown.
type grantUse struct {
	Org, Grant string
	LogOf      string // the page's URL with the log filtered on the organisation
	Purposes   []string
	Reads      []logView
}

var accessPage = template.Must(template.New("access").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Who can access your pod</title>
<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
h2{margin-top:2.2rem;border-bottom:1px solid #ccc}h3{margin:1.2rem 0 .3rem;font-size:1.05rem}
.item{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;margin:.5rem 0}
.item form{display:inline}.hint{color:#555;font-size:.92rem}code{font-size:.9rem;word-break:break-all}
button{font-size:.95rem;padding:.3rem .9rem;margin:.3rem .6rem 0 0}
.refused{color:#8a1c1c}.ok{color:#1c5e20}[role=alert]{background:#fdecea;padding:.5rem .8rem}[role=status]{background:#e8f5e9;padding:.5rem .8rem}
table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #eee;vertical-align:top;font-size:.92rem}th:nth-child(1){width:18%}th:nth-child(2){width:27%}th:nth-child(3){width:27%}td{overflow-wrap:anywhere}</style></head>
<body><main>
<h1>Who can access your pod</h1>
{{if .Refused}}<p role="alert"><strong>{{.Refused}}</strong></p><p><a href="/.account/">Your account</a></p>{{else}}
<p>Your pod <a href="{{.Storage}}"><code>{{.Storage}}</code></a>, as its owner <code>{{.Owner}}</code> sees it.</p>
{{if .Error}}<p role="alert"><strong>{{.Error}}</strong></p>{{end}}
{{if .Done}}<p role="status">{{.Done}}</p>{{end}}

<h2 id="requests">Requests waiting for you</h2>
{{range .Requests}}<div class="item" data-testid="request" data-iri="{{.IRI}}">
<p><strong>{{.Org}}</strong>{{if ne .Org .OrgWebID}} (<code>{{.OrgWebID}}</code>){{end}} asks to {{.Modes}}:</p>
<ul>{{range .Resources}}<li><code>{{.}}</code></li>{{end}}</ul>
<p>Why: {{range $i, $p := .Purposes}}{{if $i}}; {{end}}{{$p}}{{else}}no purpose given{{end}}. Until: {{.Until}}.</p>
<form method="post" action="{{$.Action}}"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="storage" value="{{$.Storage}}"><input type="hidden" name="request" value="{{.IRI}}">
<button type="submit" name="action" value="approve">Allow</button><button type="submit" name="action" value="deny">Deny</button></form>
</div>{{else}}<p>No requests are waiting.</p>{{end}}

<h2 id="grants">Organisations you gave access</h2>
{{range .Active}}<div class="item" data-testid="grant" data-state="active" data-iri="{{.IRI}}">
<p><strong>{{.Org}}</strong>{{if ne .Org .OrgWebID}} (<code>{{.OrgWebID}}</code>){{end}} may {{.Modes}}:</p>
<ul>{{range .Resources}}<li><code>{{.}}</code></li>{{end}}</ul>
<p>For: {{range $i, $p := .Purposes}}{{if $i}}; {{end}}{{$p}}{{else}}no purpose given{{end}}. Until: {{.Until}}.</p>
<form method="post" action="{{$.Action}}"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="storage" value="{{$.Storage}}"><input type="hidden" name="grant" value="{{.IRI}}">
<button type="submit" name="action" value="revoke">Revoke</button></form>{{if not $.LogOff}} <a href="{{.LogOf}}">What it did</a>{{end}}
</div>{{else}}<p>No organisation has a grant now.</p>{{end}}
{{if .Ended}}<h3>Ended and refused</h3>
{{range .Ended}}<div class="item" data-testid="{{.Kind}}" data-state="{{.State}}" data-iri="{{.IRI}}"><p><strong>{{.Org}}</strong> {{if eq .Kind "denial"}}asked to{{else}}could{{end}} {{.Modes}} <code>{{index .Resources 0}}</code>{{if gt (len .Resources) 1}} and {{len .Resources}} more{{end}}{{if .Purposes}}, for {{range $i, $p := .Purposes}}{{if $i}}; {{end}}{{$p}}{{end}}{{end}}.
{{if eq .State "refused"}}You refused.{{else if eq .State "revoked"}}You revoked this grant{{if .Changed}} on {{.Changed}}{{end}}.{{else if eq .State "expired"}}This grant ended on {{.Until}}.{{end}}</p></div>{{end}}{{end}}
{{if .More}}<p class="hint">You have more than {{.MaxOwned}} grants and requests; only {{.MaxOwned}} of them were looked at.</p>{{end}}

<h2 id="rules">Who else can reach what</h2>
<p class="hint">The access rules (ACL documents) in your pod. Removing a rule takes effect at the next request.</p>
{{range .Rules}}<h3>{{if .Container}}Folder{{else}}Document{{end}} <code>{{.Resource}}</code></h3>
{{if .Unusable}}<p class="refused">Its rules (<code>{{.ACL}}</code>) cannot be read; no one gets access through them.</p>{{end}}
{{range .Rules}}<div class="item" data-testid="rule">
<p>{{range $i, $w := .Who}}{{if $i}}, {{end}}<strong>{{$w}}</strong>{{end}} may {{.Modes}} {{.Scope}}{{range .Limits}}, {{.}}{{end}}.</p>
{{if .Own}}<p class="hint">This rule gives you control of your pod; it cannot be removed here.</p>{{else}}
<form method="post" action="{{$.Action}}"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="storage" value="{{$.Storage}}"><input type="hidden" name="acl" value="{{.ACL}}"><input type="hidden" name="rule" value="{{.ID}}">
<button type="submit" name="action" value="remove">Remove</button></form>{{end}}
</div>{{end}}{{end}}
{{if .RulesCut}}<p class="hint">{{.RulesCut}}</p>{{end}}

<h2 id="log">What was done with your data</h2>
{{if .LogOff}}<p>The access log is off on this server: requests to your pod are not recorded.</p>{{else if .LogError}}<p role="alert">{{.LogError}}</p>{{else}}
<p class="hint">Places are named within your pod: <code>notes/</code> is <code>{{.Storage}}notes/</code>.</p>
{{if .ByGrant}}<h3>By organisation and grant</h3>
{{range .ByGrant}}<div class="item"><p><strong><a href="{{.LogOf}}">{{.Org}}</a></strong> under the grant <code>{{.Grant}}</code>{{range .Purposes}}; for {{.}}{{end}}:</p>
<ul>{{range .Reads}}<li>{{.What}} <code title="{{.Resource}}">{{.Where}}</code> at {{.Time}}{{if .Refused}} — <span class="refused">{{.Outcome}}</span>{{end}}</li>{{end}}</ul></div>{{end}}{{end}}
{{if .LogWho}}<h3>Requests by {{.LogWhoName}}</h3>
<p class="hint"><code>{{.LogWho}}</code> only. <a href="{{.LogAll}}">Everyone's requests</a></p>{{else}}<h3>Latest requests to your pod</h3>{{end}}
{{if .Log}}<table><thead><tr><th>When</th><th>Who</th><th>What</th><th>Outcome</th></tr></thead><tbody>
{{range .Log}}<tr data-testid="access" data-iri="{{.IRI}}"><td>{{.Time}}</td><td>{{.Who}}</td><td>{{.What}} <code title="{{.Resource}}">{{.Where}}</code></td>
<td>{{if .Refused}}<span class="refused">{{.Outcome}}</span>{{else}}<span class="ok">{{.Outcome}}</span>{{end}}{{if .Via}}<br><span class="hint" title="{{.ViaIRI}}">{{.Via}}</span>{{end}}{{range .Purposes}}<br><span class="hint">for {{.}}</span>{{end}}</td></tr>{{end}}
</tbody></table>{{else}}<p>No one else has made requests to your pod.</p>{{end}}
{{if .LogNext}}<p><a href="{{.LogNext}}">Older entries</a></p>{{end}}
<p><a href="{{.LogDownload}}">Download the whole log</a> (for scripts: an Activity Streams collection).</p>{{end}}
{{end}}
<p><a href="/.account/">Your account</a></p>
</main></body></html>
`))

// owner checks that the person logged in owns the storage named by the
// form or query: the storage's root path and IRI and the owner's WebID.
// tok is "" when no one is logged in.
func (h *Handler) owner(c echo.Context, storageIRI string) (root ldp.Path, owner, tok string, refused string, err error) {
	tok, webIDs, err := h.Session(c.Request())
	if err != nil || tok == "" {
		return "", "", "", "", err
	}
	p, ok := h.Space.PathOf(storageIRI)
	if !ok || !p.IsContainer() || len(storageIRI) > 2048 {
		return "", "", tok, "", &problem.BadRequestError{Reason: "The page needs storage, the address of one of your pods."}
	}
	r, ok, err := h.Space.StorageOf(c.Request().Context(), p)
	if err != nil {
		return "", "", tok, "", err
	}
	if !ok || r != p {
		return "", "", tok, "There is no pod at this address.", nil
	}
	o, ok, err := h.Space.Owner(c.Request().Context(), r)
	if err != nil {
		return "", "", tok, "", err
	}
	if !ok || !slices.Contains(webIDs, o) {
		return "", "", tok, "This pod is not yours: only its owner sees who can access it.", nil
	}
	return r, o, tok, "", nil
}

// access shows the page.
func (h *Handler) access(c echo.Context) error {
	if h.Session == nil || h.Space == nil {
		return credential.ErrNotFound
	}
	storageIRI := c.QueryParam("storage")
	root, owner, tok, refused, err := h.owner(c, storageIRI)
	if err != nil {
		return err
	}
	if tok == "" {
		back := AccessPath + "?" + url.Values{"storage": {storageIRI}}.Encode()
		return c.Redirect(http.StatusSeeOther, "/.account/login/?"+url.Values{"return": {back}}.Encode())
	}
	if refused != "" {
		return h.renderAccess(c, http.StatusForbidden, accessView{Refused: refused})
	}
	v, err := h.accessView(c.Request().Context(), root, owner, tok, c.QueryParam("log"), c.QueryParam("who"))
	if err != nil {
		return err
	}
	v.Done = accessDone[c.QueryParam("done")]
	return h.renderAccess(c, http.StatusOK, v)
}

func (h *Handler) renderAccess(c echo.Context, status int, v accessView) error {
	return renderPage(c, status, accessPage, accessCSP, v)
}

// accessView gathers what the page shows.
func (h *Handler) accessView(ctx context.Context, root ldp.Path, owner, tok, logCursor, who string) (accessView, error) {
	storageIRI := h.Space.IRI(root)
	// logOf is this page with the log filtered on agent (and at cursor).
	logOf := func(agent, cursor string) string {
		q := url.Values{"storage": {storageIRI}}
		if agent != "" {
			q.Set("who", agent)
		}
		if cursor != "" {
			q.Set("log", cursor)
		}
		return AccessPath + "?" + q.Encode() + "#log"
	}
	v := accessView{Storage: storageIRI, Owner: owner, CSRF: csrfOf(tok), Action: AccessPath, MaxOwned: maxOwned}
	names := &orgNames{space: h.Space, seen: map[string]string{}}

	// Requests and grants.
	owned, more, err := h.Service.Owner(ctx, owner, maxOwned)
	if err != nil {
		return v, err
	}
	v.More = more
	for _, o := range owned {
		acc := o.Access
		if !inStorage(acc.Resources, storageIRI) {
			continue
		}
		cv := h.credentialView(ctx, names, o)
		cv.LogOf = logOf(acc.Requestor, "")
		switch {
		case acc.Kind == credential.Request && o.State == "Pending":
			v.Requests = append(v.Requests, cv)
		case acc.Kind == credential.Grant && acc.Status == credential.StatusGiven && o.State == "Active":
			v.Active = append(v.Active, cv)
		case len(v.Ended) < recentEnded && acc.Kind != credential.Request:
			v.Ended = append(v.Ended, cv)
		}
	}

	// The access rules.
	w, err := walkACLs(ctx, h.Space, root, h.walkLimits())
	if err != nil {
		return v, err
	}
	v.RulesCut = w.Cut
	for _, d := range w.Docs {
		v.Rules = append(v.Rules, h.ruleGroup(d, owner))
	}

	// The access log.
	if h.Log == nil {
		v.LogOff = true
		return v, nil
	}
	v.LogDownload = storageIRI + ".access-log"
	if len(who) > maxWhoLength {
		who = ""
	}
	if who != "" {
		v.LogWho, v.LogWhoName, v.LogAll = who, names.name(ctx, who), logOf("", "")
	}
	entries, next, err := h.Log.Read(ctx, storageIRI, LogQuery{Agent: who, Cursor: logCursor, Limit: logPageSize})
	if err != nil {
		v.LogError = "The access log cannot be read just now; try again later."
		return v, nil
	}
	if next != "" {
		v.LogNext = logOf(who, next)
	}
	uses := map[[2]string]int{}
	for _, e := range entries {
		lv := logView{IRI: e.ID, Time: e.Time.UTC().Format("2 Jan 2006 15:04:05 MST"), Resource: e.Resource, Where: within(e.Resource, storageIRI),
			What: logWhat(e), Refused: e.Status >= 400, Outcome: outcome(e.Status)}
		lv.Who = "someone not logged in"
		if e.Agent != "" {
			lv.Who = names.name(ctx, e.Agent)
		}
		switch {
		case e.Grant != "":
			lv.Via, lv.ViaIRI = "under your grant", e.Grant
		case e.Authorization != "":
			lv.Via, lv.ViaIRI = "by the rule "+within(e.Authorization, storageIRI), e.Authorization
		}
		for _, p := range e.Purposes {
			lv.Purposes = append(lv.Purposes, purposeLabel(p))
		}
		v.Log = append(v.Log, lv)
		if e.Grant != "" {
			k := [2]string{e.Agent, e.Grant}
			i, ok := uses[k]
			if !ok {
				i = len(v.ByGrant)
				uses[k] = i
				v.ByGrant = append(v.ByGrant, grantUse{Org: lv.Who, Grant: e.Grant, Purposes: lv.Purposes, LogOf: logOf(e.Agent, "")})
			}
			v.ByGrant[i].Reads = append(v.ByGrant[i].Reads, lv)
		}
	}
	return v, nil
}

func (h *Handler) walkLimits() walkLimits {
	if h.limits != nil {
		return *h.limits
	}
	return defaultWalkLimits
}

// within says where iri lies in the storage: its path below the root
// ("notes/first"), "the pod itself" for the root, the IRI elsewhere.
func within(iri, storageIRI string) string {
	rest, ok := strings.CutPrefix(iri, storageIRI)
	switch {
	case !ok:
		return iri
	case rest == "":
		return "the pod itself"
	}
	return rest
}

// inStorage reports whether one of the resources lies in the storage.
func inStorage(resources []string, storageIRI string) bool {
	for _, r := range resources {
		if strings.HasPrefix(r, storageIRI) {
			return true
		}
	}
	return false
}

func (h *Handler) credentialView(ctx context.Context, names *orgNames, o credential.Owned) credentialView {
	acc := o.Access
	cv := credentialView{IRI: acc.ID, OrgWebID: acc.Requestor, Org: names.name(ctx, acc.Requestor),
		Modes: modeWords(acc.Modes), Resources: acc.Resources, Until: "no end date", Kind: "grant"}
	switch acc.Kind {
	case credential.Request:
		cv.Kind = "request"
	case credential.Denial:
		cv.Kind = "denial"
	}
	for _, p := range acc.Purposes {
		cv.Purposes = append(cv.Purposes, purposeLabel(p))
	}
	if !acc.Expires.IsZero() {
		cv.Until = acc.Expires.UTC().Format("2 January 2006, 15:04 MST")
	}
	cv.State = map[string]string{"Revoked": "revoked", "Expired": "expired", "Active": "given"}[o.State]
	if acc.Kind == credential.Denial {
		cv.State = "refused"
	}
	if !o.Changed.IsZero() {
		cv.Changed = o.Changed.UTC().Format("2 January 2006, 15:04 MST")
	}
	return cv
}

// ruleGroup says one ACL document's authorizations in words.
func (h *Handler) ruleGroup(d aclDoc, owner string) ruleGroup {
	g := ruleGroup{Resource: h.Space.IRI(d.Subject), ACL: h.Space.IRI(d.Path), Container: d.Subject.IsContainer(), Unusable: d.Unusable}
	subject := h.Space.IRI(d.Subject)
	for _, a := range d.Auths {
		rv := ruleView{ID: a.ID, ACL: h.Space.IRI(d.Path), Own: ownControl(a, owner), Modes: aclModeWords(a.Modes)}
		if a.Public {
			rv.Who = append(rv.Who, "everyone, also people not logged in")
		}
		if a.Authenticated {
			rv.Who = append(rv.Who, "anyone logged in")
		}
		for _, x := range a.Agents {
			if x == owner {
				rv.Who = append(rv.Who, "you")
			} else {
				rv.Who = append(rv.Who, x)
			}
		}
		for _, x := range a.Groups {
			rv.Who = append(rv.Who, "the members of the group "+x)
		}
		for _, x := range a.OtherClasses {
			rv.Who = append(rv.Who, "the agents of the class "+x)
		}
		if len(rv.Who) == 0 {
			rv.Who = []string{"no one (the rule names no one)"}
		}
		// WAC 1.0 §4.1: acl:accessTo names the resource itself,
		// acl:default a container whose rules apply below it.
		on, below := slices.Contains(a.AccessTo, subject), slices.Contains(a.Default, subject)
		switch container := d.Subject.IsContainer(); {
		case container && on && below:
			rv.Scope = "this folder and everything in it"
		case container && on:
			rv.Scope = "this folder, but not what is in it"
		case container && below:
			rv.Scope = "everything in this folder that has no rules of its own"
		case on:
			rv.Scope = "this document"
		default:
			rv.Scope = "nothing here (the rule names other resources)"
		}
		for _, o := range a.Origins {
			rv.Limits = append(rv.Limits, "only through apps on "+o)
		}
		for _, x := range a.Clients {
			rv.Limits = append(rv.Limits, "only with the app "+x)
		}
		for _, x := range a.ClientGroups {
			rv.Limits = append(rv.Limits, "only with an app of the group "+x)
		}
		for _, x := range a.Issuers {
			rv.Limits = append(rv.Limits, "only when logged in through "+x)
		}
		for _, x := range a.IssuerGroups {
			rv.Limits = append(rv.Limits, "only when logged in through a provider of the group "+x)
		}
		if a.OtherConditions {
			rv.Limits = append(rv.Limits, "under a condition this server does not know (so the rule gives nothing)")
		}
		g.Rules = append(g.Rules, rv)
	}
	return g
}

// aclModeWords says an authorization's modes in plain words.
func aclModeWords(m acl.Mode) string {
	var w []string
	if m.Has(acl.Read) {
		w = append(w, "see")
	}
	switch {
	case m.Has(acl.Write):
		w = append(w, "change and delete")
	case m.Has(acl.Append):
		w = append(w, "add to")
	}
	if m.Has(acl.Control) {
		w = append(w, "decide who has access to")
	}
	switch len(w) {
	case 0:
		return "do nothing with"
	case 1:
		return w[0]
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}

// logWhat says what a request did.
func logWhat(e LogEntry) string {
	switch e.Method {
	case http.MethodGet, http.MethodHead:
		return "read"
	case http.MethodPut, http.MethodPatch:
		return "changed"
	case http.MethodPost:
		return "added to"
	case http.MethodDelete:
		return "deleted"
	}
	if e.Method == "" {
		return "used"
	}
	return e.Method
}

func outcome(status int) string {
	switch {
	case status == 0:
		return "unknown"
	case status < 400:
		return "allowed"
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return "refused"
	case status == http.StatusNotFound:
		return "not found"
	}
	return "failed"
}

// orgNames finds the names of organisations whose WebID profile is on
// this server (foaf:name, vcard:fn or schema:name), at most
// maxNameLookups per page; anyone else is named by their WebID.
type orgNames struct {
	space   *ldp.Store
	seen    map[string]string
	lookups int
}

func (n *orgNames) name(ctx context.Context, webID string) string {
	if s, ok := n.seen[webID]; ok {
		return s
	}
	name := webID
	if p, ok := n.space.PathOf(webID); ok && n.lookups < maxNameLookups {
		n.lookups++
		if found := profileName(ctx, n.space, p, webID); found != "" {
			name = found
		}
	}
	n.seen[webID] = name
	return name
}

func profileName(ctx context.Context, space *ldp.Store, p ldp.Path, webID string) string {
	rep, err := space.Get(ctx, p, ldp.GetRequest{Accept: rdfx.Turtle})
	if err != nil {
		return ""
	}
	defer rep.Close()
	if rep.Kind != ldp.RDFSource || rep.Size > 256<<10 {
		return ""
	}
	g, err := rdfx.Parse(rep.Body, rdfx.Turtle, space.IRI(p), rdfx.ParseOptions{MaxTriples: 5000})
	if err != nil {
		return ""
	}
	for _, pred := range []string{"http://xmlns.com/foaf/0.1/name", "http://www.w3.org/2006/vcard/ns#fn", "http://schema.org/name"} {
		if o, ok := g.Object(rdfx.IRI(webID), rdfx.IRI(pred)); ok && o.IsLiteral() && o.Value() != "" {
			return truncate(o.Value(), 120)
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// accessAction handles the page's forms: remove, revoke, approve, deny.
// Like the consent page, a form must come from this origin and carry the
// token derived from the session (server/request.FromOrigin).
func (h *Handler) accessAction(c echo.Context) error {
	if h.Session == nil || h.Space == nil {
		return credential.ErrNotFound
	}
	if !request.FromOrigin(c.Request(), h.Origin) {
		return problem.ErrCSRF
	}
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return &problem.BadRequestError{Reason: "The form cannot be read."}
	}
	storageIRI := r.PostFormValue("storage")
	root, owner, tok, refused, err := h.owner(c, storageIRI)
	if err != nil {
		return err
	}
	if tok == "" || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(csrfOf(tok))) != 1 {
		return problem.ErrCSRF
	}
	if refused != "" {
		return h.renderAccess(c, http.StatusForbidden, accessView{Refused: refused})
	}
	ctx := r.Context()
	storageIRI = h.Space.IRI(root)
	fail := func(status int, msg string) error {
		v, err := h.accessView(ctx, root, owner, tok, "", "")
		if err != nil {
			return err
		}
		v.Error = msg
		return h.renderAccess(c, status, v)
	}
	var done string
	switch r.PostFormValue("action") {
	case "remove":
		p, ok := h.Space.PathOf(r.PostFormValue("acl"))
		if kind, _ := p.Aux(); !ok || kind != ldp.ACL || !strings.HasPrefix(string(p), string(root)) {
			return fail(http.StatusBadRequest, "That is not an access rule document of this pod.")
		}
		switch err := removeAuthorization(ctx, h.Space, p, r.PostFormValue("rule"), owner); {
		case errors.Is(err, errOwnControl):
			return fail(http.StatusConflict, "That rule gives you control of your pod, so it cannot be removed here: without it no one could change who has access.")
		case errors.Is(err, errGone):
			return fail(http.StatusConflict, "That rule is no longer there: the rules changed since the page was shown. Here they are as they are now.")
		case err != nil:
			return err
		}
		done = "removed"
	case "revoke":
		_, acc, err := h.Service.Get(ctx, credential.Agent{WebID: owner}, r.PostFormValue("grant"))
		if errors.Is(err, credential.ErrNotFound) || err == nil && (acc.Kind != credential.Grant || acc.Subject != owner || !inStorage(acc.Resources, storageIRI)) {
			return fail(http.StatusBadRequest, "That is not a grant you gave for this pod.")
		}
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]any{"credentialId": acc.ID,
			"credentialStatus": []map[string]string{{"type": "RevocationList2020Status", "status": "1"}}})
		if _, err := h.Service.SetStatus(ctx, credential.Agent{WebID: owner}, body); err != nil {
			return err
		}
		done = "revoked"
	case "approve", "deny":
		approve := r.PostFormValue("action") == "approve"
		_, acc, err := h.Service.Get(ctx, credential.Agent{WebID: owner}, r.PostFormValue("request"))
		if errors.Is(err, credential.ErrNotFound) || err == nil && (acc.Kind != credential.Request || acc.Owner != owner || !inStorage(acc.Resources, storageIRI)) {
			return fail(http.StatusBadRequest, "That is not a request to you for this pod.")
		}
		if err != nil {
			return err
		}
		if _, _, err := h.Service.Decide(ctx, credential.Agent{WebID: owner}, acc.ID, approve); err != nil {
			if errors.Is(err, credential.ErrForbidden) {
				return fail(http.StatusConflict, "That request can no longer be answered: "+strings.TrimPrefix(err.Error(), "credential: ")+".")
			}
			return err
		}
		done = map[bool]string{true: "approved", false: "denied"}[approve]
	default:
		return fail(http.StatusBadRequest, "The form asked for nothing this page does.")
	}
	return c.Redirect(http.StatusSeeOther, AccessPath+"?"+url.Values{"storage": {storageIRI}, "done": {done}}.Encode())
}
