package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrMemory is returned for a query that needed more memory than the
// server allows: DuckDB's own limit, the spill cap, or the process bound
// the watchdog keeps.
var ErrMemory = errors.New("query needs more memory than the server allows")

// Memory is how a process memory budget is shared. DuckDB's memory_limit
// bounds only what its buffer manager holds (hash tables, sorts,
// aggregates, lists and strings being aggregated); per-row values (a list
// built by a scalar function, long strings) are allocated outside it, and
// Go's heap is beside both. So DuckDB gets two thirds of the budget, Go's
// soft limit (debug.SetMemoryLimit) a quarter, and the watchdog interrupts
// every running query when the process's resident memory passes the whole.
type Memory struct {
	Process int64 // the whole budget: the watchdog's bound
	DuckDB  int64 // DuckDB's memory_limit
	Go      int64 // Go's soft memory limit
}

// DefaultMemoryShare is the share of the machine's memory (or of the
// cgroup's limit) a process takes when no budget is given: DuckDB then gets
// 40% of RAM.
const DefaultMemoryShare = 0.6

// MemoryBudget shares limit ("4GB", "512MiB"; "" for the default share of
// RAM) between DuckDB and Go.
func MemoryBudget(limit string) (Memory, error) {
	var total int64
	if limit == "" {
		ram, err := physicalMemory()
		if err != nil {
			return Memory{}, err
		}
		total = int64(float64(ram) * DefaultMemoryShare)
	} else {
		n, err := ParseBytes(limit)
		if err != nil {
			return Memory{}, fmt.Errorf("memory limit: %w", err)
		}
		total = n
	}
	if total < 32e6 {
		return Memory{}, fmt.Errorf("memory limit %d bytes: at least 32MB is needed", total)
	}
	return Memory{Process: total, DuckDB: total * 2 / 3, Go: total / 4}, nil
}

// ParseBytes reads a size: a number with B, KB, MB, GB, TB (powers of
// 1000, as DuckDB reads them) or KiB, MiB, GiB, TiB; a bare number is bytes.
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("size %q: want a number and a unit like 512MB or 4GiB", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	return int64(f * mult), nil
}

// physicalMemory is the machine's memory, or the cgroup's limit if lower.
func physicalMemory() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read memory size: %w (set a memory limit)", err)
	}
	var total int64
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			total = kb << 10
		}
	}
	if total == 0 {
		return 0, errors.New("read memory size: no MemTotal in /proc/meminfo (set a memory limit)")
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < total {
			total = n
		}
	}
	return total, nil
}

// DefaultSpillShare is the share of the temp directory's free disk DuckDB
// may spill to when no cap is given.
const DefaultSpillShare = 0.1

// spillCap reads maxSpill ("" for the default share of dir's free disk).
func spillCap(dir, maxSpill string) (int64, error) {
	if maxSpill != "" {
		n, err := ParseBytes(maxSpill)
		if err != nil {
			return 0, fmt.Errorf("spill cap: %w", err)
		}
		return n, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("spill dir: %w", err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("spill dir free space: %w", err)
	}
	return int64(float64(st.Bavail) * float64(st.Bsize) * DefaultSpillShare), nil
}

// ResidentBytes is this process's resident memory (VmRSS).
func ResidentBytes() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, errors.New("statm: short")
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()), err
}

// running holds the cancel of every query in flight, for the watchdog.
type running struct {
	mu   sync.Mutex
	next uint64
	m    map[uint64]context.CancelCauseFunc
}

func (r *running) add(c context.CancelCauseFunc) (remove func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[uint64]context.CancelCauseFunc{}
	}
	r.next++
	id := r.next
	r.m[id] = c
	return func() {
		r.mu.Lock()
		delete(r.m, id)
		r.mu.Unlock()
	}
}

// cancelAll interrupts every query in flight with cause; it returns how many.
func (r *running) cancelAll(cause error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.m {
		c(cause)
	}
	return len(r.m)
}

// watch interrupts every running query whenever the process's resident
// memory is over limit, until stop closes. DuckDB checks for interrupts
// between chunks of rows, so this bounds growth that spans chunks (many
// rows of large values); what one chunk allocates at once cannot be
// stopped in the process (see docs/security.md).
func (e *Engine) watch(limit int64, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if rss, err := ResidentBytes(); err == nil && rss > limit {
			if n := e.running.cancelAll(ErrMemory); n > 0 && e.opts.OnMemoryKill != nil {
				e.opts.OnMemoryKill(rss, n)
			}
		}
	}
}

// memoryError names an out-of-memory failure of DuckDB's as ErrMemory,
// keeping its text (which says whether memory or the spill cap ran out).
func memoryError(err error) error {
	if err == nil || errors.Is(err, ErrMemory) {
		return err
	}
	if msg := err.Error(); strings.Contains(msg, "Out of Memory Error") || strings.Contains(msg, "max_temp_directory_size") {
		return fmt.Errorf("%w: %s", ErrMemory, msg)
	}
	return err
}
