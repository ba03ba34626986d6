package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/lake"
)

// A shutdown whose head flush outlasts ShutdownWait (a large head after a
// load test, a slow disk) stops the flush, is still a clean shutdown, says
// how many events the WAL keeps, and leaves no part behind; the next start
// has every event exactly once.
func TestShutdownPastTheDeadline(t *testing.T) {
	const wait = 200 * time.Millisecond
	dir := t.TempDir()
	// A disk so slow that a part cannot be begun before the deadline.
	var slow atomic.Bool
	lopts := lake.Options{Fault: func(op, path string) error {
		if slow.Load() && op == "create" {
			time.Sleep(wait)
		}
		return nil
	}}
	var log lockedBuffer
	f := startIn(t, dir, datadir.Options{Lake: lopts}, Options{FlushEvery: time.Hour, ShutdownWait: wait,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	const n = 3000
	if code, body := call(t, "POST", f.url+"/api/v1/events", f.ingestA, eventsFrom(0, n)); code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	slow.Store(true)
	if err := f.stop(); err != nil {
		t.Errorf("shutdown with the flush out of time: %v, want none", err)
	}
	want := fmt.Sprintf("head not flushed before the deadline: %d events stay in the WAL and are replayed at the next start", n)
	if !strings.Contains(log.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, log.String())
	}
	if err := f.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "lake", "events", "*", "*")); len(left) != 0 {
		t.Errorf("files left in the lake by the cut flush: %v", left)
	}

	slow.Store(false)
	f = startIn(t, dir, datadir.Options{Lake: lopts}, Options{FlushEvery: time.Hour})
	if c, d := sqlValue(t, f, "count(*)"), sqlValue(t, f, "count(DISTINCT _id)"); c != n || d != n {
		t.Errorf("after the restart: %d events, %d distinct, want %d", c, d, n)
	}
}

// lockedBuffer is a log destination that goroutines share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
