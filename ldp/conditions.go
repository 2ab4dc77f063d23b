package ldp

import (
	"fmt"
	"time"

	"github.com/weconomics/kluis/storage"
)

// Tag is one entity-tag of an If-Match or If-None-Match header, unquoted.
type Tag struct {
	Opaque string
	Weak   bool
}

// TagList is a parsed If-Match or If-None-Match header.
type TagList struct {
	// Any is "*".
	Any  bool
	Tags []Tag
}

// Conditions are the preconditions of a request (RFC 9110 §13.1). Nil and
// zero fields are absent headers.
type Conditions struct {
	IfMatch           *TagList
	IfNoneMatch       *TagList
	IfModifiedSince   time.Time
	IfUnmodifiedSince time.Time
}

// none reports whether no condition is set.
func (c Conditions) none() bool {
	return c.IfMatch == nil && c.IfNoneMatch == nil && c.IfModifiedSince.IsZero() && c.IfUnmodifiedSince.IsZero()
}

// state is what the conditions are evaluated against.
type state struct {
	exists bool
	// virtual marks a resource that exists without an object of its own:
	// the empty description resource of an existing subject.
	virtual  bool
	etag     string // the current representation's tag
	modified time.Time
}

// matches reports whether the list holds etag: by the strong comparison for
// If-Match, the weak one for If-None-Match. With anyVariant, a tag of
// another representation of the same resource state (a "-variant" suffix)
// matches as well: a write's precondition is about the state, while a
// conditional GET is about the one representation the client holds.
func (l *TagList) matches(etag string, strong, anyVariant bool) bool {
	base := baseTag(etag)
	for _, t := range l.Tags {
		if strong && t.Weak {
			continue
		}
		if t.Opaque == etag || anyVariant && baseTag(t.Opaque) == base {
			return true
		}
	}
	return false
}

// checkWrite evaluates the preconditions of an unsafe method in the order of
// RFC 9110 §13.2.2; a failure wraps storage.ErrPreconditionFailed.
func (c Conditions) checkWrite(p Path, s state) error {
	fail := func(what string) error {
		return fmt.Errorf("ldp: %s of %s failed: %w", what, p, storage.ErrPreconditionFailed)
	}
	if c.IfMatch != nil {
		if !s.exists || !c.IfMatch.Any && !c.IfMatch.matches(s.etag, true, true) {
			return fail("If-Match")
		}
	} else if !c.IfUnmodifiedSince.IsZero() && s.exists && s.modified.Truncate(time.Second).After(c.IfUnmodifiedSince) {
		return fail("If-Unmodified-Since")
	}
	if c.IfNoneMatch != nil && s.exists && (c.IfNoneMatch.Any || c.IfNoneMatch.matches(s.etag, false, true)) {
		return fail("If-None-Match")
	}
	return nil
}

// checkRead evaluates the preconditions of GET and HEAD (RFC 9110 §13.2.2):
// 412 for If-Match and If-Unmodified-Since, ErrNotModified (304) for
// If-None-Match and If-Modified-Since. s.etag is the tag of the selected
// representation: If-None-Match must name that very representation, since
// the client reuses the body it holds for that tag.
func (c Conditions) checkRead(p Path, s state) error {
	if c.IfMatch != nil || !c.IfUnmodifiedSince.IsZero() {
		if err := (Conditions{IfMatch: c.IfMatch, IfUnmodifiedSince: c.IfUnmodifiedSince}).checkWrite(p, s); err != nil {
			return err
		}
	}
	if c.IfNoneMatch != nil {
		if c.IfNoneMatch.Any || c.IfNoneMatch.matches(s.etag, false, false) {
			return ErrNotModified
		}
		return nil
	}
	if !c.IfModifiedSince.IsZero() && !s.modified.Truncate(time.Second).After(c.IfModifiedSince) {
		return ErrNotModified
	}
	return nil
}
