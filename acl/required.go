package acl

import (
	"fmt"
	"strings"
)

// Operation describes a request in the terms Required needs: no HTTP types,
// the server fills it from the request and the resource's state.
type Operation struct {
	// Method is the HTTP method, in upper case: GET, HEAD, OPTIONS, PUT,
	// POST, PATCH or DELETE.
	Method string
	// Target is the IRI of the requested resource.
	Target string
	// Exists reports whether Target exists before the request.
	Exists bool
	// Ancestor is, when Target does not exist, the IRI of the nearest
	// container above it that exists: the container that gains a member
	// when the request creates Target together with the missing containers
	// between them (Solid Protocol §5.3: "servers MUST create intermediate
	// containers"). Empty means Target's parent container exists. It must
	// be a container above Target; Required refuses any other IRI.
	Ancestor string
	// PatchRead, PatchAppend and PatchWrite say what a PATCH body needs
	// (Solid Protocol 0.11 §5.3.1 for N3 Patch): PatchRead when it has a
	// where clause (?conditions) or deletes, PatchAppend when it inserts,
	// PatchWrite when it deletes. A PATCH with none set is treated as an
	// update that needs Append, never as a request that needs nothing.
	PatchRead, PatchAppend, PatchWrite bool
}

// Requirement is the access one resource must grant for a request.
type Requirement struct {
	// IRI is the resource whose modes are checked. It is never an ACL or
	// description resource: Required maps those to the resource they
	// belong to.
	IRI string
	// Modes are the modes checked.
	Modes Mode
	// AnyOf selects the semantics of Modes: when false the agent needs all
	// of them, when true at least one of them. Creating a member of a
	// container needs Append or Write on it (AnyOf, Modes = Append|Write).
	// Since Write implies Append this is the same as needing Append, but the
	// requirement says it as the specification does.
	AnyOf bool
}

// SatisfiedBy reports whether granted meets r. Write in granted counts as
// Append too.
func (r Requirement) SatisfiedBy(granted Mode) bool {
	granted = granted.implied()
	if r.AnyOf {
		return granted&r.Modes != 0
	}
	return granted.Has(r.Modes)
}

// Required returns the access op needs, as requirements that must all be
// satisfied (WAC 1.0 §5.3.1 "Reading and Writing Resources"). doc.go has
// the table and the choices it makes. A method without a rule gives an
// error wrapping ErrUnknownMethod; the server must refuse such a request
// (405) rather than let it through.
func Required(op Operation) ([]Requirement, error) {
	switch op.Method {
	case "GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE":
	default:
		return nil, fmt.Errorf("acl: %q: %w", op.Method, ErrUnknownMethod)
	}

	target, kind := subjectOf(op.Target)
	switch kind {
	case aclAux:
		// WAC 1.0 §5.3.1: "When an operation requests to read and write an
		// ACL resource, the server MUST match an Authorization allowing the
		// acl:Control access privilege on the resource", and "When the
		// target of the HTTP request is the ACL resource, the operation can
		// only be allowed with the acl:Control access mode" — whatever the
		// method, and whether or not the ACL resource exists yet.
		return []Requirement{{IRI: target, Modes: Control}}, nil
	case metaAux:
		// A description resource follows the rules of its subject as an
		// existing resource: creating or deleting <x.meta> does not add or
		// remove a member of <x>'s container, so no container access is
		// needed for it.
		reqs := required(op, target, true, nil)
		switch op.Method {
		case "GET", "HEAD", "OPTIONS":
		default:
			// Kluis's choice: changing a description needs Write on its
			// subject, Append is not enough. Everyone may append to a
			// public inbox, and would otherwise rewrite what its owner
			// says about it (Solid Protocol §4.3.2 leaves the modes of a
			// description resource to the server).
			for i := range reqs {
				reqs[i].Modes = reqs[i].Modes&^Append | Write
				reqs[i].AnyOf = false
			}
		}
		return reqs, nil
	}
	containers, err := created(op, target)
	if err != nil {
		return nil, err
	}
	return required(op, target, op.Exists, containers), nil
}

