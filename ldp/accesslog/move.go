package accesslog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/weconomics/kluis/storage"
)

// Moving a log with its pod (ldp/archive): the segments go unchanged,
// with the public keys that signed them, so that the log still verifies
// on another storage, against keys the archive carries rather than keys
// the new server publishes. That is weaker, and Verify says so
// (Report.Carried).

// keyPrefix is where the public keys that signed segments are kept, one
// object per key id, written when a Log first signs with the key: a key
// leaves the published set when it retires, and an export still needs it.
const keyPrefix = "sys/access-log-keys/"

// importedPrefix holds, per pod, what an import carried: the pod's former
// name and the keys that signed its segments.
const importedPrefix = "sys/access-log-imported/"

// KeySource is what Keys may also do: give the public key of a key id.
type KeySource interface {
	PublicKey(ctx context.Context, kid string) ([]byte, error)
}

// carried is an import's record.
type carried struct {
	Pod  string            `json:"pod"`
	Keys map[string]string `json:"keys"` // key id -> base64url Ed25519 public key
}

// keepKey stores the public key of kid, once.
func (l *Log) keepKey(ctx context.Context, kid string) {
	if l.kept[kid] {
		return
	}
	ks, ok := l.cfg.Keys.(KeySource)
	if !ok {
		return
	}
	pub, err := ks.PublicKey(ctx, kid)
	if err != nil {
		l.cfg.Logger.Warn("access log: the signing key's public key is unknown", "kid", kid, "error", err)
		return
	}
	_, err = l.cfg.Backend.Put(ctx, keyPrefix+kid, strings.NewReader(base64.RawURLEncoding.EncodeToString(pub)), storage.PutOptions{ContentType: "text/plain", IfNoneMatch: true})
	if err == nil || errors.Is(err, storage.ErrPreconditionFailed) {
		l.kept[kid] = true
	}
}

// ArchiveKeys is the name of the keys among an export's files.
const ArchiveKeys = "keys.json"

// Export yields pod's log as files: every segment under its level and
// name ("<hour>/<segment>"), unchanged, then ArchiveKeys, the public keys
// that signed them (and those an earlier import carried), with the pod's
// name, for Import.
func Export(ctx context.Context, b storage.Backend, pod string, file func(name string, data []byte) error) error {
	l := &Log{cfg: Config{Backend: b}}
	hours, err := l.hours(ctx, pod)
	if err != nil {
		return err
	}
	c, err := readCarried(ctx, b, pod)
	if err != nil {
		return err
	}
	if c.Pod == "" {
		c.Pod = pod
	}
	if c.Keys == nil {
		c.Keys = map[string]string{}
	}
	n := 0
	for _, h := range hours {
		segs, err := l.segments(ctx, pod, h)
		if err != nil {
			return err
		}
		for _, s := range segs {
			n++
			data, err := readAll(ctx, b, s.key)
			if errors.Is(err, storage.ErrNotFound) {
				continue // trimmed meanwhile
			}
			if err != nil {
				return err
			}
			var head struct {
				KeyID string `json:"kid"`
			}
			if json.Unmarshal(data, &head) == nil && head.KeyID != "" && c.Keys[head.KeyID] == "" {
				if pub, err := readAll(ctx, b, keyPrefix+head.KeyID); err == nil {
					c.Keys[head.KeyID] = string(pub)
				}
			}
			if err := file(s.key[len(Prefix)+len(pod)+1:], data); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		return nil // no log
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return file(ArchiveKeys, data)
}

// Import stores one file of an exported log as pod's: a segment, or
// ArchiveKeys. It returns the key written, for undoing a failed import.
func Import(ctx context.Context, b storage.Backend, pod, name string, data []byte) (string, error) {
	if name == ArchiveKeys {
		var c carried
		if err := json.Unmarshal(data, &c); err != nil || c.Pod == "" {
			return "", fmt.Errorf("accesslog: import: %s is not the keys of a log", ArchiveKeys)
		}
		for kid, pub := range c.Keys {
			if raw, err := base64.RawURLEncoding.DecodeString(pub); err != nil || len(raw) != 32 || strings.ContainsAny(kid, "/") {
				return "", fmt.Errorf("accesslog: import: key %q unreadable", kid)
			}
		}
		raw, _ := json.Marshal(c)
		key := importedPrefix + pod
		_, err := b.Put(ctx, key, bytes.NewReader(raw), storage.PutOptions{ContentType: "application/json"})
		return key, err
	}
	hour, seg, ok := strings.Cut(name, "/")
	if _, good := parseSegKey(name); !ok || len(hour) != 8 || strings.Contains(seg, "/") || !good {
		return "", fmt.Errorf("accesslog: import: %q is not a segment", name)
	}
	key := Prefix + pod + "/" + name
	_, err := b.Put(ctx, key, bytes.NewReader(data), storage.PutOptions{ContentType: "application/json", IfNoneMatch: true})
	return key, err
}

func readCarried(ctx context.Context, b storage.Backend, pod string) (carried, error) {
	var c carried
	data, err := readAll(ctx, b, importedPrefix+pod)
	if errors.Is(err, storage.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return carried{}, nil // unreadable: verification fails on its own
	}
	return c, nil
}

func readAll(ctx context.Context, b storage.Backend, key string) ([]byte, error) {
	rc, _, err := b.Get(ctx, key, storage.GetOptions{})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, maxSegmentBytes))
}
