package credential

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Kind is what an access credential is.
type Kind string

// The kinds of access credentials (the Solid VC vocabulary,
// http://www.w3.org/ns/solid/vc#).
const (
	Request Kind = "SolidAccessRequest"
	Grant   Kind = "SolidAccessGrant"
	Denial  Kind = "SolidAccessDenial"
)

// The namespaces of the terms.
const (
	nsACL = "http://www.w3.org/ns/auth/acl#"
	nsGC  = "https://w3id.org/GConsent#"
)

// The consent statuses (GConsent).
const (
	StatusRequested = nsGC + "ConsentStatusRequested"
	StatusGiven     = nsGC + "ConsentStatusExplicitlyGiven"
	StatusDenied    = nsGC + "ConsentStatusDenied"
)

// The modes a credential may name: WAC's Read, Write and Append, never
// Control (a grant never gives what the person could not delegate).
var modeIRIs = map[string]string{
	"Read": nsACL + "Read", "Write": nsACL + "Write", "Append": nsACL + "Append",
	nsACL + "Read": nsACL + "Read", nsACL + "Write": nsACL + "Write", nsACL + "Append": nsACL + "Append",
}

// Access is what an access credential says, read from its JSON.
type Access struct {
	ID     string
	Issuer string
	Kind   Kind
	// Subject is credentialSubject.id: who issued it (the requestor of a
	// request, the resource owner of a grant or denial).
	Subject string
	// Requestor is who asks or is granted; Owner whose data it is.
	Requestor, Owner string
	// Status is the consent's gc:hasStatus, as a full IRI.
	Status    string
	Modes     []string // full acl: IRIs
	Resources []string
	Purposes  []string
	// Inherit: the grant covers what lies below a container it names
	// (default true, as the library reads it).
	Inherit bool
	Inbox   string
	// Request is the request a grant answers, "" when none.
	Request string
	// Issued is when it becomes valid; Expires when it stops (zero: never).
	Issued, Expires time.Time
	// Client and IdP, when set, pin the grant to one app (client_id) and
	// one identity provider (token issuer), with the semantics of the WAC
	// editor's draft's acl:ClientCondition and acl:IssuerCondition: the
	// consent fields acl:client and acl:issuer.
	Client, IdP string
}

// The consent fields that pin a grant (WAC editor's draft, "Access
// Conditions": acl:client, acl:issuer).
const (
	PinClient = nsACL + "client"
	PinIssuer = nsACL + "issuer"
)

// Admits reports whether the pins of the grant admit an agent acting
// through client, with a token from issuer.
func (a *Access) Admits(client, issuer string) bool {
	return (a.Client == "" || a.Client == client) && (a.IdP == "" || a.IdP == issuer)
}

// Party reports whether webID is one of the two parties.
func (a *Access) Party(webID string) bool {
	return webID != "" && (webID == a.Subject || webID == a.Requestor || webID == a.Owner)
}

// Covers reports whether the credential names iri, directly or, with
// inherit, through a container above it.
func (a *Access) Covers(iri string) bool {
	for _, r := range a.Resources {
		if r == iri || a.Inherit && strings.HasSuffix(r, "/") && strings.HasPrefix(iri, r) {
			return true
		}
	}
	return false
}

// HasMode reports whether the credential gives mode (a full acl: IRI).
func (a *Access) HasMode(mode string) bool {
	return slices.Contains(a.Modes, mode)
}

// ValidAt reports whether now lies within the credential's validity.
func (a *Access) ValidAt(now time.Time) bool {
	return !now.Before(a.Issued) && (a.Expires.IsZero() || now.Before(a.Expires))
}

// parseAccess reads an access credential from its JSON.
func parseAccess(doc map[string]any) (*Access, error) {
	a := &Access{Inherit: true}
	a.ID, _ = doc["id"].(string)
	a.Issuer, _ = doc["issuer"].(string)
	for _, t := range strings1(doc["type"]) {
		switch k := Kind(strings.TrimPrefix(t, "vc:")); k {
		case Request, Grant, Denial:
			if a.Kind != "" && a.Kind != k {
				return nil, fmt.Errorf("%w: more than one access type", ErrInvalid)
			}
			a.Kind = k
		}
	}
	if a.Kind == "" {
		return nil, fmt.Errorf("%w: not an access request, grant or denial", ErrInvalid)
	}
	subj, ok := doc["credentialSubject"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: no credentialSubject", ErrInvalid)
	}
	a.Subject, _ = subj["id"].(string)
	a.Inbox, _ = subj["inbox"].(string)
	field := "providedConsent"
	if a.Kind == Request {
		field = "hasConsent"
	}
	c, ok := subj[field].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: no credentialSubject.%s", ErrInvalid, field)
	}
	for _, m := range strings1(c["mode"]) {
		iri, ok := modeIRIs[m]
		if !ok {
			return nil, fmt.Errorf("%w: mode %.100q: only Read, Write and Append", ErrInvalid, m)
		}
		if !slices.Contains(a.Modes, iri) {
			a.Modes = append(a.Modes, iri)
		}
	}
	a.Resources = strings1(c["forPersonalData"])
	a.Client, a.IdP = iriValue(c[PinClient]), iriValue(c[PinIssuer])
	a.Purposes = strings1(c["forPurpose"])
	switch st, _ := c["hasStatus"].(string); strings.TrimPrefix(strings.TrimPrefix(st, "gc:"), nsGC) {
	case "ConsentStatusRequested":
		a.Status = StatusRequested
	case "ConsentStatusExplicitlyGiven":
		a.Status = StatusGiven
	case "ConsentStatusDenied":
		a.Status = StatusDenied
	default:
		return nil, fmt.Errorf("%w: hasStatus %.100q", ErrInvalid, st)
	}
	switch v := c["inherit"].(type) {
	case bool:
		a.Inherit = v
	case string:
		a.Inherit = v != "false"
	}
	if a.Kind == Request {
		a.Requestor = a.Subject
		a.Owner, _ = c["isConsentForDataSubject"].(string)
	} else {
		a.Owner = a.Subject
		a.Requestor, _ = c["isProvidedTo"].(string)
		a.Request, _ = c["request"].(string)
		if a.Request == "" {
			a.Request, _ = c["verifiedRequest"].(string)
		}
	}
	var err error
	if a.Issued, err = date(doc["issuanceDate"]); err != nil {
		return nil, err
	}
	if a.Expires, err = date(doc["expirationDate"]); err != nil {
		return nil, err
	}
	return a, nil
}

// strings1 reads a JSON-LD value that is a string or an array of strings.
func strings1(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

func date(v any) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: a date is not a string", ErrInvalid)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: date %.40q", ErrInvalid, s)
	}
	return t, nil
}

// absoluteIRI reports whether s is an absolute IRI (an http(s) URL for
// resources when web is set).
func absoluteIRI(s string, web bool) bool {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || len(s) > 2048 {
		return false
	}
	if web {
		return (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
	}
	return true
}

// iriValue reads a JSON-LD value that names an IRI: a string or
// {"@id": ...}.
func iriValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		s, _ := v["@id"].(string)
		return s
	}
	return ""
}
