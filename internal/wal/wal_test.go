package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// payload returns record i: distinct and of varying length.
func payload(i int) []byte {
	return fmt.Appendf(nil, "rec-%06d-%s", i, strings.Repeat("x", i%53))
}

func openT(t *testing.T, dir string, opts Options) (*WAL, []CorruptionError) {
	t.Helper()
	w, report, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return w, report
}

func closeT(t *testing.T, w *WAL) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// appendN appends payload(first) .. payload(first+n-1) one by one.
func appendN(t *testing.T, w *WAL, first, n int) []Pos {
	t.Helper()
	var pos []Pos
	for i := first; i < first+n; i++ {
		p, err := w.Append(context.Background(), payload(i))
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		pos = append(pos, p)
	}
	return pos
}

type rec struct {
	pos Pos
	val string
}

func replayAll(t *testing.T, w *WAL, from Pos) []rec {
	t.Helper()
	var got []rec
	err := w.Replay(context.Background(), from, func(p Pos, b []byte) error {
		got = append(got, rec{p, string(b)})
		return nil
	})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return got
}

// want returns the records payload(i) for i in is, at pos[i].
func want(pos []Pos, is ...int) []rec {
	var r []rec
	for _, i := range is {
		r = append(r, rec{pos[i], string(payload(i))})
	}
	return r
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func checkRecs(t *testing.T, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("record %d: got %v %.20q, want %v %.20q", i, got[i].pos, got[i].val, want[i].pos, want[i].val)
		}
	}
}

func segmentFiles(t *testing.T, dir string) []int {
	t.Helper()
	ns, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestRoundTripAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 1 << 10}
	w, report := openT(t, dir, opts)
	if len(report) != 0 {
		t.Fatalf("fresh log reported %v", report)
	}
	pos := appendN(t, w, 0, 500)
	more, err := w.AppendBatch(context.Background(), [][]byte{payload(500), payload(501), payload(502)})
	if err != nil {
		t.Fatal(err)
	}
	pos = append(pos, more...)
	closeT(t, w)

	ns := segmentFiles(t, dir)
	if len(ns) < 10 {
		t.Fatalf("got %d segments, want rollover into many", len(ns))
	}
	for _, n := range ns {
		fi, err := os.Stat(filepath.Join(dir, segmentName(n)))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > opts.SegmentSize {
			t.Errorf("segment %d is %d bytes, over %d", n, fi.Size(), opts.SegmentSize)
		}
	}
	for i := 1; i < len(pos); i++ {
		if pos[i].Segment < pos[i-1].Segment || pos[i].Segment == pos[i-1].Segment && pos[i].Offset <= pos[i-1].Offset {
			t.Fatalf("positions not increasing: %v then %v", pos[i-1], pos[i])
		}
	}

	w, report = openT(t, dir, opts)
	defer closeT(t, w)
	if len(report) != 0 {
		t.Fatalf("clean log reported %v", report)
	}
	checkRecs(t, replayAll(t, w, Pos{}), want(pos, seq(0, 503)...))
	checkRecs(t, replayAll(t, w, pos[277]), want(pos, seq(277, 503)...))
	checkRecs(t, replayAll(t, w, Pos{Segment: pos[277].Segment}), want(pos, seq(slices.IndexFunc(pos, func(p Pos) bool { return p.Segment == pos[277].Segment }), 503)...))

	// Appends after reopening continue the last segment.
	p, err := w.Append(context.Background(), payload(503))
	if err != nil {
		t.Fatal(err)
	}
	if p.Segment != pos[502].Segment || p.Offset <= pos[502].Offset {
		t.Fatalf("append after reopen at %v, want after %v in the same segment", p, pos[502])
	}
	checkRecs(t, replayAll(t, w, pos[502]), append(want(pos, 502), rec{p, string(payload(503))}))
}

