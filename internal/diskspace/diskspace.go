// Package diskspace reads how much room a filesystem has left and says when
// it is too little to take new data: below a reserve kept so that what is
// already accepted (head flushes, compaction) can still be written.
package diskspace

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Space is a filesystem's room, in bytes.
type Space struct {
	Free  uint64 // available to this (unprivileged) process
	Total uint64 // the filesystem's size
}

// Of reads the space of the filesystem holding dir.
func Of(dir string) (Space, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return Space{}, fmt.Errorf("free space of %s: %w", dir, err)
	}
	return Space{Free: st.Bavail * uint64(st.Bsize), Total: st.Blocks * uint64(st.Bsize)}, nil
}

// Reserve is the free space below which new data is refused. The zero
// value is the default: DefaultPercent of the filesystem or DefaultBytes,
// whichever is smaller.
type Reserve struct {
	Percent float64 // of the filesystem's size; used when > 0
	Bytes   uint64  // used when Percent is 0 and Bytes > 0
	Off     bool    // no reserve: data is taken until writes fail
}

// The default reserve. A percentage alone would hold back 100 GB of a 2 TB
// disk; a fixed size alone would be most of a small test disk. 1 GiB holds
// a full head's flush (2M events at ~50 bytes each are ~100 MB of parts)
// and the merge of an hour's small parts several times over; 5% keeps a
// small filesystem usable.
const (
	DefaultPercent = 5
	DefaultBytes   = 1 << 30
)

// Of returns the reserve on a filesystem of total bytes.
func (r Reserve) Of(total uint64) uint64 {
	switch {
	case r.Off:
		return 0
	case r.Percent > 0:
		return uint64(float64(total) * r.Percent / 100)
	case r.Bytes > 0:
		return r.Bytes
	}
	return min(total*DefaultPercent/100, DefaultBytes)
}

func (r Reserve) String() string {
	switch {
	case r.Off:
		return "0"
	case r.Percent > 0:
		return fmt.Sprintf("%g%%", r.Percent)
	case r.Bytes > 0:
		return fmt.Sprint(r.Bytes)
	}
	return fmt.Sprintf("%d%% or %s, whichever is smaller", DefaultPercent, Human(DefaultBytes))
}

// ParseReserve reads a reserve: "" for the default, "0" for none, a
// percentage ("5%") or a size that parseBytes reads ("2GiB").
func ParseReserve(s string, parseBytes func(string) (int64, error)) (Reserve, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Reserve{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		var f float64
		if _, err := fmt.Sscan(p, &f); err != nil || f < 0 || f >= 100 {
			return Reserve{}, fmt.Errorf("disk reserve %q: want a percentage from 0 to 99, or a size like 1GiB", s)
		}
		return Reserve{Percent: f, Off: f == 0}, nil
	}
	n, err := parseBytes(s)
	if err != nil {
		return Reserve{}, fmt.Errorf("disk reserve: %w", err)
	}
	return Reserve{Bytes: uint64(n), Off: n == 0}, nil
}

// ErrLow is matched (errors.Is) by a LowError.
var ErrLow = errors.New("disk almost full")

// LowError says new data was refused because free space fell below the
// reserve.
type LowError struct {
	Dir     string
	Free    uint64
	Reserve uint64
}

func (e *LowError) Error() string {
	return fmt.Sprintf("disk almost full: %s free on %s, below the reserve of %s kept for flushes and compaction",
		Human(e.Free), e.Dir, Human(e.Reserve))
}

func (e *LowError) Is(target error) bool { return target == ErrLow }

// Check returns a *LowError when sp has less free space than r keeps.
func Check(dir string, sp Space, r Reserve) error {
	if reserve := r.Of(sp.Total); sp.Free < reserve {
		return &LowError{Dir: dir, Free: sp.Free, Reserve: reserve}
	}
	return nil
}

// Human writes a byte count with a binary unit: "1.5 GiB".
func Human(n uint64) string {
	v := float64(n)
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0") + " " + units[i]
}
