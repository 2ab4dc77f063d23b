package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestPodQuotaCommands sets, shows and recounts a pod's quota and usage
// as the binary would.
func TestPodQuotaCommands(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	getenv := env(map[string]string{"KLUIS_DATA": dir, "KLUIS_BASE_URL": "https://pods.example/",
		"KLUIS_LOG_LEVEL": "warn", "KLUIS_POD_QUOTA": "1MiB"})
	var out, errOut bytes.Buffer
	if err := runCommand(ctx, []string{"account", "create", "-email", "a@example.org", "-pod", "alice"},
		getenv, strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("account create: %v\n%s", err, errOut.String())
	}
	tests := []struct {
		name    string
		args    []string
		want    []string // in the output, spaces squeezed
		wantErr string
	}{
		{"usage with the default quota", []string{"pod", "usage", "alice"}, []string{"pod alice", "quota 1048576 (1MiB), default"}, ""},
		{"own quota", []string{"pod", "quota", "alice", "10KiB"}, []string{"quota 10240 (10KiB), the pod's own"}, ""},
		{"own quota kept by a recount", []string{"pod", "usage", "alice", "-recount"}, []string{"quota 10240 (10KiB), the pod's own"}, ""},
		{"no limit", []string{"pod", "quota", "alice", "0"}, []string{"quota none, the pod's own"}, ""},
		{"back to the default", []string{"pod", "quota", "alice", "default"}, []string{"quota 1048576 (1MiB), default"}, ""},
		{"no such pod", []string{"pod", "usage", "bob"}, nil, "no such pod"},
		{"bad size", []string{"pod", "quota", "alice", "lots"}, nil, "size"},
		{"no name", []string{"pod", "usage", "-recount"}, nil, "needs the pod's name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			errOut.Reset()
			err := runCommand(ctx, tc.args, getenv, nil, &out, &errOut)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			words := strings.Join(strings.Fields(out.String()), " ")
			for _, w := range tc.want {
				if !strings.Contains(words, w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if !strings.Contains(words, "used ") {
				t.Errorf("output lacks the usage:\n%s", out.String())
			}
		})
	}
}
