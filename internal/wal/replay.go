package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Replay calls fn, in log order, for every record at or after from that was
// durable when Replay was called; records appended meanwhile are not read.
// from is the zero Pos (read everything) or a position returned by Append,
// AppendBatch, Cut or Replay. The payload passed to fn is only valid during
// the call. Replay stops at the first error from fn and returns it.
//
// Records after a corruption that Open reported are skipped, and so is the
// rest of any segment found corrupt since; Replay logs the latter and
// carries on with the next segment.
func (w *WAL) Replay(ctx context.Context, from Pos, fn func(Pos, []byte) error) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	segs := slices.Clone(w.segs)
	w.mu.Unlock()

	sr := &segmentReader{max: w.opts.MaxRecordBytes}
	for _, s := range segs {
		if s.n < from.Segment {
			continue
		}
		var start int64
		if s.n == from.Segment {
			start = from.Offset
		}
		if start >= s.valid {
			continue
		}
		if err := w.replaySegment(ctx, s, start, sr, fn); err != nil {
			return err
		}
	}
	return nil
}

func (w *WAL) replaySegment(ctx context.Context, s segment, start int64, sr *segmentReader, fn func(Pos, []byte) error) error {
	f, err := os.Open(filepath.Join(w.dir, segmentName(s.n)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed by RemoveBefore since we looked
	}
	if err != nil {
		return fmt.Errorf("open segment %d: %w", s.n, err)
	}
	defer f.Close()
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("seek segment %d: %w", s.n, err)
	}
	sr.reset(f, start, s.valid)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		off, p, err := sr.next()
		if err == io.EOF {
			return nil
		}
		var ce *CorruptionError
		if errors.As(err, &ce) {
			ce.Segment = s.n
			w.opts.Logger.Warn("wal replay skips rest of segment", "err", ce)
			return nil
		}
		if err != nil {
			return fmt.Errorf("read segment %d: %w", s.n, err)
		}
		if err := fn(Pos{s.n, off}, p); err != nil {
			return err
		}
	}
}
