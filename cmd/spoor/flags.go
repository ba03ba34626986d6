package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spoor-dev/spoor/internal/client"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/diskspace"
	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/lake"
	"github.com/spoor-dev/spoor/internal/timespec"
)

// dataFlags are the flags of every command that reads or writes a data dir.
type dataFlags struct {
	Server  string // a spoor server instead of a data dir
	Token   string
	Dir     string
	Org     string
	Memory  string
	Timeout time.Duration

	headEvents int    // lake head size, for tests
	reserve    string // --disk-reserve of the commands that write

	flags *pflag.FlagSet // the command's flags, to tell given from defaulted
}

func (f *dataFlags) add(cmd *cobra.Command) {
	f.flags = cmd.Flags()
	def := os.Getenv("SPOOR_DATA")
	if def == "" {
		def = "./spoor-data"
	}
	cmd.Flags().StringVar(&f.Dir, "data", def, "data directory ($SPOOR_DATA)")
	cmd.Flags().StringVar(&f.Server, "server", os.Getenv("SPOOR_SERVER"), "a spoor server's URL instead of a data directory ($SPOOR_SERVER)")
	cmd.Flags().StringVar(&f.Token, "token", os.Getenv("SPOOR_TOKEN"), "the token for --server ($SPOOR_TOKEN)")
	cmd.Flags().StringVar(&f.Org, "org", "", "organization (default: the only one in the data directory)")
	cmd.Flags().StringVar(&f.Memory, "memory-limit", "", "memory the process may use, e.g. 4GB (default 60% of RAM; DuckDB gets 2/3 of it)")
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

// client returns the server client, or nil for a local data directory.
//
// Flags beat the environment: an explicit --data reads the directory even
// when $SPOOR_SERVER is set, and naming both --data and --server is a usage
// error, since they name two different stores.
func (f *dataFlags) client() (*client.Client, error) {
	if f.flags != nil && f.flags.Changed("data") {
		if f.flags.Changed("server") {
			return nil, usagef("--data and --server name two different stores: give one")
		}
		return nil, nil
	}
	if f.Server == "" {
		return nil, nil
	}
	if f.Token == "" {
		return nil, usagef("--server needs --token (or $SPOOR_TOKEN)")
	}
	return client.New(f.Server, f.Token), nil
}

// openLake opens only the data directory's lake, for writers that need no
// queries (ingest): a bulk load, which writes each day's part once, at the
// end (lake.Options.BulkLoad).
func (f *dataFlags) openLake(ctx context.Context) (*lake.Store, error) {
	abs, err := filepath.Abs(f.Dir)
	if err != nil {
		return nil, err
	}
	reserve, err := parseReserve(f.reserve)
	if err != nil {
		return nil, err
	}
	return lake.Open(ctx, abs, lake.Options{HeadMaxEvents: f.headEvents, DiskReserve: reserve, BulkLoad: true,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
}

const diskReserveUsage = "free disk space kept for flushes and compaction: below it new events are refused (507 through the server), e.g. 5%, 2GiB, 0 for none ($SPOOR_DISK_RESERVE; default 5% or 1GiB, whichever is smaller)"

// parseReserve reads --disk-reserve.
func parseReserve(s string) (diskspace.Reserve, error) {
	r, err := diskspace.ParseReserve(s, engine.ParseBytes)
	if err != nil {
		return r, usagef("--%w", err)
	}
	return r, nil
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

// parseTime reads a time flag (see package timespec).
func parseTime(s string, now time.Time) (int64, error) { return timespec.Parse(s, now) }

// timeRange reads --since and --until; unset means unbounded.
func timeRange(since, until string) (from, to int64, err error) {
	from, to, err = timespec.Range(since, until, time.Now())
	if err != nil {
		return 0, 0, usageError{fmt.Errorf("--%w", err)}
	}
	return from, to, nil
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
