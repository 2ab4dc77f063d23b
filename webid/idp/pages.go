package idp

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
)

// The provider's pages: consent (with the choice of WebID), logout
// confirmation, and the plain pages that end a flow. They load nothing
// from anywhere: one inline style and, on the consent page, the app's logo
// when it is an https URL. The server sends them with a Content-Security-
// Policy that allows only that (server/idp.go).
const pageTemplates = `
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.}}</title>
<style>
body{font:1rem/1.5 system-ui,sans-serif;max-width:42rem;margin:1rem auto;padding:0 1rem;color:#111;background:#fff}
:focus-visible{outline:3px solid #1a55c8;outline-offset:2px}
.app{display:flex;gap:1rem;align-items:center}
.app img{width:64px;height:64px;object-fit:contain}
code{word-break:break-all}
fieldset{border:1px solid #ccc;margin:1rem 0}
.buttons{display:flex;gap:1rem;margin-top:1.5rem}
button{font:inherit;padding:.4rem 1rem}
.note{color:#555;font-size:.9rem}
</style></head><body>{{end}}

{{define "consent"}}{{template "head" "Authorize app"}}
<h1>Authorize app</h1>
<div class="app">
{{if .Logo}}<img src="{{.Logo}}" alt="" referrerpolicy="no-referrer">{{end}}
<div><strong>{{if .Name}}{{.Name}}{{else if .OwnPage}}The data browser of this server{{else}}An application{{end}}</strong><br>
<span class="note">client <code>{{.ClientID}}</code></span></div>
</div>
<p>wants to act on your behalf: to read and change the data you can access as the WebID below.
After you allow it, you will be sent back to <strong>{{.RedirectHost}}</strong>.</p>
{{if not .Verified}}<p class="note">This app registered itself with this server; its name and logo are its own claim.</p>{{end}}
{{if .Offline}}<p class="note">It asks to stay signed in (offline access) until you sign out of it.</p>{{end}}
<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<fieldset><legend>Sign in as</legend>
{{range $i, $w := .WebIDs}}<label><input type="radio" name="webid" value="{{$w}}"{{if eq $i 0}} checked{{end}}> <code>{{$w}}</code></label><br>
{{end}}</fieldset>
<div class="buttons"><button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></div>
</form></body></html>
{{end}}

{{define "logout"}}{{template "head" "Sign out"}}
<h1>Sign out</h1>
<p>Sign out of <strong>{{.Issuer}}</strong>?</p>
<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<div class="buttons"><button type="submit" name="decision" value="logout">Sign out</button></div>
</form></body></html>
{{end}}

{{define "message"}}{{template "head" .Title}}
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}
</body></html>
{{end}}
`

func parsePages() (*template.Template, error) {
	return template.New("pages").Parse(pageTemplates)
}

// Response is what the server answers a browser step of the flow with:
// a redirect, or an HTML page and its status.
type Response struct {
	// Redirect, when set, is where the user agent goes next.
	Redirect string
	// Status and Page are the page to show when Redirect is empty.
	Status int
	Page   []byte
	// EndSession tells the server to clear the account session cookie.
	EndSession bool
}

// consentPage is what the consent template shows. OwnPage tells that the
// app returns to a page of this server's own origin: with no name of its
// own, that is the data browser (server/databrowser), which registers
// without one; nothing else on this origin runs scripts that could use a
// code (a pod's uploaded HTML is served sandboxed).
type consentPage struct {
	Name, Logo, ClientID, RedirectHost, Action string
	Verified, Offline, OwnPage                 bool
	WebIDs                                     []string
	Hidden                                     map[string]string
}

type logoutPage struct {
	Issuer, Action string
	Hidden         map[string]string
}

type messagePage struct {
	Title, Text string
	// Link, when set, is where the person may go next (LinkText).
	Link, LinkText string
}

// render executes a page template into a Response.
func (p *Provider) render(status int, name string, data any) (*Response, error) {
	var b bytes.Buffer
	if err := p.pages.ExecuteTemplate(&b, name, data); err != nil {
		return nil, err
	}
	return &Response{Status: status, Page: b.Bytes()}, nil
}

// message is a page with a title and a sentence.
func (p *Provider) message(status int, title, text string) (*Response, error) {
	return p.render(status, "message", messagePage{Title: title, Text: text})
}

// errorPage tells the user of an authorization request that cannot be
// answered to the client (RFC 6749 §4.1.2.1: a bad client_id or
// redirect_uri is never redirected to).
func (p *Provider) errorPage(e *Error) (*Response, error) {
	return p.message(http.StatusBadRequest, "This sign-in request cannot be completed", e.Description)
}

// httpsLogo returns the logo URL when it is https, "" otherwise: nothing
// else is loaded from another origin.
func httpsLogo(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return u.String()
}
