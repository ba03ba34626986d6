package lake

import (
	"context"
	"fmt"

	"github.com/spoor-dev/spoor/internal/diskspace"
)

// Disk returns the free space of the data directory's filesystem and the
// reserve kept on it (Options.DiskReserve).
func (s *Store) Disk() (diskspace.Space, uint64, error) {
	sp, err := s.opts.Space(s.dir)
	if err != nil {
		return sp, 0, err
	}
	return sp, s.opts.DiskReserve.Of(sp.Total), nil
}

// checkSpace refuses new events while free space is below the reserve,
// logging when that starts and ends. A bulk load's runs count as used
// twice: Flush writes their events as parts before it deletes them (parts
// are smaller), so the reserve is still there for compaction then.
func (s *Store) checkSpace() error {
	sp, err := s.opts.Space(s.dir)
	if err != nil {
		return err
	}
	s.mu.Lock()
	sp.Free -= min(sp.Free, s.runBytes())
	s.mu.Unlock()
	low := diskspace.Check(s.dir, sp, s.opts.DiskReserve)
	s.mu.Lock()
	changed := (low != nil) != s.lowSpace
	s.lowSpace = low != nil
	s.mu.Unlock()
	switch {
	case changed && low != nil:
		s.opts.Logger.Error("disk almost full: refusing new events until space is freed", "dir", s.dir,
			"free_bytes", sp.Free, "reserve_bytes", s.opts.DiskReserve.Of(sp.Total))
	case changed:
		s.opts.Logger.Info("disk space back above the reserve: taking new events again", "dir", s.dir, "free_bytes", sp.Free)
	}
	return low
}

// roomForRun reports whether the disk has room for one more run of a
// bulk load, of a head of headBytes (event.MemSize): the runs and it,
// counted twice (their parts are written before they go), beside the
// reserve. A run takes much less than its head's memory: 105 bytes an
// event against 3 KB on Threat Stack events; an eighth is a safe bound.
func (s *Store) roomForRun(headBytes int64) bool {
	sp, err := s.opts.Space(s.dir)
	if err != nil {
		return false
	}
	s.mu.Lock()
	need := 2 * (s.runBytes() + uint64(headBytes)/8)
	s.mu.Unlock()
	return sp.Free >= s.opts.DiskReserve.Of(sp.Total)+need
}

// Writable returns why the store cannot take new events now, nil when it
// can: free space below the reserve, or a WAL whose last write failed and
// that cannot be repaired yet (the repair is tried here, so a store that
// gets no traffic while it is refused still notices it recovered).
func (s *Store) Writable(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if err := s.checkSpace(); err != nil {
		return err
	}
	if err := s.log.w.Repair(ctx); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	return nil
}
