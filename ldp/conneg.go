package ldp

import (
	"mime"
	"strconv"
	"strings"
)

// mediaRange is one element of an Accept header.
type mediaRange struct {
	typ, sub string
	q        float64
}

// parseAccept parses an Accept header leniently (RFC 9110 §12.5.1): bad
// elements are skipped rather than failing the request.
func parseAccept(accept string) []mediaRange {
	var out []mediaRange
	for part := range strings.SplitSeq(accept, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			// mime rejects "*/*" with some parameters; accept the bare form.
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
			params = nil
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" || typ == "*" && sub != "*" {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		out = append(out, mediaRange{typ: typ, sub: sub, q: q})
	}
	return out
}

// Negotiate picks the offer the Accept header prefers (RFC 9110 §12.5.1):
// for each offer the most specific matching range gives its quality; the
// highest quality wins, ties going to the earlier offer. An empty Accept
// takes the first offer, and so does one with no valid element at all
// (RFC 9110 §12.5.1 lets a server disregard an Accept header it cannot
// parse). ErrNotAcceptable when no offer has a quality above zero, or when
// there is no offer.
func Negotiate(accept string, offers []string) (string, error) {
	if len(offers) == 0 {
		return "", ErrNotAcceptable
	}
	ranges := parseAccept(accept)
	if len(ranges) == 0 {
		return offers[0], nil
	}
	best, bestQ := "", 0.0
	for _, offer := range offers {
		typ, sub, _ := strings.Cut(offer, "/")
		q, spec := 0.0, -1
		for _, r := range ranges {
			s := -1
			switch {
			case r.typ == typ && r.sub == sub:
				s = 2
			case r.typ == typ && r.sub == "*":
				s = 1
			case r.typ == "*" && r.sub == "*":
				s = 0
			}
			if s > spec {
				q, spec = r.q, s
			}
		}
		if q > bestQ {
			best, bestQ = offer, q
		}
	}
	if best == "" {
		return "", ErrNotAcceptable
	}
	return best, nil
}

// Prefers reports whether the Accept header gives mediaType a higher
// quality than every RDF media type, as a browser asking for a page does.
func Prefers(accept, mediaType string) bool {
	got, err := Negotiate(accept, append([]string{mediaType}, rdfOffers...))
	return err == nil && got == mediaType && strings.Contains(accept, mediaType)
}
