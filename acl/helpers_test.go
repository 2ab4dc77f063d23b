package acl_test

import (
	"time"

	"github.com/weconomics/kluis/acl/acltest"
)

// prefixes starts every ACL document in the tests.
const prefixes = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
@prefix vcard: <http://www.w3.org/2006/vcard/ns#>.
`

// testTimeout bounds waits that only end when the code under test is
// right, so that a wrong implementation fails instead of hanging.
const testTimeout = 10 * time.Second

// acltestSource returns an empty in-memory Source.
func acltestSource() *acltest.Source { return acltest.NewSource() }
