package wal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/atomicfile"
)

// Defaults for the zero fields of Options.
const (
	DefaultSegmentSize    = 64 << 20
	DefaultMaxRecordBytes = 64 << 20
)

var (
	// ErrClosed is returned by calls on a closed log.
	ErrClosed = errors.New("wal: closed")
	// ErrFailed is returned by appends after a write or fsync failed (a
	// full disk, say), for a backoff that grows from RetryMin to RetryMax.
	// The first append after it repairs the log (see repair) and goes on.
	ErrFailed = errors.New("wal: failed")
	// ErrTooLarge is returned for a record over Options.MaxRecordBytes.
	ErrTooLarge = errors.New("wal: record too large")
)

// Pos is the position of a record: its segment and the offset of its header.
// Positions order records: by Segment, then Offset.
type Pos struct {
	Segment int
	Offset  int64
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Segment, p.Offset) }

// Options configures a log. The zero value is usable.
type Options struct {
	// SegmentSize is the size at which a segment is closed and the next one
	// started; a segment exceeds it only to hold a single larger record.
	SegmentSize int64
	// MaxRecordBytes bounds a record's payload, on append and on read, so a
	// corrupt length cannot make a reader allocate more. At most 4 GiB - 1.
	MaxRecordBytes int
	// Logger receives the log's failure and replay warnings; nil discards them.
	Logger *slog.Logger
	// Fault, when set, is called before every write, fsync and creation of
	// a segment file with op "write", "sync" or "create" and the file's
	// path; an error it returns fails that operation as the filesystem
	// would. Tests inject a full disk with it; nil in production.
	Fault func(op, path string) error

	// syncFile replaces (*os.File).Sync in tests.
	syncFile func(*os.File) error
}

// The backoff after a failed write: appends fail at once until it has
// passed, so a full disk costs no I/O per refused request, and the wait
// stays short enough that ingest resumes within seconds of space returning.
const (
	RetryMin = 100 * time.Millisecond
	RetryMax = 2 * time.Second
)

