package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/lake"
)

// dataFlags are the flags of every command that reads or writes a data dir.
type dataFlags struct {
	Dir     string
	Org     string
	Memory  string
	Timeout time.Duration

	headEvents int // lake head size, for tests
}

func (f *dataFlags) add(cmd *cobra.Command) {
	def := os.Getenv("SPOOR_DATA")
	if def == "" {
		def = "./spoor-data"
	}
	cmd.Flags().StringVar(&f.Dir, "data", def, "data directory ($SPOOR_DATA)")
	cmd.Flags().StringVar(&f.Org, "org", "", "organization (default: the only one in the data directory)")
	cmd.Flags().StringVar(&f.Memory, "memory-limit", "", "DuckDB memory limit, e.g. 4GB (default: DuckDB's)")
	cmd.Flags().DurationVar(&f.Timeout, "timeout", 60*time.Second, "query timeout")
}

func (f *dataFlags) open(ctx context.Context) (*datadir.DB, error) {
	return datadir.Open(ctx, f.Dir, datadir.Options{
		Lake:          lake.Options{HeadMaxEvents: f.headEvents},
		MemoryLimit:   f.Memory,
		Timeout:       f.Timeout,
		AllowReadOnly: true,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
}

// openLake opens only the data directory's lake, for writers that need no
// queries (ingest).
func (f *dataFlags) openLake(ctx context.Context) (*lake.Store, error) {
	abs, err := filepath.Abs(f.Dir)
	if err != nil {
		return nil, err
	}
	return lake.Open(ctx, abs, lake.Options{HeadMaxEvents: f.headEvents, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
}

// org resolves the organization to read.
func (f *dataFlags) org(db *datadir.DB) (string, error) {
	if f.Org != "" {
		return f.Org, nil
	}
	org, err := db.DefaultOrg()
	if err != nil {
		return "", usageError{err}
	}
	return org, nil
}

// parseTime reads a time flag: RFC 3339, epoch ms (or s), YYYY-MM-DD, or a
// duration meaning that long ago (72h, 30d, 2w).
func parseTime(s string, now time.Time) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 1e11 && n > -1e11 {
			return n * 1000, nil
		}
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	if d, err := parseDuration(s); err == nil {
		return now.Add(-d).UnixMilli(), nil
	}
	return 0, fmt.Errorf("cannot read time %q: use RFC 3339, epoch ms, YYYY-MM-DD or a duration like 72h or 30d", s)
}

func parseDuration(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if strings.HasSuffix(s, suffix) {
			n, err := strconv.ParseFloat(strings.TrimSuffix(s, suffix), 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			return time.Duration(n * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}

// timeRange reads --since and --until; unset means unbounded.
func timeRange(since, until string) (from, to int64, err error) {
	now := time.Now()
	from, to = 0, 253402300799999
	if since != "" {
		if from, err = parseTime(since, now); err != nil {
			return 0, 0, usageError{fmt.Errorf("--since: %w", err)}
		}
	}
	if until != "" {
		if to, err = parseTime(until, now); err != nil {
			return 0, 0, usageError{fmt.Errorf("--until: %w", err)}
		}
	}
	if from > to {
		return 0, 0, usagef("--since is after --until")
	}
	return from, to, nil
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
