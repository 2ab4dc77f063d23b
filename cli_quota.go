package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/weconomics/kluis/ldp"
)

// The quota commands: kluis pod usage, kluis pod quota (ldp/quota.go does
// the work). Like the other commands they take every server flag and
// variable; -pod-quota ($KLUIS_POD_QUOTA) is the default they report.

// quotaUsage lists these commands, after commandUsage.
const quotaUsage = `  kluis pod usage NAME [-recount] [flags]
        prints the bytes the pod holds and its quota; -recount counts its
        objects again first, to set right a counter that drifted
  kluis pod quota NAME SIZE [flags]
        gives the pod a quota of its own: a size such as 10GiB, 0 for no
        limit, or "default" to follow -pod-quota again
`

// podName takes the pod's name from the front of a command's arguments.
func podName(args []string, command string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, &configError{err: fmt.Errorf("kluis %s needs the pod's name", command)}
	}
	if err := ldp.CheckPodName(args[0]); err != nil {
		return "", nil, &configError{err: err}
	}
	return args[0], args[1:], nil
}

// podUsage is "kluis pod usage NAME [-recount]".
func podUsage(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name, args, err := podName(args, "pod usage NAME")
	if err != nil {
		return err
	}
	var recount bool
	cfg, ok, err := commandConfig(args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&recount, "recount", false, "count the pod's objects again and store the count")
	})
	if !ok {
		return err
	}
	a, done, err := admin(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer done()
	u, err := a.PodUsage(ctx, name, recount)
	if err != nil {
		return err
	}
	return printPodUsage(stdout, u)
}

// podQuota is "kluis pod quota NAME SIZE".
func podQuota(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name, args, err := podName(args, "pod quota NAME SIZE")
	if err != nil {
		return err
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &configError{err: errors.New(`kluis pod quota NAME SIZE needs a size: 10GiB, 0 for no limit, or "default"`)}
	}
	var quota *int64
	if size := args[0]; size != "default" {
		n, err := parseSize(size)
		if err != nil {
			return &configError{err: fmt.Errorf("size %q: %v", size, err)}
		}
		quota = &n
	}
	cfg, ok, err := commandConfig(args[1:], getenv, stderr, nil)
	if !ok {
		return err
	}
	a, done, err := admin(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer done()
	u, err := a.SetPodQuota(ctx, name, quota)
	if err != nil {
		return err
	}
	return printPodUsage(stdout, u)
}

// printPodUsage writes a pod's usage as a small table.
func printPodUsage(w io.Writer, u ldp.Usage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	quota := "none"
	if u.Quota > 0 {
		quota = fmt.Sprintf("%d (%s)", u.Quota, formatSize(u.Quota))
	}
	source := "default"
	if u.Own {
		source = "the pod's own"
	}
	fmt.Fprintf(tw, "pod\t%s\nused\t%d (%s)\nquota\t%s, %s\n", u.Pod, u.Bytes, formatSize(u.Bytes), quota, source)
	return tw.Flush()
}
