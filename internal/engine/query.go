package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Rows is a streaming result. Close it to release its connection.
type Rows struct {
	*sql.Rows
	conn   *sql.Conn
	cancel context.CancelFunc
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
	err := r.Rows.Err()
	if err != nil && errors.Is(r.ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	return err
}

// Query runs trusted SQL, built by spoor itself with its values as args, over
// the scope's events view.
func (e *Engine) Query(ctx context.Context, s Scope, query string, args ...any) (*Rows, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	conn, err := e.db.Conn(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("get connection: %w", err)
	}
	fail := func(err error) (*Rows, error) {
		conn.Close()
		cancel()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ErrTimeout
		}
		return nil, err
	}
	for _, v := range []string{
		"CREATE OR REPLACE TEMP VIEW events AS " + eventsViewSQL(s),
		"CREATE OR REPLACE TEMP VIEW events_full AS " + eventsFullViewSQL(s),
		"CREATE OR REPLACE TEMP VIEW alerts AS " + alertsViewSQL(s),
	} {
		if _, err := conn.ExecContext(ctx, v); err != nil {
			return fail(fmt.Errorf("create view: %w", err))
		}
	}
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return fail(err)
	}
	return &Rows{Rows: rows, conn: conn, cancel: cancel, ctx: ctx}, nil
}

// UserQuery checks a user's SQL (see Check) and runs it over the scope.
func (e *Engine) UserQuery(ctx context.Context, s Scope, query string) (*Rows, error) {
	if err := e.Check(ctx, query); err != nil {
		return nil, err
	}
	return e.Query(ctx, s, query)
}

// explain returns DuckDB's physical plan of a trusted query (for tests).
func (e *Engine) explain(ctx context.Context, s Scope, query string, args ...any) (string, error) {
	rows, err := e.Query(ctx, s, "EXPLAIN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), rows.Err()
}

// Probe reads every value of one Parquet file and reports whether DuckDB can.
// It finds which part a failed query tripped on when DuckDB's error does not
// name it.
func (e *Engine) Probe(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	var n int64
	return e.db.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+quote(path)+") r WHERE hash(r) IS NOT NULL").Scan(&n)
}