func (o Options) withDefaults() (Options, error) {
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.SegmentSize < 0 || o.MaxRecordBytes < 0 || uint64(o.MaxRecordBytes) > 1<<32-1 {
		return o, fmt.Errorf("bad options: segment size %d, max record bytes %d", o.SegmentSize, o.MaxRecordBytes)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.syncFile == nil {
		fault := o.Fault
		o.syncFile = func(f *os.File) error {
			if fault != nil {
				if err := fault("sync", f.Name()); err != nil {
					return err
				}
			}
			return f.Sync()
		}
	}
	return o, nil
}

// Stats are counters for metrics.
type Stats struct {
	Records uint64 // records made durable
	Commits uint64 // group commits, each one write and one fsync (two when it crosses a segment)
	Syncs   uint64 // segment fsyncs
}

// WAL is a segmented append-only log. Its methods are safe for concurrent use.
type WAL struct {
	dir  string
	opts Options

	mu      sync.Mutex
	wake    *sync.Cond // tells the committer there is work or the log is closing
	pending *batch     // records waiting for the next commit
	segs    []segment  // oldest first; the last one is active
	err     error      // set when a write or fsync failed, until a repair
	retryAt time.Time  // appends fail at once before this, while err is set
	backoff time.Duration
	closed  bool
	stats   Stats

	rmMu sync.Mutex // serialises RemoveBefore

	// Owned by the committer goroutine (and Close, after it exits).
	f       *os.File // active segment
	bw      *bufio.Writer
	segN    int
	written int64 // bytes written to the active segment
	synced  int64 // bytes fsynced in the active segment

	done chan struct{} // closed when the committer exits
}

// batch is one group commit. The committer fills pos, cutPos and err, then
// closes done.
type batch struct {
	recs   [][]byte
	cut    bool
	probe  bool // only repair the log if it failed
	pos    []Pos
	cutPos Pos
	err    error
	done   chan struct{}
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

func (b *batch) empty() bool { return len(b.recs) == 0 && !b.cut && !b.probe }

// Open opens the log in dir, creating dir and the first segment if needed.
// It does not fail on corrupt data: it truncates an invalid tail of the last
// segment, notes invalid records in earlier segments and gaps in the
// sequence, and returns what it found for the caller to log.
func Open(dir string, opts Options) (*WAL, []CorruptionError, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("open wal: %w", err)
	}
	ns, err := listSegments(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("open wal: %w", err)
	}
	w := &WAL{dir: dir, opts: opts, pending: newBatch(), done: make(chan struct{})}
	w.wake = sync.NewCond(&w.mu)
	var report []CorruptionError
	sr := &segmentReader{max: opts.MaxRecordBytes}
	for i, n := range ns {
		if i > 0 && n != ns[i-1]+1 {
			report = append(report, missing(ns[i-1], n))
		}
		if i == len(ns)-1 {
			s, ce, err := w.openActive(n, sr)
			if err != nil {
				return nil, nil, err
			}
			w.segs = append(w.segs, s)
			if ce != nil {
				report = append(report, *ce)
			}
			break
		}
		f, err := os.Open(filepath.Join(dir, segmentName(n)))
		if err != nil {
			return nil, nil, fmt.Errorf("open segment %d: %w", n, err)
		}
		s, ce, err := checkSegment(f, n, sr)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		w.segs = append(w.segs, s)
		if ce != nil {
			report = append(report, *ce)
		}
	}
	if len(ns) == 0 {
		if w.f, err = createSegment(dir, 1, opts.Fault); err != nil {
			return nil, nil, err
		}
		w.segN = 1
		w.segs = []segment{{n: 1}}
	} else if err := atomicfile.SyncDir(dir); err != nil {
		w.f.Close()
		return nil, nil, err
	}
	w.bw = bufio.NewWriterSize(segWriter{w}, 256<<10)
	go w.run()
	return w, report, nil
}

// openActive opens the last segment for appending, truncating it at its
// first invalid record.
func (w *WAL) openActive(n int, sr *segmentReader) (segment, *CorruptionError, error) {
	f, err := os.OpenFile(filepath.Join(w.dir, segmentName(n)), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return segment{}, nil, fmt.Errorf("open segment %d: %w", n, err)
	}
	s, ce, err := checkSegment(f, n, sr)
	if err == nil && ce != nil {
		if err = f.Truncate(ce.Offset); err == nil {
			err = f.Sync()
		}
		if err != nil {
			err = fmt.Errorf("truncate segment %d: %w", n, err)
		}
		s.size = ce.Offset
	}
	if err != nil {
		f.Close()
		return segment{}, nil, err
	}
	w.f, w.segN, w.written, w.synced = f, n, s.size, s.size
	return s, ce, nil
}

// Append writes payload to the log and returns once it is durable. The
// caller must not modify payload until Append returns. If ctx ends first,
// Append returns its error and the record may or may not become durable.
func (w *WAL) Append(ctx context.Context, payload []byte) (Pos, error) {
	pos, err := w.AppendBatch(ctx, [][]byte{payload})
	if err != nil {
		return Pos{}, err
	}
	return pos[0], nil
}

// AppendBatch appends payloads as consecutive records in one commit and
// returns their positions once all are durable. A crash during the commit
// may keep a prefix of them.
func (w *WAL) AppendBatch(ctx context.Context, payloads [][]byte) ([]Pos, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(payloads) == 0 {
		return nil, nil
	}
	for _, p := range payloads {
		if len(p) > w.opts.MaxRecordBytes {
			return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(p), w.opts.MaxRecordBytes)
		}
	}
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return nil, err
	}
	b := w.pending
	i := len(b.recs)
	b.recs = append(b.recs, payloads...)
	w.wake.Signal()
	w.mu.Unlock()
	if err := wait(ctx, b); err != nil {
		return nil, err
	}
	return b.pos[i : i+len(payloads) : i+len(payloads)], nil
}

// Cut closes the active segment, unless it is empty, and returns the start
// of the next one: every record whose append returned before Cut was called
// lies before the returned position, every record appended after Cut
// returns lies at or after it. Pass it to RemoveBefore once those earlier
// records are stored elsewhere, and to Replay to read only later ones.
func (w *WAL) Cut(ctx context.Context) (Pos, error) {
	if err := ctx.Err(); err != nil {
		return Pos{}, err
	}
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return Pos{}, err
	}
	b := w.pending
	b.cut = true
	w.wake.Signal()
	w.mu.Unlock()
	if err := wait(ctx, b); err != nil {
		return Pos{}, err
	}
	return b.cutPos, nil
}

// usable is called with w.mu held.
func (w *WAL) usable() error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil && time.Now().Before(w.retryAt) {
		return fmt.Errorf("%w: %w", ErrFailed, w.err)
	}
	return nil
}

func wait(ctx context.Context, b *batch) error {
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		select {
		case <-b.done:
			return b.err
		default:
			return ctx.Err()
		}
	}
}

