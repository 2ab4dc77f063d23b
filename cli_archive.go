package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/archive"
	"github.com/weconomics/kluis/server/consent"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/seal"
	"github.com/weconomics/kluis/webid/fetch"
)

// The commands that move pods: kluis pod export, kluis pod import, kluis
// migrate css (ldp/archive does the work). Like the other commands they
// take every server flag and variable, so they find the server's storage.

// archiveUsage lists these commands, after commandUsage.
const archiveUsage = `  kluis pod export NAME [flags] > pod.tar
        writes the pod as a tar archive to standard output
  kluis pod import [-name NAME] [-old-base-url URL] [-owner WEBID] [flags] < pod.tar
        makes a new pod from an archive of kluis pod export; -old-base-url
        is the exporting server's URL, whose IRIs become this server's
  kluis migrate css -from DIR [-pod NAME,...] [-old-base-url URL] [flags]
        imports the pods of a Community Solid Server data folder (its -f)
`

// openStorage opens the configured backend; done closes it.
func openStorage(ctx context.Context, cfg Config) (storage.Backend, func(), error) {
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return b, func() {
		if c, ok := b.(io.Closer); ok {
			c.Close()
		}
	}, nil
}

// baseWithSlash returns the configured base URL ending in "/".
func baseWithSlash(cfg Config) (string, error) {
	u, err := parseBase(cfg.BaseURL)
	if err != nil {
		return "", err
	}
	s := u.String()
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

// podExport is "kluis pod export NAME".
func podExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &configError{err: errors.New("kluis pod export needs the pod's name: kluis pod export NAME")}
	}
	name := args[0]
	if err := ldp.CheckPodName(name); err != nil {
		return &configError{err: err}
	}
	cfg, err := loadConfigWith(args[1:], getenv, nil)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, commandUsage)
		return nil
	}
	if err != nil {
		return &configError{err: err}
	}
	b, done, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	base, err := baseWithSlash(cfg)
	if err != nil {
		return err
	}
	grants, _, err := podCredentials(cfg, b, base, "", nil)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(stdout, 256<<10)
	// The access credentials about the pod are those it holds records of
	// (server/consent): they go last, with the keys that verify them.
	err = archive.ExportWith(ctx, b, name, w, archive.ExportOptions{Credentials: func(ctx context.Context, w io.Writer) error {
		var ids []string
		for info, err := range b.List(ctx, ldp.Path("/"+name+"/"+consent.RecordsFolder).Key()) {
			if err != nil {
				return err
			}
			if id := path.Base(info.Key); !info.IsPrefix && !strings.HasPrefix(id, ".") {
				ids = append(ids, id)
			}
		}
		return grants.ExportPod(ctx, ids, w)
	}})
	if err != nil {
		return err
	}
	return w.Flush()
}

// podCredentials is the credential service of the server at base over b,
// for the commands: it issues nothing on a person's behalf; the grants a
// move re-issues must lie under root, and are recorded in the pod (with
// space), their notifications sent as the server would send them. wait
// returns when the notifications to other servers have been sent.
func podCredentials(c Config, b storage.Backend, base, root string, space *ldp.Store) (_ *credential.Service, wait func(), err error) {
	current, _ := c.SecretKey.bytes() // checked by Validate
	previous, _ := c.PreviousSecretKey.bytes()
	cfg := credential.Config{
		Store: b, Base: base + strings.TrimPrefix(consent.Prefix, "/"),
		Seal:     seal.Sealer{Current: current, Previous: previous},
		Controls: func(context.Context, credential.Agent, string) error { return credential.ErrForbidden },
		OnServer: func(iri string) bool { return root != "" && strings.HasPrefix(iri, root) },
	}
	wait = func() {}
	if space != nil {
		allow, _ := fetch.ParseAllowList(c.FetchAllow) // checked by Validate
		f, err := fetch.New(fetch.Config{Allow: allow})
		if err != nil {
			return nil, nil, err
		}
		out := &consent.Outbox{Client: f.HTTPClient()}
		cfg.OnChange = (&consent.Records{Space: space, Now: time.Now, Outbox: out}).Changed
		wait = out.Wait
	}
	s, err := credential.New(cfg)
	return s, wait, err
}