func TestReplayStopsOnCallbackError(t *testing.T) {
	w, _ := openT(t, t.TempDir(), Options{})
	defer closeT(t, w)
	appendN(t, w, 0, 10)
	stop := errors.New("stop")
	n := 0
	err := w.Replay(context.Background(), Pos{}, func(Pos, []byte) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("replay returned %v after %d records, want stop after 3", err, n)
	}
}

func TestConcurrentAppendGroupCommit(t *testing.T) {
	const writers, each = 16, 1000
	dir := t.TempDir()
	// A slow fsync, as on a real disk, gives records time to queue.
	opts := Options{SegmentSize: 256 << 10, syncFile: func(f *os.File) error {
		time.Sleep(200 * time.Microsecond)
		return f.Sync()
	}}
	w, _ := openT(t, dir, opts)
	var wg sync.WaitGroup
	positions := make([][]Pos, writers)
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				p, err := w.Append(context.Background(), payload(g*each+i))
				if err != nil {
					errs <- err
					return
				}
				positions[g] = append(positions[g], p)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := w.Stats()
	closeT(t, w)
	if st.Records != writers*each {
		t.Errorf("stats count %d records, want %d", st.Records, writers*each)
	}
	// How many appends share a commit here depends on the scheduler;
	// TestAppendsDuringACommitShareTheNext asserts the batching itself.
	t.Logf("%d records, %d commits, %d fsyncs", st.Records, st.Commits, st.Syncs)

	w, report := openT(t, dir, opts)
	defer closeT(t, w)
	if len(report) != 0 {
		t.Fatalf("clean log reported %v", report)
	}
	at := make(map[Pos]string)
	for g, ps := range positions {
		for i, p := range ps {
			at[p] = string(payload(g*each + i))
		}
	}
	seen := make(map[string]bool)
	for _, r := range replayAll(t, w, Pos{}) {
		if seen[r.val] {
			t.Fatalf("record %.20q replayed twice", r.val)
		}
		seen[r.val] = true
		if at[r.pos] != r.val {
			t.Fatalf("record at %v is %.20q, Append returned that position for %.20q", r.pos, r.val, at[r.pos])
		}
	}
	if len(seen) != writers*each {
		t.Fatalf("replayed %d distinct records, want %d", len(seen), writers*each)
	}
}

