package archive

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/accesslog"
	"github.com/weconomics/kluis/storage"
)

// Export writes the pod called pod as a tar archive to w (see the package
// comment for the format): its registry record, then every resource,
// container and auxiliary resource, depth first. It streams: at most one
// container's listing and one object's buffer are in memory. Objects that
// disappear while it runs are left out. A pod that is not registered is
// an error wrapping ldp.ErrNoPod.
//
// Export does not stop writers: for a consistent archive, stop the
// server or export while nobody writes to the pod.
func Export(ctx context.Context, b storage.Backend, pod string, w io.Writer) error {
	return ExportWith(ctx, b, pod, w, ExportOptions{})
}

// ExportOptions add to what Export writes.
type ExportOptions struct {
	// Credentials, when set, writes the pod's access credentials (a JSON
	// document the archive package does not read) to w: they become the
	// archive's last entry, kluis-credentials.json.
	Credentials func(ctx context.Context, w io.Writer) error
}

// ExportWith is Export with options.
func ExportWith(ctx context.Context, b storage.Backend, pod string, w io.Writer, opts ExportOptions) error {
	p, err := ldp.ReadPod(ctx, b, pod)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	data, err := json.MarshalIndent(manifest{Format: formatName, Version: formatVersion, Name: p.Name, Owner: p.Owner, Created: p.Created}, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: manifestName, Size: int64(len(data)), Mode: 0o644,
		ModTime: p.Created, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	e := &exporter{backend: b, tw: tw, rootKey: p.Root.Key()}
	if err := e.container(ctx, p.Root.Key()); err != nil {
		return err
	}
	// The pod's access log, byte for byte, with the keys that signed it.
	if err := accesslog.Export(ctx, b, pod, func(name string, data []byte) error {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: logDir + name, Size: int64(len(data)), Mode: 0o644,
			PAXRecords: map[string]string{paxContentType: "application/json"}, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		_, err := tw.Write(data)
		return err
	}); err != nil {
		return fmt.Errorf("archive: the access log: %w", err)
	}
	if opts.Credentials != nil {
		var buf bytes.Buffer
		if err := opts.Credentials(ctx, &buf); err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: credentialsName, Size: int64(buf.Len()), Mode: 0o600,
			ModTime: p.Created, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		if _, err := tw.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return nil
}

type exporter struct {
	backend storage.Backend
	tw      *tar.Writer
	rootKey string
}

// name returns the archive name of the object at key.
func (e *exporter) name(key string) string {
	return podDir + strings.TrimPrefix(key, e.rootKey)
}

// listed is one direct child of a container, ordered for export.
type listed struct {
	info storage.Info
	base string // the name without ".acl" or ".meta"
	rank int    // 0 for an ACL, 1 for a resource or container, 2 for .meta
}

// container exports the container whose marker is key: its ACL, its
// directory entry, its .meta, then its children, each resource between
// its ACL and its .meta.
func (e *exporter) container(ctx context.Context, key string) error {
	var children []listed
	for info, err := range e.backend.List(ctx, key) {
		if err != nil {
			return fmt.Errorf("archive: listing %s: %w", key, err)
		}
		name := strings.TrimPrefix(info.Key, key)
		c := listed{info: info, base: name, rank: 1}
		if !info.IsPrefix {
			switch kind, subject := ldp.Path("/" + name).Aux(); kind {
			case ldp.ACL:
				c.base, c.rank = strings.TrimPrefix(string(subject), "/"), 0
			case ldp.Meta:
				c.base, c.rank = strings.TrimPrefix(string(subject), "/"), 2
			}
		}
		children = append(children, c)
	}
	// The container's own entry sorts with base "", between its ACL
	// (".acl", base "") and its ".meta".
	children = append(children, listed{info: storage.Info{Key: key}, base: "", rank: 1})
	slices.SortFunc(children, func(a, b listed) int {
		return cmp.Or(strings.Compare(a.base, b.base), cmp.Compare(a.rank, b.rank))
	})
	for _, c := range children {
		var err error
		switch {
		case c.info.Key == key:
			err = e.directory(ctx, key)
		case c.info.IsPrefix:
			err = e.container(ctx, c.info.Key)
		default:
			err = e.file(ctx, c.info.Key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// directory writes the directory entry of the container marker at key.
// A level of keys without a marker gets none.
func (e *exporter) directory(ctx context.Context, key string) error {
	body, info, err := e.backend.Get(ctx, key, storage.GetOptions{})
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("archive: reading %s: %w", key, err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxContainerBody+1))
	if err != nil {
		return fmt.Errorf("archive: reading %s: %w", key, err)
	}
	if len(data) > maxContainerBody {
		return fmt.Errorf("archive: container %s holds more than %d bytes of its own triples", key, maxContainerBody)
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("archive: container %s holds bytes that are not UTF-8 Turtle", key)
	}
	rec := map[string]string{paxContentType: info.ContentType}
	if len(bytes.TrimSpace(data)) > 0 {
		rec[paxBody] = string(data)
	}
	hdr := &tar.Header{Typeflag: tar.TypeDir, Name: e.name(key), Mode: 0o755, ModTime: info.Modified,
		PAXRecords: rec, Format: tar.FormatPAX}
	if err := e.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive: %s: %w", key, err)
	}
	return nil
}

// file streams the object at key into a regular file entry.
func (e *exporter) file(ctx context.Context, key string) error {
	body, info, err := e.backend.Get(ctx, key, storage.GetOptions{})
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("archive: reading %s: %w", key, err)
	}
	defer body.Close()
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.name(key), Size: info.Size, Mode: 0o644,
		ModTime: info.Modified, PAXRecords: map[string]string{paxContentType: info.ContentType}, Format: tar.FormatPAX}
	if err := e.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive: %s: %w", key, err)
	}
	n, err := io.Copy(e.tw, body)
	if err != nil {
		return fmt.Errorf("archive: copying %s: %w", key, err)
	}
	if n != info.Size {
		return fmt.Errorf("archive: %s: read %d bytes of %d", key, n, info.Size)
	}
	return nil
}
