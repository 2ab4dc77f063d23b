package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/weconomics/kluis/server"
	"github.com/weconomics/kluis/server/notify"
	"github.com/weconomics/kluis/storage"
	"github.com/weconomics/kluis/storage/filesystem"
)

// BenchmarkNotificationsFanOut: 1,000 idle WebSocketChannel2023
// subscribers of one resource, through the real router with Web Access
// Control over the filesystem backend; each operation is one PATCH, timed
// until the last subscriber has read its notification. It reports the
// memory of an idle channel, server and Go client together (heap and
// goroutine stacks), as bytes/channel.
func BenchmarkNotificationsFanOut(b *testing.B) {
	const subscribers = 1000
	store, err := filesystem.New(filepath.Join(b.TempDir(), "data"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Put(context.Background(), "r/.acl", strings.NewReader(notifACL), storage.PutOptions{ContentType: "text/turtle"}); err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse(testBaseURL)
	srv, err := server.New(context.Background(), server.Config{
		BaseURL: base, Authenticator: testAgents{},
		Notifications: server.NotificationsConfig{Limits: notify.Limits{MaxChannelsPerAgent: 10_000}},
	}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	send := func(method, path, ct, body string, want int) []byte {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", alice.header())
		res, err := ts.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			b.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
		}
		return data
	}
	send("PUT", "/doc", "text/turtle", "<#a> <#b> <#c>.", 201)
	host := strings.TrimPrefix(ts.URL, "http://")
	before := memInUse()
	conns := make([]*websocket.Conn, subscribers)
	for i := range conns {
		var d struct{ ReceiveFrom string }
		if err := json.Unmarshal(send("POST", notify.ServicePath(notify.WebSocket), "application/ld+json",
			`{"type": "WebSocketChannel2023", "topic": "`+testBaseURL+`doc"}`, 200), &d); err != nil {
			b.Fatal(err)
		}
		c, _, err := websocket.Dial(context.Background(), strings.Replace(d.ReceiveFrom, "pod.example", host, 1), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		conns[i] = c
	}
	perChannel := float64(memInUse()-before) / subscribers
	for b.Loop() {
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if _, _, err := c.Read(ctx); err != nil {
					b.Error(err)
				}
			})
		}
		send("PATCH", "/doc", "application/sparql-update", "INSERT DATA { <#x> <#y> <#z> }", 204)
		wg.Wait()
	}
	b.ReportMetric(perChannel, "bytes/channel")
}

func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
