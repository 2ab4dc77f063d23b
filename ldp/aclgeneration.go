package ldp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/weconomics/kluis/storage"
)

// The ACL generation.
//
// Access control asks, on every request, the version of the ACL resource
// of the target and of every container above it: five lookups for a
// document two levels into a pod. Processes that hear each other's changes
// over NATS keep those versions between requests (server/aclversions.go).
// Those that do not (one process on a folder, several on a bucket without
// NATS) can keep them too, under one object that every write or deletion
// of an ACL resource through a Store rewrites right after it, and before
// the request that made it is answered: ACLGenerationKey. A version kept
// while the generation's version was g still holds while it is g, so a
// request asks one version instead of five (issue 18: "without NATS
// configured ... fewer, parallel or combined checks: e.g. one version
// object ... for all its ACLs").
//
// It is one object for the whole storage: ACLs change seldom, and the
// server's own ACL, above every pod, would need all of the pods' objects.
// A change of an ACL that does not rewrite it (the process ended between
// the two writes; objects written to the storage by other means) is not
// told this way: the server bounds how long it keeps a version anyway.
const ACLGenerationKey = "sys/acl-generation"

// ACLGeneration returns the version of the ACL generation object ("" and
// no error when there is none yet); under WithStatMemo it is asked once
// per request.
func (s *Store) ACLGeneration(ctx context.Context) (string, error) {
	v, err := storage.VersionOf(ctx, s.backend, ACLGenerationKey)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	return v, err
}

// isACLKey tells whether key is the object of an ACL resource.
func isACLKey(key string) bool {
	if !strings.HasSuffix(key, ACLSuffix) {
		return false
	}
	p, err := pathOfKey(key)
	if err != nil {
		return false
	}
	kind, _ := p.Aux()
	return kind == ACL
}

// nextACLGeneration rewrites the ACL generation object, after the object
// at key was written or deleted, when key is an ACL resource's. It is
// best effort: the write it follows has happened, and a generation not
// moved on leaves the ACL stale in other processes only for as long as
// they keep a version (above).
func nextACLGeneration(ctx context.Context, b storage.Backend, key string) {
	if !isACLKey(key) {
		return
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	_, _ = b.Put(context.WithoutCancel(ctx), ACLGenerationKey, strings.NewReader(hex.EncodeToString(nonce[:])),
		storage.PutOptions{ContentType: "text/plain"})
}
