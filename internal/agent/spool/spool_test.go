package spool

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/spoor-dev/spoor/internal/wal"
)

func openT(t testing.TB, dir string, opts Options) *Spool {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func events(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"_id":"e%06d","pad":"%0100d"}`, from+i, 0))
	}
	return out
}

// idOf returns the number of an event made by events.
func idOf(t testing.TB, b []byte) int {
	t.Helper()
	n, err := strconv.Atoi(string(b[9:15]))
	if err != nil {
		t.Fatalf("not an event of the test: %q", b)
	}
	return n
}

// readAll reads and acknowledges everything unread, returning the ids.
func readAll(t testing.TB, s *Spool) []int {
	t.Helper()
	var ids []int
	for {
		recs, err := s.Read(7, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return ids
		}
		for _, r := range recs {
			ids = append(ids, idOf(t, r.Data))
		}
		if err := s.Ack(recs[len(recs)-1].Pos, len(recs)); err != nil {
			t.Fatal(err)
		}
	}
}

func wantRun(t *testing.T, ids []int, from, to int) {
	t.Helper()
	if len(ids) != to-from {
		t.Fatalf("read %d events, want %d (%d..%d): %v", len(ids), to-from, from, to-1, ids)
	}
	for i, id := range ids {
		if id != from+i {
			t.Fatalf("event %d is e%d, want e%d", i, id, from+i)
		}
	}
}

func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openT(t, dir, Options{})
	if _, err := s.Append(ctx, events(0, 10)); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Read(4, 1<<20)
	if err != nil || len(recs) != 4 {
		t.Fatalf("read: %d records, %v", len(recs), err)
	}
	if err := s.Ack(recs[3].Pos, 4); err != nil {
		t.Fatal(err)
	}
	// In flight and never acknowledged: read again after the restart.
	if recs, _ := s.Read(3, 1<<20); len(recs) != 3 {
		t.Fatalf("second read: %d records", len(recs))
	}
	if st := s.Stats(); st.Events != 6 {
		t.Fatalf("stats before restart: %+v, want 6 events", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, Options{})
	if st := s.Stats(); st.Events != 6 || st.Dropped != 0 {
		t.Fatalf("stats after restart: %+v, want 6 events, none dropped", st)
	}
	wantRun(t, readAll(t, s), 4, 10)
	s.Close()
	s = openT(t, dir, Options{})
	defer s.Close()
	if ids := readAll(t, s); len(ids) != 0 {
		t.Fatalf("acknowledged events read again after a clean restart: %v", ids)
	}
}

// A full spool drops its oldest events, counts each, keeps the newest, and
// remembers the count across restarts.
func TestSpoolDropsOldestAndCountsEach(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	opts := Options{MaxBytes: 16 << 10}
	s := openT(t, dir, opts)
	const total = 1000
	var dropped int64
	for i := 0; i < total; i += 10 {
		n, err := s.Append(ctx, events(i, 10))
		if err != nil {
			t.Fatal(err)
		}
		dropped += n
	}
	st := s.Stats()
	if dropped == 0 || st.Dropped != dropped {
		t.Fatalf("dropped %d (stats %d), want some, equal", dropped, st.Dropped)
	}
	if st.Bytes > opts.MaxBytes+opts.MaxBytes/segmentsPerSpool+4<<10 {
		t.Fatalf("spool holds %d bytes, limit %d", st.Bytes, opts.MaxBytes)
	}
	if st.Events+st.Dropped != total {
		t.Fatalf("%d unsent + %d dropped != %d appended", st.Events, st.Dropped, total)
	}
	s.Close()
	s = openT(t, dir, opts)
	defer s.Close()
	if got := s.Stats().Dropped; got != dropped {
		t.Fatalf("after restart dropped = %d, want %d", got, dropped)
	}
	wantRun(t, readAll(t, s), int(dropped), total)
}

// Events in flight when their segment is dropped arrive with their batch
// and are not counted; if the agent stops before, they are.
func TestSpoolDropUnderInflightBatch(t *testing.T) {
	for _, acked := range []bool{true, false} {
		t.Run(fmt.Sprint("acked=", acked), func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			opts := Options{MaxBytes: 16 << 10}
			s := openT(t, dir, opts)
			if _, err := s.Append(ctx, events(0, 5)); err != nil {
				t.Fatal(err)
			}
			inflight, _ := s.Read(5, 1<<20)
			var dropped int64
			for i := 5; i < 1000; i += 5 {
				n, err := s.Append(ctx, events(i, 5))
				if err != nil {
					t.Fatal(err)
				}
				dropped += n
			}
			if dropped == 0 {
				t.Fatal("nothing dropped")
			}
			if acked {
				if err := s.Ack(inflight[4].Pos, 5); err != nil {
					t.Fatal(err)
				}
			}
			st := s.Stats()
			s.Close()
			s = openT(t, dir, opts)
			defer s.Close()
			rest := readAll(t, s)
			after := s.Stats().Dropped
			delivered := int64(len(rest))
			if acked {
				delivered += 5
			}
			if delivered+after != 1000 {
				t.Fatalf("delivered %d + dropped %d != 1000 (stats before restart %+v)", delivered, after, st)
			}
			wantRun(t, rest, 1000-len(rest), 1000)
		})
	}
}

// Random appends, reads, acknowledgements and restarts: every event is
// delivered or counted dropped, once, and delivered events come in order.
func TestSpoolAccountsForEveryEvent(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	opts := Options{MaxBytes: 32 << 10}
	rng := rand.New(rand.NewPCG(1, 2))
	s := openT(t, dir, opts)
	appended, last := 0, -1
	delivered := map[int]int{}
	var pending []Record
	for step := 0; step < 600; step++ {
		switch rng.IntN(10) {
		case 0, 1, 2, 3:
			n := 1 + rng.IntN(20)
			if _, err := s.Append(ctx, events(appended, n)); err != nil {
				t.Fatal(err)
			}
			appended += n
		case 4, 5, 6:
			if len(pending) == 0 {
				var err error
				if pending, err = s.Read(1+rng.IntN(30), 1<<20); err != nil {
					t.Fatal(err)
				}
			}
		case 7, 8:
			if len(pending) > 0 {
				for _, r := range pending {
					id := idOf(t, r.Data)
					if id <= last {
						t.Fatalf("e%d delivered after e%d", id, last)
					}
					last = id
					delivered[id]++
				}
				if err := s.Ack(pending[len(pending)-1].Pos, len(pending)); err != nil {
					t.Fatal(err)
				}
				pending = nil
			}
		case 9:
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openT(t, dir, opts)
			pending = nil // lost with the process: read again
			last = -1     // and so may come again
		}
	}
	for _, r := range pending { // the shipper retries its batch until it is taken
		delivered[idOf(t, r.Data)]++
	}
	if len(pending) > 0 {
		if err := s.Ack(pending[len(pending)-1].Pos, len(pending)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range readAll(t, s) {
		delivered[id]++
	}
	dropped := s.Stats().Dropped
	s.Close()
	if int64(len(delivered))+dropped != int64(appended) {
		t.Fatalf("%d distinct delivered + %d dropped != %d appended", len(delivered), dropped, appended)
	}
}

func TestSpoolRefusesOversizedEvent(t *testing.T) {
	s := openT(t, t.TempDir(), Options{MaxRecordBytes: 100})
	defer s.Close()
	if _, err := s.Append(context.Background(), [][]byte{make([]byte, 101)}); err == nil {
		t.Fatal("a 101-byte event was spooled under a 100-byte limit")
	}
}

// A meta.json that cannot be read makes the spool send everything again
// (the server dedupes), not fail.
func TestSpoolBadMetaReadsFromStart(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{})
	s.Append(context.Background(), events(0, 3))
	readAll(t, s)
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, metaFile), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, Options{})
	defer s.Close()
	wantRun(t, readAll(t, s), 0, 3)
}

// A batch the reader takes as soon as it is durable, before Append has
// counted it (the agent's shipper reads while its writer appends), must
// not be counted unsent afterwards: it was, and the shipper, told events
// were waiting, read an empty spool in a busy loop.
func TestReadBeforeAppendReturnsLeavesNoPhantomEvents(t *testing.T) {
	s := openT(t, t.TempDir(), Options{})
	defer s.Close()
	durable := s.appendBatch
	read := 0
	s.appendBatch = func(ctx context.Context, recs [][]byte) ([]wal.Pos, error) {
		pos, err := durable(ctx, recs)
		read += len(readAll(t, s)) // the reader, between the commit and Append's count
		return pos, err
	}
	for i := 0; i < 3; i++ {
		if _, err := s.Append(context.Background(), events(i*5, 5)); err != nil {
			t.Fatal(err)
		}
	}
	read += len(readAll(t, s))
	if st := s.Stats(); read != 15 || st.Events != 0 || st.Appended != 15 || st.Acked != 15 {
		t.Fatalf("read %d of 15 events; then %+v, want no event unsent", read, st)
	}
}
