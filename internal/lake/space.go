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
// logging when that starts and ends.
func (s *Store) checkSpace() error {
	sp, err := s.opts.Space(s.dir)
	if err != nil {
		return err
	}
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
