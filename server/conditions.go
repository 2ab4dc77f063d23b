package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/weconomics/kluis/server/problem"
	"github.com/weconomics/kluis/storage"
)

// entityTag is one entity-tag of an If-Match or If-None-Match header
// (RFC 9110, section 8.8.3): an opaque string, maybe marked weak.
type entityTag struct {
	opaque string
	weak   bool
}

// etagList is a parsed If-Match or If-None-Match header: absent, "*", or a
// list of entity-tags.
type etagList struct {
	present bool
	any     bool
	tags    []entityTag
}

// parseETagList parses every value of the named header, joined as one
// comma-separated list. A malformed header is a problem.BadRequestError.
//
//	If-Match = "*" / #entity-tag
//	entity-tag = [ weak ] opaque-tag ; weak = %s"W/"
//	opaque-tag = DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / obs-text
func parseETagList(h http.Header, name string) (etagList, error) {
	values := h.Values(name)
	if len(values) == 0 {
		return etagList{}, nil
	}
	l := etagList{present: true}
	s := strings.Join(values, ",")
	if strings.TrimSpace(s) == "*" {
		l.any = true
		return l, nil
	}
	bad := &problem.BadRequestError{Reason: "malformed " + name + " header"}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			break
		}
		var t entityTag
		if strings.HasPrefix(s, "W/") {
			t.weak = true
			s = s[2:]
		}
		if len(s) < 2 || s[0] != '"' {
			return etagList{}, bad
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return etagList{}, bad
		}
		t.opaque = s[1 : 1+end]
		for i := 0; i < len(t.opaque); i++ {
			if c := t.opaque[i]; c < 0x21 || c == 0x7f {
				return etagList{}, bad
			}
		}
		l.tags = append(l.tags, t)
		s = strings.TrimLeft(s[2+end:], " \t")
		if s != "" && s[0] != ',' {
			return etagList{}, bad
		}
	}
	if len(l.tags) == 0 {
		return etagList{}, bad
	}
	return l, nil
}

// matchStrong reports whether etag is in the list by the strong comparison
// of If-Match (RFC 9110, section 8.8.3.2): weak tags never match.
func (l etagList) matchStrong(etag string) bool {
	for _, t := range l.tags {
		if !t.weak && t.opaque == etag {
			return true
		}
	}
	return false
}

// matchWeak reports whether etag is in the list by the weak comparison of
// If-None-Match.
func (l etagList) matchWeak(etag string) bool {
	for _, t := range l.tags {
		if t.opaque == etag {
			return true
		}
	}
	return false
}

// quoteETag formats a backend ETag as a strong entity-tag.
func quoteETag(etag string) string {
	return `"` + etag + `"`
}

// writeCondition is what the If-Match and If-None-Match headers of a write
// come to, as one condition the Backend checks atomically.
type writeCondition struct {
	ifMatch     string
	ifNoneMatch bool
	// existed tells whether an object was there before the write, when
	// the conditions made that known.
	existed, known bool
}

// resolveWriteConditions evaluates If-Match and If-None-Match for a PUT or
// DELETE of key (RFC 9110, sections 13.1.1 and 13.1.2, evaluated in the
// order of section 13.2.2). The simple cases map straight onto
// PutOptions; the others read the current ETag once and then demand that
// exact ETag (or absence) from the write, so no other writer can slip in
// between the check and the write. A failed condition wraps
// storage.ErrPreconditionFailed.
func resolveWriteConditions(ctx context.Context, store storage.Backend, key string, h http.Header) (writeCondition, error) {
	im, err := parseETagList(h, "If-Match")
	if err != nil {
		return writeCondition{}, err
	}
	inm, err := parseETagList(h, "If-None-Match")
	if err != nil {
		return writeCondition{}, err
	}
	switch {
	case !im.present && !inm.present:
		return writeCondition{}, nil
	case im.present && !inm.present && !im.any && len(im.tags) == 1 && !im.tags[0].weak:
		return writeCondition{ifMatch: im.tags[0].opaque, existed: true, known: true}, nil
	case inm.any && !im.present:
		return writeCondition{ifNoneMatch: true, known: true}, nil
	}

	exists := true
	info, err := store.Stat(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		exists = false
	} else if err != nil {
		return writeCondition{}, err
	}
	failed := fmt.Errorf("server: conditions on %s: %w", key, storage.ErrPreconditionFailed)
	if im.present && (!exists || !im.any && !im.matchStrong(info.ETag)) {
		return writeCondition{}, failed
	}
	if inm.present && exists && (inm.any || inm.matchWeak(info.ETag)) {
		return writeCondition{}, failed
	}
	if exists {
		return writeCondition{ifMatch: info.ETag, existed: true, known: true}, nil
	}
	return writeCondition{ifNoneMatch: true, known: true}, nil
}
