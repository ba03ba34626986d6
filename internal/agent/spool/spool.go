// Package spool is the agent's bounded disk queue between its collectors and
// its shipper: events are made durable as they are collected, read in order
// by the shipper, and forgotten once the server has them. It survives agent
// restarts and server outages; when it is full, the oldest unsent segments
// are dropped and every dropped event is counted.
//
// # On-disk format
//
// The spool is a directory holding an internal/wal log (segment files
// 00000001.wal ..., CRC-framed records; see that package) and meta.json.
// Each record is one event:
//
//	0         8
//	+---------+-----------------------------+
//	| time ms | event (one JSON object)      |
//	+---------+-----------------------------+
//
//	time ms  int64, little-endian, when the event was spooled (lag, batch age)
//
// meta.json, replaced atomically, holds the last record the server
// acknowledged ("ack"), the first segment still to be read ("floor", past
// the dropped ones) and the cumulative drop count. Records at or before ack
// are sent; a crash after a send and before meta.json is written sends them
// again, and the server's dedupe on _id keeps them once.
//
// # Positions
//
// Positions are wal.Pos values of a record's header. The reader's and the
// acknowledgement's positions name the last record handed out or
// acknowledged (inclusive), so no record size needs to be known.
package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/wal"
)

// Defaults for the zero fields of Options.
const (
	DefaultMaxBytes   = 1 << 30
	DefaultMaxRecord  = 4 << 20
	minSegmentBytes   = 4 << 10
	segmentsPerSpool  = 8
	metaPersistPeriod = time.Second
	timeBytes         = 8
	// maxKeptBuffer bounds the buffers Append and Read keep for the next
	// call (a batch of the agent's is a few MB).
	maxKeptBuffer = 8 << 20
)

