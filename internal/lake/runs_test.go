package lake

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/spoor-dev/spoor/internal/event"
)

const day = 86400_000

// loadAll loads evs in batches of 50.
func loadAll(t *testing.T, s *Store, evs []*event.Event) AppendResult {
	t.Helper()
	var res AppendResult
	for i := 0; i < len(evs); i += 50 {
		r, err := s.Load(context.Background(), evs[i:min(i+50, len(evs))])
		if err != nil {
			t.Fatal(err)
		}
		res.Stored += r.Stored
		res.Duplicates += r.Duplicates
	}
	return res
}

// openBulk opens a store for a bulk load whose head holds head events.
func openBulk(t *testing.T, dir string, head int) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{BulkLoad: true, HeadMaxEvents: head})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runFiles(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, runsDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(ents)
}

// A bulk load keeps its full heads as runs and writes each day's events,
// from every run and the head, as one sorted part at Flush: no part to
// merge, so each event is encoded to Parquet once.
func TestBulkLoadWritesEachDayOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBulk(t, dir, 100)
	defer s.Close(ctx)
	evs := append(synth(t, "o1", 600, 1600000000000, 1700000000000), synth(t, "o2", 450, 1600000000000+day, 1700000000000)...)
	if r := loadAll(t, s, evs); r.Stored != len(evs) {
		t.Fatalf("loaded %+v, want %d stored", r, len(evs))
	}
	if n := len(s.Parts("o1", 0, maxTime)) + len(s.Parts("o2", 0, maxTime)); n != 0 {
		t.Fatalf("%d parts before the flush, want none: full heads go to runs", n)
	}
	if runFiles(t, dir) == 0 {
		t.Fatal("no runs written for full heads")
	}
	if h := s.Stats().HeadEvents; h != len(evs) {
		t.Fatalf("%d events counted as not in parts, want %d", h, len(evs))
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for org, want := range map[string]int64{"o1": 600, "o2": 450} {
		parts := s.Parts(org, 0, maxTime)
		if len(parts) != 1 {
			t.Fatalf("%s: %d parts after the flush, want 1 for its day", org, len(parts))
		}
		if n, d := count(t, s, org); n != want || d != want {
			t.Fatalf("%s: %d events (%d distinct), want %d", org, n, d, want)
		}
		assertSorted(t, s, org, parts)
	}
	if n := runFiles(t, dir); n != 0 {
		t.Fatalf("%d run files left after the flush", n)
	}
	if res, err := s.Compact(ctx, time.UnixMilli(1700000000000)); err != nil || res.Merged != 0 {
		t.Fatalf("compaction after a bulk load: %+v, %v; want nothing to merge", res, err)
	}
}

// Events in runs count for dedupe, also once their day's set was evicted
// and is rebuilt.
func TestBulkLoadDedupesAgainstRuns(t *testing.T) {
	ctx := context.Background()
	s := openBulk(t, t.TempDir(), 10)
	defer s.Close(ctx)
	const days = 3 * maxIDDays
	var evs []*event.Event
	for d := range days {
		evs = append(evs, synth(t, "o1", 5, 1600000000000+int64(d)*day, 1700000000000)...)
	}
	if r := loadAll(t, s, evs); r.Stored != len(evs) {
		t.Fatalf("first load %+v, want %d stored", r, len(evs))
	}
	if r := loadAll(t, s, evs); r.Stored != 0 || r.Duplicates != len(evs) {
		t.Fatalf("second load %+v, want %d duplicates", r, len(evs))
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := count(t, s, "o1"); n != int64(len(evs)) {
		t.Fatalf("%d events, want %d", n, len(evs))
	}
}

// A bulk load that stops before its flush leaves nothing: the next open
// deletes its runs, and loading the files again stores every event.
func TestBulkLoadAbandonedLeavesNoRuns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBulk(t, dir, 50)
	evs := synth(t, "o1", 300, 1600000000000, 1700000000000)
	loadAll(t, s, evs)
	if runFiles(t, dir) == 0 {
		t.Fatal("no runs written for full heads")
	}
	s.Abandon()
	s = openStore(t, dir)
	defer s.Close(ctx)
	if n := runFiles(t, dir); n != 0 {
		t.Fatalf("%d run files left after reopening", n)
	}
	if r := loadAll(t, s, evs); r.Stored != len(evs) {
		t.Fatalf("loading again: %+v, want %d stored", r, len(evs))
	}
}

// A run record gives back its events, field by field, with Meta shared
// between neighbours and absent where it was.
func TestRunRecordRoundTrip(t *testing.T) {
	evs := synth(t, "o", 6, 1600000000000, 1700000000000)
	evs[1].Meta = evs[0].Meta
	evs[3].Meta = nil
	evs[4].Raw = []byte("{}")
	got, err := decodeRun(s2.Encode(nil, encodeRun(nil, evs)))
	if err != nil || len(got) != len(evs) {
		t.Fatalf("decoded %d events, %v", len(got), err)
	}
	for i := range evs {
		if d := eventDiff(evs[i], &got[i]); d != "" {
			t.Fatalf("event %d: %s", i, d)
		}
	}
}

// Flush writes the runs as parts also when the head holds nothing more.
func TestBulkLoadFlushesRunsWithAnEmptyHead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openBulk(t, dir, 50)
	defer s.Close(ctx)
	evs := synth(t, "o1", 200, 1600000000000, 1700000000000)
	loadAll(t, s, evs) // four full heads, each a run
	if h := s.headN; h != 0 || runFiles(t, dir) == 0 {
		t.Fatalf("%d events in the head, %d run files; want all in runs", h, runFiles(t, dir))
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, d := count(t, s, "o1"); n != 200 || d != 200 {
		t.Fatalf("%d events (%d distinct) after the flush, want 200", n, d)
	}
}
