package datadir

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
)

// DefaultFields are shown when a tabular answer names no fields.
var DefaultFields = []string{"event_time", "hostname", "event_type", "user", "exe", "arguments"}

// SearchRequest is one filter-language search.
type SearchRequest struct {
	Query    string // filter language; "" matches everything
	From, To int64  // epoch ms, inclusive
	Fields   []string
	Limit    int  // 0: no limit
	Desc     bool // newest first
}

// Search is a running search. With no Fields every row is a whole event;
// read it with Event.
type Search struct {
	*engine.Rows
	Columns []string
	Full    bool
}

// Search runs a filter-language query over org's events. A bad query
// returns a *query.Error carrying the query text (for a caret).
func (d *DB) Search(ctx context.Context, org string, r SearchRequest) (*Search, error) {
	where, args := "true", []any(nil)
	from, to := r.From, r.To
	if strings.TrimSpace(r.Query) != "" {
		n, err := query.Parse(r.Query)
		if err != nil {
			return nil, err
		}
		s, err := query.ToSQL(n)
		if err != nil {
			return nil, query.WithSource(err, r.Query)
		}
		where, args = s.Where, s.Args
		if lo, hi, ok := query.TimeBounds(n); ok {
			from, to = max(from, lo), min(to, hi)
		}
	}
	if from > to {
		from, to = 0, -1 // nothing can match; still run, for the columns
	}
	cols, exprs, err := selectList(r.Fields)
	if err != nil {
		return nil, err
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM events_full WHERE (" + where + ")" +
		" AND event_time >= make_timestamp(CAST(? AS BIGINT)) AND event_time <= make_timestamp(CAST(? AS BIGINT))"
	args = append(args, clampMicros(from), clampMicros(to))
	order := "ASC"
	if r.Desc {
		order = "DESC"
	}
	q += " ORDER BY event_time " + order + ", \"_id\""
	if r.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", r.Limit)
	}
	rows, err := d.Query(ctx, org, max(from, 0), min(to, maxMS), q, args...)
	if err != nil {
		return nil, err
	}
	return &Search{Rows: rows, Columns: cols, Full: len(r.Fields) == 0}, nil
}

const maxMS = 253402300799999

func clampMicros(ms int64) int64 {
	ms = max(min(ms, maxMS), -maxMS)
	return ms * 1000
}

// selectList turns field names into SQL: typed fields are columns, other
// names are looked up in raw by their original name. No fields: everything.
func selectList(fields []string) (cols, exprs []string, err error) {
	if len(fields) == 0 {
		cols = engine.ViewColumns()
		cols = append(cols, engine.LiftedColumn)
		for _, c := range cols {
			exprs = append(exprs, quoteIdent(c))
		}
		return cols, exprs, nil
	}
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if fd, ok := event.Lookup(f); ok {
			exprs = append(exprs, quoteIdent(fd.Name)+" AS "+quoteIdent(f))
		} else if f == event.RawColumn {
			exprs = append(exprs, "raw")
		} else {
			exprs = append(exprs, "json_extract(raw, "+sqlString(`$."`+strings.ReplaceAll(strings.ReplaceAll(f, `\`, `\\`), `"`, `\"`)+`"`)+") AS "+quoteIdent(f))
		}
		cols = append(cols, f)
	}
	if len(cols) == 0 {
		return nil, nil, fmt.Errorf("no fields named")
	}
	return cols, exprs, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func sqlString(s string) string  { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Event reads the current row of a Full search into e.
func (s *Search) Event(e *event.Event) error {
	vals := make([]any, len(s.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := s.Scan(ptrs...); err != nil {
		return err
	}
	return EventFromRow(s.Columns, vals, e)
}

// EventFromRow fills e from a row of the events_full view.
func EventFromRow(cols []string, vals []any, e *event.Event) error {
	*e = event.Event{}
	for i, c := range cols {
		v := vals[i]
		switch c {
		case event.RawColumn:
			switch x := v.(type) {
			case string:
				e.Raw = []byte(x)
			case []byte:
				e.Raw = x
			}
			continue
		case engine.LiftedColumn:
			if x, ok := v.(int64); ok {
				e.Lifted = uint64(x)
			}
			continue
		}
		f, ok := event.Lookup(c)
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case string:
			e.SetString(f.ID, x)
		case int64:
			e.SetInt(f.ID, x)
		case int32:
			e.SetInt(f.ID, int64(x))
		case bool:
			e.SetBool(f.ID, x)
		case time.Time:
			e.SetInt(f.ID, x.UnixMilli())
		case []any:
			l := make([]string, 0, len(x))
			for _, s := range x {
				if s, ok := s.(string); ok {
					l = append(l, s)
				}
			}
			e.SetList(f.ID, l)
		default:
			return fmt.Errorf("column %s: unexpected %T", c, v)
		}
	}
	e.Lifted &= e.Set
	return nil
}
