package wal

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// countHandler counts log records at Warn and above.
type countHandler struct {
	mu sync.Mutex
	n  int
}

func slogger(h *countHandler) *slog.Logger { return slog.New(h) }

func (h *countHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *countHandler) Handle(context.Context, slog.Record) error {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }
func (h *countHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// writeLog makes a closed log in a new directory holding payload(0..n-1).
func writeLog(t *testing.T, opts Options, n int) (string, []Pos) {
	t.Helper()
	dir := t.TempDir()
	w, _ := openT(t, dir, opts)
	pos := appendN(t, w, 0, n)
	closeT(t, w)
	return dir, pos
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

func segPath(dir string, n int) string { return filepath.Join(dir, segmentName(n)) }

func readSeg(t *testing.T, dir string, n int) []byte {
	t.Helper()
	b, err := os.ReadFile(segPath(dir, n))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeSeg(t *testing.T, dir string, n int, b []byte) {
	t.Helper()
	if err := os.WriteFile(segPath(dir, n), b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func recordEnd(pos []Pos, i int) int64 { return pos[i].Offset + headerSize + int64(len(payload(i))) }

// checkReport compares a report with want, ignoring Reason, which must be
// set and, where want has one, contain it.
func checkReport(t *testing.T, got, want []CorruptionError) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("report %v, want %d entries", got, len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Reason == "" || !strings.Contains(g.Reason, w.Reason) {
			t.Errorf("report[%d] reason %q, want it to contain %q", i, g.Reason, w.Reason)
		}
		g.Reason, w.Reason = "", ""
		if g != w {
			t.Errorf("report[%d] = %+v, want %+v", i, g, w)
		}
	}
}

// TestLogPartialWrite cuts the last segment at every byte of its last two
// records, as a crash in the middle of a write would.
func TestLogPartialWrite(t *testing.T) {
	opts := Options{SegmentSize: 512}
	src, pos := writeLog(t, opts, 40)
	last := pos[len(pos)-1].Segment
	if last < 3 {
		t.Fatalf("log has %d segments, want several", last)
	}
	n := len(pos)
	full := readSeg(t, src, last)
	if pos[n-2].Segment != last {
		t.Fatal("last segment holds fewer than two records")
	}
	base := t.TempDir()
	for cut := pos[n-2].Offset; cut <= int64(len(full)); cut++ {
		dir := filepath.Join(base, strconv.FormatInt(cut, 10))
		copyDir(t, src, dir)
		writeSeg(t, dir, last, full[:cut])

		good := n // the first record the cut damages
		for i := range pos {
			if pos[i].Segment == last && recordEnd(pos, i) > cut {
				good = i
				break
			}
		}
		var wantReport []CorruptionError
		end := cut
		if good < n && pos[good].Offset < cut {
			end = pos[good].Offset
			wantReport = []CorruptionError{{Segment: last, Offset: end, Skipped: cut - end}}
		}

		w, report := openT(t, dir, opts)
		checkReport(t, report, wantReport)
		if fi, err := os.Stat(segPath(dir, last)); err != nil || fi.Size() != end {
			t.Fatalf("cut at %d: segment not truncated to %d: %v %v", cut, end, fi.Size(), err)
		}
		p, err := w.Append(context.Background(), payload(good))
		if err != nil {
			t.Fatal(err)
		}
		if p != (Pos{last, end}) {
			t.Fatalf("cut at %d: append after repair at %v, want %d:%d", cut, p, last, end)
		}
		closeT(t, w)

		w, report = openT(t, dir, opts)
		checkReport(t, report, nil)
		wantPos := append(slices.Clone(pos[:good]), p)
		checkRecs(t, replayAll(t, w, Pos{}), want(wantPos, seq(0, good+1)...))
		closeT(t, w)
	}
}

// TestCorruptAndCarryOn damages a record in the middle of a segment that
// is not the last: Open reports it and leaves the file alone, replay skips
// the rest of that segment and reads every other one.
func TestCorruptAndCarryOn(t *testing.T) {
	opts := Options{SegmentSize: 512}
	src, pos := writeLog(t, opts, 40)
	var inSeg2 []int
	for i, p := range pos {
		if p.Segment == 2 {
			inSeg2 = append(inSeg2, i)
		}
	}
	if len(inSeg2) < 3 || pos[len(pos)-1].Segment < 3 {
		t.Fatalf("log layout too small: %v", pos)
	}
	bad := inSeg2[len(inSeg2)/2]
	off := pos[bad].Offset
	for _, tc := range []struct {
		name   string
		damage func(b []byte)
		reason string
	}{
		{"payload", func(b []byte) { b[off+headerSize+2] ^= 0x40 }, "crc mismatch"},
		{"length", func(b []byte) { b[off+4] ^= 0x01 }, ""},
		{"huge length", func(b []byte) { b[off+7] = 0x7f }, "exceeds limit"},
		{"crc", func(b []byte) { b[off+9] ^= 0xff }, "crc mismatch"},
		{"magic", func(b []byte) { b[off] = 'X' }, "bad magic"},
		{"zero page", func(b []byte) { clear(b[off:]) }, "zero-filled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, src, dir)
			seg := readSeg(t, dir, 2)
			tc.damage(seg)
			writeSeg(t, dir, 2, seg)

			w, report := openT(t, dir, opts)
			wantReport := []CorruptionError{{Segment: 2, Offset: off, Reason: tc.reason, Skipped: int64(len(seg)) - off}}
			checkReport(t, report, wantReport)
			if got := readSeg(t, dir, 2); !slices.Equal(got, seg) {
				t.Fatal("open modified a segment that is not the last")
			}
			kept := slices.DeleteFunc(seq(0, len(pos)), func(i int) bool { return pos[i].Segment == 2 && i >= bad })
			checkRecs(t, replayAll(t, w, Pos{}), want(pos, kept...))
			checkRecs(t, replayAll(t, w, pos[bad]), want(pos, kept[slices.Index(kept, bad-1)+1:]...))

			more := append(slices.Clone(pos), appendN(t, w, len(pos), 3)...)
			closeT(t, w)
			w, report = openT(t, dir, opts)
			defer closeT(t, w)
			checkReport(t, report, wantReport)
			checkRecs(t, replayAll(t, w, Pos{}), want(more, append(kept, seq(len(pos), len(more))...)...))
		})
	}
}

// TestCorruptLastSegment damages a record in the middle of the last
// segment: the segment is cut there, later records included.
func TestCorruptLastSegment(t *testing.T) {
	opts := Options{SegmentSize: 1 << 20}
	dir, pos := writeLog(t, opts, 10)
	seg := readSeg(t, dir, 1)
	seg[pos[4].Offset+headerSize] ^= 1
	writeSeg(t, dir, 1, seg)
	w, report := openT(t, dir, opts)
	defer closeT(t, w)
	checkReport(t, report, []CorruptionError{{Segment: 1, Offset: pos[4].Offset, Reason: "crc mismatch", Skipped: int64(len(seg)) - pos[4].Offset}})
	checkRecs(t, replayAll(t, w, Pos{}), want(pos, 0, 1, 2, 3))
}

func TestZeroFilledTail(t *testing.T) {
	for _, zeros := range []int{1, headerSize - 1, headerSize, 4096} {
		t.Run(strconv.Itoa(zeros), func(t *testing.T) {
			opts := Options{SegmentSize: 1 << 20}
			dir, pos := writeLog(t, opts, 20)
			seg := readSeg(t, dir, 1)
			size := int64(len(seg))
			writeSeg(t, dir, 1, append(seg, make([]byte, zeros)...))

			w, report := openT(t, dir, opts)
			defer closeT(t, w)
			checkReport(t, report, []CorruptionError{{Segment: 1, Offset: size, Reason: "zero-filled tail", Skipped: int64(zeros)}})
			if got := readSeg(t, dir, 1); int64(len(got)) != size {
				t.Fatalf("segment is %d bytes after repair, want %d", len(got), size)
			}
			checkRecs(t, replayAll(t, w, Pos{}), want(pos, seq(0, 20)...))
		})
	}
}

// TestHugeLength appends a header whose length field claims about 4 GiB:
// Open must report it without allocating anything like that.
func TestHugeLength(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    int
		reason string
	}{
		{"over limit", 0, "exceeds limit"},
		{"over file size", 1<<32 - 1, "torn record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{MaxRecordBytes: tc.max}
			dir, pos := writeLog(t, opts, 5)
			seg := readSeg(t, dir, 1)
			size := int64(len(seg))
			var hdr [headerSize]byte
			putHeader(&hdr, nil)
			hdr[4], hdr[5], hdr[6], hdr[7] = 0xf0, 0xff, 0xff, 0xff
			seg = append(append(seg, hdr[:]...), "some bytes of a payload"...)
			writeSeg(t, dir, 1, seg)

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			w, report := openT(t, dir, opts)
			runtime.ReadMemStats(&after)
			defer closeT(t, w)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("open allocated %d bytes", alloc)
			}
			checkReport(t, report, []CorruptionError{{Segment: 1, Offset: size, Reason: tc.reason, Skipped: int64(len(seg)) - size}})
			checkRecs(t, replayAll(t, w, Pos{}), want(pos, seq(0, 5)...))
		})
	}
}

