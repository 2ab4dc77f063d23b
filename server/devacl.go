package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/rdfx"
	"github.com/weconomics/kluis/storage"
)

// seedRootACL stores acl as the root container's ACL when it has none, as
// KLUIS_ROOT_ACL asks.
func seedRootACL(ctx context.Context, space *ldp.Store, acl []byte) error {
	_, err := space.Put(ctx, ldp.Path("/").ACL(), ldp.WriteRequest{
		Body: strings.NewReader(string(acl)), ContentType: rdfx.Turtle,
		Conditions: ldp.Conditions{IfNoneMatch: &ldp.TagList{Any: true}},
	})
	if err != nil && !errors.Is(err, storage.ErrPreconditionFailed) {
		return fmt.Errorf("server: seeding the root ACL: %w", err)
	}
	return nil
}
