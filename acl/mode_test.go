package acl_test

import (
	"testing"

	"github.com/weconomics/kluis/acl"
)

func TestModeString(t *testing.T) {
	for m, want := range map[acl.Mode]string{
		0:                       "",
		acl.Read:                "read",
		acl.Append:              "append",
		acl.Write:               "write append",
		acl.Write | acl.Append:  "write append",
		acl.Control:             "control",
		acl.Read | acl.Control:  "read control",
		acl.All:                 "read write append control",
		acl.Append | acl.Read:   "read append",
		acl.Control | acl.Write: "write append control",
	} {
		if got := acl.ModeString(m); got != want {
			t.Errorf("ModeString(%d) = %q, want %q", m, got, want)
		}
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", m, got, want)
		}
	}
}

func TestConditionTypes(t *testing.T) {
	got := acl.ConditionTypes()
	if len(got) != 2 || got[0] != acl.ClientCondition || got[1] != acl.IssuerCondition {
		t.Errorf("ConditionTypes() = %q", got)
	}
	if acl.ClientCondition != "http://www.w3.org/ns/auth/acl#ClientCondition" ||
		acl.IssuerCondition != "http://www.w3.org/ns/auth/acl#IssuerCondition" ||
		acl.ConditionRel != "http://www.w3.org/ns/auth/acl#condition" {
		t.Error("condition IRIs changed")
	}
	got[0] = "x"
	if acl.ConditionTypes()[0] != acl.ClientCondition {
		t.Error("ConditionTypes shares its slice")
	}
}
