package ldp

import (
	"context"
	"errors"
	"fmt"

	"github.com/weconomics/kluis/storage"
)

// Deleting a pod: its owner's choice through the account API, or a
// hoster's on the command line. The Solid Protocol never deletes a
// storage's root (§5.4), so this is no LDP operation: it removes every
// object of the pod from the backend, then its usage counter, then its
// registry record, last, so that a deletion cut off half-way leaves a
// registered pod that can be deleted again, never an unregistered pod
// with leftovers that would keep its name from being taken.

// DeletePod removes the pod called name and everything in it: every key
// under r/<name>/ (deepest first, each container's marker after what it
// contains), the pod's usage counter sys/usage/<name> and its registry
// record sys/pods/<name>. Afterwards the name is free: CreatePod makes a
// new, empty pod of it. An unregistered name is ErrNoPod, a Store without
// pods ErrPodsDisabled.
//
// This Store forgets the pod at once; another process sharing the
// backend sees it gone within knownTTL (10 s), when its pod index reads
// the registry record again.
func (s *Store) DeletePod(ctx context.Context, name string) error {
	if s.pods == nil {
		return ErrPodsDisabled
	}
	if err := s.knownPod(ctx, name); err != nil {
		return err
	}
	root := Path("/" + name + "/")
	if err := deleteTree(ctx, s.backend, root.Key()); err != nil {
		return fmt.Errorf("ldp: deleting pod %s: %w", name, err)
	}
	for _, key := range []string{root.Key(), usageKey(name), PodRegistryKey(name)} {
		if err := s.backend.Delete(ctx, key, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("ldp: deleting pod %s: %s: %w", name, key, err)
		}
	}
	s.pods.forget(name)
	s.changed(root, Delete, "")
	return nil
}

// deleteTree deletes every object below prefix (which ends in "/"),
// deepest first: the objects of each level, then the level's marker
// object (a container's own key), which may be absent.
func deleteTree(ctx context.Context, b storage.Backend, prefix string) error {
	// The listing is collected before deleting, so that no backend is
	// asked to page on while its keys change.
	var keys, levels []string
	for info, err := range b.List(ctx, prefix) {
		if err != nil {
			return err
		}
		if info.IsPrefix {
			levels = append(levels, info.Key)
		} else {
			keys = append(keys, info.Key)
		}
	}
	for _, level := range levels {
		if err := deleteTree(ctx, b, level); err != nil {
			return err
		}
		keys = append(keys, level)
	}
	for _, key := range keys {
		if err := b.Delete(ctx, key, storage.DeleteOptions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}