// run is the committer: it takes everything queued while the previous
// commit was in flight and commits it at once. A lone appender therefore
// waits for nothing but its own write and fsync.
func (w *WAL) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for w.pending.empty() && !w.closed {
			w.wake.Wait()
		}
		if w.pending.empty() {
			w.mu.Unlock()
			return
		}
		b := w.pending
		w.pending = newBatch()
		failed := w.err
		w.mu.Unlock()

		if failed != nil {
			if err := w.repair(); err != nil {
				b.err = fmt.Errorf("%w: %w (repair: %w)", ErrFailed, failed, err)
			} else {
				w.mu.Lock()
				w.err, w.backoff = nil, 0
				w.mu.Unlock()
				w.opts.Logger.Info("wal repaired, taking appends again", "segment", w.segN)
			}
		}
		if b.err == nil {
			b.err = w.commit(b)
		}
		w.mu.Lock()
		if b.err != nil {
			w.fail(b.err)
		}
		if b.err == nil {
			w.stats.Records += uint64(len(b.recs))
			if len(b.recs) > 0 {
				w.stats.Commits++
			}
		}
		w.mu.Unlock()
		close(b.done)
	}
}

// commit writes and fsyncs the records of b, rolling to a new segment when
// the next record would overflow the active one.
func (w *WAL) commit(b *batch) error {
	b.pos = make([]Pos, len(b.recs))
	var hdr [headerSize]byte
	for i, p := range b.recs {
		n := int64(headerSize + len(p))
		if w.written > 0 && w.written+n > w.opts.SegmentSize {
			if err := w.roll(); err != nil {
				return err
			}
		}
		b.pos[i] = Pos{w.segN, w.written}
		putHeader(&hdr, p)
		if _, err := w.bw.Write(hdr[:]); err != nil {
			return fmt.Errorf("write segment %d: %w", w.segN, err)
		}
		if _, err := w.bw.Write(p); err != nil {
			return fmt.Errorf("write segment %d: %w", w.segN, err)
		}
		w.written += n
	}
	if err := w.sync(); err != nil {
		return err
	}
	if b.cut && w.written > 0 {
		if err := w.roll(); err != nil {
			return err
		}
	}
	b.cutPos = Pos{w.segN, 0}
	return nil
}

// sync makes everything written to the active segment durable.
func (w *WAL) sync() error {
	if w.synced == w.written {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("write segment %d: %w", w.segN, err)
	}
	if err := w.opts.syncFile(w.f); err != nil {
		return fmt.Errorf("sync segment %d: %w", w.segN, err)
	}
	w.synced = w.written
	w.mu.Lock()
	last := &w.segs[len(w.segs)-1]
	last.size, last.valid = w.synced, w.synced
	w.stats.Syncs++
	w.mu.Unlock()
	return nil
}

// roll syncs and closes the active segment and starts the next one.
func (w *WAL) roll() error {
	if err := w.sync(); err != nil {
		return err
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close segment %d: %w", w.segN, err)
	}
	return w.nextSegment()
}

// RemoveBefore deletes the segments that lie entirely before pos, oldest
// first so a crash leaves no gap. It never deletes the active segment.
func (w *WAL) RemoveBefore(pos Pos) error {
	w.rmMu.Lock()
	defer w.rmMu.Unlock()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	var victims []int
	for _, s := range w.segs[:len(w.segs)-1] {
		if s.n < pos.Segment {
			victims = append(victims, s.n)
		}
	}
	w.mu.Unlock()

	var err error
	removed := 0
	for _, n := range victims {
		if rerr := os.Remove(filepath.Join(w.dir, segmentName(n))); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = fmt.Errorf("remove segment %d: %w", n, rerr)
			break
		}
		removed++
	}
	w.mu.Lock()
	w.segs = slices.Delete(w.segs, 0, removed) // victims are a prefix of w.segs
	w.mu.Unlock()
	if removed > 0 {
		err = errors.Join(err, atomicfile.SyncDir(w.dir))
	}
	return err
}

// Size returns the bytes held by segments not yet removed.
func (w *WAL) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n int64
	for _, s := range w.segs {
		n += s.size
	}
	return n
}

// Stats returns the log's counters.
func (w *WAL) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Close commits what is queued and closes the log.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	w.wake.Signal()
	w.mu.Unlock()
	<-w.done
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close segment %d: %w", w.segN, err)
	}
	return nil
}
