package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// Rows is a streaming result. Close it to release its connection.
type Rows struct {
	*sql.Rows
	conn   *sql.Conn
	cancel func()
	ctx    context.Context
}

// Close releases the rows and their connection.
func (r *Rows) Close() error {
	err := r.Rows.Close()
	r.conn.Close()
	r.cancel()
	return err
}

// Err reports the error that ended iteration, naming a timeout as such.
func (r *Rows) Err() error {
	return queryError(r.ctx, r.Rows.Err())
}

// queryError names why a query failed: its timeout, the memory watchdog,
// DuckDB's memory limit, or else DuckDB's own error.
func queryError(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(context.Cause(ctx), ErrMemory):
		return ErrMemory
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ErrTimeout
	}
	return memoryError(err)
}

// queryContext bounds a query by the engine's timeout and registers it
// with the memory watchdog; done releases both.
func (e *Engine) queryContext(ctx context.Context) (_ context.Context, done func()) {
	ctx, kill := context.WithCancelCause(ctx)
	remove := e.running.add(kill)
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	return ctx, func() {
		cancel()
		remove()
		kill(nil)
	}
}

// Query runs trusted SQL, built by spoor itself with its values as args, over
// the scope's events view (and its alerts view when s.Alerts).
func (e *Engine) Query(ctx context.Context, s Scope, query string, args ...any) (*Rows, error) {
	ctx, cancel := e.queryContext(ctx)
	conn, err := e.db.Conn(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("get connection: %w", err)
	}
	fail := func(err error) (*Rows, error) {
		conn.Close()
		err = queryError(ctx, err)
		cancel()
		return nil, err
	}
	have := currentColumns
	if s.CheckColumns {
		var mixed bool
		if have, mixed, err = e.columnsOf(ctx, conn, s.Files); err != nil {
			return fail(err)
		}
		s.mixed = mixed
	}
	views := "CREATE OR REPLACE TEMP VIEW events AS " + eventsViewSQL(s, have) +
		"; CREATE OR REPLACE TEMP VIEW events_full AS " + eventsFullViewSQL(s, have)
	if s.Alerts {
		views += "; CREATE OR REPLACE TEMP VIEW alerts AS " + alertsViewSQL(s)
	} else {
		// The connection is pooled: a view an earlier statement bound
		// for another scope must not answer this one.
		views += "; DROP VIEW IF EXISTS alerts"
	}
	if _, err := conn.ExecContext(ctx, views); err != nil {
		return fail(fmt.Errorf("create views: %w", err))
	}
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return fail(err)
	}
	return &Rows{Rows: rows, conn: conn, cancel: cancel, ctx: ctx}, nil
}

// UserQuery checks a user's SQL (see Check) and runs it over the scope.
func (e *Engine) UserQuery(ctx context.Context, s Scope, query string) (*Rows, error) {
	st, err := e.Gate(ctx, query)
	if err != nil {
		return nil, err
	}
	return e.QueryStatement(ctx, s, st)
}

// QueryStatement runs a statement the gate passed over the scope, binding
// the alerts view only when the statement reads it.
func (e *Engine) QueryStatement(ctx context.Context, s Scope, st Statement) (*Rows, error) {
	s.Alerts = st.ReadsAlerts()
	return e.Query(ctx, s, st.sql)
}

// NamesAlerts reports whether trusted SQL may read the alerts view: its
// text names alerts, in any case. It errs towards yes (a string or column
// of that name), which costs only a view bound for nothing.
func NamesAlerts(query string) bool { return strings.Contains(strings.ToLower(query), "alerts") }

// Probe reads every value of one Parquet file and reports whether DuckDB can.
// It finds which part a failed query tripped on when DuckDB's error does not
// name it.
func (e *Engine) Probe(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	var n int64
	return e.db.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+sqlquote.String(path)+") r WHERE hash(r) IS NOT NULL").Scan(&n)
}

// currentColumns are the columns every part of the current schema holds.
var currentColumns = func() map[string]bool {
	m := map[string]bool{event.RawColumn: true, "meta": true, LiftedColumn: true}
	for _, f := range event.Catalog() {
		m[f.Name] = true
	}
	return m
}()

// columnsOf returns the union of the columns the files hold, and whether
// some file lacks some of them. Parts are immutable, so what a file holds is
// read once per engine.
func (e *Engine) columnsOf(ctx context.Context, conn *sql.Conn, files []string) (have map[string]bool, mixed bool, err error) {
	have = map[string]bool{}
	counts := map[string]int{}
	defer func() {
		for _, n := range counts {
			if n != len(files) {
				mixed = true
			}
		}
	}()
	var unknown []string
	e.colMu.Lock()
	for _, f := range files {
		cols, ok := e.cols[f]
		if !ok {
			unknown = append(unknown, f)
			continue
		}
		for _, c := range cols {
			have[c] = true
			counts[c]++
		}
	}
	e.colMu.Unlock()
	if len(unknown) == 0 {
		return have, false, nil
	}
	var b strings.Builder
	b.WriteString("SELECT file_name, name FROM parquet_schema([")
	for i, f := range unknown {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sqlquote.String(f))
	}
	b.WriteString("])")
	rows, err := conn.QueryContext(ctx, b.String())
	if err != nil {
		return nil, false, fmt.Errorf("read part schemas: %w", err)
	}
	defer rows.Close()
	found := map[string][]string{}
	for rows.Next() {
		var file, name string
		if err := rows.Scan(&file, &name); err != nil {
			return nil, false, err
		}
		found[file] = append(found[file], name)
		have[name] = true
		counts[name]++
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read part schemas: %w", err)
	}
	e.colMu.Lock()
	if e.cols == nil {
		e.cols = map[string][]string{}
	}
	for f, cols := range found {
		e.cols[f] = cols
	}
	e.colMu.Unlock()
	return have, false, nil
}
