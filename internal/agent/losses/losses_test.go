package losses

import "testing"

func TestCounter(t *testing.T) {
	var c Counter
	if len(c.Snapshot()) != 0 {
		t.Fatal("a new counter counts something")
	}
	c.Add("inotify_overflow", 2)
	c.Add("inotify_overflow", 1)
	c.Add("nothing", 0)
	snap := c.Snapshot()
	snap["inotify_overflow"] = 100 // a copy: the counter keeps its own
	if got := c.Snapshot(); got["inotify_overflow"] != 3 || len(got) != 1 {
		t.Errorf("snapshot %v, want inotify_overflow 3 only", got)
	}
}
