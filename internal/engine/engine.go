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
)

// Options bound what one engine may use.
type Options struct {
	// AllowedDir is the only directory DuckDB may read (the lake root).
	AllowedDir string
	// TempDir is where DuckDB spills; "" disables spilling.
	TempDir string
	// MemoryLimit caps DuckDB's memory, e.g. "2GB". Default: 40% of RAM (DuckDB's own default is 80%).
	MemoryLimit string
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
	sandbox *sandbox // where the SQL gate plans user statements

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
	if opts.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit = "+quote(opts.MemoryLimit))
	}
	if opts.TempDir != "" {
		settings = append(settings, "SET temp_directory = "+quote(opts.TempDir))
	} else {
		settings = append(settings, "SET temp_directory = ''")
	}
	if opts.AllowedDir != "" {
		dir := strings.TrimSuffix(opts.AllowedDir, "/") + "/"
		settings = append(settings, "SET allowed_directories = ["+quote(dir)+"]")
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
	sb, err := openSandbox(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Engine{db: db, opts: opts, sandbox: sb}, nil
}

// Close releases the database.
func (e *Engine) Close() error {
	e.sandbox.Close()
	return e.db.Close()
}

// Options returns the engine's effective options.
func (e *Engine) Options() Options { return e.opts }

// quote renders s as a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteIdent renders s as a SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ErrTimeout is returned when a query runs past its deadline.
var ErrTimeout = errors.New("query timed out")
