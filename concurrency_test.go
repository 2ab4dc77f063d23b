package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentPatchesTwoProcesses: two Kluis processes share one storage
// and receive 50 concurrent N3 PATCHes, alternating between them, each
// inserting a distinct triple into the same resource. Every triple must be
// there afterwards: the read-modify-write of PATCH is atomic across
// processes through the backend's conditional Put (issue: "Concurrency
// across processes").
func TestConcurrentPatchesTwoProcesses(t *testing.T) {
	t.Run("filesystem", func(t *testing.T) {
		dir := t.TempDir()
		runConcurrentPatches(t, nil, "-data", dir)
	})
	t.Run("s3", func(t *testing.T) {
		env := s3TestEnv(t)
		runConcurrentPatches(t, env, "-storage", "s3")
	})
}

// s3TestEnv returns the environment of a child process using the MinIO that
// .ci/test started, with a fresh key prefix; it skips without one, except
// in CI.
func s3TestEnv(t *testing.T) []string {
	t.Helper()
	if os.Getenv("KLUIS_S3_ENDPOINT") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but KLUIS_S3_ENDPOINT is not set: the S3 tests must run in CI")
		}
		t.Skip("KLUIS_S3_ENDPOINT is not set; run bash .ci/test for the S3 tests")
	}
	return []string{"KLUIS_STORAGE=s3", "KLUIS_S3_PREFIX=kluistest-" + strings.ToLower(rand.Text()[:12]) + "/"}
}

func runConcurrentPatches(t *testing.T, env []string, args ...string) {
	const n = 50
	base := []string{"-addr", "127.0.0.1:0", "-base-url", "http://kluis.test/", "-log-level", "warn"}
	a := startChild(t, env, true, append(base, args...)...)
	b := startChild(t, env, true, append(base, args...)...)
	urls := []string{a.url, b.url}

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			patch := fmt.Sprintf(`@prefix solid: <http://www.w3.org/ns/solid/terms#>.
_:p a solid:InsertDeletePatch; solid:inserts { <#item-%d> <http://example.org/ns#n> %d. }.`, i, i)
			req, err := http.NewRequest("PATCH", urls[i%2]+"shared/doc", strings.NewReader(patch))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Content-Type", "text/n3")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 201 && res.StatusCode != 204 {
				errs <- fmt.Errorf("patch %d: %d %s", i, res.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Both processes read every triple: on the filesystem, most PATCHes
	// were appended in place, and each process keeps what it read of the
	// file's records.
	for _, url := range urls {
		req, _ := http.NewRequest("GET", url+"shared/doc", nil)
		req.Header.Set("Accept", "application/n-triples")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for i := range n {
			want := fmt.Sprintf("<http://kluis.test/shared/doc#item-%d> <http://example.org/ns#n>", i)
			if !strings.Contains(string(body), want) {
				t.Errorf("%s: triple %d is missing: an update was lost", url, i)
			}
		}
		if t.Failed() {
			t.Fatalf("document:\n%s", body)
		}
	}
}
