package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
)

// countKeys counts the objects below prefix in the storage at dir,
// level markers included.
func countKeys(t *testing.T, dir, prefix string) int {
	t.Helper()
	b, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var count func(p string) int
	count = func(p string) int {
		n := 0
		if _, err := b.Stat(context.Background(), p); err == nil {
			n++
		}
		for info, err := range b.List(context.Background(), p) {
			if err != nil {
				t.Fatal(err)
			}
			if info.IsPrefix {
				n += count(info.Key)
			} else {
				n++
			}
		}
		return n
	}
	return count(prefix)
}

// TestPodDeleteCommand: kluis pod delete refuses without the matching
// -confirm, then removes the pod's data and takes it off its account.
func TestPodDeleteCommand(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	getenv := env(map[string]string{"KLUIS_DATA": dir, "KLUIS_BASE_URL": "https://pods.example/", "KLUIS_LOG_LEVEL": "warn"})
	var out, errOut bytes.Buffer
	if err := runCommand(ctx, []string{"account", "create", "-email", "dora@example.org", "-pod", "dora"},
		getenv, strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("account create: %v\n%s", err, errOut.String())
	}
	if n := countKeys(t, dir, "r/dora/"); n == 0 {
		t.Fatal("no pod objects")
	}
	for _, args := range [][]string{
		{"pod", "delete", "dora"},
		{"pod", "delete", "dora", "-confirm", "dor"},
		{"pod", "delete", "-confirm", "dora"},
	} {
		if err := runCommand(ctx, args, getenv, nil, &out, &errOut); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if n := countKeys(t, dir, "r/dora/"); n == 0 {
		t.Fatal("refused deletions removed the pod")
	}
	out.Reset()
	if err := runCommand(ctx, []string{"pod", "delete", "dora", "-confirm", "dora"}, getenv, nil, &out, &errOut); err != nil {
		t.Fatalf("pod delete: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "deleted pod dora") {
		t.Errorf("output: %s", out.String())
	}
	for _, k := range []string{"r/dora/", "sys/pods/", "sys/usage/"} {
		if n := countKeys(t, dir, k); n != 0 {
			t.Errorf("%d objects left under %s", n, k)
		}
	}
	acc, err := authenticate(t, dir, "dora@example.org", "correct horse battery")
	if err != nil || len(acc.Pods) != 0 || len(acc.WebIDs) != 0 {
		t.Errorf("the account after pod delete: %+v %v", acc, err)
	}
	if err := runCommand(ctx, []string{"pod", "delete", "dora", "-confirm", "dora"}, getenv, nil, &out, &errOut); err == nil {
		t.Error("deleting a deleted pod: no error")
	}
	out.Reset()
	if err := runCommand(ctx, []string{"pod", "list"}, getenv, nil, &out, &errOut); err != nil || strings.Contains(out.String(), "dora") {
		t.Errorf("pod list after delete: %v\n%s", err, out.String())
	}
}

// TestPodDeleteCommandResumes: a pod whose deletion was cut off shows as
// being deleted in kluis pod list, and kluis pod delete finishes it.
func TestPodDeleteCommandResumes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	getenv := env(map[string]string{"KLUIS_DATA": dir, "KLUIS_BASE_URL": "https://pods.example/", "KLUIS_LOG_LEVEL": "warn"})
	var out, errOut bytes.Buffer
	if err := runCommand(ctx, []string{"account", "create", "-email", "eve@example.org", "-pod", "eve"},
		getenv, strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("account create: %v\n%s", err, errOut.String())
	}
	// The process deleting it died right after marking the pod.
	b, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := `{"name":"eve","owner":"https://pods.example/eve/profile/card#me","created":"2026-01-01T00:00:00Z","deleting":true}`
	if _, err := b.Put(ctx, "sys/pods/eve", strings.NewReader(rec), storage.PutOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	out.Reset()
	if err := runCommand(ctx, []string{"pod", "list"}, getenv, nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "(being deleted)") {
		t.Fatalf("pod list: %v\n%s", err, out.String())
	}
	if err := runCommand(ctx, []string{"pod", "delete", "eve", "-confirm", "eve"}, getenv, nil, &out, &errOut); err != nil {
		t.Fatalf("pod delete: %v\n%s", err, errOut.String())
	}
	if n := countKeys(t, dir, "r/eve/"); n != 0 {
		t.Fatalf("%d objects left under r/eve/", n)
	}
	out.Reset()
	if err := runCommand(ctx, []string{"pod", "list"}, getenv, nil, &out, &errOut); err != nil || strings.Contains(out.String(), "eve") {
		t.Fatalf("pod list after the deletion: %v\n%s", err, out.String())
	}
}
