package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHostileParse is issue 13's findings #1 and #2 against the real
// binary on each backend, as an anonymous client tries them: RDF and
// JSON-LD POSTed to a pod's inbox, which everyone may append to. Each is
// answered quickly, with the status the limits give, and the server's
// memory does not grow by more than a document's worth.
func TestHostileParse(t *testing.T) {
	for _, b := range hostileBackends() {
		t.Run(b.name, func(t *testing.T) {
			c := startHostile(t, b, nil)
			newPodOwner(t, c.url, "victim")
			inbox := c.url + "victim/inbox/"
			baseline := c.goroutines(t)
			t.Cleanup(func() { c.noGoroutinesLeft(t, baseline) }) // after the test's connections close
			for _, tt := range []struct {
				name, contentType, body string
				// want is the status class: 2 for created, 4 for refused.
				want    int
				maxTime time.Duration
			}{
				// #1: 115 KB with one 100 KB entity referenced 5,000 times
				// was stored as 500 MB (3 GB peak RSS, or out of memory).
				{"RDF/XML entity bomb", "application/rdf+xml", rdfxmlBomb(100<<10, 5000), 4, 5 * time.Second},
				// #2: one property with 40,000 numbers took 120 s and went
				// on after the client left; 300,000 more than 3 minutes.
				{"JSON-LD 40,000-item array", "application/ld+json", jsonldArray(40_000), 2, 10 * time.Second},
				{"JSON-LD 100,000-item array, the most JSON values allowed", "application/ld+json", jsonldArray(100_000), 2, 10 * time.Second},
				{"JSON-LD 300,000-item array", "application/ld+json", jsonldArray(300_000), 4, 5 * time.Second},
				{"JSON-LD scoped context applied 4,000 times", "application/ld+json", jsonldScopedBomb(4000), 4, 5 * time.Second},
			} {
				t.Run(tt.name, func(t *testing.T) {
					stored := c.objects(t, "r/")
					before := c.rss(t)
					start := time.Now()
					req, err := http.NewRequest("POST", inbox, strings.NewReader(tt.body))
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Content-Type", tt.contentType)
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					reason, _ := io.ReadAll(io.LimitReader(res.Body, 1<<10))
					res.Body.Close()
					took := time.Since(start)
					if res.StatusCode/100 != tt.want {
						t.Errorf("POST: %d %s, want %dxx", res.StatusCode, reason, tt.want)
					}
					if took > tt.maxTime {
						t.Errorf("answered after %v, more than %v", took, tt.maxTime)
					}
					if grew := c.peakRSS(t) - before; grew > 100<<20 {
						t.Errorf("peak RSS grew by %d MB", grew>>20)
					}
					if tt.want == 4 {
						c.noObjectsLeft(t, stored)
					}
					t.Logf("%d in %v (%.60s)", res.StatusCode, took, reason)
				})
			}
		})
	}
}

// rdfxmlBomb is one entity of size bytes referenced refs times.
func rdfxmlBomb(size, refs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY e "%s">]>`, strings.Repeat("x", size))
	b.WriteString(`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/"><rdf:Description rdf:about="#it"><ex:p>`)
	b.WriteString(strings.Repeat("&e;", refs))
	b.WriteString(`</ex:p></rdf:Description></rdf:RDF>`)
	return b.String()
}

// jsonldArray is one property holding n numbers.
func jsonldArray(n int) string {
	var b strings.Builder
	b.WriteString(`{"@id": "#it", "http://example.org/n": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprint(&b, i)
	}
	b.WriteString("]}")
	return b.String()
}

// jsonldScopedBomb has a context of n terms and a term whose scoped
// context json-gold applies, copying the whole context, to each of n
// nodes.
func jsonldScopedBomb(n int) string {
	var b strings.Builder
	b.WriteString(`{"@context": {"@version": 1.1, "s": {"@id": "http://x/s", "@context": {"a": "http://x/a"}}`)
	for i := range n {
		fmt.Fprintf(&b, `, "t%d": "http://x/t%d"`, i, i)
	}
	b.WriteString(`}, "@id": "#r", "s": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"@id": "#n%d", "a": 1}`, i)
	}
	b.WriteString("]}")
	return b.String()
}

// TestParserLimitSettings: -max-triples and -max-rdf reach the parsers
// and the writes (413 past them, and the same document within them is
// stored).
func TestParserLimitSettings(t *testing.T) {
	c := startChild(t, nil, true, "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-log-level", "warn",
		"-pod-mode", "none", "-max-triples", "10", "-max-rdf", "4KiB")
	var doc strings.Builder
	for i := range 20 {
		fmt.Fprintf(&doc, "<#s%d> <#p> <#o> .\n", i)
	}
	if status, body := request(t, "PUT", c.url+"many.ttl", "text/turtle", doc.String()); status != 413 {
		t.Errorf("20 triples, -max-triples 10: %d %s, want 413", status, body)
	}
	big := `<#s> <#p> "` + strings.Repeat("x", 5<<10) + `" .`
	if status, body := request(t, "PUT", c.url+"big.ttl", "text/turtle", big); status != 413 {
		t.Errorf("5 KiB of Turtle, -max-rdf 4KiB: %d %s, want 413", status, body)
	}
	if status, body := request(t, "PUT", c.url+"few.ttl", "text/turtle", "<#s> <#p> <#o> ."); status != 201 {
		t.Errorf("one triple: %d %s, want 201", status, body)
	}
}
