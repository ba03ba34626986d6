package wal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Err returns why the log refuses appends, nil when it takes them. After a
// failure it stays set until a repair succeeds (see Repair).
func (w *WAL) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Repair repairs a failed log now, once its backoff has passed, instead of
// on the next append: a readiness check calls it, so a server that is
// refused all traffic while failed still finds out that it can write. It
// returns Err() afterwards; a healthy log is left alone.
func (w *WAL) Repair(ctx context.Context) error {
	w.mu.Lock()
	if w.err == nil || w.closed {
		w.mu.Unlock()
		return nil
	}
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return err
	}
	b := w.pending
	b.probe = true
	w.wake.Signal()
	w.mu.Unlock()
	if err := wait(ctx, b); err != nil {
		return err
	}
	return w.Err()
}

// fail refuses appends for the next backoff, which doubles on each failure
// in a row. w.mu is held.
func (w *WAL) fail(err error) {
	if w.err == nil {
		w.opts.Logger.Error("wal failed, refusing appends until it can write again", "err", err)
	}
	w.err = err
	w.backoff = min(max(2*w.backoff, RetryMin), RetryMax)
	w.retryAt = time.Now().Add(w.backoff)
}

// repair makes a failed log usable again: the active segment is cut back
// to its last fsynced record, fsynced and closed, and appends go on in a
// new segment. What was written after that record was never acknowledged.
// A new file, rather than appending to the old one, because after a failed
// fsync the kernel may have dropped pages it could not write and the old
// file's state past the cut is unknown.
func (w *WAL) repair() error {
	w.bw.Reset(segWriter{w}) // drop what was not written
	if w.f != nil {
		if err := w.f.Truncate(w.synced); err != nil {
			return fmt.Errorf("truncate segment %d: %w", w.segN, err)
		}
		w.written = w.synced
		if err := w.opts.syncFile(w.f); err != nil {
			return fmt.Errorf("sync segment %d: %w", w.segN, err)
		}
		err := w.f.Close()
		w.f = nil
		if err != nil {
			return fmt.Errorf("close segment %d: %w", w.segN, err)
		}
	}
	return w.nextSegment()
}

// nextSegment creates the segment after the active one and makes it active.
func (w *WAL) nextSegment() error {
	n := w.segN + 1
	// A try that created the file but failed to fsync its directory left
	// it empty: no record was ever acknowledged in it.
	os.Remove(filepath.Join(w.dir, segmentName(n)))
	f, err := createSegment(w.dir, n, w.opts.Fault)
	if err != nil {
		return err
	}
	w.f, w.segN, w.written, w.synced = f, n, 0, 0
	w.mu.Lock()
	w.segs = append(w.segs, segment{n: n})
	w.mu.Unlock()
	return nil
}

// segWriter is what the buffered writer writes to: the active segment,
// through Options.Fault when one is set.
type segWriter struct{ w *WAL }

func (s segWriter) Write(p []byte) (int, error) {
	if fault := s.w.opts.Fault; fault != nil {
		if err := fault("write", s.w.f.Name()); err != nil {
			return 0, err
		}
	}
	return s.w.f.Write(p)
}