// podImport is "kluis pod import".
func podImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var name, oldBase, owner string
	cfg, ok, err := commandConfig(args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "`name` of the new pod (default: the archive's)")
		fs.StringVar(&oldBase, "old-base-url", "", "`URL` of the server the archive comes from; its IRIs are rewritten to -base-url")
		fs.StringVar(&owner, "owner", "", "owner `WebID` of the new pod (default: the archive's, rewritten)")
	})
	if !ok {
		return err
	}
	if stdin == nil {
		return &configError{err: errors.New("kluis pod import reads the archive from standard input")}
	}
	base, err := baseWithSlash(cfg)
	if err != nil {
		return err
	}
	if oldBase != "" && !strings.HasSuffix(oldBase, "/") {
		oldBase += "/"
	}
	b, done, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	var (
		moved     []byte
		root      string
		rebase    func(string) string
		movedRead error
	)
	err = archive.Import(ctx, b, name, bufio.NewReaderSize(stdin, 256<<10), archive.Options{
		BaseURL: base, OldBaseURL: oldBase, Owner: owner, MaxEntryBytes: cfg.MaxBody,
		Credentials: func(r io.Reader, newRoot string, f func(string) string) error {
			moved, movedRead = io.ReadAll(r)
			root, rebase = newRoot, f
			return movedRead
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "imported")
	if moved == nil {
		return nil
	}
	// The pod's grants, re-issued here for its new IRIs (credential/move.go).
	space, err := ldp.New(ctx, b, ldp.Config{BaseURL: base, Pods: true})
	if err != nil {
		return err
	}
	grants, wait, err := podCredentials(cfg, b, base, root, space)
	if err != nil {
		return err
	}
	list, err := grants.ImportPod(ctx, bytes.NewReader(moved), rebase)
	wait()
	// The grants' records written into the pod are counted after.
	err = errors.Join(err, space.Drain(ctx))
	for _, m := range list {
		if m.From == m.To {
			fmt.Fprintf(stdout, "grant %s kept for %s\n", m.From, m.Grantee)
			continue
		}
		fmt.Fprintf(stdout, "grant %s re-issued as %s for %s\n", m.From, m.To, m.Grantee)
	}
	if err != nil {
		return fmt.Errorf("the pod is imported; its access grants were not all re-issued: %w", err)
	}
	return nil
}

// migrateCSS is "kluis migrate css".
func migrateCSS(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var from, oldBase, pods string
	cfg, ok, err := commandConfig(args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "the Community Solid Server's data `folder` (its -f)")
		fs.StringVar(&oldBase, "old-base-url", "", "`URL` the CSS server had (default: the one it recorded)")
		fs.StringVar(&pods, "pod", "", "comma-separated `names` of the pods to migrate (default: all)")
	})
	if !ok {
		return err
	}
	if from == "" {
		return &configError{err: errors.New("-from: the CSS data folder is needed")}
	}
	if cfg.PodMode != "path" {
		return &configError{err: errors.New("kluis migrate css makes pods: -pod-mode must be path")}
	}
	base, err := baseWithSlash(cfg)
	if err != nil {
		return err
	}
	if oldBase != "" && !strings.HasSuffix(oldBase, "/") {
		oldBase += "/"
	}
	root, err := os.OpenRoot(from)
	if err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	defer root.Close()
	b, done, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	opts := archive.CSSOptions{Options: archive.Options{BaseURL: base, MaxEntryBytes: cfg.MaxBody}, OldBaseURL: oldBase}
	for p := range strings.SplitSeq(pods, ",") {
		if p = strings.TrimSpace(p); p != "" {
			opts.Pods = append(opts.Pods, p)
		}
	}
	report, err := archive.MigrateCSS(ctx, b, root.FS(), opts)
	for _, s := range report.Skipped {
		fmt.Fprintf(stderr, "kluis: not migrated: %s: %s\n", s.File, s.Reason)
	}
	if len(report.Pods) > 0 {
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "POD\tURL\tOWNER\tRESOURCES")
		for _, p := range report.Pods {
			fmt.Fprintf(w, "%s\t%s%s/\t%s\t%d\n", p.Name, base, p.Name, p.Owner, p.Resources)
		}
		w.Flush()
	}
	return err
}
