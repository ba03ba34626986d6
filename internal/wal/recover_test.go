package wal

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// appendUntilTaken retries an append as a sender does after a 503 until the
// log takes it, failing the test if it has not within a generous bound.
func appendUntilTaken(t *testing.T, w *WAL, p []byte) Pos {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pos, err := w.Append(context.Background(), p)
		if err == nil {
			return pos
		}
		if !errors.Is(err, ErrFailed) {
			t.Fatalf("append while recovering returned %v, want ErrFailed", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log still refuses appends after the failure cleared: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A failed fsync (a full disk) stops the log only until the disk takes
// writes again: later appends go to a new segment without a reopen, and
// replay holds every acknowledged record once and nothing of the failed
// group.
func TestFailureIsNotSticky(t *testing.T) {
	dir := t.TempDir()
	var failing atomic.Bool
	opts := Options{syncFile: func(f *os.File) error {
		if failing.Load() {
			return syscall.ENOSPC
		}
		return f.Sync()
	}}
	w, _ := openT(t, dir, opts)
	ctx := context.Background()
	pos := appendN(t, w, 0, 5)
	failing.Store(true)
	if _, err := w.Append(ctx, payload(5)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on a full disk returned %v, want ENOSPC", err)
	}
	if err := w.Err(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Err() = %v while the disk is full, want ENOSPC", err)
	}
	failing.Store(false)
	for i := 6; i < 10; i++ {
		pos = append(pos, appendUntilTaken(t, w, payload(i)))
	}
	if err := w.Err(); err != nil {
		t.Fatalf("Err() = %v after appends were taken again", err)
	}
	if pos[5].Segment == pos[4].Segment {
		t.Fatalf("appends after the failure went to segment %d, the failed one; want a new segment", pos[5].Segment)
	}
	closeT(t, w)

	w, report := openT(t, dir, Options{})
	defer closeT(t, w)
	if len(report) != 0 {
		t.Fatalf("reopen found %v; the failed tail should have been cut", report)
	}
	got := replayAll(t, w, Pos{})
	var vals []string
	for _, r := range got {
		vals = append(vals, r.val)
	}
	var wantVals []string
	for _, i := range []int{0, 1, 2, 3, 4, 6, 7, 8, 9} {
		wantVals = append(wantVals, string(payload(i)))
	}
	if len(vals) != len(wantVals) {
		t.Fatalf("replayed %d records %q, want %d %q", len(vals), vals, len(wantVals), wantVals)
	}
	for i := range vals {
		if vals[i] != wantVals[i] {
			t.Fatalf("record %d is %q, want %q", i, vals[i], wantVals[i])
		}
	}
}

// A write that fails part-way through a group (the buffer flushed some of
// it) leaves a torn tail; a repair that cannot create the next segment
// (its fsync fails) keeps the log failed. Once the disk takes writes again the log
// goes on, and a reopen finds nothing to cut: the repair cut it.
func TestTornWriteAndFailedRepair(t *testing.T) {
	dir := t.TempDir()
	var full atomic.Bool
	var writes, syncs atomic.Int32
	opts := Options{Fault: func(op, path string) error {
		if !full.Load() {
			return nil
		}
		if op == "sync" {
			syncs.Add(1)
		}
		// The first write of the failing group goes through, so part of
		// the group is on disk when the next one fails.
		if op == "write" && writes.Add(1) == 1 {
			return nil
		}
		return syscall.ENOSPC
	}}
	w, _ := openT(t, dir, opts)
	ctx := context.Background()
	appendN(t, w, 0, 3)
	full.Store(true)
	big := make([][]byte, 4)
	for i := range big {
		big[i] = make([]byte, 200<<10) // past the 256 KiB write buffer
		big[i][0] = byte(i + 1)
	}
	if _, err := w.AppendBatch(ctx, big); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("batch on a full disk returned %v, want ENOSPC", err)
	}
	if fi, err := os.Stat(dir + "/" + segmentName(1)); err != nil || fi.Size() <= 3*headerSize+30 {
		t.Fatalf("segment 1 holds %v bytes (%v): the failed group left no torn tail, the test tests nothing", fi.Size(), err)
	}
	// Still full: appends after the backoff try a repair, which fails.
	deadline := time.Now().Add(20 * time.Second)
	for syncs.Load() < 2 {
		if _, err := w.Append(ctx, payload(50)); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("append while the disk is still full returned %v, want ErrFailed and ENOSPC", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no repair was tried")
		}
		time.Sleep(10 * time.Millisecond)
	}
	full.Store(false)
	if err := waitRepaired(t, w); err != nil {
		t.Fatal(err)
	}
	pos := appendN(t, w, 3, 2)
	if pos[0].Segment < 2 {
		t.Fatalf("append after repair went to segment %d, want a new one", pos[0].Segment)
	}
	closeT(t, w)
	w, report := openT(t, dir, Options{})
	defer closeT(t, w)
	if len(report) != 0 {
		t.Fatalf("reopen found %v, want the torn tail already cut", report)
	}
	var got []string
	for _, r := range replayAll(t, w, Pos{}) {
		got = append(got, r.val)
	}
	if len(got) != 5 || got[0] != string(payload(0)) || got[3] != string(payload(3)) || got[4] != string(payload(4)) {
		t.Fatalf("replayed %d records, want records 0-4 and nothing of the failed group", len(got))
	}
}

// waitRepaired calls Repair, as a readiness check does, until it succeeds.
func waitRepaired(t *testing.T, w *WAL) error {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := w.Repair(context.Background())
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
