package request

import "net/http"

// PageReferrerPolicy is the Referrer-Policy of Kluis's own HTML pages
// (account pages, login, consent). "same-origin" keeps the pages' URLs,
// which may hold a password reset record or an app's authorization
// request, from every other site, while a browser still names this origin
// on the pages' own form POSTs. Under "no-referrer" Chromium sends
// `Origin: null` even to the page's own origin.
const PageReferrerPolicy = "same-origin"

// FromOrigin reports whether a browser request was made by a page of
// origin (scheme://host), judged from what browsers really send:
//
//   - Sec-Fetch-Site (Fetch Metadata, sent by every current browser)
//     decides when present: "same-origin", or "none" for a navigation the
//     person started themselves. "same-site" (another port or subdomain,
//     such as a pod's subdomain), "cross-site", and any request from a
//     sandboxed document (its origin is opaque, so the browser says
//     "cross-site") are refused.
//   - Otherwise an Origin header decides when present: it must be origin.
//     `Origin: null` (a sandboxed document, a privacy-redirected request)
//     is refused.
//   - A request with neither comes from a script or an old browser that
//     sends no Origin on a same-origin POST; the CSRF token still guards
//     it.
//
// FromOrigin never replaces the CSRF token: both must pass.
func FromOrigin(r *http.Request, origin string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	o := r.Header.Get("Origin")
	return o == "" || o == origin
}