// created returns the containers that gain a member when op creates
// target, nearest first: its parent, and when that does not exist yet the
// missing containers above it up to and including op.Ancestor, the one
// that exists. It returns nil for a root container.
func created(op Operation, target string) ([]string, error) {
	parent := parentOf(target)
	if parent == "" || op.Exists || op.Ancestor == "" || op.Ancestor == parent {
		if parent == "" {
			return nil, nil
		}
		return []string{parent}, nil
	}
	if !strings.HasSuffix(op.Ancestor, "/") || !strings.HasPrefix(parent, op.Ancestor) {
		return nil, fmt.Errorf("acl: %q is not a container above %q: %w", op.Ancestor, target, ErrInvalidIRI)
	}
	var out []string
	for c := parent; ; c = parentOf(c) {
		out = append(out, c)
		if c == op.Ancestor {
			return out, nil
		}
		if c == "" {
			return nil, fmt.Errorf("acl: %q is not a container above %q: %w", op.Ancestor, target, ErrInvalidIRI)
		}
	}
}

// required applies the method rules to target. containers are those
// whose membership creating target changes, nearest first (created): its
// parent container, and the missing ones up to the nearest that exists;
// none for a root container or a resource that is no member of one.
func required(op Operation, target string, exists bool, containers []string) []Requirement {
	// WAC 1.0 §5.3.1: creating "a resource as a member of a container
	// resource" needs acl:Append or acl:Write "(as needed by the
	// operation)"; the PUT and PATCH entries put that access "to the
	// container". container is "" when no container access can be needed.
	container := ""
	if len(containers) > 0 {
		container = containers[0]
	}
	switch op.Method {
	case "GET", "HEAD", "OPTIONS":
		// §5.3.1 GET: "can only be allowed with the acl:Read access mode".
		// HEAD is GET without a body. OPTIONS tells whether the resource
		// exists and what it is (see doc.go), which §5.3.1 counts as
		// reading: "read operations attempt to confirm the existence of a
		// resource".
		return []Requirement{{IRI: target, Modes: Read}}
	case "PUT":
		// §5.3.1 PUT: "Creating a new resource requires acl:Append and/or
		// acl:Write access to the container as well as acl:Write access to
		// the (new) resource. Replacing an existing resource requires only
		// acl:Write access to the resource itself."
		return create(Requirement{IRI: target, Modes: Write}, containers, exists)
	case "POST":
		// §5.3.1 POST: create "a new resource in a container or add
		// information to existing resources ... with either acl:Append or
		// acl:Write", on the target (the container).
		return []Requirement{{IRI: target, Modes: Append | Write, AnyOf: true}}
	case "PATCH":
		// §5.3.1 PATCH: "acl:Append can allow requests to insert but not
		// delete operations, whereas acl:Write would allow both operations.
		// To create a new resource, acl:Append or acl:Write access mode to
		// the container is additionally required." The read part follows
		// Solid Protocol 0.11 §5.3.1 (N3 Patch).
		var m Mode
		if op.PatchRead {
			m |= Read
		}
		if op.PatchAppend {
			m |= Append
		}
		if op.PatchWrite {
			m |= Write
		}
		if m&(Append|Write) == 0 {
			// §5.3.1: an update needs "acl:Append or acl:Write ... on the
			// resource"; an empty or read-only patch is still an update.
			m |= Append
		}
		return create(Requirement{IRI: target, Modes: m}, containers, exists)
	default: // DELETE
		// §5.3.1: "When an operation requests to delete a resource, the
		// server MUST match Authorizations allowing the acl:Write access
		// privilege on the resource and the containing container."
		if container == "" {
			return []Requirement{{IRI: target, Modes: Write}}
		}
		return []Requirement{{IRI: target, Modes: Write}, {IRI: container, Modes: Write}}
	}
}

// create returns own alone for an existing resource, and for a new one own
// plus Append or Write on every container that gains a member: the WAC 1.0
// §5.3.1 create rule applies to each container the request creates (WAC
// 1.0 note "Container Permissions") and to the existing one that receives
// the first of them, so that a missing container never lets an agent add
// members to an existing one it may not append to.
func create(own Requirement, containers []string, exists bool) []Requirement {
	if exists || len(containers) == 0 {
		return []Requirement{own}
	}
	reqs := make([]Requirement, 0, 1+len(containers))
	reqs = append(reqs, own)
	for _, c := range containers {
		reqs = append(reqs, Requirement{IRI: c, Modes: Append | Write, AnyOf: true})
	}
	return reqs
}
