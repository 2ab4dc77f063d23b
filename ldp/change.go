package ldp

import "time"

// ChangeType is what a write did to a resource.
type ChangeType uint8

// The types of change.
const (
	// Create: the resource did not exist and does now.
	Create ChangeType = iota + 1
	// Update: the resource existed and was replaced or patched.
	Update
	// Delete: the resource existed and does not any more.
	Delete
)

// String returns the Activity Streams name of the change: "Create",
// "Update" or "Delete".
func (t ChangeType) String() string {
	switch t {
	case Create:
		return "Create"
	case Update:
		return "Update"
	case Delete:
		return "Delete"
	}
	return "Unknown"
}

// Change is one successful write, as Config.OnChange hears of it.
type Change struct {
	// Path is the resource written.
	Path Path
	// Type tells whether it was created, updated or deleted.
	Type ChangeType
	// Container is the container whose containment the write changed: the
	// parent of a created or deleted resource (an Add or a Remove on it),
	// "" when the containment stayed as it was (an update, or a write of
	// an auxiliary resource, which is not contained).
	Container Path
	// ETag is the resource's new tag, unquoted, as a GET of its stored
	// form answers it; "" for a deletion and for a container, whose tag
	// covers its containment and is not computed for a write.
	ETag string
	// Time is when the Store saw the write finish, by Config.Now.
	Time time.Time
}

// changed tells Config.OnChange of a write, if it is set.
func (s *Store) changed(p Path, t ChangeType, etag string) {
	s.dropListings(p)
	if s.onChange == nil {
		return
	}
	c := Change{Path: p, Type: t, ETag: etag, Time: s.now()}
	if p.IsContainer() {
		c.ETag = ""
	}
	if kind, _ := p.Aux(); kind == NotAux && !p.IsRoot() && t != Update {
		c.Container = p.Parent()
	}
	s.onChange(c)
}

// createdOr is Create when created, else Update.
func createdOr(created bool) ChangeType {
	if created {
		return Create
	}
	return Update
}
