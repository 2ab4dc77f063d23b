package acl

import "strings"

// Mode is a set of WAC access modes (WAC 1.0 §4.2 "Access Modes"), one bit
// per mode. The zero Mode grants nothing.
type Mode uint8

// The access modes of the ACL ontology. Write implies Append: WAC 1.0 §4.2
// notes that "acl:Append is a subclass of acl:Write", and §5.3 "Authorization
// Evaluation" grants a request that needs acl:Append to agents having
// acl:Write. The Evaluator therefore never returns Write without Append.
const (
	// Read allows viewing a resource or confirming that it exists.
	Read Mode = 1 << iota
	// Append allows adding to a resource, or creating one, without removing.
	Append
	// Write allows creating, modifying and deleting a resource.
	Write
	// Control allows reading and writing the ACL resource of a resource.
	Control
)

// All is every access mode Kluis knows.
const All = Read | Append | Write | Control

// Has reports whether m holds every mode in want.
func (m Mode) Has(want Mode) bool { return m&want == want }

// implied returns m with the modes it implies added: Write implies Append.
func (m Mode) implied() Mode {
	if m&Write != 0 {
		m |= Append
	}
	return m
}

// ModeString returns the modes of m as the space-separated access-mode
// tokens of the WAC-Allow header (WAC 1.0 §6.1 "wac-allow HTTP Header"), in
// the order "read write append control". Append is written whenever Write
// is, since Write implies it. The zero Mode gives "".
func ModeString(m Mode) string {
	m = m.implied()
	var names [4]string
	n := 0
	for _, c := range [...]Mode{Read, Write, Append, Control} {
		if m&c == 0 {
			continue
		}
		switch c {
		case Read:
			names[n] = "read"
		case Write:
			names[n] = "write"
		case Append:
			names[n] = "append"
		default:
			names[n] = "control"
		}
		n++
	}
	return strings.Join(names[:n], " ")
}

// String returns ModeString(m).
func (m Mode) String() string { return ModeString(m) }

// WACAllow returns the field value of the WAC-Allow header (WAC 1.0 §6.1)
// for the modes of the requesting agent and of the public, as in
// `user="read write append",public="read"`. Both permission groups are
// always present, with an empty list when nothing is granted.
func WACAllow(user, public Mode) string {
	return `user="` + ModeString(user) + `",public="` + ModeString(public) + `"`
}
