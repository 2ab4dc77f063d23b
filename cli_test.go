package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weconomics/kluis/storage/filesystem"
	"github.com/weconomics/kluis/webid/account"
)

// authenticate logs in against the accounts stored in dir.
func authenticate(t *testing.T, dir, email, password string) (account.Account, error) {
	t.Helper()
	b, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	return account.New(b, account.Options{}).Authenticate(context.Background(), email, password, "test")
}

// TestAccountCommands runs the hoster's commands as the binary would,
// with the server's flags and variables.
func TestAccountCommands(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	getenv := env(map[string]string{"KLUIS_DATA": dir, "KLUIS_BASE_URL": "https://pods.example/", "KLUIS_LOG_LEVEL": "warn"})

	// The password from standard input; a pod.
	var out, errOut bytes.Buffer
	err := runCommand(ctx, []string{"account", "create", "-email", "Alice@Example.org", "-pod", "alice", "-name", "Alice"},
		getenv, strings.NewReader("correct horse battery\n"), &out, &errOut)
	if err != nil {
		t.Fatalf("account create: %v\n%s", err, errOut.String())
	}
	words := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"email alice@example.org", "pod https://pods.example/alice/", "webid https://pods.example/alice/profile/card#me"} {
		if !strings.Contains(words, want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "password") || strings.Contains(out.String()+errOut.String(), "correct horse") {
		t.Errorf("the given password is shown:\n%s%s", out.String(), errOut.String())
	}
	acc, err := authenticate(t, dir, "alice@example.org", "correct horse battery")
	if err != nil || len(acc.Pods) != 1 || !acc.Linked("https://pods.example/alice/profile/card#me") {
		t.Fatalf("the account: %+v, %v", acc, err)
	}

	// No standard input (run has none): a generated password, printed.
	out.Reset()
	if err := run(ctx, []string{"account", "create", "-email", "bob@example.org", "-data", dir, "-base-url", "https://pods.example/"}, env(map[string]string{"KLUIS_LOG_LEVEL": "warn"}), &out, &errOut); err != nil {
		t.Fatalf("account create without stdin: %v", err)
	}
	m := regexp.MustCompile(`(?m)^password\s+(\S+)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no generated password:\n%s", out.String())
	}
	if _, err := authenticate(t, dir, "bob@example.org", m[1]); err != nil {
		t.Fatalf("login with the generated password: %v", err)
	}
	// An empty line is no password either.
	out.Reset()
	if err := runCommand(ctx, []string{"account", "create", "-email", "carol@example.org"}, getenv, strings.NewReader("\n"), &out, &errOut); err != nil || !strings.Contains(out.String(), "password") {
		t.Fatalf("empty stdin: %v\n%s", err, out.String())
	}

	// pod list, through run with args.
	out.Reset()
	if err := run(ctx, []string{"pod", "list", "-data", dir, "-base-url", "https://pods.example/"}, env(map[string]string{"KLUIS_LOG_LEVEL": "warn"}), &out, &errOut); err != nil {
		t.Fatalf("pod list: %v", err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 ||
		!strings.HasPrefix(lines[1], "alice  https://pods.example/alice/  https://pods.example/alice/profile/card#me") {
		t.Errorf("pod list:\n%s", out.String())
	}

	// Refusals.
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantConfig bool
		want       string
	}{
		{"taken e-mail", []string{"account", "create", "-email", "alice@example.org"}, "another password", false, "already in use"},
		{"taken pod", []string{"account", "create", "-email", "dave@example.org", "-pod", "alice"}, "another password", false, "pod name taken"},
		{"bad pod name", []string{"account", "create", "-email", "erin@example.org", "-pod", "Erin"}, "another password", false, "invalid pod name"},
		{"weak password", []string{"account", "create", "-email", "frank@example.org"}, "short\n", true, "at least 8"},
		{"no e-mail", []string{"account", "create"}, "", true, "-email"},
		{"unknown command", []string{"pods", "s3cr3t-v4lue"}, "", true, "unknown command"},
		{"stray argument", []string{"pod", "list", "s3cr3t-v4lue"}, "", true, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runCommand(ctx, tc.args, getenv, strings.NewReader(tc.stdin), &out, &errOut)
			var ce *configError
			if err == nil || errors.As(err, &ce) != tc.wantConfig || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want config error %v holding %q", err, tc.wantConfig, tc.want)
			}
			if strings.Contains(err.Error()+out.String()+errOut.String(), "s3cr3t-v4lue") {
				t.Error("a stray argument is repeated")
			}
		})
	}
	// The erin account was not made with a bad pod name.
	if _, err := authenticate(t, dir, "erin@example.org", "another password"); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("erin: %v", err)
	}
}

// TestReadPassword: a terminal is never read from.
func TestReadPassword(t *testing.T) {
	if p, gen, err := readPassword(strings.NewReader("pass word\r\nsecond line\n")); p != "pass word" || gen || err != nil {
		t.Errorf("readPassword = %q, %v, %v", p, gen, err)
	}
	if p, gen, _ := readPassword(nil); !gen || len(p) < 16 {
		t.Errorf("generated %q", p)
	}
	if tty, err := os.Open("/dev/tty"); err == nil {
		defer tty.Close()
		if _, gen, _ := readPassword(tty); !gen {
			t.Error("a terminal was read")
		}
	}
}
