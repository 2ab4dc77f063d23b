package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weconomics/kluis/ldp"
	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
)

// BenchmarkAccessLogGet compares, in one run, an anonymous GET of a
// public resource in a pod (a non-owner: every request is logged) with
// the access log off and on, on the filesystem, 32 clients. The issue
// asks for at most 1.10× the CPU per request with the log on. The
// process's CPU counts the clients too, as in the other benchmarks, and
// the log's writes (batches, signatures) as they happen.
func BenchmarkAccessLogGet(b *testing.B) {
	const owner = "https://alice.example/profile/card#me"
	const public = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#owner> a acl:Authorization; acl:agent <` + owner + `>; acl:accessTo <./>; acl:default <./>; acl:mode acl:Read, acl:Write, acl:Control.
<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:default <./>; acl:mode acl:Read.`
	for _, mode := range []string{"off", "on"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			store, err := filesystem.New(filepath.Join(b.TempDir(), "data"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			pods, err := ldp.New(ctx, store, ldp.Config{BaseURL: "http://kluis.test/", Pods: true})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := pods.CreatePod(ctx, "alice", ldp.PodOwner{WebID: owner}); err != nil {
				b.Fatal(err)
			}
			for key, body := range map[string]string{"r/alice/public/.acl": public, "r/alice/public/doc": smallTurtle} {
				if _, err := store.Put(ctx, key, strings.NewReader(body), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
					b.Fatal(err)
				}
			}
			base, _ := url.Parse("http://kluis.test/")
			srv, err := server.New(ctx, server.Config{BaseURL: base, Pods: true, AccessLog: server.AccessLogConfig{Off: mode == "off"}},
				store, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = srv.Drain(context.Background()) })
			ts := httptest.NewServer(srv.Handler())
			b.Cleanup(ts.Close)
			u := ts.URL + "/alice/public/doc"
			if err := do(benchClient(), "GET", u, "", nil, 200, "text/turtle"); err != nil {
				b.Fatal(err)
			}
			cpu := processCPU()
			runClients(b, func(c *http.Client) error {
				return do(c, "GET", u, "", nil, 200, "text/turtle")
			})
			// Every entry written, within the CPU counted.
			if err := srv.Drain(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			reportCPU(b, cpu)
			logged := false
			for info, err := range store.List(ctx, "sys/access-log/") {
				logged = logged || err == nil && info.Key == "sys/access-log/alice/"
			}
			if logged != (mode == "on") {
				b.Fatalf("access log %s, but a log written: %v", mode, logged)
			}
		})
	}
}
