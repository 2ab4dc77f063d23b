package acl

import (
	"sync"
	"sync/atomic"
)

// cache holds compiled ACL documents keyed by the IRI of the resource they
// belong to, each with the version it was read at. An entry is only ever
// used when the Source reports that same version for the document in the
// current evaluation, so it cannot outlive a change; see doc.go.
type cache struct {
	max   int
	clock atomic.Uint64 // ticks on every use, for eviction

	mu sync.RWMutex
	m  map[string]*entry

	// hits and misses count the lookups, for metrics.
	hits, misses atomic.Uint64
}

// entry is one compiled document. Its fields but used are immutable.
type entry struct {
	version string
	pol     *policy
	err     error // the document's ErrInvalidACL, cached like a policy
	used    atomic.Uint64
}

// evictSample is how many entries eviction compares: an approximation of
// least-recently-used that needs no list and no lock on reads.
const evictSample = 8

func newCache(max int) *cache {
	return &cache{max: max, m: make(map[string]*entry)}
}

// get returns the entry for resource if it was read at version.
func (c *cache) get(resource, version string) *entry {
	c.mu.RLock()
	e := c.m[resource]
	c.mu.RUnlock()
	if e == nil || e.version != version {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	e.used.Store(c.clock.Add(1))
	return e
}

// put stores e for resource, evicting the least recently used of a sample
// of entries when the cache is full.
func (c *cache) put(resource string, e *entry) {
	e.used.Store(c.clock.Add(1))
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[resource]; !ok && len(c.m) >= c.max {
		var (
			victim string
			oldest uint64
			n      int
		)
		for k, v := range c.m { // map order is random: a random sample
			if u := v.used.Load(); n == 0 || u < oldest {
				victim, oldest = k, u
			}
			if n++; n == evictSample {
				break
			}
		}
		delete(c.m, victim)
	}
	c.m[resource] = e
}

// len returns the number of entries.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