// Options configures a spool.
type Options struct {
	// MaxBytes bounds the spool on disk (default 1 GiB). Past it the oldest
	// unsent segments are dropped; the spool may exceed it by a segment.
	MaxBytes int64
	// MaxRecordBytes bounds one event, on append and on read (default 4 MiB).
	MaxRecordBytes int
	// Logger receives drops and repairs; nil discards them.
	Logger *slog.Logger
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

// Record is one spooled event.
type Record struct {
	Pos  wal.Pos
	Time int64 // epoch ms, when it was spooled
	Data []byte
}

// Stats describe the spool for status and health events.
type Stats struct {
	Bytes    int64 // on disk
	Events   int64 // not yet acknowledged by the server (unread and in flight)
	Dropped  int64 // cumulative, over restarts
	Oldest   int64 // spool time (epoch ms) of the oldest unsent event, 0 when empty
	Appended int64 // this run
	Acked    int64 // this run
}

// ErrTooLarge is an event over Options.MaxRecordBytes.
var ErrTooLarge = errors.New("spool: event too large")

// Spool is a bounded on-disk queue of events. Its methods are safe for
// concurrent use by one writer and one reader.
type Spool struct {
	dir  string
	opts Options
	log  *wal.WAL
	// appendBatch is log.AppendBatch; tests put a reader inside it.
	appendBatch func(context.Context, [][]byte) ([]wal.Pos, error)

	// wbuf and wrecs are Append's, rbuf Read's, kept between calls.
	wbuf  []byte
	wrecs [][]byte
	rbuf  []byte

	mu       sync.Mutex
	meta     meta
	metaAt   time.Time // when meta was last written
	metaDirt bool
	next     wal.Pos // last record handed to the reader (inclusive); zero: none
	hasNext  bool
	lastSeg  int // segment of the last record appended: never dropped
	// end is the last record counted in unread (hasEnd: there is one).
	// Read hands out nothing after it: a record is durable, and visible
	// to the reader, before Append counts it, and one read in between
	// would be counted unread again after it was sent.
	end      wal.Pos
	hasEnd   bool
	unread   int64 // records after next
	inflight int64 // records handed out and not acknowledged
	oldest   int64 // spool time of the first unread or in-flight record, 0 unknown
	stats    Stats
	more     chan struct{} // signalled on append
}

// Open opens (creating) the spool in dir. Corrupt data is repaired or
// skipped as internal/wal does and logged.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = DefaultMaxRecord
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	m, err := readMeta(filepath.Join(dir, metaFile))
	if err != nil {
		opts.Logger.Warn("spool meta unreadable, reading the spool from its start", "err", err)
		m = meta{}
	}
	seg := max(opts.MaxBytes/segmentsPerSpool, minSegmentBytes)
	w, report, err := wal.Open(dir, wal.Options{SegmentSize: seg, MaxRecordBytes: opts.MaxRecordBytes + timeBytes, Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	for _, ce := range report {
		opts.Logger.Warn("spool repaired", "problem", ce.Error())
	}
	// Events in flight when the agent stopped, in segments dropped under
	// them, never reached the server: they count as dropped now.
	m.Dropped += m.Orphaned
	m.Orphaned = 0
	m.Floor.Offset = 0 // a floor is a segment's start
	s := &Spool{dir: dir, opts: opts, log: w, meta: m, more: make(chan struct{}, 1)}
	s.appendBatch = w.AppendBatch
	s.next, s.hasNext = m.Ack, m.HasAck
	if less(s.next, m.Floor) || !s.hasNext {
		s.next, s.hasNext = m.Floor, false
	}
	if err := w.RemoveBefore(wal.Pos{Segment: s.next.Segment}); err != nil {
		w.Close()
		return nil, fmt.Errorf("open spool: %w", err)
	}
	if err := s.countUnread(); err != nil {
		w.Close()
		return nil, err
	}
	s.metaDirt = true
	if err := s.persist(); err != nil {
		w.Close()
		return nil, err
	}
	return s, nil
}

// countUnread counts the records after the read position, and the time of
// the first. A read position from meta.json that names no record (the file
// was damaged) becomes the last record before it, so nothing is skipped:
// the log is only ever read from record boundaries.
func (s *Spool) countUnread() error {
	var last wal.Pos
	found := false
	err := s.log.Replay(context.Background(), wal.Pos{Segment: s.next.Segment}, func(p wal.Pos, b []byte) error {
		s.end, s.hasEnd = p, true
		if s.hasNext && !less(s.next, p) {
			last, found = p, true
			return nil
		}
		if !s.hasNext && less(p, s.next) {
			return nil
		}
		if s.unread == 0 && len(b) >= timeBytes {
			s.oldest = int64(binary.LittleEndian.Uint64(b))
		}
		s.unread++
		return nil
	})
	if err != nil {
		return fmt.Errorf("open spool: count: %w", err)
	}
	switch {
	case s.hasNext && found:
		s.next = last
	case s.hasNext || s.next.Offset != 0:
		s.next, s.hasNext = wal.Pos{Segment: s.next.Segment}, false
	}
	return nil
}

// after says whether p comes after the read position.
func (s *Spool) after(p wal.Pos) bool {
	if !s.hasNext {
		return !less(p, s.next) // next is the floor: p at or after it
	}
	return less(s.next, p)
}

func less(a, b wal.Pos) bool {
	return a.Segment < b.Segment || a.Segment == b.Segment && a.Offset < b.Offset
}

// More is signalled (without blocking) when events are appended.
func (s *Spool) More() <-chan struct{} { return s.more }

// Append makes events durable, then drops the oldest unsent segments while
// the spool is over its size. It returns how many events the drop counted.
func (s *Spool) Append(ctx context.Context, events [][]byte) (dropped int64, err error) {
	if len(events) == 0 {
		return 0, nil
	}
	now := s.opts.Now().UnixMilli()
	size := 0
	for _, e := range events {
		if len(e) > s.opts.MaxRecordBytes {
			return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(e), s.opts.MaxRecordBytes)
		}
		size += timeBytes + len(e)
	}
	// The records are framed in one buffer kept from append to append:
	// a record of its own per event was most of the agent's garbage.
	buf := s.wbuf[:0]
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	recs := s.wrecs[:0]
	for _, e := range events {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(now))
		buf = append(buf, e...)
		recs = append(recs, buf[len(buf)-timeBytes-len(e):len(buf):len(buf)])
	}
	pos, err := s.appendBatch(ctx, recs)
	clear(recs)
	s.wrecs = recs[:0]
	if err != nil {
		// A cancelled append may still be written from buf: not reused.
		s.wbuf = nil
		return 0, fmt.Errorf("spool append: %w", err)
	}
	s.wbuf = nil
	if cap(buf) <= maxKeptBuffer {
		s.wbuf = buf[:0]
	}
	s.mu.Lock()
	s.lastSeg = pos[len(pos)-1].Segment
	s.end, s.hasEnd = pos[len(pos)-1], true
	if s.unread == 0 && s.inflight == 0 {
		s.oldest = now
	}
	s.unread += int64(len(events))
	s.stats.Appended += int64(len(events))
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
	for s.log.Size() > s.opts.MaxBytes {
		n, ok, err := s.dropOldest()
		if err != nil {
			return dropped, err
		}
		if !ok {
			break
		}
		dropped += n
	}
	return dropped, nil
}