func TestEmptySegmentFile(t *testing.T) {
	opts := Options{SegmentSize: 512}
	t.Run("only", func(t *testing.T) {
		dir := t.TempDir()
		writeSeg(t, dir, 1, nil)
		w, report := openT(t, dir, opts)
		defer closeT(t, w)
		checkReport(t, report, nil)
		if p, err := w.Append(context.Background(), payload(0)); err != nil || p != (Pos{1, 0}) {
			t.Fatalf("append = %v, %v; want 1:0", p, err)
		}
	})
	t.Run("middle", func(t *testing.T) {
		dir, pos := writeLog(t, opts, 30)
		if pos[len(pos)-1].Segment < 3 {
			t.Fatal("want at least 3 segments")
		}
		writeSeg(t, dir, 2, nil)
		w, report := openT(t, dir, opts)
		defer closeT(t, w)
		checkReport(t, report, nil)
		kept := slices.DeleteFunc(seq(0, len(pos)), func(i int) bool { return pos[i].Segment == 2 })
		checkRecs(t, replayAll(t, w, Pos{}), want(pos, kept...))
	})
	t.Run("last", func(t *testing.T) {
		dir, pos := writeLog(t, opts, 30)
		next := pos[len(pos)-1].Segment + 1
		writeSeg(t, dir, next, nil)
		w, report := openT(t, dir, opts)
		defer closeT(t, w)
		checkReport(t, report, nil)
		p, err := w.Append(context.Background(), payload(30))
		if err != nil || p != (Pos{next, 0}) {
			t.Fatalf("append = %v, %v; want %d:0", p, err, next)
		}
		checkRecs(t, replayAll(t, w, Pos{}), want(append(pos, p), seq(0, 31)...))
	})
}

