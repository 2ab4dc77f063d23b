package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/weconomics/kluis/ldp"
)

// conditions reads the precondition headers of a request (RFC 9110 §13.1).
// A malformed If-Match or If-None-Match is a problem.BadRequestError; a malformed
// date is ignored, as §13.1.3 and §13.1.4 require.
func conditions(h http.Header) (ldp.Conditions, error) {
	var c ldp.Conditions
	for _, x := range []struct {
		name string
		dst  **ldp.TagList
	}{{"If-Match", &c.IfMatch}, {"If-None-Match", &c.IfNoneMatch}} {
		l, err := parseETagList(h, x.name)
		if err != nil {
			return ldp.Conditions{}, err
		}
		if !l.present {
			continue
		}
		tl := &ldp.TagList{Any: l.any}
		for _, t := range l.tags {
			tl.Tags = append(tl.Tags, ldp.Tag{Opaque: t.opaque, Weak: t.weak})
		}
		*x.dst = tl
	}
	if v := h.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			c.IfModifiedSince = t
		}
	}
	if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			c.IfUnmodifiedSince = t
		}
	}
	return c, nil
}

// link is one element of a Link header (RFC 8288).
type link struct {
	target, rel string
}

// formatLinks writes links as one Link header value.
func formatLinks(links []link) string {
	var b strings.Builder
	for i, l := range links {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("<")
		b.WriteString(l.target)
		b.WriteString(`>; rel="`)
		b.WriteString(l.rel)
		b.WriteString(`"`)
	}
	return b.String()
}

// maxLinkHeader bounds the Link headers of a request that are parsed.
const maxLinkHeader = 8 << 10

// parseLinks parses the Link headers of a request leniently (RFC 8288
// §3): "<target>; rel=value" elements; anything malformed is skipped. A rel
// holding several relation types yields one link each.
func parseLinks(h http.Header) []link {
	var out []link
	total := 0
	for _, v := range h.Values("Link") {
		total += len(v)
		if total > maxLinkHeader {
			break
		}
		for len(v) > 0 {
			v = strings.TrimLeft(v, " \t,")
			if !strings.HasPrefix(v, "<") {
				break
			}
			end := strings.IndexByte(v, '>')
			if end < 0 {
				break
			}
			target := v[1:end]
			v = v[end+1:]
			// Parameters up to the next element.
			var params string
			if next := nextLinkElement(v); next >= 0 {
				params, v = v[:next], v[next:]
			} else {
				params, v = v, ""
			}
			for p := range strings.SplitSeq(params, ";") {
				name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
					continue
				}
				val = strings.Trim(strings.TrimSpace(val), `"`)
				for rel := range strings.FieldsSeq(val) {
					out = append(out, link{target: target, rel: rel})
				}
			}
		}
	}
	return out
}

// nextLinkElement finds the comma that starts the next link element, outside
// quotes.
func nextLinkElement(s string) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

// httpTime formats a time for Last-Modified.
func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// vary adds token to the Vary header unless it is there already.
func vary(h http.Header, token string) {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return
			}
		}
	}
	h.Add("Vary", token)
}
