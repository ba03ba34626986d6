// Package losses counts what an agent's source lost, by reason, for the
// source's Losses (source.Lossy) and so for the agent's health events.
package losses

import "sync"

// Counter is a set of cumulative counts by reason, safe for concurrent
// use; the zero value is ready.
type Counter struct {
	mu sync.Mutex
	m  map[string]int64
}

// Add counts n more losses of reason.
func (c *Counter) Add(reason string, n int64) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[reason] += n
	c.mu.Unlock()
}

// Snapshot returns a copy of the counts.
func (c *Counter) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}