func TestMissingSegment(t *testing.T) {
	opts := Options{SegmentSize: 512}
	src, pos := writeLog(t, opts, 60)
	if pos[len(pos)-1].Segment < 6 {
		t.Fatal("want at least 6 segments")
	}
	for _, tc := range []struct {
		remove []int
		want   []CorruptionError
	}{
		{[]int{3}, []CorruptionError{{Segment: 3, Reason: "missing segment 3"}}},
		{[]int{2, 3, 4}, []CorruptionError{{Segment: 2, Reason: "missing segments 2-4"}}},
		{[]int{2, 5}, []CorruptionError{{Segment: 2, Reason: "missing segment 2"}, {Segment: 5, Reason: "missing segment 5"}}},
		{[]int{1, 2}, nil}, // a removed prefix is no gap
	} {
		t.Run(fmtInts(tc.remove), func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, src, dir)
			for _, n := range tc.remove {
				if err := os.Remove(segPath(dir, n)); err != nil {
					t.Fatal(err)
				}
			}
			w, report := openT(t, dir, opts)
			defer closeT(t, w)
			checkReport(t, report, tc.want)
			kept := slices.DeleteFunc(seq(0, len(pos)), func(i int) bool { return slices.Contains(tc.remove, pos[i].Segment) })
			checkRecs(t, replayAll(t, w, Pos{}), want(pos, kept...))
		})
	}
}

func fmtInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
