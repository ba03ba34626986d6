package lake

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/klauspost/compress/s2"
	"github.com/spoor-dev/spoor/internal/event"
)

// A bulk load (Options.BulkLoad) writes a full head as sorted runs, not
// parts: a day's events span many heads, and parts written per head are
// merged by compaction, so each event was encoded to Parquet twice, and
// read back once (half the CPU of an ingest). A run is the WAL's encoding
// (codec.go), cheap to write and read; Flush merges each day's runs and
// the head into one part, encoding every event to Parquet once.
//
// Runs live in DATA/runs, outside the lake: queries do not see them, and
// Open deletes what a crash left. Loaded events are durable only once
// Flush returns (see Load); appended ones stay in the WAL until then.
const runsDir = "runs"

// runBatch is the events per record of a run: a merge holds one decoded
// record per run.
const runBatch = 256

// run is one sorted run of a day: its events and, beside them, their
// dedupe keys (idsFor reads those when it rebuilds the day's set).
type run struct {
	path string
	n    int
	size int64 // bytes on disk, its ids included
}

func (r run) idsPath() string { return r.path + ".ids" }

// writeRun writes evs (sorted) as a run of day.
func (s *Store) writeRun(day string, seq uint64, evs []*event.Event) (run, error) {
	dir := filepath.Join(s.dir, runsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return run{}, fmt.Errorf("make runs dir: %w", err)
	}
	r := run{path: filepath.Join(dir, day+"-"+strconv.FormatUint(seq, 10)+".run"), n: len(evs)}
	if err := writeRecords(r.path, evs); err != nil {
		return run{}, err
	}
	ids := make([]byte, 0, 8*len(evs))
	for _, e := range evs {
		ids = binary.LittleEndian.AppendUint64(ids, hashEvent(e))
	}
	if err := os.WriteFile(r.idsPath(), ids, 0o644); err != nil {
		return run{}, fmt.Errorf("write run ids: %w", err)
	}
	st, err := os.Stat(r.path)
	if err != nil {
		return run{}, err
	}
	r.size = st.Size() + int64(len(ids))
	return r, nil
}

// runBytes is the disk space the runs hold. s.mu is held.
func (s *Store) runBytes() uint64 {
	var n int64
	for _, rs := range s.runs {
		for _, r := range rs {
			n += r.size
		}
	}
	return uint64(n)
}

func writeRecords(path string, evs []*event.Event) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var plain, rec []byte
	for i := 0; i < len(evs); i += runBatch {
		plain = encodeRun(plain[:0], evs[i:min(i+runBatch, len(evs))])
		rec = s2.Encode(rec[:cap(rec)], plain)
		w.Write(binary.AppendUvarint(nil, uint64(len(rec))))
		w.Write(rec)
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write run: %w", err)
	}
	return nil
}

// A run record is s2-compressed (runs are read once, soon: speed over
// size) and holds uvarint count, then per event its fields (codec.go's
// appendFields), uvarint len(raw) + raw, and its Meta: uvarint 0 when it
// is the previous event's (a run is sorted by agent, and Meta is per
// host), else len(meta)+1 and the bytes.
func encodeRun(plain []byte, evs []*event.Event) []byte {
	plain = binary.AppendUvarint(plain, uint64(len(evs)))
	var prev []byte
	for i, e := range evs {
		plain = appendFields(plain, e)
		plain = binary.AppendUvarint(plain, uint64(len(e.Raw)))
		plain = append(plain, e.Raw...)
		if i > 0 && bytes.Equal(e.Meta, prev) {
			plain = append(plain, 0)
			continue
		}
		plain = binary.AppendUvarint(plain, uint64(len(e.Meta))+1)
		plain = append(plain, e.Meta...)
		prev = e.Meta
	}
	return plain
}

// decodeRun reads a run record back; the events' strings point into its
// own buffer.
func decodeRun(rec []byte) ([]event.Event, error) {
	n, err := s2.DecodedLen(rec)
	if err != nil || n > maxBatchBytes {
		return nil, fmt.Errorf("%w: bad length", errBatch)
	}
	plain, err := s2.Decode(make([]byte, n), rec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBatch, err)
	}
	r := reader{b: plain, view: true}
	count := r.uvarint()
	if count > uint64(len(plain))/16 {
		return nil, fmt.Errorf("%w: bad count", errBatch)
	}
	evs := make([]event.Event, count)
	var meta []byte
	for i := range evs {
		e := &evs[i]
		if err := r.fields(e); err != nil {
			return nil, err
		}
		e.Raw = []byte(r.string())
		if m := r.uvarint(); m > 0 {
			if m-1 > uint64(r.left()) {
				return nil, fmt.Errorf("%w: bad meta length", errBatch)
			}
			meta = r.b[: m-1 : m-1]
			r.b = r.b[m-1:]
			if m == 1 {
				meta = nil
			}
		}
		e.Meta = meta
		if r.err {
			return nil, fmt.Errorf("%w: truncated", errBatch)
		}
	}
	return evs, nil
}

