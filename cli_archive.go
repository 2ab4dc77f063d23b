package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/ldp/archive"
	"github.com/weconomics/kluis/storage"
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
	w := bufio.NewWriterSize(stdout, 256<<10)
	if err := archive.Export(ctx, b, name, w); err != nil {
		return err
	}
	return w.Flush()
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
	err = archive.Import(ctx, b, name, bufio.NewReaderSize(stdin, 256<<10), archive.Options{
		BaseURL: base, OldBaseURL: oldBase, Owner: owner, MaxEntryBytes: cfg.MaxBody,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "imported")
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
