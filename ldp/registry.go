package ldp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weconomics/kluis/storage"
)

// The pod registry on a bare backend, for tools that move whole pods
// (ldp/archive: export, import, migration) without a Store: they must
// read and claim registry records exactly as CreatePod does.

// ErrNoPod means no pod of that name is registered.
var ErrNoPod = errors.New("ldp: no such pod")

// PodRegistryKey returns the backend key of the registry record of the
// pod called name.
func PodRegistryKey(name string) string { return podKeyPrefix + name }

// ReadPod returns the registry record of the pod called name from b, or an
// error wrapping ErrNoPod when there is none.
func ReadPod(ctx context.Context, b storage.Backend, name string) (Pod, error) {
	if err := CheckPodName(name); err != nil {
		return Pod{}, err
	}
	s := &Store{backend: b}
	rec, err := s.readPodRecord(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return Pod{}, fmt.Errorf("ldp: pod %s: %w", name, ErrNoPod)
	}
	if err != nil {
		return Pod{}, err
	}
	return rec.pod(), nil
}

// RegisterPod claims p.Name in the registry of b for a pod whose
// resources the caller writes itself (an import): it checks the name and
// the owner as CreatePod does, refuses with ErrPodExists when the name is
// a pod already or a resource is at /<name>/ or /<name>, and writes the
// record with If-None-Match, so that of several claims exactly one wins.
// It seeds nothing. A zero p.Created means now.
func RegisterPod(ctx context.Context, b storage.Backend, p Pod) error {
	if err := CheckPodName(p.Name); err != nil {
		return err
	}
	if !absoluteHTTP(p.Owner) {
		return &BadRequestError{Reason: fmt.Sprintf("owner %q is not an absolute http(s) IRI", truncateName(p.Owner))}
	}
	if p.Created.IsZero() {
		p.Created = time.Now()
	}
	root := Path("/" + p.Name + "/")
	for _, q := range []Path{root, root.Sibling()} {
		if _, err := b.Stat(ctx, q.Key()); err == nil {
			return fmt.Errorf("ldp: pod %s: %s exists: %w", p.Name, q, ErrPodExists)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("ldp: pod %s: %w", p.Name, err)
		}
	}
	rec := podRecord{Name: p.Name, Owner: p.Owner, Created: p.Created.UTC().Truncate(time.Second)}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = b.Put(ctx, PodRegistryKey(p.Name), bytes.NewReader(data),
		storage.PutOptions{ContentType: "application/json", IfNoneMatch: true})
	if errors.Is(err, storage.ErrPreconditionFailed) {
		return fmt.Errorf("ldp: pod %s: %w", p.Name, ErrPodExists)
	}
	if err != nil {
		return fmt.Errorf("ldp: registering pod %s: %w", p.Name, err)
	}
	return nil
}
