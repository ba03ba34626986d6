package lake

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A flush whose context ends while it writes (a server's shutdown out of
// time) stops there: the part being written is not committed, no other is
// begun, those finished before are removed, its events go back to the
// head, and the WAL keeps them for the next open, which holds each once.
func TestFlushCancelledMidWrite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel int // the part whose creation ends the context, from 1
		// keep: the finished part cannot be removed (a crash then, say);
		// the next open must not count its events twice.
		keep bool
	}{
		{"in the first part", 1, false},
		{"in the second part", 2, false},
		{"in the second part, the first not removed", 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var (
				mu        sync.Mutex
				armed     bool
				created   int
				cancelled bool
				late      []string // parts begun or committed after the context ended
			)
			fault := func(op, path string) error {
				mu.Lock()
				defer mu.Unlock()
				if !armed || !strings.Contains(path, partPrefix) {
					return nil
				}
				if cancelled && (op == "create" || op == "sync") {
					late = append(late, op+" "+filepath.Base(path))
				}
				if op == "remove" && tc.keep {
					return errors.New("simulated crash")
				}
				if op == "create" {
					if created++; created == tc.cancel {
						cancel()
						cancelled = true
					}
				}
				return nil
			}
			ctx := context.Background()
			s, err := Open(ctx, dir, Options{FlushWorkers: 1, Fault: fault})
			if err != nil {
				t.Fatal(err)
			}
			// About 31 hours of events: two days, a part each.
			const n = 3000
			if _, err := s.Append(ctx, synth(t, "o1", n, 1600000000000, 1700000000000)); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			armed = true
			mu.Unlock()
			err = s.Flush(fctx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("flush cancelled mid-write: %v, want context.Canceled", err)
			}
			mu.Lock()
			if created != tc.cancel || len(late) != 0 {
				t.Errorf("after the context ended at part %d: %d parts begun, then %v; want nothing more", tc.cancel, created, late)
			}
			armed = false
			mu.Unlock()
			if left := lakeFiles(t, dir); len(left) != 0 && !tc.keep || len(left) != 1 && tc.keep {
				t.Errorf("files left by the cancelled flush: %v", left)
			}
			if got := s.Stats().HeadEvents; got != n {
				t.Errorf("head after the cancelled flush: %d events, want %d", got, n)
			}
			if err := s.Abandon(); err != nil { // as spoor serve leaves it
				t.Fatal(err)
			}

			s = openStore(t, dir)
			if got := s.Stats().HeadEvents; got != n && !tc.keep {
				t.Errorf("head replayed from the WAL: %d events, want %d", got, n)
			}
			if c, d := count(t, s, "o1"); c != n || d != n {
				t.Errorf("after reopening: %d events, %d distinct, want %d", c, d, n)
			}
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			s = openStore(t, dir)
			defer s.Close(ctx)
			if c, d := count(t, s, "o1"); c != n || d != n || len(lakeFiles(t, dir)) == 0 {
				t.Errorf("flushed at last: %d events, %d distinct in %v, want %d", c, d, lakeFiles(t, dir), n)
			}
		})
	}
}

// lakeFiles lists every file in the day partitions, temporary ones too.
func lakeFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, lakeDir, eventsDir, dayPrefix+"*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}
