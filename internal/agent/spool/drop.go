package spool

import (
	"context"
	"errors"
	"fmt"

	"github.com/spoor-dev/spoor/internal/wal"
)

// dropOldest drops the oldest segment unless it is the one being written:
// its unsent events are counted as dropped, those in flight as orphaned.
// It reports whether it dropped one.
func (s *Spool) dropOldest() (int64, bool, error) {
	s.mu.Lock()
	victim := -1
	var dropped, orphaned int64
	stop := errors.New("next segment")
	err := s.log.Replay(context.Background(), s.meta.Floor, func(p wal.Pos, _ []byte) error {
		if victim < 0 {
			victim = p.Segment
		}
		if p.Segment != victim {
			return stop
		}
		switch {
		case s.meta.HasAck && !less(s.meta.Ack, p):
			// acknowledged already
		case s.after(p):
			dropped++
		default:
			orphaned++
		}
		return nil
	})
	if err != nil && err != stop {
		s.mu.Unlock()
		return 0, false, fmt.Errorf("spool drop: %w", err)
	}
	if victim < 0 || victim >= s.lastSeg {
		s.mu.Unlock()
		return 0, false, nil
	}
	floor := wal.Pos{Segment: victim + 1}
	s.meta.Floor = floor
	s.meta.Dropped += dropped
	s.meta.Orphaned += orphaned
	s.metaDirt = true
	if less(s.next, floor) {
		s.next, s.hasNext = floor, false
	}
	s.unread = max(s.unread-dropped, 0)
	s.mu.Unlock()
	// The count is durable before the events go, so a crash between the
	// two never counts them twice: Open skips what lies before the floor.
	if err := s.persist(); err != nil {
		return 0, false, err
	}
	if err := s.log.RemoveBefore(floor); err != nil {
		return 0, false, fmt.Errorf("spool drop: %w", err)
	}
	s.opts.Logger.Warn("spool full: dropped the oldest unsent events", "segment", victim, "events", dropped+orphaned)
	return dropped + orphaned, true, nil
}
