package lru

import "testing"

func TestCache(t *testing.T) {
	var evicted []string
	c := New[string, int](2)
	c.OnEvict = func(k string, _ int) { evicted = append(evicted, k) }
	c.Add("a", 1)
	c.Add("b", 2)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get(a) = %v, %v", v, ok)
	}
	c.Add("c", 3) // b is the least recently used
	if _, ok := c.Get("b"); ok {
		t.Error("b survived")
	}
	c.Add("a", 10)
	if v, _ := c.Get("a"); v != 10 || c.Len() != 2 {
		t.Errorf("Get(a) = %d, Len %d", v, c.Len())
	}
	c.Remove("c")
	if !c.RemoveOldest() || c.RemoveOldest() || c.Len() != 0 {
		t.Errorf("RemoveOldest on %d entries", c.Len())
	}
	if want := "[b c a]"; fmtSlice(evicted) != want {
		t.Errorf("evicted %v, want %s", evicted, want)
	}
}

func fmtSlice(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}
