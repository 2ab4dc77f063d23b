package lru

import "container/list"

// Cache maps keys to values and holds at most a fixed number of entries,
// dropping the least recently used one to make room.
type Cache[K comparable, V any] struct {
	max   int
	ll    *list.List // front is most recently used
	items map[K]*list.Element
	// OnEvict, when set, is called for every entry dropped to make room or
	// removed with Remove.
	OnEvict func(K, V)
}

type entry[K comparable, V any] struct {
	key K
	val V
}

// New returns a cache that holds at most max entries (max < 1 is taken
// as 1).
func New[K comparable, V any](max int) *Cache[K, V] {
	if max < 1 {
		max = 1
	}
	return &Cache[K, V]{max: max, ll: list.New(), items: make(map[K]*list.Element)}
}

// Get returns the value for key and marks it as recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*entry[K, V]).val, true
	}
	var zero V
	return zero, false
}

// Add sets the value for key, dropping the least recently used entry when
// the cache is full.
func (c *Cache[K, V]) Add(key K, val V) {
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		e.Value.(*entry[K, V]).val = val
		return
	}
	c.items[key] = c.ll.PushFront(&entry[K, V]{key, val})
	for c.ll.Len() > c.max {
		c.removeElement(c.ll.Back())
	}
}

// Remove drops key, if present.
func (c *Cache[K, V]) Remove(key K) {
	if e, ok := c.items[key]; ok {
		c.removeElement(e)
	}
}

// RemoveOldest drops the least recently used entry and reports whether
// there was one.
func (c *Cache[K, V]) RemoveOldest() bool {
	if e := c.ll.Back(); e != nil {
		c.removeElement(e)
		return true
	}
	return false
}

// Len is the number of entries.
func (c *Cache[K, V]) Len() int { return c.ll.Len() }

func (c *Cache[K, V]) removeElement(e *list.Element) {
	c.ll.Remove(e)
	en := e.Value.(*entry[K, V])
	delete(c.items, en.key)
	if c.OnEvict != nil {
		c.OnEvict(en.key, en.val)
	}
}
