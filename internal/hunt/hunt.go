// Package hunt holds what the hunting analyses (diff, sweep, sessions,
// tree, cluster, timeline, network; one subpackage each) share: their
// answer, a table a command prints as table, ndjson or csv and an API
// answers as JSON, and the way they query a data directory.
package hunt

import (
	"context"
	"fmt"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/render"
)

// Table is an analysis's answer: named columns and rows of values
// (strings, int64, float64, bool, time.Time, []string, nil).
type Table struct {
	Columns []string
	Rows    [][]any
}

// Write renders t in a render format (table, json, ndjson, csv).
func (t Table) Write(w render.Writer) error {
	if err := w.Header(t.Columns); err != nil {
		return err
	}
	for _, r := range t.Rows {
		if err := w.Row(r); err != nil {
			return err
		}
	}
	return w.Close()
}

// Query runs trusted SQL over org's events in [from, to] (epoch ms) and
// collects the rows.
func Query(ctx context.Context, db *datadir.DB, org string, from, to int64, q string, args ...any) (Table, error) {
	rows, err := db.Query(ctx, org, from, to, q, args...)
	if err != nil {
		return Table{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Table{}, err
	}
	t := Table{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return Table{}, fmt.Errorf("read row: %w", err)
		}
		t.Rows = append(t.Rows, vals)
	}
	return t, rows.Err()
}

// Strings reads a list column's value (a DuckDB list) as its strings,
// in order; what is not a string is left out.
func Strings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
