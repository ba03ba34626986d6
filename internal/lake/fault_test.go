package lake

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
)

// synth makes n normalised events of org spread over hours from start.
func synth(t testing.TB, org string, n int, start int64, insert int64) []*event.Event {
	t.Helper()
	norm := event.Normalizer{Org: org, Now: func() int64 { return insert }}
	out := make([]*event.Event, n)
	for i := range out {
		line := fmt.Sprintf(`{"_id":"%s-%06d","agent_id":"agent-%d","event_time":%d,"event_type":"audit","exe":"/usr/bin/x%d","pid":%d,"args":["a","%d"],"host_metadata":{"hostname":"h%d"}}`,
			org, i, i%7, start+int64(i)*37_000, i%13, i, i, i%7)
		e := new(event.Event)
		if err := norm.Normalize([]byte(line), e); err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// count returns how many events and distinct _ids org has, parts and head.
func count(t testing.TB, s *Store, org string) (n, distinct int64) {
	t.Helper()
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Options{AllowedDir: s.LakeDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	head, err := s.HeadFiles(org)
	if err != nil {
		t.Fatal(err)
	}
	files := append(s.Parts(org, 0, maxTime), head...)
	rows, err := eng.Query(ctx, engine.Scope{Org: org, Files: files}, `SELECT count(*), count(DISTINCT "_id") FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	rows.Next()
	if err := rows.Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	return n, distinct
}

func TestDedupeAcrossFlushAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	evs := synth(t, "o1", 3000, 1600000000000, 1700000000000)
	if r, err := s.Append(ctx, evs); err != nil || r.Stored != 3000 || r.Duplicates != 0 {
		t.Fatalf("first append: %+v %v", r, err)
	}
	if r, _ := s.Append(ctx, evs[:100]); r.Stored != 0 || r.Duplicates != 100 {
		t.Fatalf("same events in the head: %+v, want all duplicates", r)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close(ctx)
	if r, _ := s.Append(ctx, evs); r.Stored != 0 || r.Duplicates != 3000 {
		t.Fatalf("after reopen: %+v, want 3000 duplicates", r)
	}
	if n, d := count(t, s, "o1"); n != 3000 || d != 3000 {
		t.Fatalf("stored %d events (%d distinct), want 3000", n, d)
	}
}

// Events acknowledged but never flushed come back from the WAL.
func TestCrashBeforeFlushReplaysWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	if _, err := s.Append(ctx, synth(t, "o1", 500, 1600000000000, 1700000000000)); err != nil {
		t.Fatal(err)
	}
	s.Abandon() // like kill -9: no flush
	s = openStore(t, dir)
	if got := s.Stats().HeadEvents; got != 500 {
		t.Fatalf("head after replay: %d events, want 500", got)
	}
	if n, _ := count(t, s, "o1"); n != 500 {
		t.Fatalf("queryable after replay: %d, want 500", n)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close(ctx)
	if n, d := count(t, s, "o1"); n != 500 || d != 500 {
		t.Fatalf("after flush and reopen: %d (%d distinct), want 500", n, d)
	}
}

// A torn WAL tail is cut at the last good record and reported; the events
// of the good records survive.
func TestTornWALTail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	for i := range 4 {
		if _, err := s.Append(ctx, synth(t, fmt.Sprintf("o%d", i), 100, 1600000000000, 1700000000000)); err != nil {
			t.Fatal(err)
		}
	}
	s.Abandon()
	segs, err := filepath.Glob(filepath.Join(dir, "wal", "*.wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("wal segments %v: %v", segs, err)
	}
	sort.Strings(segs)
	last := segs[len(segs)-1]
	st, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(last, st.Size()-10); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close(ctx)
	probs := s.Problems()
	if len(probs) == 0 || probs[0].What != "wal" {
		t.Fatalf("problems %v, want a wal report", probs)
	}
	for i := range 3 {
		if n, _ := count(t, s, fmt.Sprintf("o%d", i)); n != 100 {
			t.Errorf("org o%d: %d events after repair, want 100", i, n)
		}
	}
	if n, _ := count(t, s, "o3"); n != 0 {
		t.Errorf("org o3 (torn record): %d events, want 0", n)
	}
}

// A part that is not Parquet any more is moved to quarantine and reported;
// the other parts keep serving.
func TestCorruptPartQuarantined(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	// Two partitions (hours) apart.
	if _, err := s.Append(ctx, synth(t, "o1", 50, 1600000000000, 1700000000000)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, synth(t, "o1", 50, 1600000000000+48*3600_000, 1700000000000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	parts := s.Parts("o1", 0, maxTime)
	if len(parts) < 2 {
		t.Fatalf("%d parts, want at least 2", len(parts))
	}
	victim := parts[0]
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[len(b)-4:], "XXXX")
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	defer s.Close(ctx)
	// The frame is checked when a query first needs the part.
	if got := s.Parts("o1", 0, maxTime); slices.Contains(got, victim) || len(got) == 0 {
		t.Fatalf("parts %v: the corrupt part is served or nothing is", got)
	}
	probs := s.Problems()
	if len(probs) != 1 || probs[0].What != "part" || probs[0].Path != victim {
		t.Fatalf("problems %v, want the corrupt part %s", probs, victim)
	}
	if _, err := os.Stat(victim); !os.IsNotExist(err) {
		t.Errorf("corrupt part still in the lake")
	}
	if q, err := filepath.Glob(filepath.Join(dir, quarantine, "*")); err != nil || len(q) != 1 {
		t.Errorf("quarantine holds %v (%v), want 1 file", q, err)
	}
	n, _ := count(t, s, "o1")
	if n == 0 || n == 100 {
		t.Errorf("%d events served, want the other parts' (not 0, not 100)", n)
	}
}

func TestCompactMergesSmallPartsAndKeepsOrder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	defer s.Close(ctx)
	all := synth(t, "o1", 900, 1600000000000, 1700000000000)
	for i := 0; i < 900; i += 300 {
		if _, err := s.Append(ctx, all[i:i+300]); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before := len(s.Parts("o1", 0, maxTime))
	res, err := s.Compact(ctx, time.UnixMilli(1700000000000))
	if err != nil {
		t.Fatal(err)
	}
	after := s.Parts("o1", 0, maxTime)
	if res.Merged == 0 || len(after) >= before {
		t.Fatalf("compaction %+v: %d parts before, %d after", res, before, len(after))
	}
	if n, d := count(t, s, "o1"); n != 900 || d != 900 {
		t.Fatalf("after compaction %d events (%d distinct), want 900", n, d)
	}
	assertSorted(t, s, "o1", after)
}

// assertSorted fails unless the rows of org in each of parts are sorted by
// agent_id, then event_time.
func assertSorted(t *testing.T, s *Store, org string, parts []string) {
	t.Helper()
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Options{AllowedDir: s.LakeDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, p := range parts {
		rows, err := eng.Query(ctx, engine.Scope{Org: org, Files: []string{p}}, `SELECT agent_id, epoch_ms(event_time) FROM events`)
		if err != nil {
			t.Fatal(err)
		}
		prevA, prevT := "", int64(0)
		for rows.Next() {
			var a string
			var ts int64
			if err := rows.Scan(&a, &ts); err != nil {
				t.Fatal(err)
			}
			if a < prevA || (a == prevA && ts < prevT) {
				t.Fatalf("part %s not sorted: (%s,%d) after (%s,%d)", p, a, ts, prevA, prevT)
			}
			prevA, prevT = a, ts
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
}

func TestRetentionCountsFromIngestion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	defer s.Close(ctx)
	day := int64(24 * 3600_000)
	now := int64(1700000000000)
	// Events from 2020 imported 40 days ago expire; the same old events
	// imported yesterday are kept.
	if _, err := s.Append(ctx, synth(t, "old", 100, 1580000000000, now-40*day)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, synth(t, "new", 100, 1580000000000, now-day)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := s.Compact(ctx, time.UnixMilli(now))
	if err != nil {
		t.Fatal(err)
	}
	// Both organizations' events share the day's part: it is rewritten
	// without the expired ones.
	if res.Expired+res.Rewritten == 0 {
		t.Errorf("nothing expired: %+v", res)
	}
	if n, _ := count(t, s, "old"); n != 0 {
		t.Errorf("events ingested 40 days ago: %d kept, want 0", n)
	}
	if n, _ := count(t, s, "new"); n != 100 {
		t.Errorf("events ingested yesterday: %d kept, want 100", n)
	}
}

func TestPathValueEscaping(t *testing.T) {
	for _, org := range []string{"plain", "../../etc", "a/b", "50%", "", "x=y"} {
		esc := escapePathValue(org)
		if strings.ContainsAny(esc, "/=") || esc == ".." || esc == "." {
			t.Errorf("escape(%q) = %q is not one safe path element", org, esc)
		}
		if got := unescapePathValue(esc); got != org {
			t.Errorf("unescape(escape(%q)) = %q", org, got)
		}
	}
}

// FuzzDecodeBatch: a batch decodes or fails without panicking, and what
// decodes re-encodes to the same events, field by field; the seed's events
// decode to the events encoded.
func FuzzDecodeBatch(f *testing.F) {
	evs := synth(f, "o", 3, 1600000000000, 1700000000000)
	evs[1].Meta = nil
	evs[2].Raw = []byte("{}")
	seed := encodeBatch(nil, evs)
	got, err := decodeBatch(seed)
	if err != nil || len(got) != len(evs) {
		f.Fatalf("the seed decodes to %d events, %v", len(got), err)
	}
	for i := range evs {
		if d := eventDiff(evs[i], &got[i]); d != "" {
			f.Fatalf("seed event %d: %s", i, d)
		}
	}
	f.Add(seed)
	f.Add([]byte{1, 5, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decodeBatch(b)
		if err != nil {
			return
		}
		ptrs := make([]*event.Event, len(out))
		for i := range out {
			ptrs[i] = &out[i]
		}
		again, err := decodeBatch(encodeBatch(nil, ptrs))
		if err != nil || len(again) != len(out) {
			t.Fatalf("re-encoding %d events gave %d: %v", len(out), len(again), err)
		}
		for i := range out {
			if d := eventDiff(&out[i], &again[i]); d != "" {
				t.Fatalf("event %d changed in a re-encoding: %s", i, d)
			}
		}
	})
}

// eventDiff says how b differs from a, "" when it holds the same fields,
// values, raw and metadata (an empty Meta is none).
func eventDiff(a, b *event.Event) string {
	if a.Set != b.Set || a.Lifted != b.Lifted {
		return fmt.Sprintf("fields set %x lifted %x, want %x %x", b.Set, b.Lifted, a.Set, a.Lifted)
	}
	for _, f := range event.Catalog() {
		if !a.Has(f.ID) {
			continue
		}
		var same bool
		switch f.Kind {
		case event.KindString:
			same = a.Str[f.ID] == b.Str[f.ID]
		case event.KindList:
			same = slices.Equal(a.List(f.ID), b.List(f.ID))
		default:
			same = a.Int[f.ID] == b.Int[f.ID]
		}
		if !same {
			return fmt.Sprintf("%s: %q %d %q, want %q %d %q", f.Name, b.Str[f.ID], b.Int[f.ID], b.List(f.ID), a.Str[f.ID], a.Int[f.ID], a.List(f.ID))
		}
	}
	if !bytes.Equal(a.Raw, b.Raw) || !bytes.Equal(a.Meta, b.Meta) {
		return fmt.Sprintf("raw %q meta %q, want %q %q", b.Raw, b.Meta, a.Raw, a.Meta)
	}
	return ""
}

// After a compaction rebuilds a partition's dedupe set, events still in the
// head count as stored.
func TestDedupeSetRebuiltWithHead(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close(ctx)
	all := synth(t, "o1", 300, 1600000000000, 1700000000000)
	for i := 0; i < 200; i += 100 {
		if _, err := s.Append(ctx, all[i:i+100]); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, all[200:]); err != nil { // stays in the head
		t.Fatal(err)
	}
	if _, err := s.Compact(ctx, time.UnixMilli(1700000000000)); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Append(ctx, all); r.Stored != 0 || r.Duplicates != 300 {
		t.Fatalf("after compaction: %+v, want 300 duplicates", r)
	}
	if n, d := count(t, s, "o1"); n != 300 || d != 300 {
		t.Fatalf("%d events (%d distinct), want 300", n, d)
	}
}