// Read returns up to maxEvents unread events of at most maxBytes in all
// (at least one, whatever its size), in order, and marks them in flight.
// Their Data is valid until the next Read.
// It returns none when there is nothing to read. The reader acknowledges
// (Ack) each batch before it reads the next, retrying it until then: a
// batch it gives up on is only read again after a restart.
func (s *Spool) Read(maxEvents, maxBytes int) ([]Record, error) {
	s.mu.Lock()
	from, has := s.next, s.hasNext
	end, hasEnd := s.end, s.hasEnd
	expect := int(min(int64(maxEvents), s.unread))
	s.mu.Unlock()
	if !hasEnd {
		return nil, nil
	}
	out := make([]Record, 0, expect)
	buf := s.rbuf[:0]
	size := 0
	stop := errors.New("enough")
	err := s.log.Replay(context.Background(), from, func(p wal.Pos, b []byte) error {
		if has && !less(from, p) {
			return nil // the last record already handed out
		}
		if !has && less(p, from) {
			return nil
		}
		if less(end, p) {
			return stop // not counted yet
		}
		if len(out) >= maxEvents || (len(out) > 0 && size+len(b) > maxBytes) {
			return stop
		}
		if len(b) < timeBytes {
			s.opts.Logger.Warn("spool record too short, skipped", "pos", p.String())
			return nil
		}
		// The payloads are copied into one buffer kept from read to read
		// (sliced once it stops growing): a copy of its own per event was
		// garbage, and a new buffer per batch raised the peak RSS by 10 MB.
		buf = append(buf, b[timeBytes:]...)
		out = append(out, Record{Pos: p, Time: int64(binary.LittleEndian.Uint64(b)), Data: buf[len(buf)-len(b)+timeBytes:]})
		size += len(b)
		return nil
	})
	off := 0
	for i := range out {
		n := len(out[i].Data)
		out[i].Data = buf[off : off+n : off+n]
		off += n
	}
	s.rbuf = nil
	if cap(buf) <= maxKeptBuffer {
		s.rbuf = buf
	}
	if err != nil && err != stop {
		return nil, fmt.Errorf("spool read: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last := out[len(out)-1].Pos
	if s.hasNext && !less(s.next, last) {
		return nil, nil // a drop moved the read position past what was read
	}
	kept := out[:0]
	for _, r := range out {
		if s.after(r.Pos) {
			kept = append(kept, r)
		}
	}
	out = kept
	if len(out) > 0 && s.inflight == 0 {
		s.oldest = out[0].Time
	}
	s.next, s.hasNext = last, true
	s.unread = max(s.unread-int64(len(out)), 0)
	s.inflight += int64(len(out))
	return out, nil
}

// Ack records that the server holds every event up to and including last
// (the last Record of a batch Read returned), and removes the segments
// wholly before it.
func (s *Spool) Ack(last wal.Pos, n int) error {
	s.mu.Lock()
	if !s.meta.HasAck || less(s.meta.Ack, last) {
		s.meta.Ack, s.meta.HasAck = last, true
	}
	s.inflight = max(s.inflight-int64(n), 0)
	s.stats.Acked += int64(n)
	// What was orphaned by a drop was in this batch and has arrived.
	urgent := s.meta.Orphaned > 0
	s.meta.Orphaned = 0
	s.metaDirt = true
	if s.inflight == 0 && s.unread == 0 {
		s.oldest = 0
	}
	s.mu.Unlock()
	if urgent || s.opts.Now().Sub(s.metaAt) >= metaPersistPeriod {
		if err := s.persist(); err != nil {
			return err
		}
	}
	return s.log.RemoveBefore(wal.Pos{Segment: last.Segment})
}

// Stats returns the spool's size and counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Bytes = s.log.Size()
	st.Events = s.unread + s.inflight
	st.Dropped = s.meta.Dropped
	st.Oldest = s.oldest
	if st.Events == 0 {
		st.Oldest = 0
	}
	return st
}

// Close persists the acknowledgement and closes the log.
func (s *Spool) Close() error {
	s.mu.Lock()
	s.metaDirt = true
	s.mu.Unlock()
	err := s.persist()
	return errors.Join(err, s.log.Close())
}
