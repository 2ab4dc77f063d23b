package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/weconomics/kluis/server/accounts"
	"github.com/weconomics/kluis/webid/account"
)

// The hoster's commands: kluis account create, kluis pod list. They take
// every server flag and variable (so they find the same storage and base
// URL as the server), and may run while the server runs: accounts and
// pods are shared through the storage, with conditional writes.

// commandUsage lists the commands.
const commandUsage = `Usage:
  kluis [flags]                         serve (kluis -h lists the flags)
  kluis account create -email ADDRESS [-pod NAME] [-name "Full Name"] [flags]
        makes an account with a password login and, with -pod, a pod;
        the password is read from the first line of standard input, or
        generated and printed when standard input is a terminal or empty
  kluis pod list [flags]                lists the pods of the storage
  kluis pod delete NAME -confirm NAME [flags]
        deletes the pod NAME with everything in it, its registry record
        and usage counter, and takes it off its account; the name is
        free again afterwards
` + archiveUsage + quotaUsage + logUsage

// isCommand reports whether args name a command rather than flags.
func isCommand(args []string) bool {
	return len(args) > 0 && !strings.HasPrefix(args[0], "-")
}

// runCommand runs the command args names, reading a password from stdin
// (nil for none).
func runCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch strings.Join(args[:min(2, len(args))], " ") {
	case "account create":
		return accountCreate(ctx, args[2:], getenv, stdin, stdout, stderr)
	case "pod list":
		return podList(ctx, args[2:], getenv, stdout, stderr)
	case "pod delete":
		return podDelete(ctx, args[2:], getenv, stdout, stderr)
	// Moving pods (cli_archive.go).
	case "pod export":
		return podExport(ctx, args[2:], getenv, stdout, stderr)
	case "pod import":
		return podImport(ctx, args[2:], getenv, stdin, stdout, stderr)
	case "migrate css":
		return migrateCSS(ctx, args[2:], getenv, stdout, stderr)
	// Quotas (cli_quota.go).
	case "pod usage":
		return podUsage(ctx, args[2:], getenv, stdout, stderr)
	case "pod quota":
		return podQuota(ctx, args[2:], getenv, stdout, stderr)
	// The access log (cli_log.go).
	case "log verify":
		return logVerify(ctx, args[2:], getenv, stdout, stderr)
	case "help", "help -h":
		fmt.Fprint(stdout, commandUsage)
		return nil
	}
	fmt.Fprint(stderr, commandUsage)
	// The words are not repeated: one may be a secret given where it does
	// not belong.
	return &configError{err: errors.New("unknown command; kluis help lists the commands")}
}

// commandConfig loads the settings of a command, with its own flags.
func commandConfig(args []string, getenv func(string) string, stderr io.Writer, declare func(*flag.FlagSet)) (Config, bool, error) {
	cfg, err := loadConfigWith(args, getenv, declare)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, commandUsage)
		return cfg, false, nil
	}
	if err != nil {
		return cfg, false, &configError{err: err}
	}
	if cfg.BaseURL == "" {
		return cfg, false, &configError{err: errors.New("-base-url ($KLUIS_BASE_URL) is needed: the address has no fixed port")}
	}
	return cfg, true, nil
}

// admin opens the storage and the account and pod administration.
func admin(ctx context.Context, cfg Config, stderr io.Writer) (*accounts.Admin, func(), error) {
	store, err := openBackend(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	closeStore := func() {
		if c, ok := store.(io.Closer); ok {
			c.Close()
		}
	}
	base, err := parseBase(cfg.BaseURL)
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	a, err := accounts.NewAdmin(ctx, accounts.AdminConfig{BaseURL: base, Pods: cfg.PodMode == "path" || cfg.PodMode == "subdomain", PodQuota: cfg.PodQuota, Accounts: &account.Options{}},
		store, newLogger(cfg, stderr))
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	return a, closeStore, nil
}

// accountCreate is "kluis account create".
func accountCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var email, pod, name string
	cfg, ok, err := commandConfig(args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "e-mail `address` of the new account")
		fs.StringVar(&pod, "pod", "", "`name` of a pod to create for the account")
		fs.StringVar(&name, "name", "", "the person's `name`, for the pod's profile")
	})
	if !ok {
		return err
	}
	if _, err := account.NormaliseEmail(email); err != nil {
		return &configError{err: fmt.Errorf("-email: %v", err)}
	}
	password, generated, err := readPassword(stdin)
	if err != nil {
		return err
	}
	if err := account.CheckPassword(password); err != nil {
		return &configError{err: fmt.Errorf("password from standard input: %v", err)}
	}
	a, done, err := admin(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer done()
	acc, err := a.CreateAccount(ctx, email, password, pod, name)
	if acc.ID != "" {
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "account\t%s\nemail\t%s\n", acc.ID, acc.Email)
		if acc.Pod != "" {
			fmt.Fprintf(w, "pod\t%s\nwebid\t%s\n", acc.Pod, acc.WebID)
		}
		if generated {
			fmt.Fprintf(w, "password\t%s\n", password)
		}
		w.Flush()
	}
	return err
}

// maxPasswordLine bounds what is read from standard input.
const maxPasswordLine = 4096

// readPassword reads the first line of stdin, or makes a password when
// stdin is absent, a terminal (nothing is echoed to ask for), or empty.
func readPassword(stdin io.Reader) (password string, generated bool, err error) {
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			stdin = nil
		}
	}
	if stdin != nil {
		line, err := bufio.NewReaderSize(io.LimitReader(stdin, maxPasswordLine), maxPasswordLine).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("reading the password: %w", err)
		}
		if p := strings.TrimRight(line, "\r\n"); p != "" {
			return p, false, nil
		}
	}
	return rand.Text(), true, nil
}

// podList is "kluis pod list".
func podList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, ok, err := commandConfig(args, getenv, stderr, nil)
	if !ok {
		return err
	}
	a, done, err := admin(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer done()
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tURL\tOWNER\tCREATED")
	for p, err := range a.Pods(ctx) {
		if err != nil {
			return err
		}
		created := p.Created.Format("2006-01-02 15:04:05Z07:00")
		if p.Deleting {
			// An interrupted deletion: kluis pod delete finishes it.
			created += " (being deleted)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Name, a.PodURL(p), p.Owner, created)
	}
	return w.Flush()
}

// podDelete is "kluis pod delete NAME -confirm NAME".
func podDelete(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var name, confirm string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	cfg, ok, err := commandConfig(args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&confirm, "confirm", "", "the pod's `name` again, to confirm its deletion")
	})
	if !ok {
		return err
	}
	if name == "" {
		return &configError{err: errors.New("kluis pod delete NAME -confirm NAME: the pod's name is missing")}
	}
	if confirm != name {
		return &configError{err: fmt.Errorf("-confirm must repeat the pod's name %q; nothing was deleted", name)}
	}
	a, done, err := admin(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer done()
	if err := a.DeletePod(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted pod %s\n", name)
	return nil
}
