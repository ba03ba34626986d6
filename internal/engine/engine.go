// Package engine runs SQL over the lake with DuckDB: it opens the database
// with limits and a locked-down configuration, builds the events view over
// the parts a query may touch, and checks user SQL before it runs.
package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// Options bound what one engine may use.
type Options struct {
	// AllowedDir is the only directory DuckDB may read (the lake root).
	AllowedDir string
	// TempDir is where DuckDB spills; "" disables spilling.
	TempDir string
	// MaxSpill caps what DuckDB may spill to TempDir, e.g. "10GB".
	// Default: 10% of the disk space free at Open.
	MaxSpill string
	// MemoryLimit is the process's memory budget, e.g. "2GB" (see
	// MemoryBudget): DuckDB's memory_limit is two thirds of it, and queries
	// are interrupted while the process's resident memory is over it.
	// Default: 60% of RAM, so DuckDB's limit is 40% of RAM (DuckDB's own
	// default is 80%, and bounds DuckDB only).
	MemoryLimit string
	// OnMemoryKill, if set, hears of every time the watchdog interrupted
	// n queries with the process at rss bytes.
	OnMemoryKill func(rss int64, n int)
	// WatchEvery is how often the watchdog reads the resident memory
	// (default 50 ms).
	WatchEvery time.Duration
	// Threads DuckDB may use; default GOMAXPROCS.
	Threads int
	// Timeout bounds every query; default 60 s.
	Timeout time.Duration
	// MaxRows bounds the rows a user query may return; 0 means no bound.
	MaxRows int
}

// Engine is a DuckDB database shared by all queries of a process.
type Engine struct {
	db      *sql.DB
	opts    Options
	gate    gateOnce // the SQL gate's sandbox, opened at the first user statement
	mem     Memory
	running running       // queries in flight, for the watchdog
	stop    chan struct{} // ends the watchdog

	colMu sync.Mutex
	cols  map[string][]string // columns of each part file read so far
}

// Open starts DuckDB in memory and locks its configuration.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Threads <= 0 {
		opts.Threads = runtime.GOMAXPROCS(0)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.WatchEvery <= 0 {
		opts.WatchEvery = 50 * time.Millisecond
	}
	mem, err := MemoryBudget(opts.MemoryLimit)
	if err != nil {
		return nil, err
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	settings := []string{
		fmt.Sprintf("SET threads = %d", opts.Threads),
		"SET TimeZone = 'UTC'",
		"SET parquet_metadata_cache = true",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET preserve_insertion_order = false",
	}
	settings = append(settings, fmt.Sprintf("SET memory_limit = '%dKiB'", mem.DuckDB>>10))
	if opts.TempDir != "" {
		spill, err := spillCap(opts.TempDir, opts.MaxSpill)
		if err != nil {
			db.Close()
			return nil, err
		}
		settings = append(settings, "SET temp_directory = "+sqlquote.String(opts.TempDir),
			fmt.Sprintf("SET max_temp_directory_size = '%dKiB'", spill>>10))
	} else {
		settings = append(settings, "SET temp_directory = ''")
	}
	if opts.AllowedDir != "" {
		dir := strings.TrimSuffix(opts.AllowedDir, "/") + "/"
		settings = append(settings, "SET allowed_directories = ["+sqlquote.String(dir)+"]")
	}
	settings = append(settings,
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	)
	// One round trip: DuckDB runs the statements in order.
	if _, err := db.ExecContext(ctx, strings.Join(settings, "; ")); err != nil {
		db.Close()
		return nil, fmt.Errorf("configure duckdb: %w", err)
	}
	e := &Engine{db: db, opts: opts, mem: mem, stop: make(chan struct{})}
	go e.watch(mem.Process, opts.WatchEvery, e.stop)
	return e, nil
}

// Close interrupts the queries still running and releases the database,
// waiting a few seconds at most for queries that do not heed the interrupt.
func (e *Engine) Close() error {
	close(e.stop)
	e.running.cancelAll(errClosed)
	e.gate.close()
	done := make(chan error, 1)
	go func() { done <- e.db.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		return errors.New("close duckdb: a query still runs; left behind")
	}
}

var errClosed = errors.New("engine closed")

// Memory is how the engine shares its memory budget; the Go soft limit
// is the caller's to set (debug.SetMemoryLimit), being process-wide.
func (e *Engine) Memory() Memory { return e.mem }

// Options returns the engine's effective options.
func (e *Engine) Options() Options { return e.opts }

// ErrTimeout is returned when a query runs past its deadline.
var ErrTimeout = errors.New("query timed out")