// Appends queued while a commit is in flight go to disk together in the
// next commit, with one fsync: the first fsync is held until they are all
// queued.
func TestAppendsDuringACommitShareTheNext(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	opts := Options{syncFile: func(f *os.File) error {
		select {
		case entered <- struct{}{}:
			<-gate // the first fsync only
		default:
		}
		return f.Sync()
	}}
	w, _ := openT(t, t.TempDir(), opts)
	defer closeT(t, w)
	ctx := context.Background()
	const group = 8
	errs := make(chan error, group+1)
	go func() {
		_, err := w.Append(ctx, payload(0))
		errs <- err
	}()
	<-entered
	for i := 1; i <= group; i++ {
		go func() {
			_, err := w.Append(ctx, payload(i))
			errs <- err
		}()
	}
	for queued := 0; queued < group; {
		w.mu.Lock()
		queued = len(w.pending.recs)
		w.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	close(gate)
	for range group + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := w.Stats(); st.Records != group+1 || st.Commits != 2 || st.Syncs != 2 {
		t.Fatalf("%+v, want %d records in 2 commits and 2 fsyncs", st, group+1)
	}
}

func TestLoneAppenderCommitsAtOnce(t *testing.T) {
	w, _ := openT(t, t.TempDir(), Options{})
	defer closeT(t, w)
	for i := range 5 {
		start := time.Now()
		if _, err := w.Append(context.Background(), payload(i)); err != nil {
			t.Fatal(err)
		}
		// Each Append returns after its own fsync, not a later shared one.
		if st := w.Stats(); st.Syncs != uint64(i+1) || st.Commits != uint64(i+1) {
			t.Fatalf("after %d appends: %+v, want one commit and fsync each", i+1, st)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("append took %v", d)
		}
	}
}

func TestReplayWhileAppending(t *testing.T) {
	warnings := &countHandler{}
	w, _ := openT(t, t.TempDir(), Options{SegmentSize: 4 << 10, Logger: slogger(warnings)})
	defer closeT(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				if _, err := w.Append(ctx, payload(g*100000+i)); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Replay until the log has rolled over several times under us: at
	// least 3 replays, the last of 500 records or more, however long the
	// appenders take to write them (the bound only ends a hang).
	last, replays := 0, 0
	for start := time.Now(); last < 500 || replays < 3; replays++ {
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("%d replays saw %d records in 5 minutes: the appenders stalled", replays, last)
		}
		n := len(replayAll(t, w, Pos{}))
		if n < last {
			t.Fatalf("replay saw %d records after seeing %d", n, last)
		}
		last = n
	}
	cancel()
	wg.Wait()
	if n := warnings.count(); n != 0 {
		t.Fatalf("replay of a live log logged %d warnings", n)
	}
}

func TestCut(t *testing.T) {
	dir := t.TempDir()
	w, _ := openT(t, dir, Options{})
	defer closeT(t, w)
	ctx := context.Background()
	cut, err := w.Cut(ctx)
	if err != nil || cut != (Pos{1, 0}) {
		t.Fatalf("cut of an empty log = %v, %v; want 1:0", cut, err)
	}
	pos := appendN(t, w, 0, 3)
	cut, err = w.Cut(ctx)
	if err != nil || cut != (Pos{2, 0}) {
		t.Fatalf("cut = %v, %v; want 2:0", cut, err)
	}
	if again, _ := w.Cut(ctx); again != cut {
		t.Fatalf("cut of an empty segment moved to %v, want %v", again, cut)
	}
	if ns := segmentFiles(t, dir); !slices.Equal(ns, []int{1, 2}) {
		t.Fatalf("segments %v, want [1 2]", ns)
	}
	pos = append(pos, appendN(t, w, 3, 2)...)
	if pos[3] != cut {
		t.Fatalf("first record after cut at %v, want %v", pos[3], cut)
	}
	checkRecs(t, replayAll(t, w, cut), want(pos, 3, 4))
}

func TestRemoveBefore(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 512}
	w, _ := openT(t, dir, opts)
	pos := appendN(t, w, 0, 60)
	ns := segmentFiles(t, dir)
	if len(ns) < 5 {
		t.Fatalf("only %d segments", len(ns))
	}
	sizeOf := func(n int) int64 {
		fi, err := os.Stat(filepath.Join(dir, segmentName(n)))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := w.Size()
	var total int64
	for _, n := range ns {
		total += sizeOf(n)
	}
	if before != total {
		t.Fatalf("Size() = %d, files hold %d", before, total)
	}

	// A position inside segment 3 covers segments 1 and 2 only.
	freed := sizeOf(1) + sizeOf(2)
	if err := w.RemoveBefore(Pos{3, 100}); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); !slices.Equal(got, ns[2:]) {
		t.Fatalf("after RemoveBefore(3:100) segments %v, want %v", got, ns[2:])
	}
	if got := w.Size(); got != before-freed {
		t.Fatalf("Size() = %d after removal, want %d", got, before-freed)
	}
	first := slices.IndexFunc(pos, func(p Pos) bool { return p.Segment == 3 })
	checkRecs(t, replayAll(t, w, Pos{}), want(pos, seq(first, 60)...))

	cut, err := w.Cut(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pos = append(pos, appendN(t, w, 60, 2)...)
	// A position past the active segment must not delete it.
	if err := w.RemoveBefore(Pos{cut.Segment + 10, 0}); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); !slices.Equal(got, []int{cut.Segment}) {
		t.Fatalf("after removing everything, segments %v, want [%d]", got, cut.Segment)
	}
	checkRecs(t, replayAll(t, w, Pos{}), want(pos, 60, 61))
	closeT(t, w)

	w, report := openT(t, dir, opts)
	defer closeT(t, w)
	if len(report) != 0 {
		t.Fatalf("removed prefix reported as %v", report)
	}
	checkRecs(t, replayAll(t, w, Pos{}), want(pos, 60, 61))
}

