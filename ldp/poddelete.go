package ldp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weconomics/kluis/ldp/accesslog"
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
// record sys/pods/<name>, and the pod's access log. Afterwards the name is free: CreatePod makes a
// new, empty pod of it. An unregistered name is ErrNoPod, a Store without
// pods ErrPodsDisabled.
//
// The registry record is first marked Deleting: from then on this Store
// refuses every write into the pod (ConflictError), and so does every
// other process sharing the backend once it reads the record again
// (within knownTTL, 10 s). A write already past that check when the mark
// was made may land after the objects were listed, so the pod is listed
// again after each pass until nothing is left. A deletion cut off
// half-way leaves the marked record: DeletePod runs again.
func (s *Store) DeletePod(ctx context.Context, name string) error {
	if s.pods == nil {
		return ErrPodsDisabled
	}
	if err := CheckPodName(name); err != nil {
		return err
	}
	rec, err := s.markDeleting(ctx, name)
	if err != nil {
		return err
	}
	s.pods.learn(rec)
	root := Path("/" + name + "/")
	for pass := 1; ; pass++ {
		if err := storage.DeleteTree(ctx, s.backend, root.Key()); err != nil {
			return fmt.Errorf("ldp: deleting pod %s: %w", name, err)
		}
		left, err := anyUnder(ctx, s.backend, root.Key())
		if err != nil {
			return fmt.Errorf("ldp: deleting pod %s: %w", name, err)
		}
		if !left {
			break
		}
		if pass == maxDeletePasses {
			return fmt.Errorf("ldp: deleting pod %s: objects are still being written into it; run the deletion again", name)
		}
	}
	// The counts of writes answered before the mark are stored before
	// the counter is deleted (usage.go).
	if err := s.forgetUsage(ctx, name); err != nil {
		return err
	}
	// Its access log goes with it (ldp/accesslog).
	if err := accesslog.Delete(ctx, s.backend, name); err != nil {
		return fmt.Errorf("ldp: deleting pod %s: its access log: %w", name, err)
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

// maxDeletePasses bounds how often DeletePod lists and deletes a pod that
// writes already under way keep filling.
const maxDeletePasses = 5

// markDeleting sets the Deleting mark of the pod's registry record (with
// If-Match on what it read) and returns the record, or ErrNoPod.
func (s *Store) markDeleting(ctx context.Context, name string) (podRecord, error) {
	for range 3 {
		rec, etag, err := s.readPodRecordTag(ctx, name)
		if errors.Is(err, storage.ErrNotFound) {
			return podRecord{}, fmt.Errorf("ldp: pod %s: %w", name, ErrNoPod)
		}
		if err != nil {
			return podRecord{}, err
		}
		if rec.Deleting {
			return rec, nil // a deletion cut off before: go on with it
		}
		rec.Deleting = true
		out, err := json.Marshal(rec)
		if err != nil {
			return podRecord{}, err
		}
		_, err = s.backend.Put(ctx, PodRegistryKey(name), bytes.NewReader(out),
			storage.PutOptions{ContentType: "application/json", IfMatch: etag})
		if errors.Is(err, storage.ErrPreconditionFailed) {
			continue // changed meanwhile: read it again
		}
		if err != nil {
			return podRecord{}, fmt.Errorf("ldp: marking pod %s as being deleted: %w", name, err)
		}
		return rec, nil
	}
	return podRecord{}, fmt.Errorf("ldp: pod %s: its registry record keeps changing", name)
}

// anyUnder reports whether any object is stored below prefix.
func anyUnder(ctx context.Context, b storage.Backend, prefix string) (bool, error) {
	for _, err := range b.List(ctx, prefix) {
		if err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}
