package lake

import (
	"context"
	"testing"
)

// A query snapshots the head while a flush writes the events it took: the
// snapshot holds them (they are in no part yet), and once the flush has
// published its parts the head shows them no more, so no event is counted
// twice. A second snapshot, taken while the flush sorts and writes,
// copies the events being flushed: the race detector (make test-race)
// watches that copy.
func TestHeadFilesDuringFlush(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close(ctx)
	evs := synth(t, "o1", 2001, 1600000000000, 1700000000000)
	if _, err := s.Append(ctx, evs[:2000]); err != nil {
		t.Fatal(err)
	}
	concurrent := make(chan error, 1)
	s.flushWriting = func() {
		if files, err := s.HeadFiles("o1"); err != nil || len(files) == 0 {
			t.Errorf("snapshot during the flush: %v, %v", files, err)
		}
		go func() {
			// A new event, so that this snapshot is taken anew.
			if _, err := s.Append(ctx, evs[2000:]); err != nil {
				concurrent <- err
				return
			}
			_, err := s.HeadFiles("o1")
			concurrent <- err
		}()
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-concurrent; err != nil {
		t.Fatal(err)
	}
	if n, distinct := count(t, s, "o1"); n != 2001 || distinct != 2001 {
		t.Fatalf("after a flush read by queries: %d events, %d distinct; want 2001", n, distinct)
	}
}