// readRunIDs adds a run's dedupe keys to set.
func readRunIDs(r run, set idSet) error {
	b, err := os.ReadFile(r.idsPath())
	if err != nil {
		return err
	}
	for i := 0; i+8 <= len(b); i += 8 {
		set[binary.LittleEndian.Uint64(b[i:])] = struct{}{}
	}
	return nil
}

func removeRuns(rs []run) {
	for _, r := range rs {
		os.Remove(r.path)
		os.Remove(r.idsPath())
	}
}

// runSource reads a run's events in order.
type runSource struct {
	f   *os.File
	r   *bufio.Reader
	evs []event.Event
	i   int
	e   *event.Event // current
}

func openRun(path string) (*runSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &runSource{f: f, r: bufio.NewReaderSize(f, 256<<10)}, nil
}

func (s *runSource) next() (bool, error) {
	for s.i >= len(s.evs) {
		n, err := binary.ReadUvarint(s.r)
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil || n > maxBatchBytes {
			return false, fmt.Errorf("read run %s: %w", s.f.Name(), cmpErr(err, errBatch))
		}
		rec := make([]byte, n)
		if _, err := io.ReadFull(s.r, rec); err != nil {
			return false, fmt.Errorf("read run %s: %w", s.f.Name(), err)
		}
		if s.evs, err = decodeRun(rec); err != nil {
			return false, fmt.Errorf("read run %s: %w", s.f.Name(), err)
		}
		s.i = 0
	}
	s.e = &s.evs[s.i]
	s.i++
	return true, nil
}

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// sliceSource hands out sorted events held in memory (the head's).
type sliceSource struct {
	evs []*event.Event
	e   *event.Event
}

func (s *sliceSource) next() (bool, error) {
	if len(s.evs) == 0 {
		return false, nil
	}
	s.e, s.evs = s.evs[0], s.evs[1:]
	return true, nil
}

// eventSource yields sorted events: next moves to the next one, cur is it.
type eventSource interface {
	next() (bool, error)
	cur() *event.Event
}

func (s *runSource) cur() *event.Event   { return s.e }
func (s *sliceSource) cur() *event.Event { return s.e }

// runMerge yields the events of sorted sources in part order.
type runMerge struct {
	srcs []eventSource
}

func (h *runMerge) Len() int { return len(h.srcs) }
func (h *runMerge) Less(i, j int) bool {
	return comparePart(h.srcs[i].cur(), h.srcs[j].cur()) < 0
}
func (h *runMerge) Swap(i, j int) { h.srcs[i], h.srcs[j] = h.srcs[j], h.srcs[i] }
func (h *runMerge) Push(x any)    { h.srcs = append(h.srcs, x.(eventSource)) }
func (h *runMerge) Pop() any {
	x := h.srcs[len(h.srcs)-1]
	h.srcs = h.srcs[:len(h.srcs)-1]
	return x
}

// mergeRuns writes a day's runs and its head events (sorted) as one part.
func (s *Store) mergeRuns(ctx context.Context, w *partWriter, day string, runs []run, head []*event.Event) (Part, error) {
	h := &runMerge{}
	var files []*runSource
	defer func() {
		for _, f := range files {
			f.f.Close()
		}
	}()
	add := func(src eventSource) error {
		ok, err := src.next()
		if ok {
			h.srcs = append(h.srcs, src)
		}
		return err
	}
	for _, r := range runs {
		src, err := openRun(r.path)
		if err != nil {
			return Part{}, fmt.Errorf("open run: %w", err)
		}
		files = append(files, src)
		if err := add(src); err != nil {
			return Part{}, err
		}
	}
	if err := add(&sliceSource{evs: head}); err != nil {
		return Part{}, err
	}
	heap.Init(h)
	next := func(batch []*event.Event) ([]*event.Event, error) {
		for len(batch) < cap(batch) && h.Len() > 0 {
			src := h.srcs[0]
			batch = append(batch, src.cur())
			ok, err := src.next()
			if err != nil {
				return nil, err
			}
			if ok {
				heap.Fix(h, 0)
			} else {
				heap.Pop(h)
			}
		}
		return batch, nil
	}
	return w.writeFrom(ctx, partitionDir(s.dir, day), day, next)
}