func TestSyncErrorFailsGroupAndLog(t *testing.T) {
	dir := t.TempDir()
	gate := make(chan struct{})
	entered := make(chan struct{})
	var calls int
	boom := errors.New("injected fsync error")
	opts := Options{syncFile: func(f *os.File) error {
		calls++ // only the committer syncs
		switch calls {
		case 1:
			close(entered)
			<-gate
			return f.Sync()
		case 2:
			return boom
		}
		return f.Sync()
	}}
	w, _ := openT(t, dir, opts)
	ctx := context.Background()

	first := make(chan error, 1)
	go func() {
		_, err := w.Append(ctx, payload(0))
		first <- err
	}()
	<-entered
	// Queue a group behind the blocked fsync.
	const group = 8
	errs := make(chan error, group)
	for i := 1; i <= group; i++ {
		go func() {
			_, err := w.Append(ctx, payload(i))
			errs <- err
		}()
	}
	for {
		w.mu.Lock()
		queued := len(w.pending.recs)
		w.mu.Unlock()
		if queued == group {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatalf("first append: %v", err)
	}
	for range group {
		if err := <-errs; !errors.Is(err, boom) {
			t.Fatalf("append in failed group returned %v, want %v", err, boom)
		}
	}
	if _, err := w.Append(ctx, payload(99)); !errors.Is(err, ErrFailed) || !errors.Is(err, boom) {
		t.Fatalf("append after failed fsync returned %v, want ErrFailed wrapping the cause", err)
	}
	if _, err := w.Cut(ctx); !errors.Is(err, ErrFailed) {
		t.Fatalf("cut after failed fsync returned %v, want ErrFailed", err)
	}
	closeT(t, w)

	w, _ = openT(t, dir, Options{})
	defer closeT(t, w)
	got := replayAll(t, w, Pos{})
	if len(got) == 0 || got[0].val != string(payload(0)) {
		t.Fatalf("acknowledged record lost after failure: replayed %d records", len(got))
	}
	if _, err := w.Append(ctx, payload(100)); err != nil {
		t.Fatalf("reopened log refuses appends: %v", err)
	}
}

func TestAppendContext(t *testing.T) {
	dir := t.TempDir()
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	opts := Options{syncFile: func(f *os.File) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
		return f.Sync()
	}}
	w, _ := openT(t, dir, opts)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Append(canceled, payload(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append with canceled context returned %v", err)
	}
	// The caller gives up while its record is in the fsync.
	inSync, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	if _, err := w.Append(inSync, payload(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("append abandoned during its fsync returned %v", err)
	}
	close(gate)
	closeT(t, w)

	// The abandoned append was already queued, so it became durable; the
	// one canceled before queueing did not.
	w, _ = openT(t, dir, Options{})
	defer closeT(t, w)
	got := replayAll(t, w, Pos{})
	if len(got) != 1 || got[0].val != string(payload(1)) {
		t.Fatalf("replayed %v, want only record 1", got)
	}
}

func TestAppendLimitsAndClose(t *testing.T) {
	w, _ := openT(t, t.TempDir(), Options{MaxRecordBytes: 100})
	ctx := context.Background()
	if _, err := w.Append(ctx, make([]byte, 101)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized append returned %v, want ErrTooLarge", err)
	}
	if _, err := w.Append(ctx, make([]byte, 100)); err != nil {
		t.Fatalf("append at the limit: %v", err)
	}
	if _, err := w.Append(ctx, nil); err != nil {
		t.Fatalf("empty append: %v", err)
	}
	closeT(t, w)
	if _, err := w.Append(ctx, payload(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close returned %v, want ErrClosed", err)
	}
	if err := w.Replay(ctx, Pos{}, func(Pos, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("replay after close returned %v, want ErrClosed", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close returned %v, want ErrClosed", err)
	}
	if _, _, err := Open(t.TempDir(), Options{SegmentSize: -1}); err == nil {
		t.Fatal("open with negative segment size succeeded")
	}
}
