package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/weconomics/kluis/credential"
	"github.com/weconomics/kluis/ldp/accesslog"
	"github.com/weconomics/kluis/storage/seal"
)

// logUsage lists the access log commands.
const logUsage = `  kluis log verify NAME [flags]
        checks the access log of the pod NAME: every entry's hash chain
        and every segment's signature against the published keys; exits
        with an error when any entry was changed, removed or reordered
`

// errLogBroken is a log that does not verify.
var errLogBroken = errors.New("the access log does not verify")

// logVerify is "kluis log verify NAME".
func logVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	cfg, ok, err := commandConfig(args, getenv, stderr, nil)
	if !ok {
		return err
	}
	if name == "" {
		return &configError{err: errors.New("kluis log verify NAME: the pod's name is missing")}
	}
	store, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	if c, ok := store.(io.Closer); ok {
		defer c.Close()
	}
	current, _ := cfg.SecretKey.bytes() // checked by Validate
	previous, _ := cfg.PreviousSecretKey.bytes()
	l := accesslog.New(accesslog.Config{Backend: store, Keys: credential.PublishedKeys(store, seal.Sealer{Current: current, Previous: previous})})
	defer l.Close(ctx)
	rep, err := l.Verify(ctx, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pod %s: %d entries in %d segments of %d chains\n", name, rep.Entries, rep.Segments, rep.Chains)
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "BROKEN  %s\n", p)
	}
	if !rep.OK() {
		return fmt.Errorf("pod %s: %w (%d problems)", name, errLogBroken, len(rep.Problems))
	}
	fmt.Fprintln(stdout, "verified: no entry was changed, removed or reordered")
	return nil
}
